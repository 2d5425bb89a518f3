// `lguest run --native` on the host clock (the default): the PC's virtual clock held to the
// wall clock. A halted CPU skips straight to its next timer interrupt, so a guest idle at its
// prompt, left alone, would race through thousands of virtual seconds of ticks in a few real
// ones (its `uptime` reading hundreds of seconds after two) and burn the host's CPU doing
// it. Here the bundled guest boots in-process, idles at its prompt for a second, and is asked
// its uptime: that must be real seconds, and the idling must have cost next to no
// instructions.
//
// The bounds are loose on purpose — a slow or loaded machine must not fail them, broken
// pacing fails them by orders of magnitude: the uptime may not exceed the real time since
// the start (virtual time may lead the wall clock by a few milliseconds only), and the whole
// run may not take more than a couple of million instructions beyond a boot and poweroff on
// the virtual clock (idling costs some thousands a second; racing through ticks, millions).

import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { lguest, type LguestIo } from './lguest';
import { GUEST } from './testing/pty';

/** Console output as it comes, which a test can wait on. */
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
  waitFor(pattern: RegExp, from: number, timeoutMs = 20_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(this.text.slice(from));
        if (!m) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${pattern} after ${timeoutMs / 1000} s; the console so far:\n${this.text}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function io(stdin: PassThrough, stdout: Watched, stderr: Watched): LguestIo {
  return { stdout: stdout.sink, stderr: stderr.sink, stdin, cwd: process.cwd(), defaultKernel: GUEST };
}

/** The `-v` report's instruction count and virtual time at the end. */
function report(stderr: string): { instructions: number; virtualMs: number } {
  const instructions = /^lguest: instructions: (\d+)$/m.exec(stderr);
  const virtual = /^lguest: pc: power-off .* after ([\d.]+) ms of virtual time/m.exec(stderr);
  if (!instructions || !virtual) throw new Error(`no -v report at the end:\n${stderr}`);
  return { instructions: Number(instructions[1]), virtualMs: Number(virtual[1]) };
}

describe('lguest run --native on the host clock', () => {
  it('keeps an idle guest to real seconds, at next to no cost, and input wakes it', async () => {
    // What a boot to the prompt and a poweroff cost with no idling at all (the virtual clock,
    // input typed ahead).
    const typedAhead = new PassThrough();
    typedAhead.end('poweroff\n');
    const [baseOut, baseErr] = [new Watched(), new Watched()];
    expect(await lguest(['run', '--native', '-v', '--clock=virtual', '32'], io(typedAhead, baseOut, baseErr))).toBe(0);
    const baseline = report(baseErr.text).instructions;

    const stdin = new PassThrough();
    const [out, err] = [new Watched(), new Watched()];
    const start = performance.now();
    const done = lguest(['run', '--native', '-v', '32'], io(stdin, out, err));
    // The prompt has no newline: it reaches the console when the guest goes idle after it.
    await out.waitFor(/(^|\n)# $/, 0);
    await delay(1000);
    const from = out.text.length;
    stdin.write('uptime\n');
    const [, uptimeText] = await out.waitFor(/up (\d+\.\d+) seconds/, from);
    const elapsedS = (performance.now() - start) / 1000;
    await out.waitFor(/(^|\n)# $/, from);
    stdin.write('poweroff\n');
    expect(await done).toBe(0);
    const wallMs = performance.now() - start;
    const { instructions, virtualMs } = report(err.text);

    const uptime = Number(uptimeText);
    // Real seconds: at least the second it idled, and never ahead of the real time since the
    // start (the lead allowed is 5 ms; broken pacing reads hundreds of seconds here).
    expect(uptime).toBeGreaterThanOrEqual(0.9);
    expect(uptime).toBeLessThanOrEqual(elapsedS + 0.1);
    expect(virtualMs).toBeLessThanOrEqual(wallMs + 100);
    // Idling costs the guest's timer ticks, 100 a second, and nothing more.
    expect(instructions - baseline).toBeLessThan(2_000_000);
  }, 60_000);
});
