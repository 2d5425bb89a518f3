// `lguest run --native`: the same kernel image, booted on bare (emulated) hardware instead of
// under lguest — the other half of paravirt_ops. The PC of @lguest/pc loads it through its
// multiboot header, or a bzImage through the Linux/x86 boot protocol; the kernel runs in ring 0 with the native paravirt_ops and talks to a
// 16550 UART on COM1, which is wired to this terminal: what it transmits is our stdout, what
// we read from stdin arrives on its receive line (RBR, with IRQ 4 when the guest enabled it).
// An --initrd goes to the kernel as multiboot module 1, its string the file's path. --block
// disks (raw files, checked and locked by the caller) are the drives of the PC's ATA channel:
// the first is the master, the second the slave; ",ro" makes the drive refuse writes.
//
// There is no host, no lg and no launcher here. The PC's clock is virtual (a fixed number of
// instructions per second, and a halted CPU skips straight to its next timer interrupt), so
// an idle guest would race through its virtual time: halt, skip to the next tick, take it,
// halt… — hours of ticks in a moment. With --clock=host (the default) we hold it back: each
// run of the PC gets a virtual-time deadline of the wall clock plus a small lead, which even
// a sleeping CPU does not skip past. At the deadline we sleep until the wall clock catches
// up — for a guest idle in HLT, until its next timer interrupt is due — or until input or
// an abort wakes us. So a guest waiting at a prompt costs next to nothing and its seconds
// are real ones. With --clock=virtual it runs flat out, as the tests and benchmarks want.
// Either way --timeout counts the PC's clock, as it counts the host's under lguest: with
// --clock=host that is the wall clock's time (an idle guest at a prompt is stopped too), with
// --clock=virtual the guest's own, halts included, the same on every run. The PC runs in
// slices, between
// which we give Node's event loop a turn: input, signals and three Ctrl-C get in, and the
// console output is flushed — all of it, a prompt with no newline too, before any sleep.
//
// Exit status: 0 when the guest writes the power-off port or resets the PC (reboot), 1 with a reason for a triple fault
// (the real PC would reset), a halt no interrupt can end, or a stop by the core; 124 for
// --timeout; an abort's status (three Ctrl-C: 2; SIGINT: 130) when the user stopped it.

import { closeSync, fdatasyncSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ConsoleInputSource, ConsoleOutput } from '@lguest/console';
import { createPc, type AtaDisk, type RunResult } from '@lguest/pc';
import { findCore } from '@lguest/x86-cores';
import type { NativeDebugHooks } from './native-debug';
import type { HostSpec } from './options';
import type { StopRequest } from './session';

/** Instructions per virtual second on the PC (its default). */
export const NATIVE_INSTRUCTIONS_PER_SECOND = 100_000_000;
/** Instructions per slice between turns of the event loop. */
const SLICE = 2_000_000;
/**
 * Virtual time per slice (ns): a guest idle in HLT retires almost no instructions, so a
 * slice is also cut at this much of its time, or an idle guest would sleep through to its
 * --timeout in one run of the PC without a turn of the event loop to let input in.
 */
const SLICE_NS = 20_000_000;
/**
 * With --clock=host, how far virtual time may run ahead of the wall clock (ns): half of the
 * guest's 10 ms tick. Small enough that the guest's clock reads true to within it; large
 * enough that a run is not cut short for nothing. A sleep between timer ticks lasts to the
 * next tick whatever the lead is, so it does not set how often an idle guest wakes us.
 */
const PACE_LEAD_NS = 5_000_000;
/** The UART's modem control bits we honour: RTS (ready for input) and loopback (line cut off). */
const MCR_RTS = 0x02;
const MCR_LOOPBACK = 0x10;

/** The wall clock that --clock=host holds the PC to: the real one, or a test's. */
export interface WallClock {
  /** Milliseconds, from any fixed origin. */
  now(): number;
  /** Sleeps `ms`, or until the function handed to `onWake` is called. */
  sleep(ms: number, onWake: (wake: () => void) => void): Promise<void>;
}

