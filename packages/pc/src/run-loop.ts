// Running a booted PC to its end, as a program that owns a terminal wants it: `runPc` drives
// `pc.run()` in slices, giving the event loop a turn between them (input, signals and an
// abort get in; the guest's output is flushed, a prompt with no newline too), puts input on
// the UART's receive line under RTS/CTS flow control, enforces a timeout on the PC's clock,
// and — when asked — holds the PC's virtual clock to a wall clock.
//
// Pacing. The PC's clock is virtual (a fixed number of instructions per second, and a halted
// CPU skips straight to its next timer interrupt), so an idle guest would race through its
// virtual time: halt, skip to the next tick, take it, halt… — hours of ticks in a moment.
// With `holdToWall` each slice gets a virtual-time deadline of the wall clock plus a small
// lead, which even a sleeping CPU does not skip past. At the deadline the loop sleeps until
// the wall clock catches up — for a guest idle in HLT, until its next timer interrupt is due —
// or until input or an abort wakes it. So a guest waiting at a prompt costs next to nothing
// and its seconds are real ones. Without it the PC runs flat out (tests, benchmarks).
// The timeout counts the PC's clock either way: held to the wall, that is the wall clock's
// time (an idle guest at a prompt is stopped too); flat out, the guest's own, halts included,
// the same on every run.
//
// Hooks. A debugger or a snapshot writer needs the PC still, between two instructions, with
// everything flushed: `hooks.pause` is called at every slice boundary (before the next slice
// runs, after the abort and timeout checks) and may return a promise that holds the loop for
// as long as it likes; `hooks.onStop` sees every stop of the core that is not the guest's own
// doing (a breakpoint, `requestStop`) and says whether the run goes on.

import type { Pc, RunResult } from './pc';

/** Instructions per slice between turns of the event loop. */
export const RUN_SLICE_INSTRUCTIONS = 2_000_000;
/**
 * Virtual time per slice (ns): a guest idle in HLT retires almost no instructions, so a
 * slice is also cut at this much of its time, or an idle guest would sleep through to its
 * timeout in one run of the PC without a turn of the event loop to let input in.
 */
export const RUN_SLICE_NS = 20_000_000;
/**
 * Held to the wall clock, how far virtual time may run ahead of it (ns): half of a 100 Hz
 * guest's tick. Small enough that the guest's clock reads true to within it; large enough
 * that a run is not cut short for nothing. A sleep between timer ticks lasts to the next tick
 * whatever the lead is, so it does not set how often an idle guest wakes the loop.
 */
export const PACE_LEAD_NS = 5_000_000;

/** The UART's modem control bits the loop honours: RTS (ready for input) and loopback (line cut off). */
const MCR_RTS = 0x02;
const MCR_LOOPBACK = 0x10;

/** The wall clock a paced run is held to: the real one, or a test's. */
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

/** Bytes for the UART's receive line: a Node stream fits (stdin, a PassThrough). */
export interface SerialInput {
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
}

/** Where the stops of a run can be taken over (a debugger, a snapshot writer). */
export interface PcRunHooks {
  /**
   * Called once, before the first slice: `wake` ends any sleep of the loop (an idle guest
   * held to the wall clock, a halted one waiting for input) so that it reaches its next slice
   * boundary at once; `signal` is the run's own.
   */
  started?(pc: Pc, wake: () => void, signal?: AbortSignal): void;
  /**
   * Called at every slice boundary with the PC between two instructions and its output
   * flushed. A returned promise holds the loop until it settles; an abort still ends the run
   * once it does. The answer may cut the next slice short (a number: the most instructions
   * it may retire, 1 for a debugger's single step) or end the run (`'end'`: a debugger's kill).
   */
  pause?(pc: Pc): PauseAnswer | Promise<PauseAnswer>;
  /**
   * Called after every slice's run, before its result is acted on: true if the hook takes
   * the result as its own (a breakpoint, a finished step) and the loop goes on to its next
   * boundary, where `pause` holds it.
   */
  ran?(pc: Pc, result: RunResult): boolean;
  /**
   * The core stopped for a reason of its own ('stopped': a breakpoint, `requestStop`, a host
   * escape). Return true to go on running; otherwise the run ends with 'stopped'.
   */
  onStop?(pc: Pc, result: RunResult): boolean | Promise<boolean>;
}

