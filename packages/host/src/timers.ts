// High-resolution timers, hrtimer-style: a deadline on the host clock and a callback that
// runs when it passes. lg arms one per guest for the guest's clock event (LHCALL_SET_CLOCKEVENT
// in later versions, the timer interrupt in 2.6.23) and its callback marks the guest's timer
// interrupt pending and wakes a halted guest.
//
// Callbacks run in "interrupt context": from the host timer interrupt while the CPU is
// executing (the clock event raises vector 0x20 through the host interrupt controller, so a
// busy guest really is interrupted), or straight from the event loop when the CPU is idle.
// A callback must not run x86 code (no callKernel) and must not block; it may start timers,
// raise interrupts and wake wait queues.
//
// Expired timers fire in deadline order, ties in the order they were started, so a virtual-
// clock run fires the same timers at the same instants every time.

export type TimerCallback = (timer: HrTimer) => void;

interface Entry {
  readonly timer: HrTimer;
  readonly expires: number;
  readonly gen: number;
  readonly seq: number;
}

/** One timer: start it, restart it, cancel it. */
export class HrTimer {
  /** The deadline of the last start (ns on the host clock). */
  expires = 0;
  private armed = false;
  /** Bumped on every start/cancel, so stale queue entries are recognised and skipped. */
  gen = 0;

  constructor(
    private readonly base: TimerBase,
    readonly callback: TimerCallback,
  ) {}

  /** Whether the timer is waiting to fire. */
  get active(): boolean {
    return this.armed;
  }

  /** hrtimer_start(HRTIMER_MODE_ABS): fire at `expiresNs` (restarts an active timer). */
  start(expiresNs: number): void {
    const wasArmed = this.armed;
    this.expires = expiresNs;
    this.armed = true;
    this.gen++;
    this.base.enqueue(this, wasArmed);
  }

  /** hrtimer_start(HRTIMER_MODE_REL): fire `deltaNs` from now. */
  startIn(deltaNs: number): void {
    this.start(this.base.now() + Math.max(0, deltaNs));
  }

  /** hrtimer_cancel: returns whether it was active. */
  cancel(): boolean {
    const was = this.armed;
    this.armed = false;
    this.gen++;
    if (was) this.base.dequeued(this);
    return was;
  }

  /** Called by the base when the timer fires. */
  expire(): void {
    this.armed = false;
  }
}

/** The timer queue of the one host CPU: a binary heap ordered by (deadline, start order). */
export class TimerBase {
  private heap: Entry[] = [];
  private seq = 0;
  private live = 0;

  /**
   * `now` reads the host clock; `changed` is told whenever the earliest deadline may have
   * moved (so the host can reprogram its clock event: a Node timeout or the idle skip).
   */
  constructor(
    readonly now: () => number,
    private readonly changed: () => void,
  ) {}

  create(callback: TimerCallback): HrTimer {
    return new HrTimer(this, callback);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.live;
  }

  /** The earliest deadline, or Infinity when no timer is armed. */
  nextExpiry(): number {
    const top = this.top();
    return top ? top.expires : Infinity;
  }

  /**
   * hrtimer_interrupt: fire every timer whose deadline is at or before `now`. Timers a
   * callback arms for a deadline already passed fire on the next call, not in this one (a
   * callback cannot keep this loop spinning). Returns how many fired.
   */
  runExpired(now: number): number {
    const limit = this.seq;
    let fired = 0;
    for (;;) {
      const top = this.top();
      if (!top || top.expires > now || top.seq >= limit) break;
      this.pop();
      this.live--;
      top.timer.expire();
      fired++;
      top.timer.callback(top.timer);
    }
    if (fired) this.changed();
    return fired;
  }

  /** Cancel everything (host shutdown). */
  clear(): void {
    for (const e of this.heap) if (e.gen === e.timer.gen) e.timer.cancel();
    this.heap = [];
    this.live = 0;
  }

  /** A timer was started; a restart of an armed timer leaves its old entry stale. */
  enqueue(timer: HrTimer, wasArmed: boolean): void {
    if (!wasArmed) this.live++;
    if (this.heap.length > 2 * this.live + 64) this.compact();
    this.push({ timer, expires: timer.expires, gen: timer.gen, seq: this.seq++ });
    this.changed();
  }

  /** An armed timer was cancelled. */
  dequeued(_timer: HrTimer): void {
    this.live--;
    this.changed();
  }

  /** Drop stale entries (timers restarted or cancelled many times before their deadline). */
  private compact(): void {
    const liveEntries = this.heap.filter((e) => e.gen === e.timer.gen && e.timer.active);
    this.heap = [];
    for (const e of liveEntries) this.push(e);
  }

  /** The first live entry, dropping stale ones (cancelled or restarted timers). */
  private top(): Entry | undefined {
    while (this.heap.length > 0) {
      const e = this.heap[0];
      if (e.gen === e.timer.gen && e.timer.active) return e;
      this.pop();
    }
    return undefined;
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.expires < b.expires || (a.expires === b.expires && a.seq < b.seq);
}
