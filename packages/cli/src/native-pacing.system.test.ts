// `lguest run --native` on the host clock (the default): the PC's virtual clock held to the
// wall clock. A halted CPU skips straight to its next timer interrupt, so a guest idle at its
// prompt, left alone, would race through thousands of virtual seconds of ticks in a few real
// ones (its `uptime` reading hundreds of seconds after two) and burn the host's CPU doing it.
//
// The wall clock here is a fake one that moves only when the run loop sleeps, so the test
// sees exactly what pacing does, on any machine: the bundled guest boots, idles at its prompt
// for one second of that clock, and is asked its uptime. Its seconds must be the wall clock's,
// virtual time may never lead the wall clock by more than the loop's small lead, an idle guest
// must be slept through tick by tick, and idling must cost next to no instructions. Broken
// pacing never sleeps, so the fake clock never reaches the second: the test then types
// `uptime` once the guest's own clock has passed two seconds instead, and the uptime is off.

import { PassThrough } from 'node:stream';
import { lguest } from './lguest';
import { runNative, type WallClock } from './native';
import type { HostSpec } from './options';
import { GUEST } from '../testing/pty';
import { defaultCoreName } from '@lguest/x86-cores';

/** A wall clock that moves only when slept on. */
class FakeWall implements WallClock {
  ms = 0;
  readonly sleeps: number[] = [];

  now(): number {
    return this.ms;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/** Console output as it comes, which the test can wait on. */
class Watched {
  text = '';
  private readonly waiters = new Set<() => void>();
  readonly sink = {
    write: (chunk: Uint8Array | string) => {
      this.text += Buffer.from(chunk).toString();
      for (const w of [...this.waiters]) w();
    },
  };

  /** Resolves with the first match of `pattern` in the output from `from` on. */
  waitFor(pattern: RegExp, from: number): Promise<RegExpExecArray> {
    return new Promise((resolve) => {
      const check = () => {
        const m = pattern.exec(this.text.slice(from));
        if (!m) return;
        this.waiters.delete(check);
        resolve(m);
      };
      this.waiters.add(check);
      check();
    });
  }
}

const HOST: HostSpec = { verbose: false, clock: 'host', cpu: defaultCoreName(), memoryHostMiB: null, timeoutS: null };
const PROMPT = /(^|\n)# $/;

describe('lguest run --native on the host clock', () => {
  it('keeps an idle guest to the wall clock, sleeping tick by tick at next to no cost', async () => {
    // What a boot to the prompt and a poweroff cost with no idling at all (the virtual
    // clock, input typed ahead).
    const typedAhead = new PassThrough();
    typedAhead.end('poweroff\n');
    let baseErr = '';
    const baseIo = {
      stdout: { write: () => undefined },
      stderr: { write: (c: Uint8Array | string) => (baseErr += Buffer.from(c).toString()) },
      stdin: typedAhead,
      cwd: process.cwd(),
      defaultKernel: GUEST,
    };
    expect(await lguest(['run', '--native', '-v', '--clock=virtual', '32'], baseIo)).toBe(0);
    const baseline = Number(/^lguest: instructions: (\d+)$/m.exec(baseErr)?.[1]);
    expect(baseline).toBeGreaterThan(0);

    const wall = new FakeWall();
    const stdin = new PassThrough();
    const out = new Watched();
    let guestNs = () => 0;
    const done = runNative(HOST, {
      kernelPath: GUEST,
      memMiB: 32,
      cmdline: [],
      output: out.sink,
      input: stdin,
      wall,
      clockReady: (nowNs) => (guestNs = nowNs),
    });
    await out.waitFor(PROMPT, 0);
    // Idle for one second of the wall clock (or, if pacing is broken, two of the guest's),
    // then ask. Checked at every turn of the event loop, which the run loop gives each slice.
    const idleFromMs = wall.ms;
    const sleepsBefore = wall.sleeps.length;
    let askedAtMs = -1;
    const watch = () => {
      if (wall.ms - idleFromMs < 1000 && guestNs() < 2e9) return void setImmediate(watch);
      askedAtMs = wall.ms;
      stdin.write('uptime\n');
    };
    watch();
    const from = out.text.length;
    const [, uptimeText] = await out.waitFor(/up (\d+\.\d+) seconds/, from);
    const answeredAtMs = wall.ms;
    await out.waitFor(PROMPT, from);
    stdin.write('poweroff\n');
    const outcome = await done;
    expect(outcome.exitStatus).toBe(0);

    // The guest's seconds are the wall clock's: uptime is read between the typing and the
    // answer, and at least the idle second. It counts from the guest's first timer tick, which
    // comes up to one tick (10 ms) after the run starts, and is read to 10 ms: two ticks below.
    const uptimeMs = Number(uptimeText) * 1000;
    expect(askedAtMs - idleFromMs).toBeGreaterThanOrEqual(1000);
    expect(uptimeMs).toBeGreaterThanOrEqual(askedAtMs - 20);
    expect(uptimeMs).toBeLessThanOrEqual(answeredAtMs + 10);
    // Virtual time never ran more than the 5 ms lead ahead of the wall clock.
    expect(outcome.virtualNs / 1e6).toBeLessThanOrEqual(wall.ms + 5);
    // The idle second was slept through a tick (10 ms) at a time, not skipped in one sleep.
    const idleSleeps = wall.sleeps.slice(sleepsBefore);
    expect(idleSleeps.length).toBeGreaterThanOrEqual(50);
    expect(Math.max(...idleSleeps)).toBeLessThanOrEqual(10 + 5);
    // Idling costs the guest's timer ticks, 100 a second, and nothing more.
    expect(outcome.instructions - baseline).toBeLessThan(2_000_000);
  });
});
