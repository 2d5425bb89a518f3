// Debugging a guest with gdb: Debian's gdb, in batch mode, against `lguest run --gdb -S`.
//
// The Linux 2.6.23 guest (its vmlinux has symbols but no debugging information) stops before
// its first instruction, breaks at start_kernel, steps instruction by instruction into a call
// and `step`s back out of it, reads init_task's command name from guest memory — through the
// guest's own page tables, at its 0xc0000000 kernel address — writes it and reads it back.
// Our own guest kernel breaks in its write system call, continues and breaks there again.
// Unmapped addresses are errors for gdb, never trouble for the guest. Watchpoints: `watch`
// on Linux's jiffies under lguest and natively (hardware watchpoints, the old and new values,
// the stop after the writing instruction), `rwatch` and `awatch` in our guest.
//
// Everything waits for events: gdb starts when lguest has said where it listens, and the
// guest, stopped from its first instruction, moves only when gdb tells it to. The runs are
// on the virtual clock with a --timeout in virtual seconds as the bound.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { framePacket, PacketReader } from '@lguest/gdbstub';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { lguest } from './lguest';
import { MonitorClient } from '../testing/monitor';
import { LINUX, linuxTests, unpackVmlinux } from '../testing/linux';

const PATIENCE_MS = 1_800_000;
const GUEST = resolve(__dirname, '..', '..', 'guest', 'build', 'guest.elf');

interface Debugged {
  status: number;
  stderr: string;
  console: string;
  gdb: string;
}

/**
 * Runs `kernel` under `lguest run --gdb=tcp:127.0.0.1:0 -S` (in 64 MiB; null: no MEM or
 * KERNEL, for --restore) and, once lguest says which port it listens on, `gdb -batch` with
 * `symbols` and each of `commands` as an -ex.
 */
async function debug(
  kernel: string | null,
  symbols: string,
  args: string[],
  commands: string[],
  options: string[] = [],
  typing: [RegExp, string][] = [],
): Promise<Debugged> {
  let stderr = '';
  let console = '';
  let gdbOut = '';
  let gdbDone: Promise<void> | null = null;
  // Keys for the guest's console, each typed once its output matches the pattern before it.
  const stdin = new PassThrough();
  const keys = [...typing];
  while (keys.length > 0 && keys[0][0].test('')) stdin.write(keys.shift()![1]);
  const status = await lguest(
    [
      'run',
      ...options,
      '--clock=virtual',
      '--timeout=200',
      '--gdb=tcp:127.0.0.1:0',
      '-S',
      ...(kernel === null ? [] : ['64', kernel, ...args]),
    ],
    {
      stdin,
      stdout: {
        write: (c) => {
          console += Buffer.from(c).toString();
          while (keys.length > 0 && keys[0][0].test(console)) stdin.write(keys.shift()![1]);
        },
      },
      stderr: {
        write: (c) => {
          stderr += Buffer.from(c).toString();
          const m = /gdb: listening on tcp:127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m && !gdbDone) {
            // gdb gives up on a reply after 2 s by default: a busy machine deserves patience.
            const ex = [
              'set pagination off',
              'set confirm off',
              'set remotetimeout 120',
              `target remote 127.0.0.1:${m[1]}`,
              ...commands,
            ];
            // gdb's errors and its output into one pipe, in the order gdb wrote them (two pipes
            // read apart can splice an error into the middle of a line of output).
            const args = ['-batch', '-nx', ...ex.flatMap((c) => ['-ex', c]), symbols];
            const gdb = spawn('sh', ['-c', 'exec "$0" "$@" 2>&1', 'gdb', ...args], {
              stdio: ['ignore', 'pipe', 'ignore'],
            });
            gdb.stdout.on('data', (d) => (gdbOut += d));
            gdbDone = new Promise((done) => gdb.on('close', () => done()));
          }
        },
      },
      cwd: process.cwd(),
      defaultKernel: GUEST,
    },
  );
  await gdbDone;
  return { status, stderr, console, gdb: gdbOut };
}

/**
 * The value of `name` in gdb's `info registers name` output. Its stdout and stderr arrive on
 * two pipes, so an error message may end up before it on the same line (`0xffc00000:eip …`).
 */
function register(out: string, name: string, nth = 0): number {
  const all = [...out.matchAll(new RegExp(`(?:^|\\s)${name}\\s+0x([0-9a-f]+)`, 'gm'))];
  if (!all[nth]) throw new Error(`no ${name} #${nth} in gdb's output:\n${out}`);
  return parseInt(all[nth][1], 16);
}

