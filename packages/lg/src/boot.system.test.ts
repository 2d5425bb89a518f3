// The end-to-end test: a host, lg loaded into it, and a launcher booting the guest kernel of
// packages/guest to its power-off — guest code on the CPU core in ring 1, every exit through
// the switcher, the console on the DMA protocol (key 0) with a minimal handler here.

import { LGUEST_CONSOLE_DMA_KEY, LGUEST_DEVICE_T_CONSOLE, LGUEST_TRAP_ENTRY, LHCALL_LGUEST_INIT } from '@lguest/abi';
import { readElf32 } from '@lguest/elf';
import { Host, TIMER_VECTOR, type HostOptions } from '@lguest/host';
import { Launcher, type Device, type LaunchResult } from '@lguest/launcher';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { lguestInit, type Lguest } from './core';
import { getReg, type Guest, type GuestStats } from './lg';
import { defaultCore } from '@lguest/x86-cores';

const GUEST_BUILD = join(dirname(require.resolve('@lguest/guest/package.json')), 'build');
const GUEST_ELF = join(GUEST_BUILD, 'guest.elf');
const SYMBOLS = JSON.parse(readFileSync(join(GUEST_BUILD, 'guest.sym.json'), 'utf8')) as Record<string, number>;
const PAGE_OFFSET = 0xc0000000;

interface Exit {
  trapnum: number;
  eip: number;
  cs: number;
  eax: number;
  edx: number;
  errcode: number;
}

interface Boot {
  result: LaunchResult;
  console: string;
  lines: string[];
  instructions: number;
  stats: GuestStats;
  exits: Exit[];
  hostTimerInterrupts: number;
  inputIrqs: number;
  injected: number;
}

interface BootOptions {
  kernel?: string;
  controlFile?: string;
  host?: Host;
  /** Send this to the console input once the guest has ticked once. */
  input?: string;
  /** Called after every exit of this guest. */
  onExit?: (guest: Guest, launcher: Launcher) => void;
}

/** Boot one guest (32 MiB, "root=none") with a console that collects its output. */
async function boot(options: BootOptions = {}): Promise<Boot> {
  const host = options.host ?? newHost();
  const lg = lguestHere(host);
  const proc = host.createProcess('launcher');
  if (typeof proc === 'number') throw new Error('createProcess failed');
  const launcher = new Launcher(proc, {
    memoryMiB: 32,
    kernel: `/host${options.kernel ?? GUEST_ELF}`,
    args: ['root=none', 'selftest'],
    controlFile: options.controlFile,
  });
  let guest: Guest | null = null;
  const exits: Exit[] = [];
  const previous = lg.onExit;
  lg.onExit = (g) => {
    previous?.(g);
    if (g.proc !== proc) return;
    guest = g;
    options.onExit?.(g, launcher);
    if (exits.length < 20000) {
      exits.push({
        trapnum: getReg(g, 'trapnum'),
        eip: getReg(g, 'eip'),
        cs: getReg(g, 'cs'),
        eax: getReg(g, 'eax'),
        edx: getReg(g, 'edx'),
        errcode: getReg(g, 'errcode'),
      });
    }
  };
  let hostTimerInterrupts = 0;
  host.requestIrq(TIMER_VECTOR, () => hostTimerInterrupts++);

  let out = '';
  let inputIrqs = -1;
  let injected = 0;
  let asked = false;
  const consoleDevice: Device = launcher.addDevice({
    type: LGUEST_DEVICE_T_CONSOLE,
    watchKey: LGUEST_CONSOLE_DMA_KEY,
    handleOutput(dma) {
      const bytes = dma.bytes();
      out += new TextDecoder().decode(bytes);
      if (options.input && !asked && out.includes('timer: tick 1\n')) {
        asked = true;
        launcher.inputReady(consoleDevice);
      }
      if (out.includes('power:') && inputIrqs < 0) {
        const count = launcher.readGuest(SYMBOLS.lgcons_input_irqs - PAGE_OFFSET, 4);
        inputIrqs = new DataView(count.buffer, count.byteOffset, 4).getUint32(0, true);
      }
      return bytes.length;
    },
    async handleInput(_device, l) {
      injected = await l.injectInput(LGUEST_CONSOLE_DMA_KEY, new TextEncoder().encode(options.input ?? ''));
      return true;
    },
  });

  const result = await launcher.run();
  if (!guest) throw new Error(`the guest never ran: ${result.reason}`);
  const stats = (guest as Guest).stats;
  lg.onExit = previous;
  const instructions = host.clock.instructions;
  proc.exit(0);
  if (!options.host) host.shutdown();
  return {
    result,
    console: out,
    lines: out.split('\n'),
    instructions,
    stats,
    exits,
    hostTimerInterrupts,
    inputIrqs,
    injected,
  };
}

