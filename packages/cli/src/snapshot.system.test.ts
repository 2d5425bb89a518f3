// Snapshots and live migration, end to end, with the built `lguest` as a user runs it: the
// bundled guest at its prompt with a program counting in the background is saved through
// the monitor and continued by a NEW lguest process, which answers the next command with
// everything intact — the same background job, its CPU time and the guest's uptime carrying
// on from where they were (a fresh boot would start them from zero and print its boot lines).
// Then a guest with a qcow2 overlay disk keeps its files across a save and restore, and a
// guest moved live between two lguest processes on loopback keeps its console; that test
// prints the downtime. The same for a guest booted natively on the emulated PC (--native):
// saved through the monitor and continued on the PC by a new lguest, which needs no --native
// to know the snapshot is a PC's. Every step waits for what the guest or lguest says, never
// for time.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conversation } from '../testing/conversation';
import { debugfs, e2fsck, mkext2, qemuImg } from '../testing/disk-tools';
import { freePort, getPage } from '../testing/http';
import { MonitorClient } from '../testing/monitor';
import { GUEST, MAIN } from '../testing/pty';

jest.setTimeout(15 * 60_000);

let dir: string;
const running: Conversation[] = [];
const monitors: MonitorClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-snapshot-'));
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

async function monitor(path: string): Promise<MonitorClient> {
  const m = await MonitorClient.connect(path);
  monitors.push(m);
  return m;
}

/** Boot to the shell's first prompt. */
async function atPrompt(c: Conversation): Promise<void> {
  await c.expect('init: starting /bin/sh\n', 'init starting the shell');
  await c.prompt('the first prompt');
}

/**
 * `ps`'s line for `pid`: its state and CPU seconds. A job just started shows as the shell's
 * fork until it has run far enough to exec spin: ask again until it is spin (a few times at most).
 */
async function psLine(c: Conversation, pid: string): Promise<{ state: string; cpu: number }> {
  for (let tries = 0; tries < 20; tries++) {
    const out = await c.command('ps');
    const m = new RegExp(`^ +${pid} +\\d+ (\\S) +([\\d.]+) (\\S+)$`, 'm').exec(out);
    if (!m) throw c.failure(`ps shows no process ${pid}`);
    if (m[3] === 'spin') return { state: m[1], cpu: Number(m[2]) };
  }
  throw c.failure(`process ${pid} never became spin`);
}

async function uptime(c: Conversation): Promise<number> {
  const [, up] = /^up (\d+\.\d\d) seconds/m.exec(await c.command('uptime', /^up \d+\.\d\d seconds/m)) ?? [];
  return Number(up);
}

