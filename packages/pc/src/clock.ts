// Virtual time for the emulated PC. Nothing here looks at a wall clock: time is retired
// instructions at a fixed rate (instructions per second), plus whatever an idle CPU skips
// while it sleeps in HLT. The PIT's 1.193182 MHz input is derived from it with an exact
// integer remainder, so the same image with the same inputs takes the same interrupts at the
// same instructions, every run (architecture §9, "virtual" mode).

import { PIT_HZ } from './pit';

export class VirtualClock {
  /** Virtual instructions elapsed: retired ones plus those skipped while halted. */
  instructions = 0;
  /** instructions·PIT_HZ not yet turned into whole PIT clocks (always < instructionsPerSecond). */
  private remainder = 0;

  constructor(readonly instructionsPerSecond: number) {
    if (!Number.isSafeInteger(instructionsPerSecond) || instructionsPerSecond < PIT_HZ) {
      throw new Error(`instructionsPerSecond must be an integer of at least ${PIT_HZ}, got ${instructionsPerSecond}`);
    }
  }

  /** Where time is, exactly: elapsed instructions and the PIT clock's remainder. */
  save(): { instructions: number; remainder: number } {
    return { instructions: this.instructions, remainder: this.remainder };
  }

  load(s: { instructions: number; remainder: number }): void {
    ({ instructions: this.instructions, remainder: this.remainder } = s);
  }

  /** Elapsed virtual time in nanoseconds. */
  get nanoseconds(): number {
    return this.nanosecondsAt(this.instructions);
  }

  /** The virtual time, in nanoseconds, at which `instructions` instructions have elapsed. */
  nanosecondsAt(instructions: number): number {
    return (instructions / this.instructionsPerSecond) * 1e9;
  }

  /**
   * The most elapsed instructions whose virtual time is still no later than `ns` (so a
   * deadline in nanoseconds can be kept exactly: `nanosecondsAt` of the answer is ≤ `ns`,
   * one more instruction is past it). Infinity for an infinite `ns`.
   */
  instructionsBy(ns: number): number {
    if (ns === Infinity) return Infinity;
    // The division is exact only up to rounding: nudge the estimate to the exact boundary, as
    // measured by nanosecondsAt itself, so the two never disagree about which side it is on.
    let n = Math.floor((ns / 1e9) * this.instructionsPerSecond);
    // Past 2^53 instructions (years of virtual time) there is no next integer to step to.
    if (!Number.isSafeInteger(n + 1)) return Math.max(0, n);
    while (n > 0 && this.nanosecondsAt(n) > ns) n--;
    while (this.nanosecondsAt(n + 1) <= ns) n++;
    return Math.max(0, n);
  }

  /** Advances by `n` instructions and returns how many whole PIT clocks that completed. */
  advance(n: number): number {
    this.instructions += n;
    const total = this.remainder + n * PIT_HZ;
    const clocks = Math.floor(total / this.instructionsPerSecond);
    this.remainder = total - clocks * this.instructionsPerSecond;
    return clocks;
  }

  /** The fewest instructions after which at least `clocks` more PIT clocks have passed (≥ 1). */
  instructionsUntil(clocks: number): number {
    const needed = clocks * this.instructionsPerSecond - this.remainder;
    return Math.max(1, Math.ceil(needed / PIT_HZ));
  }
}