/** What `pause` may answer: nothing (a usual slice), a smaller slice, or the end of the run. */
export type PauseAnswer = void | number | 'end';

export interface PcRunOptions {
  /** Hold virtual time to `wall` (a lead of PACE_LEAD_NS at most); default false: flat out. */
  holdToWall?: boolean;
  /** The wall clock to hold to (default: the real one). */
  wall?: WallClock;
  /** End the run with 'timeout' once the PC's clock has run this long (ns) in this run. */
  timeoutNs?: number | null;
  /** Ends the run with 'aborted' at the next slice boundary (or at once, if it sleeps). */
  signal?: AbortSignal;
  /** What to put on COM1's receive line, as the guest raises RTS for it. */
  input?: SerialInput;
  /** Writes out what the guest transmitted so far (see `lineBufferedSerial`): called after every slice and at the end. */
  flushOutput?: () => void;
  hooks?: PcRunHooks;
  /** Most instructions per slice (default RUN_SLICE_INSTRUCTIONS). */
  sliceInstructions?: number;
}

/** How a run ended. */
export type PcRunEnd =
  /** The guest wrote the power-off port. */
  | 'power-off'
  /** The guest reset the PC (reboot through the keyboard controller); with no firmware, that ends it. */
  | 'reset'
  /** The PC's clock reached `timeoutNs`. */
  | 'timeout'
  /** `signal` was aborted (its reason is the caller's). */
  | 'aborted'
  /** A fault while delivering a double fault: a real PC would reset. */
  | 'triple-fault'
  /** The core stopped (and `onStop` did not take it over). */
  | 'stopped'
  /** Halted with interrupts off, or on with no timer and no more input to come. */
  | 'halted'
  /** A hook's `pause` ended it (a debugger's kill). */
  | 'ended';

export interface PcRunOutcome {
  readonly end: PcRunEnd;
  /** EIP at the end (0 for 'aborted' and 'timeout', which end between slices). */
  readonly eip: number;
  /** For 'halted': whether interrupts were on. */
  readonly interruptsEnabled: boolean;
  /** Instructions retired by this run. */
  readonly instructions: number;
  /** The PC's clock at the end, ns since power-on. */
  readonly virtualNs: number;
  /** Bytes put on the UART's receive line (not counting any held back at the end). */
  readonly inputBytes: number;
}

/**
 * A serial sink that keeps what the guest transmits and hands it on a whole line at a time,
 * or all of it when flushed: give `serial` to `createPc` and `flush` to `runPc`.
 */
export function lineBufferedSerial(write: (bytes: Uint8Array) => void): { serial(byte: number): void; flush(): void } {
  const pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    write(Uint8Array.from(pending));
    pending.length = 0;
  };
  return {
    serial: (byte) => {
      pending.push(byte);
      if (byte === 0x0a) flush();
    },
    flush,
  };
}