describe('lguest snapshots', () => {
  it('save the guest at its prompt with a counter running, and a new lguest continues it where it was', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'guest.snap');
    const first = lguest(`--monitor=unix:${sock}`);
    await atPrompt(first);
    const [, pid] = /^\[(\d+)\] spin$/m.exec(await first.command('spin &', /^\[\d+\] spin$/m))!;
    const before = await psLine(first, pid);
    const upBefore = await uptime(first);

    const m = await monitor(sock);
    expect(await m.command('info status')).toMatch(/^VM status: running/);
    expect(await m.command('frobnicate')).toBe("unknown command 'frobnicate': type 'help' for the commands");
    expect(await m.command('stop')).toBe('stopped');
    expect(await m.command('info status')).toMatch(/^VM status: paused/);
    expect(await m.command('info registers')).toMatch(/^EAX=[0-9a-f]{8} .*EIP=[0-9a-f]{8}/);
    const saved = await m.command(`savevm ${snap}`);
    expect(saved).toMatch(/^saved .*guest\.snap: \d+ pages of guest memory/);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    // A new process: no boot, the same shell at the same prompt, the same job still counting.
    const second = lguest(`--restore=${snap}`);
    const upAfter = await uptime(second);
    expect(upAfter).toBeGreaterThanOrEqual(upBefore);
    const after = await psLine(second, pid);
    expect(after.cpu).toBeGreaterThanOrEqual(before.cpu);
    // The spin job keeps getting the CPU: its time goes on growing from there.
    let now = after;
    while (now.cpu <= after.cpu) now = await psLine(second, pid);
    expect(now.cpu).toBeGreaterThan(before.cpu);
    await second.command(`kill ${pid}`);
    second.type(`poweroff${second.enter}`);
    expect(await second.end()).toEqual({ status: 0, signal: null });
    expect(second.transcript).not.toContain('init: starting /bin/sh');
    expect(second.transcript).not.toContain('Welcome to the lguest.ts guest');
    process.stdout.write(
      `snapshot: uptime ${upBefore} s at the save, ${upAfter} s at the first command after the restore; ` +
        `spin's CPU time ${before.cpu} s then, ${now.cpu} s later\n${saved}\n`,
    );
  });

  it('keep the files of a guest on a qcow2 overlay across a save and restore', async () => {
    const base = join(dir, 'base.img');
    const overlay = join(dir, 'overlay.qcow2');
    const files = join(dir, 'files');
    mkdirSync(files);
    writeFileSync(join(files, 'hello.txt'), 'from the base image\n');
    mkext2(base, '4M', files);
    expect(qemuImg(['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay]).status).toBe(0);

    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'disk.snap');
    const first = lguest(`--monitor=unix:${sock}`, `--block=${overlay}`);
    await atPrompt(first);
    await first.command('mount /dev/lgba /mnt');
    await first.command('mkdir /mnt/stash');
    await first.command('cp /etc/motd /mnt/stash/motd');
    await first.command('sync');
    const m = await monitor(sock);
    expect(await m.command('info devices')).toMatch(/block lgba, irq \d+: .*overlay\.qcow2 \(qcow2\)/);
    expect(await m.command(`savevm ${snap}`)).toMatch(/^saved /);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    const second = lguest(`--restore=${snap}`);
    await second.command('cat /mnt/hello.txt', /^from the base image$/m);
    await second.command('cat /mnt/stash/motd', /Welcome to the lguest\.ts guest/);
    await second.command('ls /mnt/stash', /motd/);
    await second.command('umount /mnt');
    second.type(`poweroff${second.enter}`);
    expect(await second.end()).toEqual({ status: 0, signal: null });

    // A disk that is not the one the guest had is refused, with the reason: grown, then gone.
    expect(qemuImg(['resize', '-q', overlay, '8M']).status).toBe(0);
    const grown = lguest(`--restore=${snap}`);
    expect((await grown.end()).status).toBe(2);
    expect(grown.stderr).toMatch(
      /disk '.*overlay\.qcow2' changed size since the guest was saved \(4194304 bytes then, 8388608 now\)/,
    );
    rmSync(overlay);
    const gone = lguest(`--restore=${snap}`);
    expect((await gone.end()).status).toBe(2);
    expect(gone.stderr).toMatch(/overlay\.qcow2.*(no such file|does not exist)/i);
  });

  it('keep a guest on --net=user serving: its httpd, restored, answers the host through the same forwarded port', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'net.snap');
    const port = await freePort();
    const net = `--net=user,hostfwd=tcp:127.0.0.1:${port}-:80`;
    const first = lguest(`--monitor=unix:${sock}`, net, '32', GUEST, 'ip=10.0.2.15::10.0.2.2:255.255.255.0');
    await atPrompt(first);
    first.type(`httpd 80 &${first.enter}`);
    await first.expect('httpd: serving port 80', 'httpd listening');
    expect((await getPage(port)).body).toContain('<p>visit 1</p>');
    await first.expect('httpd: visit 1 from 10.0.2.2', 'the first visit');

    const m = await monitor(sock);
    // It can be saved, but not migrated: the other lguest would need the forwarded port now.
    expect(await m.command('migrate tcp:127.0.0.1:1')).toMatch(/^error: cannot migrate: .*--net=user.*savevm/);
    expect(await m.command(`savevm ${snap}`)).toMatch(/^saved /);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    // The restored guest's network device is made again and forwards the same port: the same
    // httpd process, still counting, answers.
    const second = lguest(`--restore=${snap}`);
    // The shell answering means the guest runs, so its devices were set up before: the port is bound.
    await second.command('echo restored', /^restored$/m);
    let page = await getPage(port);
    expect(page.body).toContain('<p>visit 2</p>');
    await second.expect('httpd: visit 2 from 10.0.2.2', 'the second visit');
    page = await getPage(port);
    expect(page.body).toContain('<p>visit 3</p>');
    second.type(`poweroff${second.enter}`);
    expect(await second.end()).toEqual({ status: 0, signal: null });
    expect(second.transcript).not.toContain('init: starting /bin/sh');
  });

  it('refuse to save a guest on --sharenet, whose peers are other guests', async () => {
    const sock = join(dir, 'monitor.sock');
    const first = lguest(`--monitor=unix:${sock}`, `--sharenet=${join(dir, 'net')}`);
    await atPrompt(first);
    const m = await monitor(sock);
    expect(await m.command(`savevm ${join(dir, 'x.snap')}`)).toMatch(
      /^error: the guest has a --sharenet=.* device whose peers, other guests, cannot be saved with it$/,
    );
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });
  });

  it('refuse a damaged or truncated snapshot with exit status 2 and the reason', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'guest.snap');
    const first = lguest(`--monitor=unix:${sock}`);
    await atPrompt(first);
    const m = await monitor(sock);
    expect(await m.command(`savevm ${snap}`)).toMatch(/^saved /);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    const bytes = readFileSync(snap);
    const bad: [string, Buffer, RegExp][] = [
      ['truncated', bytes.subarray(0, bytes.length - 1000), /is truncated/],
      ['flipped', Buffer.from(bytes).fill(0x55, 5000, 5001), /is corrupt: section '\w+' fails its checksum/],
      ['nothing', Buffer.from('hello\n'), /is truncated/],
    ];
    for (const [name, content, reason] of bad) {
      const file = join(dir, `${name}.snap`);
      writeFileSync(file, content);
      const c = lguest(`--restore=${file}`);
      expect((await c.end()).status).toBe(2);
      expect(c.stderr).toMatch(reason);
    }
  });
});

