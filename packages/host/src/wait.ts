// Wait queues: how a task sleeps until something happens. A halted guest sleeps here until
// its timer fires or the launcher injects an interrupt; a launcher's LHREQ_BREAK write
// sleeps here until the launcher has serviced its input; a read of a device sleeps here
// for data. A sleep on behalf of a process is interruptible, like TASK_INTERRUPTIBLE: a
// signal sent to that process ends it with -ERESTARTSYS, which is how a launcher blocked
// in read() of the control file gets out when it is killed.
//
// JavaScript is single-threaded, so "check the condition, then sleep" cannot miss a wakeup
// as long as nothing is awaited in between: wait() enqueues synchronously.

import { Errno } from './errno';

/** A process as far as sleeping goes (Process implements this). */
export interface SignalTarget {
  signalPending(): boolean;
  addSleeper(sleeper: Sleeper): void;
  removeSleeper(sleeper: Sleeper): void;
}

/** Something a signal can interrupt. */
export interface Sleeper {
  interrupt(): void;
}

class Waiter implements Sleeper {
  constructor(
    private readonly queue: WaitQueue,
    private readonly task: SignalTarget | null,
    private readonly resolve: (result: number) => void,
  ) {}

  interrupt(): void {
    this.finish(-Errno.ERESTARTSYS);
  }

  finish(result: number): void {
    this.queue.remove(this);
    this.task?.removeSleeper(this);
    this.resolve(result);
  }
}

export class WaitQueue {
  private waiters: Waiter[] = [];

  /** Tasks asleep on this queue. */
  get length(): number {
    return this.waiters.length;
  }

  /**
   * Sleep until woken: resolves 0. With a task the sleep is interruptible and resolves
   * -ERESTARTSYS when a signal arrives (at once if one is already pending).
   */
  wait(task?: SignalTarget): Promise<number> {
    if (task?.signalPending()) return Promise.resolve(-Errno.ERESTARTSYS);
    return new Promise((resolve) => {
      const w = new Waiter(this, task ?? null, resolve);
      this.waiters.push(w);
      task?.addSleeper(w);
    });
  }

  /** Wake the longest sleeper; returns whether there was one. */
  wakeUp(): boolean {
    const w = this.waiters[0];
    if (!w) return false;
    w.finish(0);
    return true;
  }

  /** Wake every sleeper; returns how many. */
  wakeUpAll(): number {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.finish(0);
    return all.length;
  }

  remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}

/**
 * wait_event_interruptible: sleep on `queue` until `condition()` holds. 0 when it does,
 * -ERESTARTSYS if a signal came first.
 */
export async function waitEventInterruptible(
  queue: WaitQueue,
  task: SignalTarget,
  condition: () => boolean,
): Promise<number> {
  for (;;) {
    if (condition()) return 0;
    const r = await queue.wait(task);
    if (r < 0 && !condition()) return r;
  }
}

/** wait_event: sleep on `queue` until `condition()` holds; signals do not interrupt it. */
export async function waitEvent(queue: WaitQueue, condition: () => boolean): Promise<void> {
  while (!condition()) await queue.wait();
}
