// The real Linux 2.6.23 guest saved and continued: klibc's shell at its prompt with a
// variable set is saved through the monitor, and a NEW lguest process continues it from the
// snapshot — no boot, the same shell, the variable still there, the kernel still answering.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from './lguest';
import { Conversation } from '../testing/conversation';
import { LINUX, linuxTests, unpackKlibc } from '../testing/linux';
import { MonitorClient } from '../testing/monitor';
import { MAIN } from '../testing/pty';

/** Patience for the boot to the first prompt, on a loaded machine. */
const BOOT_MS = 600_000;
jest.setTimeout(2 * BOOT_MS);

const run = linuxTests('saving and restoring Linux');
const maybe = run ? describe : describe.skip;

maybe('the Linux guest saved and restored', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('continues in a new lguest at the same shell, with its variables, without booting again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-linux-snapshot-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const initrd = join(dir, 'klibc.cpio.gz');
    const quiet = { write: () => true };
    expect(
      await lguest(['initramfs', unpackKlibc(), initrd], {
        stdout: quiet,
        stderr: quiet,
        cwd: dir,
        defaultKernel: LINUX.bzImage,
      }),
    ).toBe(0);
    const sock = join(dir, 'monitor.sock');
    const snap = join(dir, 'linux.snap');

    const first = Conversation.piped([
      MAIN,
      'run',
      `--monitor=unix:${sock}`,
      `--initrd=${initrd}`,
      '64',
      LINUX.bzImage,
      'console=hvc0',
      'rdinit=/bin/sh',
    ]);
    cleanup.push(() => first.kill());
    await first.expect('Freeing unused kernel memory', 'the end of the boot', BOOT_MS);
    await first.prompt('the first prompt of klibc sh', BOOT_MS);
    await first.command('X=kept-across-the-restore');
    await first.command('echo $X', /^kept-across-the-restore\n$/);

    const m = await MonitorClient.connect(sock);
    cleanup.push(() => m.close());
    expect(await m.command(`savevm ${snap}`)).toMatch(/^saved .*linux\.snap: \d+ pages of guest memory/);
    expect(await m.last('quit')).toBe('quitting');
    expect(await first.end()).toEqual({ status: 0, signal: null });

    const second = Conversation.piped([MAIN, 'run', `--restore=${snap}`]);
    cleanup.push(() => second.kill());
    await second.command('echo $X', /^kept-across-the-restore\n$/);
    await second.command('uname -sr', /^Linux 2\.6\.23\.17\S*\n$/);
    await second.command('ls /bin', / sh$/m);
    expect(second.transcript).not.toContain('Freeing unused kernel memory');
    second.type(`poweroff${second.enter}`);
    expect((await second.end()).status).toBe(0);
  });
});
