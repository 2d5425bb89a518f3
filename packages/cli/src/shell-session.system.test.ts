// The guest's shell, end to end, as a user talks to it: the built `lguest run` (the guest
// under lguest) and `lguest run --native` (the same image on the emulated PC, its UART as the
// console), each in a real pseudo-terminal (util-linux `script`) and through a pipe. The
// tests type one command at a time, each once the answer to the one before and the next
// prompt are there, and check each answer: echo, ls, ls /bin, cat, ps, uptime, a program that
// faults, uname -a, a program that spins until one Ctrl-C, the shell still alive after it,
// the same program in the background (preempted on the tick while the shell answers, then
// killed), syscheck, and poweroff, which ends lguest with status 0. In the terminal, `stty -g` is the same
// before and after; three Ctrl-C end the guest with status 2 and give it back as well.
// The clock is the default (--clock=host): a guest at its prompt sleeps until a key comes.

import { Conversation, delay } from '../testing/conversation';
import { MAIN, STTY_G } from '../testing/pty';

/** A whole `stty -g` line in a transcript. */
const STTY_LINE = new RegExp(STTY_G.source, 'm');

/** `name` alone on a line of a command's output. */
const line = (name: string) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');

const machines: { name: string; options: string[]; platform: string; poweredOff: RegExp }[] = [
  // platform: what the guest's uname version says it runs on; poweredOff: lguest -v's last word.
  { name: 'lguest', options: [], platform: 'lguest', poweredOff: /guest: CRASH: Power down \(exit status 0\)/ },
  {
    name: '--native',
    options: ['--native'],
    platform: 'native hardware',
    poweredOff: /pc: power-off \(exit status 0\)/,
  },
];

/** From boot to a shell that has answered everything and is still alive, at its prompt. */
async function talkToTheShell(c: Conversation, platform: string): Promise<void> {
  await c.expect('init: starting /bin/sh\n', 'init starting the shell');
  await c.expect(
    "Welcome to the lguest.ts guest: a small kernel on paravirt_ops.\nType 'help' for the commands.\n",
    'the motd',
  );
  await c.prompt('the first prompt');

  await c.command('echo hi', /^hi\n$/);
  await c.command('ls', ...['bin/', 'dev/', 'proc/', 'etc/motd', 'README', 'etc/hostname'].map(line));
  await c.command('ls /bin', ...['sh', 'hello', 'fault', 'spin', 'greet', 'upper'].map(line));
  await c.command('cat /etc/hostname', /^lguest\n$/);
  await c.command('ps', /^\s*PID\b.*\bCOMMAND\b/m, /^\s*\d+\s.*\bsh$/m);
  await c.command('uptime', /^up \d+\.\d\d seconds/);
  await c.command(
    'fault',
    /^fault\[\d+\]: segmentation fault at 0x00000000 \(eip [0-9a-f]+\)$/m,
    /^fault: killed \(signal \d+\)$/m,
  );
  await c.command('uname -a', new RegExp(`^lguest\\.ts lguest \\S+ #1 ${platform} i386\\n$`));

  // spin runs in ring 3 until interrupted: give it a moment to be running (no prompt comes),
  // then one Ctrl-C, which the line discipline echoes as ^C.
  c.type(`spin${c.enter}`);
  await c.expect('spin\n', "the echo of 'spin'");
  await delay(1000);
  if (c.unread !== '')
    throw c.failure(`'spin' should run silently until Ctrl-C, but printed ${JSON.stringify(c.unread)}`);
  c.type('\x03');
  await c.expect('^C\n', 'the echo of Ctrl-C');
  await c.answer("'spin' and Ctrl-C", [/^spin: interrupted\n$/]);
  await c.command('echo still here', /^still here\n$/);

  // Processes: spin again, in the background. It never makes a system call, so the shell
  // answers only because the tick preempts it; ps shows it running, and kill ends it.
  const started = await c.command('spin &', /^\[\d+\] spin\n$/);
  const pid = /^\[(\d+)\]/.exec(started)![1];
  await delay(300);
  await c.command('echo alive', /^alive\n$/);
  await c.command('ps', new RegExp(`^ +${pid} +\\d+ R +[\\d.]+ spin$`, 'm'));
  // The shell reports the job before the first prompt after it has ended: kill's or wait's.
  const ended = (await c.command(`kill ${pid}`)) + (await c.command('wait'));
  expect(ended).toMatch(new RegExp(`^\\[${pid}\\] killed \\(signal 15\\)$`, 'm'));
  await c.command('syscheck', /^syscheck: (\d+) of \1 checks passed$/m);
}

/** Types poweroff at the prompt and waits for its echo. */
async function powerOff(c: Conversation): Promise<void> {
  c.type(`poweroff${c.enter}`);
  await c.expect('poweroff\n', "the echo of 'poweroff'");
}

/** A fresh pty running `lguest run -v …` between two `stty -g`, with its exit status echoed. */
function lguestInPty(options: readonly string[]): Conversation {
  return Conversation.inPty(`stty -g; node ${MAIN} run -v ${options.join(' ')}; echo status=$?; stty -g`);
}

/** Reads the end of an lguestInPty session: lguest's exit status, and the terminal's mode
 * after it, which must be the mode before; script itself must end with status 0. */
async function endOfPty(c: Conversation, before: string): Promise<number> {
  const [, status] = await c.expect(/^status=(\d+)\n/m, "lguest's exit status");
  const [after] = await c.expect(STTY_LINE, 'stty -g after lguest');
  expect(after).toBe(before);
  expect(await c.end()).toEqual({ status: 0, signal: null });
  return Number(status);
}

describe.each(machines)('the shell of lguest run $name', ({ options, platform, poweredOff }) => {
  let c: Conversation | undefined;
  afterEach(() => c?.kill());

  it('in a terminal: answers each command, survives Ctrl-C of a spinning program, powers off with status 0, and restores the terminal', async () => {
    c = lguestInPty(options);
    const [before] = await c.expect(STTY_LINE, 'stty -g before lguest');
    // Raw mode comes before the guest runs (so before the prompt): typing starts after that.
    await c.seen('lguest: console: the terminal is in raw mode', 'raw mode');
    await talkToTheShell(c, platform);
    await powerOff(c);
    expect(await endOfPty(c, before)).toBe(0);
    expect(c.transcript).toContain('lguest: console: the terminal is back in its own mode');
  });

  it('through a pipe: the same session, no raw mode, powers off with status 0', async () => {
    c = Conversation.piped([MAIN, 'run', '-v', ...options]);
    await talkToTheShell(c, platform);
    await powerOff(c);
    expect(await c.end()).toEqual({ status: 0, signal: null });
    expect(c.stderr).not.toContain('raw mode');
    expect(c.stderr).toMatch(poweredOff);
  });

  it('in a terminal: three Ctrl-C at the prompt end the guest with status 2 and restore the terminal', async () => {
    c = lguestInPty(options);
    const [before] = await c.expect(STTY_LINE, 'stty -g before lguest');
    await c.seen('lguest: console: the terminal is in raw mode', 'raw mode');
    await c.expect('init: starting /bin/sh\n', 'init starting the shell');
    await c.prompt('the first prompt');
    // The three in one write: within the second of the host's wall clock however busy the
    // machine is.
    c.type('\x03\x03\x03');
    await c.expect('lguest: console: Ctrl-C 3 of 3', 'the three Ctrl-C counted');
    expect(await endOfPty(c, before)).toBe(2);
    expect(c.transcript).toContain('killed: three Ctrl-C from the console');
    expect(c.transcript).toContain('lguest: console: the terminal is back in its own mode');
  });
});
