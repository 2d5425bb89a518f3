// `lguest run --native`: the same kernel image, booted on bare (emulated) hardware instead of
// under lguest — the other half of paravirt_ops. The PC of @lguest/pc loads it through its
// multiboot header; the kernel runs in ring 0 with the native paravirt_ops and talks to a
// 16550 UART on COM1, which is wired to this terminal: what it transmits is our stdout, what
// we read from stdin arrives on its receive line (RBR, with IRQ 4 when the guest enabled it).
//
// There is no host, no lg and no launcher here. The PC's clock is virtual (a fixed number of
// instructions per second, and a halted CPU skips straight to its next timer interrupt), so
// an idle guest would race through its virtual time. With --clock=host (the default) we
// hold it back: when virtual time is ahead of the wall clock we sleep the difference, so a
// guest waiting at a prompt costs nothing and its seconds are real ones. With
// --clock=virtual it runs flat out, as the tests and benchmarks want. Either way --timeout
// counts virtual seconds. The PC runs in slices, between which we give Node's event loop a
// turn: input, signals and three Ctrl-C get in, and the console output is flushed.
//
// Exit status: 0 when the guest writes the power-off port, 1 with a reason for a triple fault
// (the real PC would reset), a halt no interrupt can end, or a stop by the core; 124 for
// --timeout; an abort's status (three Ctrl-C: 2; SIGINT: 130) when the user stopped it.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ConsoleInputSource, ConsoleOutput } from '@lguest/console';
import { createPc, type RunResult } from '@lguest/pc';
import type { HostSpec } from './options';
import type { StopRequest } from './session';

/** Instructions per virtual second on the PC (its default). */
export const NATIVE_INSTRUCTIONS_PER_SECOND = 100_000_000;
/** Instructions per slice between turns of the event loop. */
const SLICE = 2_000_000;
/** The longest pacing sleep: input and aborts also end it at once. */
const PACE_MAX_SLEEP_MS = 50;

/** Sleeps `ms`, or until the function handed to `onWake` is called. */
function sleep(ms: number, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onWake(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface NativePlan {
  readonly kernelPath: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  readonly output: ConsoleOutput;
  readonly input?: ConsoleInputSource;
}

export interface NativeOutcome {
  readonly exitStatus: number;
  /** Why it ended, in words for the user ("power-off", "triple fault at eip 0x…"). */
  readonly reason: string;
  readonly poweredOff: boolean;
  readonly instructions: number;
  readonly virtualNs: number;
  /** Bytes typed into the UART's receive line. */
  readonly inputBytes: number;
}

/** Boots `plan` on a fresh emulated PC and runs it to its end. */
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
  const pc = createPc({
    memoryMiB: plan.memMiB,
    core: host.cpu,
    // Whole lines go out as the guest finishes them; the rest at the end of each slice.
    serial: (byte) => {
      pending.push(byte);
      if (byte === 0x0a) flush();
    },
    instructionsPerSecond: NATIVE_INSTRUCTIONS_PER_SECOND,
  });
  const boot = pc.boot(readFileSync(plan.kernelPath), plan.cmdline.join(' '));
  log(
    `pc: ${plan.memMiB} MiB, CPU core ${host.cpu}, virtual clock${host.clock === 'host' ? ' held to wall time' : ''}, kernel ${plan.kernelPath} ` +
      `entered at 0x${boot.entry.toString(16)}` +
      (plan.cmdline.length ? `, command line "${plan.cmdline.join(' ')}"` : ''),
  );

  // Input: every byte goes on the UART's receive line; a sleeping guest is woken for it.
  let inputBytes = 0;
  let inputEnded = false;
  let wake: (() => void) | null = null;
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    inputBytes += bytes.length;
    pc.uart.receive(bytes);
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

  // Pacing (--clock=host): the wall time that corresponds to virtual time 0.
  const wallStart = performance.now();
  const limit = host.timeoutS === null ? Infinity : Math.round(host.timeoutS * NATIVE_INSTRUCTIONS_PER_SECOND);
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
      if (host.clock === 'host') {
        const aheadMs = pc.clock.nanoseconds / 1e6 - (performance.now() - wallStart);
        if (aheadMs >= 1) await sleep(Math.min(aheadMs, PACE_MAX_SLEEP_MS), (w) => (wake = w));
        wake = null;
      }
      if (signal?.aborted) {
        const why = signal.reason as Partial<StopRequest> | undefined;
        return end(why?.status ?? 130, why?.reason ?? 'killed: interrupted by the user', null);
      }
      const budget = Math.min(SLICE, limit - retired);
      if (budget <= 0) {
        return end(124, `killed: still running after ${host.timeoutS} s of virtual clock time (--timeout)`, null);
      }
      const r = pc.run({ maxInstructions: budget });
      retired += r.instructions;
      flush();
      const at = `eip 0x${r.eip.toString(16)}`;
      switch (r.reason) {
        case 'power-off':
          return end(0, 'power-off', r);
        case 'instruction-limit':
          break;
        case 'triple-fault':
          return end(1, `triple fault at ${at}: the PC would reset`, r);
        case 'stopped':
          return end(1, `the CPU core stopped at ${at}`, r);
        case 'halted':
          // Halted with interrupts on and no timer: only typed input can wake it now.
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
    signal?.removeEventListener('abort', onAbort);
    plan.input?.off('data', onData);
    plan.input?.off('end', onEnd);
  }
}