/**
 * A host on the virtual clock. Its scheduler tick is short (50 µs of guest time) so that
 * host timer interrupts also arrive while the guest runs, not only while it halts.
 */
function newHost(extra: Partial<HostOptions> = {}): Host {
  // The images and initrds the tests boot, read-only at /host/<real path>.
  const hostMounts = [{ path: '/host', realDir: '/', readOnly: true }];
  return new Host({ memoryMiB: 96, clock: 'virtual', tickNs: 50_000, hostMounts, core: defaultCore(), ...extra });
}

const modules = new WeakMap<Host, Lguest>();
function lguestHere(host: Host): Lguest {
  let lg = modules.get(host);
  if (!lg) {
    const loaded = lguestInit(host);
    if (typeof loaded === 'number') throw new Error(`lguestInit failed: ${loaded}`);
    lg = loaded;
    modules.set(host, lg);
  }
  return lg;
}

describe('booting packages/guest under lg and the launcher', () => {
  let run: Boot;
  beforeAll(async () => {
    run = await boot({ input: 'hi\n' });
    process.stdout.write(`--- guest console ---\n${run.console}--- ${JSON.stringify(run.result)} ---\n`);
  });

  it('powers down cleanly: "CRASH: Power down", exit status 0', () => {
    expect(run.result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
  });

  it('prints a banner saying lguest, ring 1, and the memory size', () => {
    expect(run.lines[0]).toBe('Booting the lguest.ts guest kernel on lguest (paravirt_ops "lguest"), ring 1');
    expect(run.lines[1]).toBe('memory: 32 MiB (boot_params e820: 1 entry)');
    expect(run.console).toContain('command line: root=none selftest \n');
    expect(run.console).toContain('lguest: guest id 0, host reserves 4 MiB at the top, tsc 1000000 kHz\n');
    expect(run.console).toContain('console: lguest console (device 0), input buffer of 256 bytes bound on IRQ 1\n');
  });

  it('ticks on the host timer behind LHCALL_SET_CLOCKEVENT', () => {
    expect(run.console).toContain('timer: lguest clock event device, one-shot, HZ=100\n');
    expect(run.lines.filter((l) => /^timer: tick \d$/.test(l))).toEqual([1, 2, 3, 4, 5].map((n) => `timer: tick ${n}`));
  });

  it('fills memory by page faults the guest handles itself, reflected with cr2', () => {
    expect(run.console).toContain('page faults: 16 pages faulted in at 0xe0000000, pattern ok\n');
    expect(run.console).toContain('page faults: 0xe0000000 unmapped, flushed and faulted back in zeroed\n');
    expect(run.stats.reflectedTraps).toBeGreaterThanOrEqual(18);
    expect(run.stats.demandFaults).toBeGreaterThan(50);
  });

  it('runs a ring-3 program whose system calls are direct traps', () => {
    expect(run.console).toContain('hello from ring 3\n');
    expect(run.console).toMatch(/user: program exited with status 3 after 2 system calls, 1 stack page faults\n/);
    expect(run.exits.some((e) => e.trapnum === 0x80)).toBe(false);
    // Its stack fault came to the host from ring 3, with the user bit in the error code.
    expect(run.exits.some((e) => e.trapnum === 14 && (e.cs & 3) === 3 && (e.errcode & 4) !== 0)).toBe(true);
    expect(run.lines.at(-2)).toMatch(/^power: \d+ pages allocated, 18 page faults filled; powering off$/);
  });

  it('takes input: the launcher breaks out, fills the bound buffer and raises the console IRQ', () => {
    expect(run.injected).toBe(3);
    expect(run.inputIrqs).toBe(1);
  });

  it('really switches: every exit is a trip through the switcher with the registers saved', () => {
    expect(run.stats.switches).toBe(run.exits.length);
    expect(run.stats.switches).toBeGreaterThan(300);
    // The first entry faults on its first instruction: the shadow page table starts empty.
    expect(run.exits[0]).toMatchObject({ trapnum: 14, eip: SYMBOLS.lguest_entry, cs: 0x61 });
    // The first hypercall, as the switcher saved it: int $0x1f from ring 1 with
    // eax = LHCALL_LGUEST_INIT and edx = the physical address of lguest_data.
    const first = run.exits.find((e) => e.trapnum === LGUEST_TRAP_ENTRY);
    expect(first).toMatchObject({ eax: LHCALL_LGUEST_INIT, edx: SYMBOLS.lguest_data - PAGE_OFFSET, cs: 0x61 });
    expect(first && first.eip - SYMBOLS.lguest_init).toBeGreaterThan(0);
    expect(run.stats.hypercalls).toBe(run.exits.filter((e) => e.trapnum === LGUEST_TRAP_ENTRY).length);
    expect(run.stats.asyncHypercalls).toBeGreaterThan(0);
    // Host timer interrupts arrived while the guest ran: through deliver_to_host to the
    // host's handler (counted there) and back out as exits for vector 0x20.
    const timerExits = run.exits.filter((e) => e.trapnum === TIMER_VECTOR).length;
    expect(timerExits).toBe(run.stats.hostInterrupts);
    expect(timerExits).toBeGreaterThan(0);
    expect(run.hostTimerInterrupts).toBeGreaterThanOrEqual(timerExits);
  });

  it('is deterministic on the virtual clock: a second run retires exactly as many instructions', async () => {
    const again = await boot({ input: 'hi\n' });
    expect(again.console).toBe(run.console);
    expect(again.stats).toEqual(run.stats);
    expect(again.instructions).toBe(run.instructions);
  });
});

describe('other ways in', () => {
  it('boots through /proc/lguest, the seed control file', async () => {
    const run = await boot({ controlFile: '/proc/lguest' });
    expect(run.result.reason).toBe('CRASH: Power down');
  });

  it('boots a bzImage: gzip found after a setup stub, PAGE_OFFSET intuited', async () => {
    // A bzImage's payload is the kernel as loaded at 1 MiB: build it from the ELF.
    const elf = readFileSync(GUEST_ELF);
    const flat = new Uint8Array(4 << 20);
    let end = 0;
    for (const { offset, paddr, filesz } of readElf32(elf).loads) {
      flat.set(elf.subarray(offset, offset + filesz), paddr - 0x100000);
      end = Math.max(end, paddr - 0x100000 + filesz);
    }
    const setup = new Uint8Array(0x400).fill(0x90); // no 0x1f 0x8b in here
    const image = Buffer.concat([setup, gzipSync(flat.subarray(0, end)), Buffer.alloc(64, 0xab)]);
    const dir = mkdtempSync(join(tmpdir(), 'lguest-bzimage-'));
    try {
      writeFileSync(join(dir, 'bzImage'), image);
      const run = await boot({ kernel: join(dir, 'bzImage') });
      expect(run.result.reason).toBe('CRASH: Power down');
      expect(run.lines[0]).toContain('ring 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs two guests at once in one host, taking turns on the CPU', async () => {
    const host = newHost({ memoryMiB: 160 });
    const [a, b] = await Promise.all([boot({ host }), boot({ host })]);
    host.shutdown();
    expect(a.result.reason).toBe('CRASH: Power down');
    expect(b.result.reason).toBe('CRASH: Power down');
    const ids = [a.console, b.console].map((c) => /lguest: guest id (\d+)/.exec(c)?.[1]).sort();
    expect(ids).toEqual(['0', '1']);
    expect(b.console.replace('guest id 1', 'guest id 0')).toBe(a.console.replace('guest id 1', 'guest id 0'));
  });

  it('explains a kernel that is not an lguest guest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-notakernel-'));
    try {
      writeFileSync(join(dir, 'junk'), Buffer.alloc(4096, 0x41));
      const host = newHost();
      lguestHere(host);
      const proc = host.createProcess();
      if (typeof proc === 'number') throw new Error('createProcess failed');
      const result = await new Launcher(proc, { memoryMiB: 32, kernel: `/host${join(dir, 'junk')}` }).run();
      expect(result).toEqual({ exitStatus: 1, reason: 'Could not find kernel in bzImage' });
      host.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The attack variants of the guest (packages/guest, GUEST_ATTACK): each boots normally, then
// turns on the host. Each must die with the host's reason — never "ATTACK SUCCEEDED".
describe('adversarial guests', () => {
  const attacks: [string, string, RegExp][] = [
    // The segmentation guard: the kernel's stack segment ends below the switcher (#SS).
    [
      'switcher-write',
      'a write to the switcher is a #SS',
      /^unhandled trap 12 at 0xc01[0-9a-f]{5} \(0x0\): mov %\w+,%ss:\(%\w+\)$/,
    ],
    // A DPL 0 descriptor runs at ring 1, and its data twin is cut below the switcher (#GP).
    [
      'gdt-dpl0',
      'DPL 0 descriptors give no ring 0',
      /^unhandled trap 13 at 0xc01[0-9a-f]{5} \(0x0\): mov %\w+,%fs:\(%\w+\)$/,
    ],
    [
      'gdt-limit',
      'a limit past the switcher is cut',
      /^unhandled trap 13 at 0xc01[0-9a-f]{5} \(0x0\): mov %\w+,%fs:\(%\w+\)$/,
    ],
    ['set-pte-beyond', 'a page beyond its memory', /^bad page table entry$/],
    ['hcall-bad-pointer', 'a hypercall pointer outside its memory', /^bad read address 0x[0-9a-f]+ len \d+$/],
    ['hcall-unknown', 'an unknown hypercall', /^Bad hypercall \d+$/],
    ['hcall-before-init', 'a hypercall before LGUEST_INIT', /^hypercall \d+ before LGUEST_INIT$/],
    // The hypercall gate has DPL 1: from ring 3 it is a #GP with the gate's selector.
    ['ring3-hcall', 'a hypercall from ring 3', /^unhandled trap 13 at 0x80[0-9a-f]{5} \(0xfa\): int \$0x1f$/],
  ];
  for (const [name, what, reason] of attacks) {
    const image = join(GUEST_BUILD, `attack-${name}.elf`);
    it(`${name}: ${what} kills it`, async () => {
      const run = await boot({ kernel: image });
      expect(run.result.exitStatus).toBe(1);
      expect(run.result.reason).toMatch(reason);
    });
  }

  const spinner = join(GUEST_BUILD, 'attack-irqs-off-loop.elf');
  it('irqs-off-loop: a guest spinning with interrupts off is still preempted', async () => {
    let seen = 0;
    const run = await boot({
      kernel: spinner,
      onExit(guest, launcher) {
        if (getReg(guest, 'trapnum') === TIMER_VECTOR && ++seen === 50) launcher.stop(2, 'stopped by the test');
      },
    });
    expect(run.result).toEqual({ exitStatus: 2, reason: 'stopped by the test' });
    expect(run.stats.hostInterrupts).toBeGreaterThanOrEqual(50);
  });
});

/** How much guest time a shell session may take: its bound, instead of a wall-clock timeout. */
const SESSION_BUDGET_NS = 20e9;

/**
 * Boots the guest with the kernel word "shell" and types `script` a line per prompt. The run
 * is bounded by virtual time (SESSION_BUDGET_NS: a host timer stops the launcher with status
 * 124), so a wedged session fails the test at the same instruction on any machine.
 */
async function shellSession(
  script: string[],
  initrd?: string,
  sharedHost?: Host,
): Promise<{ result: LaunchResult; out: string }> {
  const host = sharedHost ?? newHost();
  lguestHere(host);
  const proc = host.createProcess('launcher');
  if (typeof proc === 'number') throw new Error('createProcess failed');
  const launcher = new Launcher(proc, { memoryMiB: 32, kernel: `/host${GUEST_ELF}`, args: ['shell'], initrd });
  let out = '';
  let prompts = 0;
  const consoleDevice: Device = launcher.addDevice({
    type: LGUEST_DEVICE_T_CONSOLE,
    watchKey: LGUEST_CONSOLE_DMA_KEY,
    handleOutput(dma) {
      const bytes = dma.bytes();
      out += new TextDecoder().decode(bytes);
      // Each new prompt asks for the next line of the script.
      const seen = out.split('\n# ').length - 1;
      if (seen > prompts && out.endsWith('# ')) {
        prompts = seen;
        launcher.inputReady(consoleDevice);
      }
      return bytes.length;
    },
    async handleInput(_device, l) {
      const line = script[prompts - 1];
      if (line !== undefined) await l.injectInput(LGUEST_CONSOLE_DMA_KEY, new TextEncoder().encode(`${line}\r`));
      return true;
    },
  });
  const budget = host.startTimer(SESSION_BUDGET_NS, () =>
    queueMicrotask(() => launcher.stop(124, `still running after ${SESSION_BUDGET_NS / 1e9} s of guest time`)),
  );
  const result = await launcher.run();
  budget.cancel();
  proc.exit(0);
  if (!sharedHost) host.shutdown();
  return { result, out };
}

/** A cpio archive in the "newc" format: regular files, then the trailer. */
function newcArchive(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const entry = (name: string, mode: number, data: Buffer) => {
    const fields = [1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    parts.push(pad4(Buffer.from(`${header}${name}\0`, 'latin1')), pad4(data));
  };
  for (const [name, data] of Object.entries(files)) entry(name, 0o100755, Buffer.from(data));
  entry('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

describe('the guest shell under lg (kernel word "shell")', () => {
  it('reads lines from the console input, runs commands and a faulting ring-3 program, powers off', async () => {
    const script = ['echo hi', 'uname -a', 'uptime', 'lguest', 'fault', 'greet', 'echo alive', 'poweroff'];
    const { result, out } = await shellSession(script);
    expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
    expect(out).toContain('command line: shell \n');
    expect(out).toContain('init: starting /bin/sh\n');
    expect(out).not.toContain('timer: tick 1');
    expect(out).toContain('# echo hi\nhi\n# ');
    expect(out).toContain('# uname -a\nlguest.ts lguest 0.1.0 #1 lguest i386\n');
    expect(out).toContain('paravirt_ops "lguest", ring 1\n');
    expect(out).toMatch(/hypercalls: \d+ synchronous, \d+ through the async ring\n/);
    expect(out).toMatch(/\ninterrupts:.*\nlguest_data: irq_enabled [0-9a-f]+, blocked_interrupts [0-9a-f]{8}, cr2 /);
    expect(out).toMatch(
      /fault\[\d+\]: segmentation fault at 0x00000000 \(eip 08048002\)\nfault: killed \(signal 11\)\n/,
    );
    expect(out).toMatch(
      /# greet\nhello from an ELF program in ring 3, pid \d+\nheap: 12288 bytes from brk, checksum 1566720\n# /,
    );
    expect(out).toContain('# echo alive\nalive\n# poweroff\n');
    expect(out).toMatch(/powering off\n$/);
  });
});

describe('processes under lg', () => {
  it('preempts a spinning background program, kills it, runs syscheck, and powers off when the shell exits', async () => {
    // spin never makes a system call: once it runs, the shell gets the CPU back only because
    // an interrupt (the tick, or the console's) preempts ring 3.
    const script = ['spin &', 'sleep 1', 'echo alive', 'ps', 'kill 3', 'hog 3000', 'syscheck', 'echo done', 'exit'];
    const { result, out } = await shellSession(script);
    expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
    expect(out).toContain('# spin &\n[3] spin\n# sleep 1\n# echo alive\nalive\n# ');
    // While the shell slept for a second, spin had the CPU.
    expect(out).toMatch(/# ps\n +PID +PPID STAT +TIME COMMAND\n(.*\n)* +3 +2 R +(0\.[5-9]|1\.[0-4])\d spin\n/);
    expect(out).toMatch(/\[3\] killed \(signal 15\)\n/);
    expect(out).toMatch(/# hog 3000\nhog\[\d+\]: 430 primes below 3000\n/);
    expect(out).not.toContain('FAILED');
    expect(out).toMatch(/syscheck: (\d+) of \1 checks passed\n/);
    expect(out).toMatch(/# exit\npower: .*powering off\n$/);
  });
});

describe('the FPU under lg', () => {
  it('gives two guests computing at once each their own FPU, and each process in them its own', async () => {
    // Two guests in one host take turns on the CPU while their fpu programs hold a value
    // (1234.5 + pid) in an FPU register across 20000 yields; greet first makes the pids differ.
    const host = newHost({ memoryMiB: 160 });
    const [a, b] = await Promise.all([
      shellSession(['fpu 20000', 'poweroff'], undefined, host),
      shellSession(['greet', 'fpu 20000', 'poweroff'], undefined, host),
    ]);
    host.shutdown();
    const kept = [a.out, b.out].map((out) => /fpu\[(\d+)\]: kept (\d+)\.5 across yields: (\w+)/.exec(out));
    expect(kept.map((m) => m?.[3])).toEqual(['ok', 'ok']);
    expect(kept.map((m) => Number(m?.[2]) - Number(m?.[1]))).toEqual([1234, 1234]);
    expect(kept[0]?.[1]).not.toBe(kept[1]?.[1]);
    for (const { result, out } of [a, b]) {
      expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
      expect(out).toContain('fpu: 1/3 = 0.333333333333\n');
      expect(out).toContain('fpu: rint(-2.5) nearest -2 down -3 up -2 chop -2\n');
      expect(out).toContain('fpu: 1/0 masked = inf (ZE)\n');
      expect(out).toContain('fpu: 1/0 unmasked: SIGFPE\n');
    }
  }, 120_000);
});

describe('an initrd under the shell', () => {
  it('lists and reads the files of a newc cpio initrd the launcher loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-initrd-'));
    try {
      const initrd = join(dir, 'initrd.cpio');
      writeFileSync(
        initrd,
        newcArchive({
          './hello.txt': 'hello from the initrd\n',
          'etc/issue': 'lguest.ts\n',
          'bin/hi': readFileSync(join(dirname(GUEST_ELF), 'user-greet.elf')),
          'bin/bad': Buffer.from('\x7fELF but nothing after it'),
        }),
      );
      const { result, out } = await shellSession(
        ['ls', 'cat /hello.txt /etc/issue', 'free', 'ls /bin', 'hi', 'bad', '/hello.txt', 'poweroff'],
        `/host${initrd}`,
      );
      expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
      expect(out).toContain(
        '# ls\nbin/\ndev/\nproc/\netc/motd\nREADME\netc/hostname\nhello.txt\netc/issue\nbin/hi\nbin/bad\n# ',
      );
      expect(out).toContain('# cat /hello.txt /etc/issue\nhello from the initrd\nlguest.ts\n# ');
      // Programs from the initrd: bin/NAME shows up in /bin and runs by name; what is not an
      // i386 executable is refused by execve (ENOEXEC) and the shell carries on.
      expect(out).toMatch(/# ls \/bin\ninit\n(\w+\n)*hi\nbad\n# /);
      expect(out).toMatch(/# hi\nhello from an ELF program in ring 3, pid \d+\nheap: 12288 bytes/);
      expect(out).toContain('# bad\nbad: not an executable this kernel can run\n# ');
      expect(out).toContain('# /hello.txt\n/hello.txt: not an executable this kernel can run\n# ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Ctrl-C under lg', () => {
  it('interrupts a spinning ring-3 program: the tick finds the byte, the kill happens in the trap', async () => {
    const host = newHost();
    const lg = lguestHere(host);
    const proc = host.createProcess('launcher');
    if (typeof proc === 'number') throw new Error('createProcess failed');
    const launcher = new Launcher(proc, { memoryMiB: 32, kernel: `/host${GUEST_ELF}`, args: ['shell'] });
    let out = '';
    let pending: string | null = null;
    let exitsAfterSpin = -1;
    const consoleDevice: Device = launcher.addDevice({
      type: LGUEST_DEVICE_T_CONSOLE,
      watchKey: LGUEST_CONSOLE_DMA_KEY,
      handleOutput(dma) {
        const bytes = dma.bytes();
        out += new TextDecoder().decode(bytes);
        if (out.endsWith('# ') && !out.includes('# spin')) send('spin\r');
        else if (out.endsWith('# ') && out.includes('interrupted')) send('poweroff\r');
        else if (out.endsWith('# spin\n') && exitsAfterSpin < 0) exitsAfterSpin = 0;
        return bytes.length;
      },
      async handleInput(_device, l) {
        if (pending !== null) await l.injectInput(LGUEST_CONSOLE_DMA_KEY, new TextEncoder().encode(pending));
        pending = null;
        return true;
      },
    });
    function send(text: string): void {
      pending = text;
      launcher.inputReady(consoleDevice);
    }
    // Let spin run for a while (many exits: ticks, host interrupts), then type Ctrl-C.
    const previous = lg.onExit;
    lg.onExit = (g) => {
      previous?.(g);
      if (g.proc === proc && exitsAfterSpin >= 0 && ++exitsAfterSpin === 300) send('\x03');
    };
    const result = await launcher.run();
    lg.onExit = previous;
    proc.exit(0);
    host.shutdown();
    expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
    expect(out).toContain('# spin\n^C\nspin: interrupted\n# poweroff\n');
  });
});
