// The user's side of the guest console: the terminal (or pipe) on our stdin.
//
// The story, as the original launcher told it: the guest's console is the user's terminal,
// so the terminal goes into raw mode — no line editing (ICANON), no echo (ECHO: the guest
// echoes what it wants), no signals from the keyboard (ISIG: Ctrl-C is a byte for the
// guest) — and every byte typed goes to the guest as it is typed. The way out is the
// original's: three Ctrl-C within a second end the guest with exit status 2. The second is
// the host's wall clock whatever --clock says: the keys are a human's, and a human's second
// is the wall clock's — on --clock=virtual an idle guest's second can pass in a millisecond
// and a busy one's take minutes, and neither should decide whether three quick keys were
// quick. A read counts when it holds nothing but Ctrl-C (a key each, or a script's three in
// one write); any other byte starts the count over.
//
// Whatever way we leave — the guest powers off or dies, an error, a signal, an exception —
// the terminal gets its old mode back.
//
// Node's raw mode (libuv's) clears more than the original's three flags: ICRNL too, so Enter
// would reach the guest as '\r'. The original kept ICRNL, so we do its work: in raw mode a CR
// becomes LF, and the guest sees Enter as '\n' as it did under the 2.6.23 launcher.
//
// Input that is not a terminal (a file, a pipe from another program) is passed on as it is,
// with no raw mode; at its end the console stops watching it.
//
// Contract: `ConsoleInput` is a ConsoleInputSource for one consumer (the console of the
// single guest, or the native PC's UART). Raw mode starts when the consumer attaches (so
// `lguest help`, a usage error or run-many, whose guests get no input, never touch the
// terminal) and ends when it detaches, or at process exit at the latest.

import type { ConsoleInputSource } from '@lguest/console';

/** The part of process.stdin we use; tty.ReadStream has setRawMode and isTTY. */
export interface StdinLike {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

const CR = 0x0d;
const LF = 0x0a;

/** The Ctrl-C byte (ETX). */
export const CTRL_C = 0x03;
/** How many lone Ctrl-C end the guest, and within how long (the original: the same second or the next). */
export const CTRL_C_COUNT = 3;
export const CTRL_C_WINDOW_MS = 1000;
/** The exit status the original launcher gives for three Ctrl-C. */
export const CTRL_C_STATUS = 2;

/** The host's monotonic wall clock, in ms: what the three Ctrl-C are timed on. */
export const hostWallMs = (): number => performance.now();

/**
 * Counts Ctrl-C: each 0x03 of a read made only of 0x03 bytes counts; the first starts the
 * window, and the third within CTRL_C_WINDOW_MS of it fires. Any other byte starts the count
 * over; a Ctrl-C after the window has passed starts a new one. The bytes still go to the
 * guest. `now` is the clock in ms (the host's wall clock; a test's fake one).
 */
export class CtrlCCounter {
  private count = 0;
  private startMs = 0;

  constructor(private readonly now: () => number = hostWallMs) {}

  /** How many lone Ctrl-C are counted towards the next firing. */
  get counted(): number {
    return this.count;
  }

  /** Sees one read; true when it was the third Ctrl-C in time. */
  see(chunk: Uint8Array): boolean {
    if (chunk.length === 0) return false;
    for (const b of chunk) {
      if (b !== CTRL_C) {
        this.count = 0;
        return false;
      }
    }
    const now = this.now();
    if (this.count > 0 && now - this.startMs > CTRL_C_WINDOW_MS) this.count = 0;
    if (this.count === 0) this.startMs = now;
    this.count += chunk.length;
    if (this.count < CTRL_C_COUNT) return false;
    this.count = 0;
    return true;
  }
}

export interface ConsoleInputOptions {
  /** Three Ctrl-C arrived: end the guest (exit status CTRL_C_STATUS). */
  onTripleCtrlC: () => void;
  /** For the verbose log: raw mode entered or left. */
  log?: (line: string) => void;
  /** The clock the three Ctrl-C are timed on, in ms (default: the host's wall clock, `hostWallMs`). */
  now?: () => number;
}

/** stdin as a console input source, in raw mode while a console listens to it. */
export class ConsoleInput implements ConsoleInputSource {
  private readonly dataListeners = new Set<(chunk: Buffer | string) => void>();
  private readonly endListeners = new Set<() => void>();
  private readonly counter: CtrlCCounter;
  private raw = false;
  private attached = false;
  private ended = false;
  private readonly onExit = () => this.restore();

  constructor(
    private readonly stdin: StdinLike,
    private readonly options: ConsoleInputOptions,
  ) {
    this.counter = new CtrlCCounter(options.now);
  }

  /** Whether the terminal is in raw mode because of us right now. */
  get rawMode(): boolean {
    return this.raw;
  }

  private readonly onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk);
    // ICRNL, as the original kept it.
    if (this.raw) for (let i = 0; i < bytes.length; i++) if (bytes[i] === CR) bytes[i] = LF;
    // The guest gets the Ctrl-C too, as in the original; the third one also ends it.
    for (const l of [...this.dataListeners]) l(Buffer.from(bytes));
    if (this.counter.see(bytes)) {
      this.options.log?.(`console: Ctrl-C ${CTRL_C_COUNT} of ${CTRL_C_COUNT}`);
      this.options.onTripleCtrlC();
    } else if (this.counter.counted > 0) {
      this.options.log?.(`console: Ctrl-C ${this.counter.counted} of ${CTRL_C_COUNT}`);
    }
  };
  private readonly onEnd = () => {
    if (this.ended) return;
    this.ended = true;
    for (const l of [...this.endListeners]) l();
    this.detach();
  };

  on(event: 'data', listener: (chunk: Buffer | string) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'data' | 'end' | 'close', listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') {
      this.dataListeners.add(listener as (chunk: Buffer | string) => void);
      if (!this.attached && !this.ended) this.attach();
    } else {
      this.endListeners.add(listener as () => void);
    }
    return this;
  }

  off(event: 'data', listener: (chunk: Buffer | string) => void): this;
  off(event: 'end' | 'close', listener: () => void): this;
  off(event: 'data' | 'end' | 'close', listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') {
      this.dataListeners.delete(listener as (chunk: Buffer | string) => void);
      if (this.dataListeners.size === 0) this.detach();
    } else {
      this.endListeners.delete(listener as () => void);
    }
    return this;
  }

  /** Back to the terminal's own mode; safe to call any number of times, from any exit path. */
  restore(): void {
    if (!this.raw) return;
    this.raw = false;
    try {
      this.stdin.setRawMode?.(false);
      this.options.log?.('console: the terminal is back in its own mode');
    } catch {
      // The terminal is gone (hung up): there is nothing left to restore.
    }
  }

  /** Stops watching stdin and restores the terminal (the consumer is done). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('close', this.onEnd);
    this.stdin.pause();
    this.restore();
    process.off('exit', this.onExit);
  }

  private attach(): void {
    this.attached = true;
    if (this.stdin.isTTY && this.stdin.setRawMode) {
      // Registered first, so even an exception or process.exit() puts the terminal back.
      process.on('exit', this.onExit);
      this.stdin.setRawMode(true);
      this.raw = true;
      this.options.log?.('console: the terminal is in raw mode; type Ctrl-C three times to end the guest');
    }
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
    this.stdin.on('close', this.onEnd);
    this.stdin.resume();
  }
}
