// Snapshots of a guest on the PC (`lguest run --native`), end to end with the built `lguest`:
// the bundled guest booted natively, at its prompt with a program counting in the
// background, is stopped and saved through the monitor and continued by a NEW lguest
// process — with or without --native, the snapshot says it is a PC — which answers the next
// command with the same job still counting and the guest's uptime carrying on from where it
// was. Every step waits for what the guest or lguest says, never for time.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../testing/conversation';
import { MonitorClient } from '../testing/monitor';
import { MAIN } from '../testing/pty';

jest.setTimeout(10 * 60_000);

let dir: string;
const running: Conversation[] = [];
const monitors: MonitorClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-native-snapshot-'));
});
afterEach(() => {
  for (const c of running.splice(0)) c.kill();
  for (const m of monitors.splice(0)) m.close();
  rmSync(dir, { recursive: true, force: true });
});

function lguest(...args: string[]): Conversation {
  const c = Conversation.piped([MAIN, 'run', ...args]);
  running.push(c);
  return c;
}

/** `ps`'s line for `pid` once it is spin: its CPU seconds. */
async function spinCpu(c: Conversation, pid: string): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const m = new RegExp(`^ +${pid} +\\d+ (\\S) +([\\d.]+) (\\S+)$`, 'm').exec(await c.command('ps'));
    if (!m) throw c.failure(`ps shows no process ${pid}`);
    if (m[3] === 'spin') return Number(m[2]);
  }
  throw c.failure(`process ${pid} never became spin`);
}

async function uptime(c: Conversation): Promise<number> {
  const [, up] = /^up (\d+\.\d\d) seconds/m.exec(await c.command('uptime', /^up \d+\.\d\d seconds/m)) ?? [];
  return Number(up);
}

describe('snapshots of a guest on the PC', () => {
  it('save the natively booted guest with a counter running, and a new lguest continues it on the PC', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'pc.snap');
    const first = lguest('--native', `--monitor=unix:${sock}`);
    await first.expect('init: starting /bin/sh\n', 'init starting the shell');
    await first.prompt('the first prompt');
    const [, pid] = /^\[(\d+)\] spin$/m.exec(await first.command('spin &', /^\[\d+\] spin$/m))!;
    const cpuBefore = await spinCpu(first, pid);
    const upBefore = await uptime(first);

    const m = await MonitorClient.connect(sock);
    monitors.push(m);
    expect(await m.command('info status')).toMatch(/^VM status: running; PC clock [\d.]+ s \(host\)$/);
    expect(await m.command('stop')).toBe('stopped');
    expect(await m.command('info status')).toMatch(/^VM status: paused/);
    // The registers are the CPU's own: ring 0, paging on (the guest's page directory in CR3).
    const regs = await m.command('info registers');
    expect(regs).toMatch(/^EAX=[0-9a-f]{8} .*EIP=[0-9a-f]{8}/);
    expect(regs).toMatch(/CR0=8[0-9a-f]{7} /);
    expect(await m.command('info devices')).toMatch(/^COM1 \(16550 UART\), irq 4.*\nPIT channel 0, irq 0: divisor \d+/);
    expect(await m.command('migrate tcp:127.0.0.1:1')).toMatch(/only guests under lguest migrate/);
    const saved = await m.command(`savevm ${snap}`);
    expect(saved).toMatch(/^saved .*pc\.snap: \d+ pages of guest memory/);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    // A new process, not told --native: the snapshot is a PC's. No boot; the same shell, the
    // same job, still getting the CPU.
    const second = lguest(`--restore=${snap}`, '-v');
    const upAfter = await uptime(second);
    expect(upAfter).toBeGreaterThanOrEqual(upBefore);
    const cpuAfter = await spinCpu(second, pid);
    expect(cpuAfter).toBeGreaterThanOrEqual(cpuBefore);
    let now = cpuAfter;
    while (now <= cpuAfter) now = await spinCpu(second, pid);
    await second.command(`kill ${pid}`);
    second.type(`poweroff${second.enter}`);
    expect(await second.end()).toEqual({ status: 0, signal: null });
    expect(second.transcript).not.toContain('init: starting /bin/sh');
    expect(second.stderr).toMatch(/pc: \d+ MiB, CPU core \S+, .*restored at [\d.]+ s of its clock/);
    process.stdout.write(
      `native snapshot: uptime ${upBefore} s at the save, ${upAfter} s after the restore; ` +
        `spin's CPU time ${cpuBefore} s then, ${now} s later\n${saved}\n`,
    );
  });

  it('refuses a damaged PC snapshot with exit 2, saying so', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'pc.snap');
    const first = lguest('--native', '--clock=virtual', `--monitor=unix:${sock}`);
    await first.prompt('the first prompt');
    const m = await MonitorClient.connect(sock);
    monitors.push(m);
    expect(await m.command(`savevm ${snap}`)).toMatch(/^saved /);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    const bytes = readFileSync(snap);
    bytes[bytes.length - 100] ^= 0xff;
    const damaged = join(dir, 'damaged.snap');
    writeFileSync(damaged, bytes);
    const bad = lguest(`--restore=${damaged}`);
    expect(await bad.end()).toEqual({ status: 2, signal: null });
    expect(bad.stderr).toMatch(/damaged\.snap.*(corrupt|checksum|damaged)/i);
  });
});
