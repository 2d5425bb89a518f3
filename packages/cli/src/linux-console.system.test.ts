// An interactive Linux shell on the lguest console, as a user meets it: the built `lguest
// run` in a real pseudo-terminal (util-linux `script`), booting the Linux 2.6.23 bzImage with
// klibc packed by `lguest initramfs` and `rdinit=/bin/sh`, the README's three commands. The
// terminal is in raw mode: what we type reaches hvc0 and Linux's tty echoes it; klibc's sh
// answers; a Ctrl-C is a byte for the guest (its tty discards the line being typed — pid 1
// has no controlling terminal, so there is no signal — and the shell goes on); three Ctrl-C
// leave with status 2 and the terminal's mode restored.
//
// The guest runs on the host clock, as a user runs it. The three Ctrl-C are timed on the
// host's wall clock (on either --clock) and typed in one write, so they arrive together.
// The steps wait for the guest's answers with generous patience (a Linux boot is ~7 s of CPU
// on an idle machine) and never for a fixed time.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from './lguest';
import { Conversation } from '../testing/conversation';
import { LINUX, linuxTests, unpackKlibc } from '../testing/linux';
import { MAIN, STTY_G } from '../testing/pty';

const STTY_LINE = new RegExp(STTY_G.source, 'm');
/** Patience for the boot to the first prompt, on a loaded machine. */
const BOOT_MS = 600_000;

const run = linuxTests('an interactive Linux shell');
const maybe = run ? describe : describe.skip;

maybe('an interactive Linux shell on the lguest console', () => {
  let c: Conversation | undefined;
  afterEach(() => c?.kill());

  it('in a terminal: commands answered, Ctrl-C to the guest, three Ctrl-C leave with status 2', async () => {
    // The README's recipe: klibc as it comes, packed as it is.
    const klibc = unpackKlibc();
    const initrd = join(mkdtempSync(join(tmpdir(), 'lguest-klibc-cpio-')), 'klibc.cpio.gz');
    const packed = await lguest(['initramfs', klibc, initrd], {
      stdout: { write: () => true },
      stderr: { write: () => true },
      cwd: process.cwd(),
      defaultKernel: LINUX.bzImage,
    });
    expect(packed).toBe(0);

    c = Conversation.inPty(
      `stty -g; node ${MAIN} run -v 64 ${LINUX.bzImage} console=hvc0 rdinit=/bin/sh ` +
        `--initrd=${initrd}; echo status=$?; stty -g`,
    );
    const [before] = await c.expect(STTY_LINE, 'stty -g before lguest');
    await c.seen('lguest: console: the terminal is in raw mode', 'raw mode');
    await c.expect('Freeing unused kernel memory', 'the end of the boot', BOOT_MS);
    await c.prompt('the first prompt of klibc sh', BOOT_MS);

    await c.command('echo hi $((6 * 7))', /^hi 42\n$/);
    await c.command('ls /bin', / sh$/m, / cat$/m, / poweroff$/m);
    await c.command('uname -sr', /^Linux 2\.6\.23\.17\S*\n$/);

    // One Ctrl-C: a byte for the guest's tty, whose line discipline throws away the line
    // typed so far (this kernel's hvc0 does not echo it as ^C); the shell never sees that
    // line, and lguest runs on.
    c.type('echo lost');
    await c.expect('echo lost', "the echo of 'echo lost'");
    c.type('\x03');
    await c.command('echo kept', /^kept\n$/);

    // Three in one write: lguest leaves with status 2.
    c.type('\x03\x03\x03');
    await c.expect('lguest: console: Ctrl-C 3 of 3', 'the three Ctrl-C counted');
    const [, status] = await c.expect(/^status=(\d+)\n/m, "lguest's exit status");
    expect(Number(status)).toBe(2);
    const [after] = await c.expect(STTY_LINE, 'stty -g after lguest');
    expect(after).toBe(before);
    expect(await c.end()).toEqual({ status: 0, signal: null });
    expect(c.transcript).toContain('killed: three Ctrl-C from the console');
    expect(c.transcript).toContain('lguest: console: the terminal is back in its own mode');
  }, 1_200_000);
});