describe('the monitor', () => {
  it('lets the --timeout watchdog end a guest it holds stopped (status 124)', async () => {
    const sock = join(dir, 'monitor.sock');
    // On the virtual clock a stopped guest leaves the host idle, so its clock skips straight
    // to the watchdog's deadline.
    const c = lguest('--clock=virtual', '--timeout=1000', `--monitor=unix:${sock}`);
    await atPrompt(c);
    const m = await monitor(sock);
    expect(await m.command('stop')).toBe('stopped');
    expect(await c.end()).toEqual({ status: 124, signal: null });
    expect(c.stderr).toMatch(/still running after 1000 s of virtual clock time/);
  });
});

describe('lguest live migration', () => {
  it('moves a running guest between two lguest processes on loopback, console and all, and says the downtime', async () => {
    const receiver = lguest('--incoming=tcp:127.0.0.1:0');
    const [, port] = await receiver.seenOnStderr(/incoming: waiting for a migration on tcp:127\.0\.0\.1:(\d+)/);

    const sock = join(dir, 'monitor.sock');
    const source = lguest(`--monitor=unix:${sock}`);
    await atPrompt(source);
    const [, pid] = /^\[(\d+)\] spin$/m.exec(await source.command('spin &', /^\[\d+\] spin$/m))!;
    await source.command('echo before the move', /^before the move$/m);
    const upBefore = await uptime(source);

    const m = await monitor(sock);
    const said = await m.last(`migrate tcp:127.0.0.1:${port}`);
    expect(said).toMatch(/^round 1: \d+ pages \(all of memory in use\)$/m);
    const [summary] = /^migrated to tcp:127\.0\.0\.1:\d+: .*$/m.exec(said) ?? [];
    expect(summary).toMatch(/downtime [\d.]+ ms wall, \d+ ns of the guest's clock/);
    expect(await source.end()).toEqual({ status: 0, signal: null });
    expect(source.stderr).toContain(`migrated to tcp:127.0.0.1:${port}`);

    // The receiver's console is the guest's now: the same shell, the same background job.
    await receiver.command('echo after the move', /^after the move$/m);
    expect(await uptime(receiver)).toBeGreaterThanOrEqual(upBefore);
    await psLine(receiver, pid);
    await receiver.command(`kill ${pid}`);
    receiver.type(`poweroff${receiver.enter}`);
    expect(await receiver.end()).toEqual({ status: 0, signal: null });
    expect(receiver.transcript).not.toContain('init: starting /bin/sh');
    const [received] = /incoming: the guest runs here [\d.]+ ms after its last bytes came/.exec(receiver.stderr) ?? [];
    expect(received).toBeDefined();
    process.stdout.write(`migration: ${summary}\nmigration: ${received}\n`);
  });

  it('moves a guest with a disk: the receiver takes the disk once the sender has let go, and the files are there', async () => {
    const disk = join(dir, 'disk.img');
    mkext2(disk, '4M');
    const receiver = lguest('--incoming=tcp:127.0.0.1:0');
    const [, port] = await receiver.seenOnStderr(/incoming: waiting for a migration on tcp:127\.0\.0\.1:(\d+)/);
    const sock = join(dir, 'monitor.sock');
    const source = lguest(`--monitor=unix:${sock}`, `--block=${disk}`);
    await atPrompt(source);
    await source.command('mount /dev/lgba /mnt');
    await source.command('cp /etc/motd /mnt/motd');
    await source.command('sync');

    const m = await monitor(sock);
    expect(await m.last(`migrate tcp:127.0.0.1:${port}`)).toMatch(/^migrated to tcp:127\.0\.0\.1:\d+: /m);
    expect(await source.end()).toEqual({ status: 0, signal: null });
    expect(receiver.stderr).toContain('its disks are taken once the sending lguest lets go of them');

    await receiver.command('cat /mnt/motd', /Welcome to the lguest\.ts guest/);
    await receiver.command('cp /etc/hostname /mnt/hostname');
    await receiver.command('umount /mnt');
    receiver.type(`poweroff${receiver.enter}`);
    expect(await receiver.end()).toEqual({ status: 0, signal: null });
    // What each side wrote is on the disk, and the filesystem is clean.
    expect(debugfs(disk, 'ls -l /')).toMatch(/ motd\s[\s\S]* hostname\s/);
    expect(e2fsck(disk).status).toBe(0);
  });
});

describe('snapshots of a guest on the PC', () => {
  it('save the natively booted guest with a counter running, and a new lguest continues it on the PC', async () => {
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'pc.snap');
    const first = lguest('--native', `--monitor=unix:${sock}`);
    await atPrompt(first);
    const [, pid] = /^\[(\d+)\] spin$/m.exec(await first.command('spin &', /^\[\d+\] spin$/m))!;
    const cpuBefore = (await psLine(first, pid)).cpu;
    const upBefore = await uptime(first);

    const m = await monitor(sock);
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
    const cpuAfter = (await psLine(second, pid)).cpu;
    expect(cpuAfter).toBeGreaterThanOrEqual(cpuBefore);
    let now = cpuAfter;
    while (now <= cpuAfter) now = (await psLine(second, pid)).cpu;
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
    const m = await monitor(sock);
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
