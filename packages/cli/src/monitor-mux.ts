// `lguest run --monitor=stdio`: the monitor on the terminal, sharing it with the guest's
// console the way QEMU's `-serial mon:stdio` (and `-nographic`) do. Everything typed goes to
// the guest until the escape key, Ctrl-A:
//
//   Ctrl-A c        switch between the console and the monitor's `(lguest) ` prompt
//   Ctrl-A x        end the guest (as the monitor's `quit`: lguest exits 0)
//   Ctrl-A h        list these keys
//   Ctrl-A Ctrl-A   a Ctrl-A for the guest
//
// Any other key after Ctrl-A is dropped. At the monitor we edit the line ourselves (the
// terminal is in raw mode for the guest): typed characters are echoed, Backspace erases,
// Ctrl-U clears the line, Enter runs it. The guest's output keeps coming while the monitor
// is in front, as it does in QEMU. Lines end in LF, as the guest's do (the terminal's ONLCR,
// which raw mode leaves on, makes them CR LF). Input that is not a terminal is read the same way, so a
// script can drive both.

import type { ConsoleInputSource } from '@lguest/console';
import { PROMPT } from './monitor';

export const CTRL_A = 0x01;

export const MUX_HELP = [
  'C-a h    print this help',
  'C-a x    end the guest (lguest exits 0)',
  'C-a c    switch between the console and the monitor',
  'C-a C-a  send C-a to the guest',
].join('\n');

/** What the mux needs of the monitor. */
export interface MonitorCommands {
  execute(line: string, progress: (line: string) => void): Promise<string>;
}

/** The console's input with the monitor multiplexed in; the guest's console reads this. */
export class MonitorMux implements ConsoleInputSource {
  private readonly dataListeners = new Set<(chunk: Buffer | string) => void>();
  private readonly endListeners = new Set<() => void>();
  private listening = false;
  private escape = false;
  private atMonitor = false;
  private greeted = false;
  private line = '';
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: ConsoleInputSource,
    /** Text for the terminal (the console's output). */
    private readonly write: (text: string) => void,
    private readonly monitor: MonitorCommands,
  ) {}

  /** Whether the monitor has the keyboard now. */
  get monitorInFront(): boolean {
    return this.atMonitor;
  }

  on(event: 'data', listener: (chunk: Buffer | string) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: 'data' | 'end' | 'close', listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') {
      this.dataListeners.add(listener as (chunk: Buffer | string) => void);
      this.listen();
    } else this.endListeners.add(listener as () => void);
    return this;
  }

  off(event: 'data', listener: (chunk: Buffer | string) => void): this;
  off(event: 'end' | 'close', listener: () => void): this;
  off(event: 'data' | 'end' | 'close', listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') {
      this.dataListeners.delete(listener as (chunk: Buffer | string) => void);
      if (this.dataListeners.size === 0 && this.listening) {
        // The console is done (the guest ended): so are we, and the terminal is the user's again.
        this.listening = false;
        this.source.off('data', this.onData);
        this.source.off('end', this.onEnd);
        this.source.off('close', this.onEnd);
      }
    } else this.endListeners.delete(listener as () => void);
    return this;
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.source.on('close', this.onEnd);
  }

  private readonly onEnd = (): void => {
    for (const l of [...this.endListeners]) l();
  };

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (!this.escape && b !== CTRL_A && !this.atMonitor) continue; // a run of guest bytes
      // Hand the guest what came before this byte, then deal with it here.
      if (i > from && !this.atMonitor) this.toGuest(bytes.subarray(from, i));
      from = i + 1;
      if (this.escape) {
        this.escape = false;
        this.escaped(b);
      } else if (b === CTRL_A) this.escape = true;
      else this.monitorKey(b);
    }
    if (from < bytes.length && !this.atMonitor) this.toGuest(bytes.subarray(from));
  };

  private toGuest(bytes: Uint8Array): void {
    const chunk = Buffer.from(bytes);
    for (const l of [...this.dataListeners]) l(chunk);
  }

  /** The key after Ctrl-A. */
  private escaped(b: number): void {
    switch (b) {
      case CTRL_A:
        if (this.atMonitor) this.monitorKey(b);
        else this.toGuest(Uint8Array.of(CTRL_A));
        return;
      case 0x63: // c
        this.atMonitor = !this.atMonitor;
        if (this.atMonitor) {
          this.write(`\n${this.greeted ? '' : "lguest monitor: type 'help' for the commands\n"}${PROMPT}${this.line}`);
          this.greeted = true;
        } else this.write('\n');
        return;
      case 0x78: // x
        this.write('\nlguest: ending the guest (C-a x)\n');
        this.run('quit', false);
        return;
      case 0x68: // h
        this.write(`\n${MUX_HELP}\n${this.atMonitor ? PROMPT + this.line : ''}`);
        return;
      default:
        return;
    }
  }

  /** A key for the monitor's line. */
  private monitorKey(b: number): void {
    if (b === 0x0d || b === 0x0a) {
      const line = this.line;
      this.line = '';
      this.write('\n');
      this.run(line, true);
    } else if (b === 0x7f || b === 0x08) {
      if (this.line.length > 0) {
        this.line = this.line.slice(0, -1);
        this.write('\b \b');
      }
    } else if (b === 0x15) {
      // Ctrl-U: the line goes.
      this.write('\b \b'.repeat(this.line.length));
      this.line = '';
    } else if (b >= 0x20 && b < 0x7f) {
      this.line += String.fromCharCode(b);
      this.write(String.fromCharCode(b));
    }
  }

  /** Runs a command line in turn; its answer, then the prompt (while the monitor is in front). */
  private run(line: string, prompt: boolean): void {
    this.queue = this.queue.then(async () => {
      const answer = await this.monitor.execute(line, (progress) => this.write(`${progress}\n`));
      if (answer) this.write(`${answer}\n`);
      if (prompt && this.atMonitor) this.write(PROMPT + this.line);
    });
  }
}
