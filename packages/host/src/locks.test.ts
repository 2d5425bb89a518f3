// POSIX write locks (F_SETLK) as the --sharenet slot allocator uses them, and the pacing a
// launcher holds while its guest waits on the outside world.

import { performance } from 'node:perf_hooks';
import { Host } from './host';
import type { Process } from './process';
import { O_CREAT, O_RDWR } from './vfs';

describe('record locks', () => {
  let host: Host;
  beforeEach(() => (host = new Host({ memoryMiB: 16 })));
  afterEach(() => host.shutdown());

  async function open(name: string): Promise<[Process, number]> {
    const p = host.createProcess(name) as Process;
    return [p, await p.open('/tmp-net', O_RDWR | O_CREAT)];
  }

  it('keeps a byte to its holder, frees it at close or exit, and lets the holder lock again', async () => {
    const [a, fa] = await open('a');
    const [b, fb] = await open('b');
    expect(a.setWriteLock(fa, 0, 1)).toBe(0);
    expect(a.setWriteLock(fa, 0, 1)).toBe(0); // its own lock: no conflict
    expect(b.setWriteLock(fb, 0, 1)).toBe(-11); // EAGAIN
    expect(b.setWriteLock(fb, 1, 1)).toBe(0);
    expect(b.setWriteLock(fb, -1, 1)).toBe(-22); // EINVAL
    a.close(fa);
    expect(b.setWriteLock(fb, 0, 1)).toBe(0);
    const [c, fc] = await open('c');
    expect(c.setWriteLock(fc, 1, 1)).toBe(-11);
    b.exit(0);
    expect(c.setWriteLock(fc, 0, 2)).toBe(0);
  });
});

describe('pacing a virtual clock', () => {
  it('lets idle time pass no faster than the wall clock while held, and skips again once released', async () => {
    const host = new Host({ memoryMiB: 16, clock: 'virtual' });
    const proc = host.createProcess('launcher') as Process;
    try {
      const release = proc.holdPacing();
      const wallStart = performance.now();
      const virtualStart = host.clock.now();
      await new Promise<void>((resolve) => host.startTimer(30_000_000, () => resolve())); // 30 ms
      const wallNs = (performance.now() - wallStart) * 1e6;
      // The timer fired at 30 ms of virtual time, and that much wall time had passed.
      expect(host.clock.now() - virtualStart).toBeGreaterThanOrEqual(30_000_000);
      expect(wallNs).toBeGreaterThanOrEqual(30_000_000 * 0.9);
      release();
      // Released: an hour of idle virtual time goes by at once.
      await new Promise<void>((resolve) => host.startTimer(3600e9, () => resolve()));
      expect(host.clock.now()).toBeGreaterThanOrEqual(3600e9);
    } finally {
      host.shutdown();
    }
  });
});
