// The host's clock. A guest reads time through lg (the clock page, its hrtimer), and every
// timeout in the system — lg's guest clock event, a halted guest's wakeup, the scheduler
// tick that preempts a guest spinning with its virtual interrupts off — is a deadline on
// this clock, in nanoseconds since the host booted.
//
// Two modes (architecture §9):
//  * 'host': wall time (performance.now), for interactive use.
//  * 'virtual': time is work done. One retired instruction is exactly one nanosecond (a
//    1 GHz, one-instruction-per-cycle machine), and when nothing can run the host skips
//    straight to the next timer, so a halted guest costs no real time. Nothing in this mode
//    reads a wall clock, so the same inputs give the same run, instruction for instruction.

import { performance } from 'node:perf_hooks';

export type ClockMode = 'host' | 'virtual';

/** Virtual nanoseconds per retired instruction. */
export const VIRTUAL_NS_PER_INSTRUCTION = 1;

export class Clock {
  readonly mode: ClockMode;
  private virtualNs = 0;
  private retiredTotal = 0;
  private skippedNs = 0;
  private bootMs: number;

  constructor(mode: ClockMode) {
    this.mode = mode;
    this.bootMs = mode === 'host' ? performance.now() : 0;
  }

  /** Nanoseconds since boot (an integer). */
  now(): number {
    if (this.mode === 'virtual') return this.virtualNs;
    return Math.floor((performance.now() - this.bootMs) * 1e6);
  }

  /** Instructions the CPU has retired since boot. */
  get instructions(): number {
    return this.retiredTotal;
  }

  /** Virtual nanoseconds skipped while the CPU was idle (0 in host mode). */
  get idleSkippedNs(): number {
    return this.skippedNs;
  }

  /** The kernel-call loop reports instructions the core retired. */
  retire(instructions: number): void {
    this.retiredTotal += instructions;
    if (this.mode === 'virtual') this.virtualNs += instructions * VIRTUAL_NS_PER_INSTRUCTION;
  }

  /**
   * A machine restored from a snapshot carries on from the clock it was saved at: from now
   * on now() continues from `ns` (virtual mode: the jump counts as idle time; host mode:
   * wall time keeps passing from there). Never moves the clock back.
   */
  resumeAt(ns: number): void {
    const now = this.now();
    if (!(ns > now)) return;
    if (this.mode === 'virtual') this.skipTo(ns);
    else this.bootMs -= (ns - now) / 1e6;
  }

  /** Virtual mode: nothing can run until `ns`, so jump there. Ignored in host mode. */
  skipTo(ns: number): void {
    if (this.mode !== 'virtual' || ns <= this.virtualNs) return;
    this.skippedNs += ns - this.virtualNs;
    this.virtualNs = ns;
  }
}
