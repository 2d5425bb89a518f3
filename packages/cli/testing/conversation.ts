// Test helper: an expect-style driver for a program we talk to over time — the built `lguest`
// in a pseudo-terminal (through util-linux `script`, whose stdin is forwarded to the pty) or
// with a pipe on its stdin. It types when told to, reads the output as it comes, and waits
// for what should come next; a step that sees the program end, or nothing right for
// `timeoutMs`, fails with the transcript so far, a mark where the driver had got to.
//
// The transcript has no CRs: a pty turns each "\n" into "\r\n" (ONLCR), and the tests match
// what the guest wrote. The guest's shell prompt is "# " at the start of a line.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { HANG_GUARD_MS, SCRIPT_OPTIONS } from './pty';

/** The default patience for one step: only a guard against a hang (what a step waits for is
 * bounded by the run itself: the guest's clock, --timeout), never a pace the machine must keep. */
export const STEP_TIMEOUT_MS = HANG_GUARD_MS;

/** How a conversation's program ended. */
export interface Ending {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}

const PROMPT = /(^|\n)# /;

function describeEnding(e: Ending): string {
  return e.signal ? `killed by ${e.signal}` : `exit status ${e.status}`;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Conversation {
  private text = '';
  private errText = '';
  private cursor = 0;
  private ending: Ending | null = null;
  private readonly checks = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    /** What Enter sends: CR from a keyboard (the terminal's ICRNL, or lguest's raw mode, makes it LF), LF down a pipe. */
    readonly enter: string,
    /** Whether stderr is separate (a pipe); in a pty it is in the transcript. */
    private readonly separateStderr: boolean,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.text += chunk.replace(/\r/g, '');
      this.notify();
    });
    child.stderr.on('data', (chunk: string) => {
      this.errText += chunk;
      this.notify();
    });
    // Typing into a program that is gone is not the failure to report: its ending is.
    child.stdin.on('error', () => undefined);
    child.on('exit', () => child.stdin.end());
    // 'close' comes after the last output: every check sees all of it.
    child.on('close', (status, signal) => {
      this.ending = { status, signal };
      this.notify();
    });
  }

  /** `command` run by the shell in a fresh pseudo-terminal (script's), as a user at a terminal runs it. */
  static inPty(command: string): Conversation {
    return new Conversation(spawn('script', [SCRIPT_OPTIONS, command, '/dev/null']), '\r', false);
  }

  /** `node args…` with pipes for stdin, stdout and stderr: no terminal anywhere. */
  static piped(args: readonly string[]): Conversation {
    return new Conversation(spawn(process.execPath, args), '\n', true);
  }

  /** All the output so far (without CRs). */
  get transcript(): string {
    return this.text;
  }

  /** The output after what the steps so far have consumed. */
  get unread(): string {
    return this.text.slice(this.cursor);
  }

  /** What the program wrote to stderr (a pipe; in a pty stderr is in the transcript). */
  get stderr(): string {
    return this.errText;
  }

  /** Types `bytes` (as they are: add `enter` for Enter). */
  type(bytes: string): void {
    this.child.stdin.write(bytes);
  }

  /** An Error saying `what` went wrong, with the transcript and the driver's place in it (‸). */
  failure(what: string): Error {
    const stderr = this.separateStderr ? `\n--- stderr ---\n${this.errText}` : '';
    return new Error(
      `${what}\n--- transcript (‸ marks how far the steps got) ---\n` +
        `${this.text.slice(0, this.cursor)}‸${this.text.slice(this.cursor)}${stderr}\n--- end ---`,
    );
  }

  /** Waits until `pattern` comes after the cursor, and moves the cursor past it; returns the match. */
  expect(pattern: string | RegExp, what = `${pattern}`, timeoutMs = STEP_TIMEOUT_MS): Promise<string[]> {
    return this.until(`waiting for ${what}`, timeoutMs, () => {
      const rest = this.unread;
      let m: RegExpExecArray | null;
      if (typeof pattern === 'string') {
        const at = rest.indexOf(pattern);
        if (at < 0) return undefined;
        this.cursor += at + pattern.length;
        return [pattern];
      }
      if (!(m = pattern.exec(rest))) return undefined;
      this.cursor += m.index + m[0].length;
      return [...m];
    });
  }

  /** Waits until `pattern` is anywhere in the transcript; the cursor stays where it is. */
  seen(pattern: string | RegExp, what = `${pattern}`, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
    return this.until(`waiting for ${what}`, timeoutMs, () =>
      (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text)) ? true : undefined,
    ).then(() => undefined);
  }

  /** Waits until `pattern` is in what the program wrote to stderr (a pipe); returns the match. */
  seenOnStderr(pattern: RegExp, what = `${pattern}`, timeoutMs = STEP_TIMEOUT_MS): Promise<string[]> {
    return this.until(`waiting for ${what} on stderr`, timeoutMs, () => {
      const m = pattern.exec(this.errText);
      return m ? [...m] : undefined;
    });
  }

  /** Waits for the shell's next prompt; returns what came before it (a command's output), and
   * moves the cursor past the prompt. */
  prompt(what = 'the prompt', timeoutMs = STEP_TIMEOUT_MS): Promise<string> {
    return this.until(`waiting for ${what}`, timeoutMs, () => {
      const rest = this.unread;
      const m = PROMPT.exec(rest);
      if (!m) return undefined;
      this.cursor += m.index + m[0].length;
      return rest.slice(0, m.index + m[1].length);
    });
  }

  /** Waits for the prompt, then checks that the output before it has each of `expected`. */
  async answer(what: string, expected: readonly (string | RegExp)[]): Promise<string> {
    const out = await this.prompt(`the prompt after ${what}`);
    for (const e of expected) {
      const ok = typeof e === 'string' ? out.includes(e) : e.test(out);
      if (!ok) throw this.failure(`${what} printed ${JSON.stringify(out)}, without ${e}`);
    }
    return out;
  }

  /** At a prompt: types `line` and Enter, waits for the line discipline's echo of it, then
   * for the next prompt, and checks the output in between for each of `expected`. */
  async command(line: string, ...expected: (string | RegExp)[]): Promise<string> {
    this.type(line + this.enter);
    await this.expect(`${line}\n`, `the echo of '${line}'`);
    return this.answer(`'${line}'`, expected);
  }

  /** Waits for the program to end (after its output); returns how it ended. */
  end(timeoutMs = STEP_TIMEOUT_MS): Promise<Ending> {
    return this.until('waiting for the program to end', timeoutMs, () => this.ending ?? undefined, true);
  }

  /** Ends the program if it is still running (for a failed test's cleanup). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private notify(): void {
    for (const check of [...this.checks]) check();
  }

  /** Resolves with `test()`'s first defined result, checked at every new output; rejects with
   * the transcript when the program ends first (unless that is what is awaited) or at timeout. */
  private until<T>(what: string, timeoutMs: number, test: () => T | undefined, endingIsOk = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.checks.delete(check);
      };
      const check = () => {
        const got = test();
        if (got !== undefined) {
          done();
          resolve(got);
        } else if (this.ending && !endingIsOk) {
          done();
          reject(this.failure(`${what}: the program ended first (${describeEnding(this.ending)})`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`${what}: not there after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.checks.add(check);
      check();
    });
  }
}
