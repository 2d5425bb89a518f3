import { Errno } from './errno';
import { testHost, testProcess } from './fixture';
import type { Host } from './host';
import type { Process } from './process';
import { Signal } from './signals';
import { O_RDWR, type FileOps } from './vfs';
import { WaitQueue, waitEventInterruptible } from './wait';

describe('wait queues', () => {
  it('wake sleepers in order, one or all', async () => {
    const wq = new WaitQueue();
    const order: string[] = [];
    const a = wq.wait().then((r) => order.push(`a${r}`));
    const b = wq.wait().then((r) => order.push(`b${r}`));
    const c = wq.wait().then((r) => order.push(`c${r}`));
    expect(wq.length).toBe(3);
    expect(wq.wakeUp()).toBe(true);
    await a;
    expect(order).toEqual(['a0']);
    expect(wq.wakeUpAll()).toBe(2);
    await Promise.all([b, c]);
    expect(order).toEqual(['a0', 'b0', 'c0']);
    expect(wq.wakeUp()).toBe(false);
  });
});

describe('signals', () => {
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    host = testHost();
    proc = testProcess(host);
  });
  afterEach(() => host.shutdown());

  it('interrupt an interruptible sleep with -ERESTARTSYS, but not an uninterruptible one', async () => {
    const wq = new WaitQueue();
    proc.signal(Signal.SIGUSR1, { handler: () => undefined });
    const interruptible = wq.wait(proc);
    let plainDone = false;
    const plain = wq.wait().then(() => (plainDone = true));
    expect(proc.kill(Signal.SIGUSR1)).toBe(0);
    expect(await interruptible).toBe(-Errno.ERESTARTSYS);
    await Promise.resolve();
    expect(plainDone).toBe(false);
    expect(wq.length).toBe(1);
    wq.wakeUpAll();
    await plain;
  });

  it('an ignored signal is dropped; SIGKILL cannot be caught; bad numbers are EINVAL', async () => {
    const wq = new WaitQueue();
    proc.signal(Signal.SIGUSR2, 'ignore');
    const w = wq.wait(proc);
    expect(proc.kill(Signal.SIGUSR2)).toBe(0);
    expect(proc.kill(Signal.SIGWINCH)).toBe(0); // ignored by default
    expect(proc.signalPending()).toBe(false);
    expect(proc.signal(Signal.SIGKILL, 'ignore')).toBe(-Errno.EINVAL);
    expect(proc.kill(64)).toBe(-Errno.EINVAL);
    expect(host.kill(9999, Signal.SIGTERM)).toBe(-Errno.ESRCH);
    wq.wakeUp();
    expect(await w).toBe(0);
  });

  /** A device whose read sleeps until data arrives, as lg's read sleeps while a guest is halted. */
  function sleepyDevice(): { ops: FileOps; feed: (s: string) => void; released: () => boolean; reads: () => number } {
    const wq = new WaitQueue();
    let data: string | null = null;
    let released = false;
    let reads = 0;
    const ops: FileOps = {
      async read(_file, buffer, p) {
        reads++;
        const r = await waitEventInterruptible(wq, p, () => data !== null);
        if (r < 0) return r;
        const bytes = new TextEncoder().encode(data ?? '');
        data = null;
        buffer.set(bytes);
        return bytes.length;
      },
      release: () => {
        released = true;
      },
    };
    return {
      ops,
      feed: (s) => {
        data = s;
        wq.wakeUp();
      },
      released: () => released,
      reads: () => reads,
    };
  }

  it('end a blocked read with -EINTR after running the handler', async () => {
    const dev = sleepyDevice();
    host.registerDevice('/dev/sleepy', dev.ops);
    const fd = await proc.open('/dev/sleepy', O_RDWR);
    const caught: number[] = [];
    proc.signal(Signal.SIGUSR1, { handler: (sig) => caught.push(sig) });
    const read = proc.read(fd, 16);
    await Promise.resolve();
    proc.kill(Signal.SIGUSR1);
    expect(await read).toBe(-Errno.EINTR);
    expect(caught).toEqual([Signal.SIGUSR1]);
    expect(proc.exited).toBe(false);
  });

  it('restart the read after an SA_RESTART handler', async () => {
    const dev = sleepyDevice();
    host.registerDevice('/dev/sleepy', dev.ops);
    const fd = await proc.open('/dev/sleepy', O_RDWR);
    let caught = 0;
    proc.signal(Signal.SIGUSR1, { handler: () => caught++, restart: true });
    const read = proc.read(fd, 16);
    await Promise.resolve();
    proc.kill(Signal.SIGUSR1);
    await new Promise((r) => setImmediate(r));
    expect(caught).toBe(1);
    dev.feed('data');
    const got = await read;
    expect(typeof got !== 'number' && new TextDecoder().decode(got)).toBe('data');
    expect(dev.reads()).toBe(2);
  });

  it('kill the process by default: the read returns, then files close and memory goes', async () => {
    const dev = sleepyDevice();
    host.registerDevice('/dev/sleepy', dev.ops);
    const fd = await proc.open('/dev/sleepy', O_RDWR);
    const read = proc.read(fd, 16);
    await Promise.resolve();
    expect(host.kill(proc.pid, Signal.SIGTERM)).toBe(0);
    expect(await read).toBe(-Errno.EINTR);
    expect(await proc.waitExit()).toBe(128 + Signal.SIGTERM);
    expect(dev.released()).toBe(true);
    expect(host.findProcess(proc.pid)).toBeUndefined();
    expect(proc.kill(Signal.SIGTERM)).toBe(-Errno.ESRCH);
    expect(await proc.read(fd, 1)).toBe(-Errno.ESRCH);
  });

  it('exit() during a blocked read waits for the read to return before tearing down', async () => {
    const dev = sleepyDevice();
    host.registerDevice('/dev/sleepy', dev.ops);
    const fd = await proc.open('/dev/sleepy', O_RDWR);
    const read = proc.read(fd, 16);
    await Promise.resolve();
    proc.exit(3);
    expect(proc.exited).toBe(false); // still inside read()
    expect(await read).toBe(-Errno.EINTR);
    expect(proc.exitCode).toBe(3);
    expect(dev.released()).toBe(true);
  });

  it('deliver to a process outside a system call at once', async () => {
    const caught: number[] = [];
    proc.signal(Signal.SIGHUP, { handler: (s) => caught.push(s) });
    proc.kill(Signal.SIGHUP);
    await Promise.resolve();
    expect(caught).toEqual([Signal.SIGHUP]);
    expect(proc.signalPending()).toBe(false);
    proc.kill(Signal.SIGINT);
    await Promise.resolve();
    expect(proc.exitCode).toBe(128 + Signal.SIGINT);
  });

  it('interrupt a sleep on the clock', async () => {
    proc.signal(Signal.SIGUSR1, { handler: () => undefined });
    const s = host.sleep(1_000_000_000, proc);
    proc.kill(Signal.SIGUSR1);
    expect(await s).toBe(-Errno.ERESTARTSYS);
    expect(host.timers.pending).toBe(0);
  });

  it('nanosleep: wakes at exactly its deadline on the virtual clock, keeps it across a restart, ends on abort', async () => {
    expect(await proc.nanosleep(-1)).toBe(-Errno.EINVAL);
    const start = host.clock.now();
    expect(await proc.nanosleep(3_000_000)).toBe(0);
    expect(host.clock.now() - start).toBe(3_000_000);

    // A signal whose handler restarts the call: the sleep goes on to its first deadline.
    const caught: number[] = [];
    proc.signal(Signal.SIGUSR1, { handler: (sig) => caught.push(sig), restart: true });
    const t0 = host.clock.now();
    const restarted = proc.nanosleep(5_000_000);
    proc.kill(Signal.SIGUSR1);
    expect(await restarted).toBe(0);
    expect(caught).toEqual([Signal.SIGUSR1]);
    expect(host.clock.now() - t0).toBe(5_000_000);

    // Aborted: -EINTR at once, and no timer left for the clock to skip to.
    const abort = new AbortController();
    const t1 = host.clock.now();
    const aborted = proc.nanosleep(1_000_000_000, abort.signal);
    expect(host.timers.pending).toBe(1);
    abort.abort();
    expect(host.timers.pending).toBe(0);
    expect(await aborted).toBe(-Errno.EINTR);
    expect(host.clock.now()).toBe(t1);
    expect(await proc.nanosleep(1, abort.signal)).toBe(-Errno.EINTR);
  });
});
