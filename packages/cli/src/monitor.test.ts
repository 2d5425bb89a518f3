import { Monitor } from './monitor';
import type { HostSpec } from './options';

const host: HostSpec = { verbose: false, clock: 'virtual', cpu: 'interpreter', memoryHostMiB: null, timeoutS: null };

describe('the monitor', () => {
  const m = new Monitor(host, () => {});

  it('answers a bad command with what to do, and help with the list', async () => {
    expect(await m.execute('frobnicate now')).toBe("unknown command 'frobnicate': type 'help' for the commands");
    expect(await m.execute('info')).toBe('say info status, info registers, info guest or info devices');
    expect(await m.execute('info cpus')).toBe('info cpus: say info status, info registers, info guest or info devices');
    expect(await m.execute('help')).toMatch(/^ {2}savevm FILE {10}save the guest to FILE/m);
    expect(await m.execute('   ')).toBe('');
  });

  it('checks arguments before it touches the guest', async () => {
    expect(await m.execute('savevm')).toBe('savevm takes the file to write, e.g. savevm guest.snap');
    expect(await m.execute('migrate 127.0.0.1:4444')).toMatch(
      /^migrate takes tcp:HOST:PORT, e\.g\. migrate tcp:127\.0\.0\.1:4444/,
    );
    expect(await m.execute('migrate tcp::4444')).toMatch(/^migrate takes tcp:HOST:PORT/);
  });

  it('says so when there is no guest, rather than failing', async () => {
    expect(await m.execute('info status')).toBe('error: there is no guest running');
    expect(await m.execute('stop')).toBe('error: there is no guest running');
    expect(await m.execute('cont')).toBe('there is no guest running');
  });
});