/** Runs a booted `pc` to its end: power-off, reset, timeout, abort, triple fault, a stop or a halt for good. */
export async function runPc(pc: Pc, options: PcRunOptions = {}): Promise<PcRunOutcome> {
  const { input, signal, hooks } = options;
  const flush = options.flushOutput ?? (() => {});
  const slice = options.sliceInstructions ?? RUN_SLICE_INSTRUCTIONS;
  const holdToWall = options.holdToWall ?? false;

  // Input: every byte goes on the UART's receive line; a sleeping loop is woken for it. The
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
  const onData = (chunk: Uint8Array | string) => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    for (const b of bytes) held.push(b);
    deliverHeld();
    wake?.();
  };
  const onEnd = () => {
    inputEnded = true;
    wake?.();
  };
  input?.on('data', onData);
  input?.on('end', onEnd);
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  hooks?.started?.(pc, () => wake?.(), signal);

  // Pacing: the PC's clock now (0 for a PC just booted, more for one loaded from a snapshot)
  // is the wall time now. The timeout counts from here too.
  const wall = options.wall ?? REAL_WALL_CLOCK;
  const startNs = pc.clock.nanoseconds;
  const wallStart = wall.now();
  const wallNs = () => startNs + (wall.now() - wallStart) * 1e6;
  const limitNs = startNs + (options.timeoutNs ?? Infinity);
  let retired = 0;
  const finish = (end: PcRunEnd, r: RunResult | null): PcRunOutcome => ({
    end,
    eip: r?.eip ?? 0,
    interruptsEnabled: r?.interruptsEnabled ?? false,
    instructions: retired,
    virtualNs: r?.virtualNanoseconds ?? pc.clock.nanoseconds,
    inputBytes,
  });
  try {
    for (;;) {
      // A turn for the event loop first and between slices: input, signals, output draining.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) return finish('aborted', null);
      if (pc.clock.nanoseconds >= limitNs) return finish('timeout', null);
      let sliceNow = slice;
      if (hooks?.pause) {
        const answer = await hooks.pause(pc);
        if (signal?.aborted) return finish('aborted', null);
        if (answer === 'end') return finish('ended', null);
        if (typeof answer === 'number') sliceNow = Math.max(1, Math.min(slice, answer));
      }
      // Held to the wall: the run may take virtual time only a lead ahead of the wall clock;
      // and never past the timeout.
      const paceNs = holdToWall ? wallNs() + PACE_LEAD_NS : Infinity;
      const deadlineNs = Math.min(paceNs, limitNs, pc.clock.nanoseconds + RUN_SLICE_NS);
      const r = pc.run({ maxInstructions: sliceNow, untilNs: Number.isFinite(deadlineNs) ? deadlineNs : undefined });
      retired += r.instructions;
      // Everything the guest wrote, a partial line too (its prompt): we may sleep next.
      flush();
      const delivered = deliverHeld();
      if (hooks?.ran?.(pc, r)) continue;
      switch (r.reason) {
        case 'power-off':
          return finish('power-off', r);
        case 'reset':
          return finish('reset', r);
        case 'triple-fault':
          return finish('triple-fault', r);
        case 'instruction-limit':
          break;
        case 'stopped':
          if (hooks?.onStop && (await hooks.onStop(pc, r))) break;
          return finish('stopped', r);
        case 'deadline': {
          // Virtual time is a lead ahead of the wall clock (held to it only). Sleep until
          // the wall clock lets the guest go on: a CPU asleep in HLT has nothing to do before
          // its next timer interrupt, so until that is within the lead; a running one until
          // the wall clock has caught up with it. Input (its IRQ wakes the CPU), the end of
          // input and an abort end the sleep at once. (At the timeout, no sleep: the top of
          // the loop ends the run.)
          if (delivered || pc.clock.nanoseconds >= limitNs || !holdToWall) break;
          const resumeNs = r.idleUntilNs !== undefined ? r.idleUntilNs - PACE_LEAD_NS : r.virtualNanoseconds;
          const ms = (resumeNs - wallNs()) / 1e6;
          if (ms > 0 && !signal?.aborted) await wall.sleep(ms, (w) => (wake = w));
          wake = null;
          break;
        }
        case 'halted':
          // Halted with interrupts on and no timer: only input can wake it now (and bytes it
          // just raised RTS for will).
          if (delivered) break;
          if (!r.interruptsEnabled || inputEnded || !input) return finish('halted', r);
          if (signal?.aborted) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
      }
    }
  } finally {
    flush();
    signal?.removeEventListener('abort', onAbort);
    input?.off('data', onData);
    input?.off('end', onEnd);
  }
}
