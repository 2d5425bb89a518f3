// Buffers for the bytes we hand to Node (a host socket's write, a datagram, the TAP helper's
// pipe). Node keeps a written buffer until the write completes, so it cannot be a scratch
// buffer of ours; instead of a new Buffer per frame, a pool lends one of exactly the length
// needed and takes it back when the write's callback runs. Each lent buffer comes with its
// release callback, made once with it, so a write allocates nothing of ours. Frames have few
// distinct lengths (full-sized segments above all), so free buffers are kept per length, up
// to a bound.

/** How many free buffers of one length the pool keeps. */
export const POOL_KEEP_PER_LENGTH = 256;

/** A buffer the pool lends: write `buffer`, with `release` as the write's callback. */
export class PoolBuffer {
  readonly buffer: Buffer;
  readonly release: () => void;

  constructor(pool: BufferPool, length: number) {
    this.buffer = Buffer.allocUnsafe(length);
    this.release = () => pool.give(this);
  }
}

export class BufferPool {
  /** Buffers ever made: after the first frames of each length, this stops growing. */
  created = 0;
  /** Buffers lent, in all. */
  lent = 0;
  private readonly free = new Map<number, PoolBuffer[]>();

  /** A buffer of exactly `length` bytes (contents undefined). */
  take(length: number): PoolBuffer {
    this.lent++;
    const list = this.free.get(length);
    if (list && list.length > 0) return list.pop()!;
    this.created++;
    return new PoolBuffer(this, length);
  }

  /** Take back a buffer whose write is done. */
  give(b: PoolBuffer): void {
    let list = this.free.get(b.buffer.length);
    if (!list) this.free.set(b.buffer.length, (list = []));
    if (list.length < POOL_KEEP_PER_LENGTH) list.push(b);
  }
}

/**
 * Views of the first n bytes of one buffer, made once per length and kept: for APIs that take
 * a whole Uint8Array (the launcher's guest-memory reads and writes) when we mean a prefix.
 */
export class PrefixViews {
  private readonly views: (Uint8Array | undefined)[];

  constructor(readonly buffer: Uint8Array) {
    this.views = new Array<Uint8Array | undefined>(buffer.length + 1).fill(undefined);
  }

  get(n: number): Uint8Array {
    return (this.views[n] ??= this.buffer.subarray(0, n));
  }
}
