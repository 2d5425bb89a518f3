// The generator's randomness. Everything a run does follows from one 32-bit seed, so a
// mismatch seen once is seen again with `--seed S`: a xorshift128 generator seeded through
// splitmix32, plus the xorshift32 fill the native runner also implements in assembly to
// initialise each case's scratch region without carrying 256 bytes per case in its tables.

/** splitmix32: spreads one seed over the generator's four words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  constructor(seed: number) {
    const st = { s: seed | 0 };
    this.x = splitmix32(st);
    this.y = splitmix32(st);
    this.z = splitmix32(st);
    this.w = splitmix32(st) | 1;
  }

  /** A uniform unsigned 32-bit value. */
  u32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8));
    return this.w >>> 0;
  }

  /** A uniform integer in [0, n); n ≥ 1 and below 2^32. */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: nothing to pick from');
    return items[this.below(items.length)];
  }
}

/** The region fill: xorshift32 from `seed` (nonzero), one little-endian dword at a time. */
export function fillRegion(seed: number, bytes: Uint8Array): void {
  if (bytes.length % 4 !== 0) throw new Error('fillRegion: length must be a multiple of 4');
  if (seed === 0) throw new Error('fillRegion: the seed must be nonzero');
  let x = seed | 0;
  for (let i = 0; i < bytes.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
    bytes[i + 1] = (x >>> 8) & 0xff;
    bytes[i + 2] = (x >>> 16) & 0xff;
    bytes[i + 3] = (x >>> 24) & 0xff;
  }
}
