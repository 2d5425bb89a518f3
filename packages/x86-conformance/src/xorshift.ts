// The kit's one small seeded generator, Marsaglia's xorshift32 (shifts 13, 17, 5): every run
// of the fuzzer and of the FPU sweep is reproducible from its seed. (The differential kit's
// region fill wants a longer period and has its own xorshift128, src/diff/prng.ts.)

export class Xorshift32 {
  private s: number;
  /** `seed`, or `zeroSeed` for a seed of 0 (xorshift would stay at 0 for ever). */
  constructor(seed: number, zeroSeed = 1) {
    this.s = seed >>> 0 || zeroSeed >>> 0;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}