/** A symbol's address from the ELF's symbol table (nm). */
function symbol(elf: string, name: string): number {
  const r = spawnSync('nm', [elf], { encoding: 'utf8' });
  const m = new RegExp(`^([0-9a-f]+) \\w ${name}$`, 'm').exec(r.stdout);
  if (!m) throw new Error(`${name} is not in ${elf}`);
  return parseInt(m[1], 16);
}

const hasGdb = spawnSync('gdb', ['--version']).status === 0;
if (!hasGdb && process.env.CI === 'true') throw new Error('gdb is not installed (.ci/run installs it)');
if (!hasGdb) process.stderr.write('\n*** gdb system tests: NOT RUN — gdb is not installed. ***\n\n');
const withGdb = hasGdb ? describe : describe.skip;
const withLinux = hasGdb && linuxTests('gdb against Linux under lguest') ? describe : describe.skip;

withLinux('gdb against the Linux guest under lguest', () => {
  it(
    'breaks at start_kernel, steps, and reads and writes init_task.comm',
    async () => {
      const vmlinux = unpackVmlinux();
      const startKernel = symbol(vmlinux, 'start_kernel');
      const callee = symbol(vmlinux, 'smp_setup_processor_id');
      // The vmlinux has symbols but no types: give gdb task_struct as this kernel lays it out
      // (comm at 0x1cc: get_task_comm copies from 0x1cc(%ebx)), in an object of its own.
      const dir = mkdtempSync(join(tmpdir(), 'lguest-gdb-'));
      writeFileSync(
        join(dir, 'types.c'),
        'struct task_struct { char before_comm[0x1cc]; char comm[16]; };\n' +
          'extern struct task_struct init_task;\n' +
          'struct task_struct *types_anchor = &init_task;\n',
      );
      const cc = spawnSync('gcc', ['-m32', '-g', '-c', join(dir, 'types.c'), '-o', join(dir, 'types.o')], {
        encoding: 'utf8',
      });
      expect(cc.stderr).toBe('');

      const r = await debug(
        vmlinux,
        vmlinux,
        ['console=hvc0'],
        [
          'info registers eip',
          'break start_kernel',
          'continue',
          'info registers eip',
          // Five instructions of start_kernel's prologue bring us to its first call...
          'stepi 5',
          'info registers eip',
          // ...one more goes into the callee...
          'stepi',
          'info registers eip',
          // ...and, without line information, `step` runs to the end of it: back in start_kernel.
          'step',
          'info registers eip',
          `add-symbol-file ${join(dir, 'types.o')}`,
          'print init_task.comm',
          "set var init_task.comm[0] = 'S'",
          'print init_task.comm',
          "set var init_task.comm[0] = 's'",
          'x/4xb 0',
          'x/4xb 0xffc00000',
          'info registers eip',
          'kill',
        ],
      );
      const out = r.gdb;
      // Stopped before the first instruction: the guest printed nothing yet.
      expect(register(out, 'eip', 0)).not.toBe(startKernel);
      expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)/);
      expect(register(out, 'eip', 1)).toBe(startKernel);
      expect(register(out, 'eip', 2)).toBe(startKernel + 7);
      expect(register(out, 'eip', 3)).toBe(callee);
      expect(register(out, 'eip', 4)).toBe(startKernel + 12);
      expect(out).toContain('$1 = "swapper');
      expect(out).toContain('$2 = "Swapper');
      expect(out).toMatch(/Cannot access memory at address 0x0\b/);
      expect(out).toMatch(/Cannot access memory at address 0xffc00000/);
      // The failed reads changed nothing: still where the step left it.
      expect(register(out, 'eip', 5)).toBe(startKernel + 12);
      expect(out).not.toMatch(/Remote .* (too long|error)/i);
      // Killed by the debugger, as the guest's end says.
      expect(r.stderr).toContain('killed by the debugger');
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});

/**
 * gdb's `watch` on jiffies (the low word of jiffies_64, which do_timer's `add %eax,jiffies_64`
 * at do_timer+8 advances), after a break at start_kernel: each hit stops after that
 * instruction, with the old and new values, as x86 data breakpoints do.
 */
