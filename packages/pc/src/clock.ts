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

  /** Elapsed virtual time in nanoseconds. */
  get nanoseconds(): number {
    return (this.instructions / this.instructionsPerSecond) * 1e9;
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
