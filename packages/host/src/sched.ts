// The scheduler of the one emulated CPU. Every guest in a host is a launcher process
// whose read() of the control file runs the guest in lg's run_guest loop, one
// run_guest_once at a time; several guests share the CPU by taking turns between those
// units of work. A unit runs synchronously (JavaScript cannot interleave two of them),
// and the host timer tick guarantees a unit of guest execution ends within a tick, so
// turns are short.
//
// What this file decides is *who goes next* and *when Node gets the thread back*: tasks
// wait for the CPU in FIFO order (round robin between runnable guests), and every
// `yieldIntervalNs` of clock time (or every `yieldEveryUnits` units, so a virtual clock
// that barely moves cannot starve I/O) the scheduler lets the Node event loop run before
// the next unit — terminal input, sockets and Node timers are never starved, and no yield
// happens per tiny slice.
//
// In virtual-clock mode it also owns idle: when no task holds or waits for the CPU and a
// timer is pending, the clock skips straight to that timer (a halted guest costs no real
// time). With the host clock, idle is simply Node's event loop waiting for a timeout.

import { performance } from 'node:perf_hooks';
import type { Clock } from './clock';

/** What the scheduler knows of a task: enough to find its address space (see Host). */
export interface Task {
  readonly pid: number;
}

export interface SchedulerOptions {
  /** Clock time between yields to the event loop. */
  readonly yieldIntervalNs: number;
  /** Units between yields regardless of the clock. */
  readonly yieldEveryUnits: number;
}

interface Waiter<T> {
  readonly task: T | null;
  readonly resolve: () => void;
}

export class Scheduler<T extends Task = Task> {
  /** The task that holds the CPU (Linux's `current`), or null for none / a kernel thread. */
  current: T | null = null;
  /** Times the event loop was given the thread. */
  yields = 0;

  private locked = false;
  private handoff = false;
  private readonly queue: Waiter<T>[] = [];
  private yielding = 0;
  private lastYield: number;
  private unitsSinceYield = 0;
  private idleScheduled = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: SchedulerOptions,
    /** Virtual mode, nothing runnable: run the timers due at the next deadline, if any. */
    private readonly idle: () => boolean,
  ) {
    this.lastYield = this.yieldClock();
  }

  /** Whether any task holds, waits for, or is about to retake the CPU. */
  get busy(): boolean {
    return this.locked || this.handoff || this.queue.length > 0 || this.yielding > 0;
  }

  /**
   * Run `fn` on the CPU as `task` (synchronously, holding the CPU), after the tasks already
   * waiting. `fn` may call callKernel; it must not await.
   */
  async runOnCpu<R>(task: T | null, fn: () => R): Promise<R> {
    await this.acquire(task);
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Take the CPU (FIFO). Pair with release(); prefer runOnCpu. */
  acquire(task: T | null): Promise<void> {
    this.unitsSinceYield++;
    if (!this.locked && !this.handoff && this.queue.length === 0 && !this.yieldDue()) {
      this.take(task);
      return Promise.resolve();
    }
    const p = new Promise<void>((resolve) => this.queue.push({ task, resolve }));
    if (!this.locked && !this.handoff) this.dispatch();
    return p;
  }

  /** Give the CPU to the next waiter, letting the event loop in first if a yield is due. */
  release(): void {
    this.locked = false;
    this.current = null;
    if (this.queue.length > 0) this.dispatch();
    else this.maybeIdle();
  }

  /** cond_resched for loops that do not use the CPU: yield to the event loop if due. */
  async condResched(): Promise<void> {
    if (this.yieldDue()) await this.yieldToEventLoop();
  }

  /** Let Node's event loop run (I/O callbacks, timers) before continuing. */
  async yieldToEventLoop(): Promise<void> {
    this.yielding++;
    this.noteYield();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.yielding--;
    this.maybeIdle();
  }

  /** Stop the idle loop for good (host shutdown). */
  shutdown(): void {
    this.stopped = true;
  }

  /** Virtual mode: something may have become idle-skippable (a timer was armed). */
  maybeIdle(): void {
    if (this.stopped || this.idleScheduled || this.clock.mode !== 'virtual' || this.busy) return;
    this.idleScheduled = true;
    setImmediate(() => {
      this.idleScheduled = false;
      if (this.stopped || this.busy) return;
      if (this.idle()) this.maybeIdle();
    });
  }

  private take(task: T | null): void {
    this.locked = true;
    this.current = task;
  }

  /** Hand the CPU to the first waiter, through the event loop if a yield is due. */
  private dispatch(): void {
    if (this.yieldDue()) {
      this.handoff = true;
      this.noteYield();
      setImmediate(() => {
        this.handoff = false;
        this.grant();
      });
    } else {
      this.grant();
    }
  }

  private grant(): void {
    const next = this.queue.shift();
    if (!next) {
      this.maybeIdle();
      return;
    }
    this.take(next.task);
    next.resolve();
  }

  private yieldDue(): boolean {
    return (
      this.unitsSinceYield >= this.options.yieldEveryUnits ||
      this.yieldClock() - this.lastYield >= this.options.yieldIntervalNs
    );
  }

  private noteYield(): void {
    this.yields++;
    this.unitsSinceYield = 0;
    this.lastYield = this.yieldClock();
  }

  /** Host mode: wall time, which is what starves Node. Virtual: the clock (deterministic). */
  private yieldClock(): number {
    return this.clock.mode === 'virtual' ? this.clock.now() : performance.now() * 1e6;
  }
}