function watchJiffies(vmlinux: string): { commands: string[]; check: (out: string) => void } {
  const jiffies = symbol(vmlinux, 'jiffies');
  const doTimer = symbol(vmlinux, 'do_timer');
  const expr = `*(unsigned long *)0x${jiffies.toString(16)}`;
  return {
    commands: [
      'break start_kernel',
      'continue',
      'delete',
      `watch ${expr}`,
      'continue',
      'info registers eip',
      'continue',
      'info registers eip',
      'kill',
    ],
    check: (out) => {
      const said = out.replace(/\r/g, '');
      // gdb used the stub's watchpoints (Z2), not single steps.
      expect(said).toContain(`Hardware watchpoint 2: ${expr}`);
      expect(said).not.toMatch(/Software watchpoint|Could not insert|Couldn't write/i);
      const hits = [...said.matchAll(/Hardware watchpoint 2: [^\n]*\n\nOld value = (\d+)\nNew value = (\d+)/g)];
      expect(hits).toHaveLength(2);
      const [[, old1, new1], [, old2, new2]] = hits.map((h) => h.map(Number));
      expect(new1 - old1).toBeGreaterThanOrEqual(1);
      expect(new1 - old1).toBeLessThan(100);
      expect(old2).toBe(new1);
      expect(new2 - old2).toBeGreaterThanOrEqual(1);
      // Stopped after the write: at the instruction after do_timer's add (6 bytes at +8).
      expect(register(said, 'eip', 0)).toBe(doTimer + 14);
      expect(register(said, 'eip', 1)).toBe(doTimer + 14);
      expect(said).toMatch(/0x[0-9a-f]+ in do_timer \(\)/);
    },
  };
}

withLinux('gdb watchpoints on the Linux guest', () => {
  it(
    'under lguest: watch jiffies stops after do_timer writes it, with the old and new values',
    async () => {
      const vmlinux = unpackVmlinux();
      const w = watchJiffies(vmlinux);
      const r = await debug(vmlinux, vmlinux, ['console=hvc0'], w.commands);
      w.check(r.gdb);
      expect(r.stderr).toContain('killed by the debugger');
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );

  it(
    'natively (--native): the same watch on the bzImage',
    async () => {
      const vmlinux = unpackVmlinux();
      const w = watchJiffies(vmlinux);
      const r = await debug(LINUX.bzImage, vmlinux, ['console=ttyS0'], w.commands, ['--native']);
      w.check(r.gdb);
      expect(r.stderr).toContain('killed by the debugger');
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});

withLinux('gdb against the Linux guest on the emulated PC (--native)', () => {
  it(
    'breaks at start_kernel of the bzImage, steps, and reads init_task.comm through the kernel page tables',
    async () => {
      const vmlinux = unpackVmlinux();
      const startKernel = symbol(vmlinux, 'start_kernel');
      const initTask = symbol(vmlinux, 'init_task');
      const r = await debug(
        LINUX.bzImage,
        vmlinux,
        ['console=ttyS0'],
        [
          'info registers eip',
          'x/4xb 0xc0000000',
          'break start_kernel',
          'continue',
          'info registers eip',
          'stepi 5',
          'info registers eip',
          `x/s 0x${(initTask + 0x1cc).toString(16)}`,
          'kill',
        ],
        ['--native'],
      );
      const out = r.gdb;
      // Before the first instruction paging is off: the kernel's addresses are not mapped yet.
      expect(register(out, 'eip', 0)).toBeLessThan(0xc0000000);
      expect(out).toMatch(/Cannot access memory at address 0xc0000000/);
      expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)/);
      expect(register(out, 'eip', 1)).toBe(startKernel);
      expect(register(out, 'eip', 2)).toBe(startKernel + 7);
      expect(out).toMatch(/<init_task\+460>:\s+"swapper"/);
      expect(r.stderr).toContain('killed by the debugger');
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});

withGdb('gdb against our guest kernel under lguest', () => {
  it.each(['interpreter', 'jit'])(
    'breaks in the write system call, continues, and breaks there again (%s core)',
    async (core) => {
      const sysWrite = symbol(GUEST, 'sys_write');
      const r = await debug(
        GUEST,
        GUEST,
        [],
        [
          'break sys_write',
          'continue',
          'info registers eip',
          'bt 1',
          'continue',
          'info registers eip',
          'delete',
          // A hardware breakpoint (Z1) is one of the same invisible breakpoints.
          'hbreak sys_write',
          'continue',
          'info registers eip',
          'info registers cs',
          'kill',
        ],
        [`--cpu=${core}`],
      );
      const out = r.gdb;
      expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in sys_write \(\)/);
      expect(register(out, 'eip', 0)).toBe(sysWrite);
      expect(register(out, 'eip', 1)).toBe(sysWrite);
      expect(out.match(/Breakpoint 1, /g)).toHaveLength(2);
      expect(out).toMatch(/Hardware assisted breakpoint 2 at 0x[0-9a-f]+/);
      expect(out).toMatch(/Breakpoint 2, 0x[0-9a-f]+ in sys_write \(\)/);
      expect(register(out, 'eip', 2)).toBe(sysWrite);
      // Stopped in the guest kernel, in ring 1 where lguest runs it (not the switcher's ring 0),
      // after the guest had printed something.
      expect(register(out, 'cs') & 3).toBe(1);
      expect(r.console.length).toBeGreaterThan(0);
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});

/** The instruction (objdump's line) that ends where `eip` begins, in `elf`. */
function instructionBefore(elf: string, eip: number): string {
  const r = spawnSync('objdump', ['-d', elf], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const lines = r.stdout.split('\n').filter((l) => /^\s*[0-9a-f]+:\t/.test(l));
  const at = lines.findIndex((l) => parseInt(l, 16) === eip);
  if (at <= 0) throw new Error(`no instruction at 0x${eip.toString(16)} in ${elf}`);
  return lines[at - 1];
}

withGdb('gdb read and access watchpoints on our guest kernel under lguest', () => {
  it.each(['interpreter', 'jit'])(
    'rwatch stops after the instruction that read, awatch after one that read or wrote (%s core)',
    async (core) => {
      const lastPid = symbol(GUEST, 'last_pid');
      const jiffies = symbol(GUEST, 'jiffies');
      const r = await debug(
        GUEST,
        GUEST,
        [],
        [
          `rwatch *(unsigned int *)0x${lastPid.toString(16)}`,
          'continue',
          'info registers eip',
          'delete',
          `awatch *(unsigned int *)0x${jiffies.toString(16)}`,
          'continue',
          'info registers eip',
          'kill',
        ],
        [`--cpu=${core}`],
      );
      const out = r.gdb.replace(/\r/g, '');
      expect(out).toMatch(/Hardware read watchpoint 1: \*\(unsigned int \*\)0x[0-9a-f]+\n\nValue = \d+/);
      expect(out).toMatch(
        /Hardware access \(read\/write\) watchpoint 2: \*\(unsigned int \*\)0x[0-9a-f]+\n\n(Value = \d+|Old value = \d+\nNew value = \d+)/,
      );
      // Each stop is right after an instruction that has the watched variable as an operand.
      expect(instructionBefore(GUEST, register(out, 'eip', 0))).toContain(lastPid.toString(16));
      expect(instructionBefore(GUEST, register(out, 'eip', 1))).toContain(jiffies.toString(16));
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});

/**
 * Where the `fpu` program of our guest holds 1234.5 + its pid in ST(0): its loop of
 * sched_yield calls (`int $0x80; dec %ebx; jne`) ends at an `fstpl` that stores it. Every
 * program is linked at the same addresses, so the breakpoint's condition is the code there
 * (8 bytes from the `int`), which only this program has.
 */
function fpuKeptAt(): { address: number; condition: string } {
  const elf = resolve(__dirname, '..', '..', 'guest', 'build', 'user-fpu.elf');
  const r = spawnSync('objdump', ['-d', elf], { encoding: 'utf8' });
  const lines = r.stdout.split('\n').filter((l) => /^\s*[0-9a-f]+:\t/.test(l));
  const at = lines.findIndex(
    (l, i) =>
      l.includes('int    $0x80') &&
      /\tdec /.test(lines[i + 1] ?? '') &&
      /\tjne /.test(lines[i + 2] ?? '') &&
      /\tfstpl /.test(lines[i + 3] ?? ''),
  );
  if (at < 0) throw new Error(`no yield loop ending in fstpl in ${elf}`);
  const bytes = lines
    .slice(at, at + 4)
    .flatMap((l) => l.split('\t')[1].trim().split(' '))
    .map((b) => parseInt(b, 16));
  const start = parseInt(lines[at], 16);
  const dword = (i: number) =>
    `*(unsigned int *)0x${(start + i).toString(16)} == 0x${Buffer.from(bytes.slice(i, i + 4))
      .readUInt32LE(0)
      .toString(16)}`;
  return { address: parseInt(lines[at + 3], 16), condition: `${dword(0)} && ${dword(4)}` };
}

withGdb('gdb and the x87 registers of our guest', () => {
  it.each([
    ['under lguest', []],
    ['natively', ['--native']],
  ])(
    '%s: $st0 is the value the fpu program loaded, and a value gdb writes there is the one it stores',
    async (_where, options) => {
      const kept = fpuKeptAt();
      const r = await debug(
        GUEST,
        GUEST,
        [],
        [
          `break *0x${kept.address.toString(16)} if ${kept.condition}`,
          'continue',
          'info registers eip',
          'print $st0',
          'print/x $fctrl',
          'print/x $fstat',
          'info float',
          'set var $st0 = 4321.25',
          'print $st0',
          'delete',
          'continue',
        ],
        options,
        [
          [/# $/, 'fpu 3\n'],
          [/across yields[^\n]*\n[^]*# $/, 'poweroff\n'],
        ],
      );
      const out = r.gdb;
      expect(register(out, 'eip', 0)).toBe(kept.address);
      const pid = Number(/fpu\[(\d+)\]: kept/.exec(r.console)?.[1]);
      expect(pid).toBeGreaterThan(0);
      // ST(0) as the program loaded it (fldl of 1234.5 + pid), the control word it runs under,
      // and TOP = 7 in the status word (one value on the stack).
      expect(out).toMatch(new RegExp(`^\\$1 = ${1234.5 + pid}$`, 'm'));
      expect(out).toMatch(/^\$2 = 0x37f$/m);
      const fstat = parseInt(/^\$3 = 0x([0-9a-f]+)$/m.exec(out)?.[1] ?? 'NaN', 16);
      expect((fstat >> 11) & 7).toBe(7);
      // gdb's own view of the stack: the top is physical register 7, valid, holding that value.
      expect(out).toMatch(new RegExp(`^=>R7: Valid\\s+0x[0-9a-f]{20} \\+${1234.5 + pid}\\b`, 'm'));
      expect(out).toMatch(/^ {2}R6: Empty /m);
      // Written through P: the program stores what gdb put there, and says it is not its value.
      expect(out).toMatch(/^\$4 = 4321.25$/m);
      expect(r.console).toMatch(/kept 4321\.2 across yields: WRONG/);
      expect(r.status).toBe(0);
    },
    PATIENCE_MS,
  );
});

withGdb('gdb on a restored guest (--restore)', () => {
  it(
    'continues a guest saved at its prompt stopped under gdb, breaks in it, and lets it run to its power-off',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lguest-gdb-restore-'));
      const sock = join(dir, 'monitor.sock');
      const snap = join(dir, 'guest.snap');
      // The guest to save: booted to its shell's prompt, saved by the monitor, ended.
      let console = '';
      let prompted: () => void = () => {};
      const atPrompt = new Promise<void>((r) => (prompted = r));
      const first = lguest(['run', '--clock=virtual', '--timeout=200', `--monitor=unix:${sock}`, '32'], {
        stdin: new PassThrough(),
        stdout: {
          write: (c) => {
            console += Buffer.from(c).toString();
            if (/\n# $/.test(console)) prompted();
          },
        },
        stderr: { write: () => true },
        cwd: process.cwd(),
        defaultKernel: GUEST,
      });
      await atPrompt;
      const m = await MonitorClient.connect(sock);
      expect(await m.command(`savevm ${snap}`)).toMatch(/^saved /);
      expect(await m.last('quit')).toBe('quitting');
      m.close();
      expect(await first).toBe(0);

      // Restored under gdb, held before its first instruction: the keys wait in its console
      // until gdb lets it go; the shell then runs them, and its first write breaks.
      const sysWrite = symbol(GUEST, 'sys_write');
      const r = await debug(
        null,
        GUEST,
        [],
        ['info registers eip', 'break sys_write', 'continue', 'info registers eip', 'bt 1', 'delete', 'continue'],
        [`--restore=${snap}`],
        [[/^/, 'uname\npoweroff\n']],
      );
      const out = r.gdb;
      // Stopped where the guest was saved (in its kernel, waiting), not at a boot entry point.
      expect(register(out, 'eip', 0)).toBeGreaterThanOrEqual(0xc0000000);
      expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in sys_write \(\)/);
      expect(register(out, 'eip', 1)).toBe(sysWrite);
      expect(out).toMatch(/\[Inferior 1 \(.*\) exited normally\]/);
      // The restored shell answered, with no boot before it, and powered off.
      expect(r.console).toContain('lguest.ts');
      expect(r.console).not.toContain('init: starting /bin/sh');
      expect(r.status).toBe(0);
    },
    PATIENCE_MS,
  );
});

/**
 * Our guest run in-process with `--gdb` on a free port (`options`: -S, say): resolves
 * `listening` with the port, `atShell` once init starts the shell; `run` is the exit status.
 */
function underGdb(
  options: string[],
  signal?: AbortSignal,
): { listening: Promise<number>; atShell: Promise<void>; run: Promise<number>; console(): string; stderr(): string } {
  let stderr = '';
  let console = '';
  let seen: () => void = () => {};
  const atShell = new Promise<void>((r) => (seen = r));
  let ready: (port: number) => void = () => {};
  const listening = new Promise<number>((r) => (ready = r));
  const run = lguest(['run', '--clock=virtual', '--timeout=200', '--gdb=tcp:127.0.0.1:0', ...options, '32'], {
    stdout: {
      write: (c) => {
        console += Buffer.from(c).toString();
        if (console.includes('init: starting /bin/sh')) seen();
      },
    },
    stderr: {
      write: (c) => {
        stderr += Buffer.from(c).toString();
        const m = /gdb: listening on tcp:127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) ready(Number(m[1]));
      },
    },
    cwd: process.cwd(),
    defaultKernel: GUEST,
    signal,
  });
  return { listening, atShell, run, console: () => console, stderr: () => stderr };
}

/** A minimal gdb: the remote protocol spoken by hand over TCP, for what gdb -batch cannot do. */
class WireClient {
  private readonly replies: string[] = [];
  private waiter: (() => void) | null = null;
  private readonly socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    const reader = new PacketReader((e) => {
      if (e.kind !== 'packet') return;
      this.socket.write('+');
      this.replies.push(Buffer.from(e.payload).toString('latin1'));
      this.waiter?.();
    });
    this.socket.on('data', (d: Buffer) => reader.feed(d));
  }

  send(payload: string): void {
    this.socket.write(framePacket(payload));
  }

  interrupt(): void {
    this.socket.write(Uint8Array.of(0x03));
  }

  /** The next reply (waits for it). */
  async reply(): Promise<string> {
    while (this.replies.length === 0) await new Promise<void>((r) => (this.waiter = r));
    this.waiter = null;
    return this.replies.shift() as string;
  }

  close(): void {
    this.socket.destroy();
  }
}

withGdb('Ctrl-C from the debugger', () => {
  it(
    'stops our guest at its prompt (halted, waiting for input) and reads its registers',
    async () => {
      const g = underGdb(['-S']);
      const client = new WireClient(await g.listening);
      client.send('?');
      expect(await client.reply()).toBe('T05thread:01;');
      expect(g.console()).toBe(''); // -S: nothing ran yet
      client.send('vCont;c');
      await g.atShell;
      client.interrupt();
      expect(await client.reply()).toBe('T02thread:01;');
      client.send('g');
      const regs = await client.reply();
      // The sixteen core registers, then the x87's: eight of 10 bytes and eight words.
      expect(regs).toMatch(/^[0-9a-f]{352}$/);
      // cs (register 10) is the guest kernel's or a user program's: ring 1 or 3, never the host's 0.
      const cs = parseInt(regs.slice(80, 82), 16);
      expect([1, 3]).toContain(cs & 3);
      // Stopped means stopped: the console says no more while we look.
      const before = g.console().length;
      client.send('m0,4');
      expect(await client.reply()).toBe('E14');
      expect(g.console().length).toBe(before);
      client.send('k');
      client.close();
      expect(await g.run).toBe(1);
      expect(g.stderr()).toContain('killed by the debugger');
    },
    PATIENCE_MS,
  );

  it(
    'without -S the guest runs until gdb attaches, which stops it where it is; detaching does not end it',
    async () => {
      const stop = new AbortController();
      const g = underGdb([], stop.signal);
      const port = await g.listening;
      // Nobody attached: the guest boots to its shell by itself.
      await g.atShell;
      const client = new WireClient(port);
      client.send('?');
      expect(await client.reply()).toBe('T02thread:01;');
      client.send('D');
      expect(await client.reply()).toBe('OK');
      client.close();
      // Detached, the guest is the user's again: it ends as the user says, not as a debugger's kill.
      stop.abort({ reason: 'killed: the test is over', status: 130 });
      expect(await g.run).toBe(130);
      expect(g.stderr()).not.toContain('killed by the debugger');
    },
    PATIENCE_MS,
  );
});
