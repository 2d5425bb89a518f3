// The pool the network devices lend write buffers from: buffers come back and are lent again,
// so a steady stream of frames makes no new ones.

import { BufferPool, POOL_KEEP_PER_LENGTH, PrefixViews } from './pool';

describe('BufferPool', () => {
  it('lends a buffer of exactly the length asked, and lends it again once released', () => {
    const pool = new BufferPool();
    const first = pool.take(1514);
    expect(first.buffer.length).toBe(1514);
    first.release();
    for (let i = 0; i < 1000; i++) {
      const b = pool.take(1514);
      expect(b).toBe(first);
      b.release();
    }
    expect(pool.created).toBe(1);
    expect(pool.lent).toBe(1001);
  });

  it('makes as many buffers as are in flight at once, per length, then no more', () => {
    const pool = new BufferPool();
    for (let round = 0; round < 100; round++) {
      const out = [pool.take(1460), pool.take(1460), pool.take(66), pool.take(1460)];
      for (const b of out) b.release();
    }
    expect(pool.created).toBe(4);
  });

  it('keeps a bounded number of free buffers of one length', () => {
    const pool = new BufferPool();
    const many = Array.from({ length: POOL_KEEP_PER_LENGTH + 10 }, () => pool.take(100));
    for (const b of many) b.release();
    const again = Array.from({ length: POOL_KEEP_PER_LENGTH + 10 }, () => pool.take(100));
    expect(pool.created).toBe(POOL_KEEP_PER_LENGTH + 10 + 10);
    expect(new Set(again).size).toBe(again.length);
  });
});

describe('PrefixViews', () => {
  it('gives the same view of the first n bytes every time', () => {
    const buf = new Uint8Array(16);
    const views = new PrefixViews(buf);
    const v = views.get(5);
    expect(v.length).toBe(5);
    expect(views.get(5)).toBe(v);
    v[0] = 9;
    expect(buf[0]).toBe(9);
    expect(views.get(16).length).toBe(16);
  });
});