/** The real wall clock: performance.now and setTimeout. */
export const REAL_WALL_CLOCK: WallClock = {
  now: () => performance.now(),
  sleep: (ms, onWake) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      onWake(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
};

export interface NativePlan {
  readonly kernelPath: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  /** The initrd to load as boot module 1 (checked readable by the caller), or none. */
  readonly initrdPath?: string | null;
  /** Raw disk files for the ATA channel's master and slave. */
  readonly disks?: readonly { readonly path: string; readonly readOnly: boolean }[];
  readonly output: ConsoleOutput;
  readonly input?: ConsoleInputSource;
  /** Called with the PC's clock (ns) once the PC exists. */
  readonly clockReady?: (nowNs: () => number) => void;
  /** What --clock=host holds the PC to (default: the real wall clock). */
  readonly wall?: WallClock;
  /** --gdb: the debugger's hold on the run loop (native-debug.ts). */
  readonly debug?: NativeDebugHooks;
}

export interface NativeOutcome {
  readonly exitStatus: number;
  /** Why it ended, in words for the user ("power-off", "triple fault at eip 0x…"). */
  readonly reason: string;
  readonly poweredOff: boolean;
  readonly instructions: number;
  readonly virtualNs: number;
  /** Bytes put on the UART's receive line (not counting any held back at the end). */
  readonly inputBytes: number;
}

/** Boots `plan` on a fresh emulated PC and runs it to its end. */
/** A raw disk file as an ATA drive: whole sectors, read and written in place. */
function openAtaDisk(path: string, readOnly: boolean): AtaDisk & { close(): void } {
  const fd = openSync(path, readOnly ? 'r' : 'r+');
  const sectors = Math.floor(fstatSync(fd).size / 512);
  const io = (f: () => number, n: number): boolean => {
    try {
      return f() === n;
    } catch {
      return false;
    }
  };
  return {
    sectors,
    readOnly,
    read: (lba, into) => io(() => readSync(fd, into, 0, 512, lba * 512), 512),
    write: (lba, from) => !readOnly && io(() => writeSync(fd, from, 0, 512, lba * 512), 512),
    flush: () => readOnly || io(() => (fdatasyncSync(fd), 0), 0),
    close: () => closeSync(fd),
  };
}

export async function runNative(
  host: HostSpec,
  plan: NativePlan,
  signal?: AbortSignal,
  log: (line: string) => void = () => {},
): Promise<NativeOutcome> {
  const pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    plan.output.write(Uint8Array.from(pending));
    pending.length = 0;
  };
  const disks = (plan.disks ?? []).map((d) => openAtaDisk(d.path, d.readOnly));
  const pc = createPc({
    memoryMiB: plan.memMiB,
    disks,
    core: findCore(host.cpu),
    // Whole lines go out as the guest finishes them; the rest at the end of each slice.
    serial: (byte) => {
      pending.push(byte);
      if (byte === 0x0a) flush();
    },
    instructionsPerSecond: NATIVE_INSTRUCTIONS_PER_SECOND,
  });
  plan.clockReady?.(() => pc.clock.nanoseconds);
  const modules = plan.initrdPath ? [{ data: readFileSync(plan.initrdPath), string: plan.initrdPath }] : [];
  const boot = pc.boot(readFileSync(plan.kernelPath), plan.cmdline.join(' '), modules);
  const initrd = boot.modules[0];
  log(
    `pc: ${plan.memMiB} MiB, CPU core ${host.cpu}, virtual clock${host.clock === 'host' ? ' held to wall time' : ''}, kernel ${plan.kernelPath} ` +
      `entered at 0x${boot.entry.toString(16)}` +
      (plan.cmdline.length ? `, command line "${plan.cmdline.join(' ')}"` : '') +
      (initrd
        ? `, initrd ${plan.initrdPath} (${initrd.end - initrd.start} bytes) at 0x${initrd.start.toString(16)}`
        : ''),
  );

  // Input: every byte goes on the UART's receive line; a sleeping guest is woken for it. The
  // line has hardware flow control, as a terminal cabled with RTS/CTS does: bytes go out only
  // while the guest asserts RTS. A kernel resets its UART early in boot — clearing the
  // receive FIFO — and raises RTS once it is set up, so what is typed or piped before that
  // waits here instead of being swept away by the reset.
  let inputBytes = 0;
  let inputEnded = false;
  let wake: (() => void) | null = null;
  const held: number[] = [];
  /** Puts the held bytes on the line if the guest is ready for them; says whether it did. */
  const deliverHeld = (): boolean => {
    const mcr = pc.uart.mcr;
    if (held.length === 0 || !(mcr & MCR_RTS) || mcr & MCR_LOOPBACK) return false;
    inputBytes += held.length;
    pc.uart.receive(held);
    held.length = 0;
    return true;
  };
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const b of bytes) held.push(b);
    deliverHeld();
    wake?.();
  };
  const onEnd = () => {
    inputEnded = true;
    wake?.();
  };
  plan.input?.on('data', onData);
  plan.input?.on('end', onEnd);
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  plan.debug?.attach(pc, () => wake?.());

  // Pacing (--clock=host): virtual time 0 is the wall time now.
  const wall = plan.wall ?? REAL_WALL_CLOCK;
  const wallStart = wall.now();
  const wallNs = () => (wall.now() - wallStart) * 1e6;
  const limitNs = host.timeoutS === null ? Infinity : host.timeoutS * 1e9;
  let retired = 0;
  const end = (exitStatus: number, reason: string, r: RunResult | null): NativeOutcome => ({
    exitStatus,
    reason,
    poweredOff: exitStatus === 0,
    instructions: retired,
    virtualNs: r?.virtualNanoseconds ?? pc.clock.nanoseconds,
    inputBytes,
  });
  try {
    for (;;) {
      // A turn for the event loop first and between slices: input, signals, output draining.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) {
        const why = signal.reason as Partial<StopRequest> | undefined;
        return end(why?.status ?? 130, why?.reason ?? 'killed: interrupted by the user', null);
      }
      if (pc.clock.nanoseconds >= limitNs) {
        return end(124, `killed: still running after ${host.timeoutS} s of ${host.clock} clock time (--timeout)`, null);
      }
      // --clock=host: the run may take virtual time only a lead ahead of the wall clock; and
      // never past --timeout.
      // Under gdb: wait here while stopped; a step is one instruction.
      const slice = plan.debug ? await plan.debug.gate(SLICE, signal) : SLICE;
      if (slice < 0) return end(1, 'killed by the debugger', null);
      if (signal?.aborted) continue;
      const paceNs = host.clock === 'host' ? wallNs() + PACE_LEAD_NS : Infinity;
      const deadlineNs = Math.min(paceNs, limitNs, pc.clock.nanoseconds + SLICE_NS);
      const r = pc.run({ maxInstructions: slice, untilNs: Number.isFinite(deadlineNs) ? deadlineNs : undefined });
      retired += r.instructions;
      // Everything the guest wrote, a partial line too (its prompt): we may sleep next.
      flush();
      const delivered = deliverHeld();
      const at = `eip 0x${r.eip.toString(16)}`;
      if (plan.debug?.ran(r)) continue;
      switch (r.reason) {
        case 'power-off':
          return end(0, 'power-off', r);
        case 'reset':
          // reboot through the keyboard controller: a PC would start its firmware again; this
          // one has none, so the run is over, as cleanly as a power-off (QEMU -no-reboot too).
          return end(0, 'reset by the guest (reboot)', r);
        case 'instruction-limit':
          break;
        case 'deadline': {
          // Virtual time is a lead ahead of the wall clock (--clock=host only). Sleep until
          // the wall clock lets the guest go on: a CPU asleep in HLT has nothing to do before
          // its next timer interrupt, so until that is within the lead; a running one until
          // the wall clock has caught up with it. Input (its IRQ wakes the CPU), the end of
          // input and an abort end the sleep at once. (At --timeout's deadline, no sleep: the
          // top of the loop ends the run.)
          if (delivered || pc.clock.nanoseconds >= limitNs || host.clock !== 'host') break;
          const resumeNs = r.idleUntilNs !== undefined ? r.idleUntilNs - PACE_LEAD_NS : r.virtualNanoseconds;
          const ms = (resumeNs - wallNs()) / 1e6;
          if (ms > 0) await wall.sleep(ms, (w) => (wake = w));
          wake = null;
          break;
        }
        case 'triple-fault':
          return end(1, `triple fault at ${at}: the PC would reset`, r);
        case 'stopped':
          return end(1, `the CPU core stopped at ${at}`, r);
        case 'halted':
          // Halted with interrupts on and no timer: only typed input can wake it now (and
          // bytes it just raised RTS for will).
          if (delivered) break;
          if (!r.interruptsEnabled || inputEnded || !plan.input) {
            return end(1, `halted for good at ${at} (interrupts ${r.interruptsEnabled ? 'on, no timer' : 'off'})`, r);
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
      }
    }
  } finally {
    flush();
    for (const d of disks) d.close();
    signal?.removeEventListener('abort', onAbort);
    plan.input?.off('data', onData);
    plan.input?.off('end', onEnd);
  }
}
