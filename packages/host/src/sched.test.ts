import { performance } from 'node:perf_hooks';
import { le32, loadCode, testHost, testProcess } from './fixture';
import type { Host } from './host';
import { TIMER_VECTOR } from './layout';
import { TimerBase } from './timers';
import { WaitQueue, waitEvent } from './wait';

describe('hrtimers', () => {
  it('fire in deadline order, ties in start order; cancel and restart work', () => {
    let now = 0;
    const base = new TimerBase(
      () => now,
      () => undefined,
    );
    const fired: string[] = [];
    const t = (name: string, at: number) => {
      const timer = base.create(() => fired.push(name));
      timer.start(at);
      return timer;
    };
    t('c', 30);
    t('a1', 10);
    t('a2', 10);
    const b = t('b', 20);
    const gone = t('gone', 5);
    expect(gone.cancel()).toBe(true);
    expect(gone.cancel()).toBe(false);
    b.start(25); // restart moves it
    expect(base.pending).toBe(4);
    expect(base.nextExpiry()).toBe(10);
    now = 25;
    expect(base.runExpired(now)).toBe(3);
    expect(fired).toEqual(['a1', 'a2', 'b']);
    expect(base.pending).toBe(1);
    now = 100;
    base.runExpired(now);
    expect(fired).toEqual(['a1', 'a2', 'b', 'c']);
    expect(base.nextExpiry()).toBe(Infinity);
  });

  it('a callback that re-arms in the past fires next time, not in a loop', () => {
    const base = new TimerBase(
      () => 0,
      () => undefined,
    );
    let n = 0;
    const timer = base.create(() => {
      n++;
      timer.start(0);
    });
    timer.start(0);
    expect(base.runExpired(10)).toBe(1);
    expect(base.runExpired(10)).toBe(1);
    expect(n).toBe(2);
  });
});

/**
 * One scripted run in virtual mode: two "guests" take turns on the CPU running a counted
 * loop with interrupts on (so ticks land in them), one sleeps on a timer in between, and
 * timers fire while code runs. Returns everything observable about timing.
 */
async function scriptedRun(): Promise<{ events: string[]; instructions: number; now: number; ticks: number }> {
  const host = testHost({ tickNs: 30_000 });
  const events: string[] = [];
  const loop = loadCode(host, [
    [0xb9, ...le32(25_000)], // mov $25000, %ecx
    [0xe2, 0xfe], // 1: loop 1b
    [0xc3], // ret
  ]);
  host.requestIrq(TIMER_VECTOR, (irq) => events.push(`tick@${host.clock.now()} eip=${irq.frame()?.eip === loop + 5}`));
  for (const at of [12_345, 40_000, 99_999]) {
    host.startTimer(at, () => events.push(`timer${at}@${host.clock.now()}`));
  }
  const a = testProcess(host, 'a');
  const b = testProcess(host, 'b');
  const guest = async (p: typeof a, rounds: number) => {
    for (let i = 0; i < rounds; i++) {
      const r = await host.runOnCpu(p, () => host.callKernel(loop));
      events.push(`${p.name}${i}:${r.status}@${host.clock.now()}`);
      if (p === b && i === 0) {
        await host.sleep(500_000);
        events.push(`b woke@${host.clock.now()}`);
      }
    }
  };
  await Promise.all([guest(a, 3), guest(b, 2)]);
  const result = { events, instructions: host.clock.instructions, now: host.clock.now(), ticks: host.kernel.ticks };
  host.shutdown();
  return result;
}

describe('the virtual clock', () => {
  it('makes runs deterministic: same instructions, same ticks, same timer instants', async () => {
    const one = await scriptedRun();
    const two = await scriptedRun();
    expect(two).toEqual(one);
    expect(one.ticks).toBeGreaterThan(0);
    // Timers fire at their deadline plus the two instructions of the interrupt stub.
    expect(one.events).toContain('timer12345@12347');
    // b slept 0.5 ms of virtual time, skipped while nobody needed the CPU.
    const slept = one.events.find((e) => e.startsWith('b woke@'));
    expect(slept).toBeDefined();
    expect(one.now).toBeGreaterThanOrEqual(500_000);
    expect(one.instructions).toBeLessThan(one.now);
  });

  it('skips a halted guest straight to its timer: no real time passes', async () => {
    const host = testHost();
    const wq = new WaitQueue();
    let due = false;
    host.startTimer(5_000_000_000, () => {
      due = true;
      wq.wakeUp();
    });
    const t0 = performance.now();
    await waitEvent(wq, () => due);
    expect(host.clock.now()).toBe(5_000_000_000);
    expect(performance.now() - t0).toBeLessThan(1000);
    host.shutdown();
  });
});

describe('the CPU scheduler', () => {
  let host: Host;
  afterEach(() => host.shutdown());

  it('runs tasks in FIFO order with `current` set', async () => {
    host = testHost();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => testProcess(host, n));
    const order: string[] = [];
    await Promise.all(
      [a, b, c, a].map((p) =>
        host.runOnCpu(p, () => {
          order.push(`${host.current?.name}:${host.currentCr3() === p.mm.pgd}`);
        }),
      ),
    );
    expect(order).toEqual(['a:true', 'b:true', 'c:true', 'a:true']);
    expect(host.current).toBeNull();
  });

  it('lets the event loop in while tasks keep the CPU busy', async () => {
    host = testHost({ yieldEveryUnits: 64 });
    const a = testProcess(host, 'a');
    const b = testProcess(host, 'b');
    let immediateRanAt = -1;
    let units = 0;
    setImmediate(() => (immediateRanAt = units));
    const spin = async (p: typeof a) => {
      for (let i = 0; i < 500; i++) await host.runOnCpu(p, () => units++);
    };
    await Promise.all([spin(a), spin(b)]);
    expect(units).toBe(1000);
    expect(immediateRanAt).toBeGreaterThanOrEqual(0);
    expect(immediateRanAt).toBeLessThan(1000);
    expect(host.sched.yields).toBeGreaterThanOrEqual(1000 / 64 - 1);
  });

  it('fires timers from the event loop when the CPU is idle (host clock)', async () => {
    host = testHost({ clock: 'host' });
    const start = host.clock.now();
    const fired = await new Promise<number>((resolve) =>
      host.startTimer(start + 2_000_000, () => resolve(host.clock.now())),
    );
    expect(fired - start).toBeGreaterThanOrEqual(2_000_000);
    expect(await host.sleep(1_000_000)).toBe(0);
  });
});
