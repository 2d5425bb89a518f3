// The console, launcher side: the first device every guest has, and the one that makes a boot
// visible. Its protocol (lguest-abi.md §6.7) needs no device memory and one key, 0:
//
//  * Output. The guest sends one lguest_dma to key 0. Key 0 lies in the launcher's private
//    memory, so the host does not look for another guest to copy to: it hands the
//    descriptor back from the launcher's read() of /dev/lguest, the launcher turns it into
//    sections of guest memory, and we write those bytes to our output stream. What we
//    return is the byte count the launcher stores in used_len.
//  * Input. The guest binds one 256-byte buffer at key 0 with the console's IRQ once its bus
//    found the device. Bytes we receive wait in a queue until the launcher lets us at the
//    guest (between runs of it, after the waker broke the run loop): LHREQ_GETDMA(0) finds
//    the buffer — and writes the IRQ to raise into its used_len — we copy in what fits, put
//    the count in used_len and raise the IRQ with LHREQ_IRQ. The guest hands the bytes out
//    and sets used_len back to 0 when it has taken them all.
//
// One improvement over the original, which read straight from stdin into whatever GETDMA
// returned: GETDMA returns the guest's last buffer even when it is still full (and scribbles
// the IRQ number over its used_len), so we never ask while the buffer we filled last is still
// unread — the bytes stay queued until the guest re-arms it. Raw terminal mode and "three
// Ctrl-C end the guest" belong to the caller (the CLI), which sees every chunk first through
// `onInput` before it is queued.

import { LGUEST_CONSOLE_DMA_KEY, LGUEST_DMA } from '@lguest/abi';
import type { Launcher } from '@lguest/launcher';

/** Where guest output goes; a Node Writable (process.stdout) fits. */
export interface ConsoleOutput {
  write(chunk: Uint8Array): unknown;
}

/** Where guest input comes from; a Node Readable (process.stdin) fits. */
export interface ConsoleInputSource {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
}

/**
 * What the console needs from its launcher to reach the guest: LHREQ_GETDMA and LHREQ_IRQ,
 * and guest memory, where anything outside the guest makes the launcher give up (errx).
 */
export type ConsoleGuestAccess = Pick<Launcher, 'getDma' | 'dmaSections' | 'readGuest' | 'writeGuest' | 'sendIrq'>;

export interface ConsoleOptions {
  /** Guest output goes here. */
  output: ConsoleOutput;
  /** Guest input comes from here (none: the guest's console has no input). */
  input?: ConsoleInputSource;
  /** Sees every input chunk before it is queued; returning false drops it (Ctrl-C handling). */
  onInput?: (chunk: Uint8Array) => boolean;
  /** Called when input arrives, to wake the launcher's run loop (its waker). */
  wake?: () => void;
  /** Bytes of input kept while the guest is not reading; more is dropped. Default 64 KiB. */
  maxQueued?: number;
}

/** The console's state in a snapshot. */
export interface ConsoleState {
  readonly pending: Uint8Array;
  readonly filled: number | null;
}

/** What one attempt to deliver input did. */
export type InputDelivery = 'delivered' | 'nothing-queued' | 'buffer-busy' | 'not-bound';

/** The console's state: the output path is stateless, the input path is a byte queue. */
export class Console {
  /** Bytes written to the output, and bytes delivered into the guest. */
  outputBytes = 0;
  inputBytes = 0;
  /** Input dropped because the queue was full. */
  droppedBytes = 0;
  /** The input source has ended (EOF): nothing more will be queued. */
  inputEnded = false;

  private readonly output: ConsoleOutput;
  private readonly maxQueued: number;
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** The lguest_dma we filled last, until the guest gives it back (used_len 0). */
  private filled: number | null = null;
  private detachInput: (() => void) | null = null;

  constructor(private readonly options: ConsoleOptions) {
    this.output = options.output;
    this.maxQueued = options.maxQueued ?? 64 * 1024;
    if (options.input) this.attach(options.input);
  }

  /** The key the guest sends output to and binds its input buffer at. */
  get key(): number {
    return LGUEST_CONSOLE_DMA_KEY;
  }

  /**
   * Guest output: writes the sections (the DMA's buffers, in order) and returns the byte
   * count, which the launcher stores in the guest's used_len.
   */
  handleOutput(sections: readonly Uint8Array[]): number {
    let n = 0;
    for (const s of sections) {
      if (s.length === 0) continue;
      // Copy: the sections are views of guest memory, which the guest reuses at once.
      this.output.write(Uint8Array.prototype.slice.call(s));
      n += s.length;
    }
    this.outputBytes += n;
    return n;
  }

  /** Queues input bytes for the guest (also what the input source's 'data' does). */
  queueInput(chunk: Uint8Array): void {
    if (this.options.onInput && !this.options.onInput(chunk)) return;
    const room = this.maxQueued - this.queued;
    const take = Math.min(room, chunk.length);
    this.droppedBytes += chunk.length - take;
    if (take > 0) {
      this.queue.push(chunk.slice(0, take));
      this.queued += take;
    }
    this.options.wake?.();
  }

  /** Bytes waiting for the guest. */
  get pendingInput(): number {
    return this.queued;
  }

  /**
   * Moves queued input into the guest's bound buffer, if it has a free one, and raises the
   * console IRQ. The launcher calls this between runs of the guest. Returns what happened;
   * 'buffer-busy' and 'not-bound' leave the bytes queued for a later call.
   */
  async deliverInput(guest: ConsoleGuestAccess): Promise<InputDelivery> {
    if (this.queued === 0) return 'nothing-queued';
    if (this.filled !== null) {
      if (this.usedLen(guest, this.filled) !== 0) return 'buffer-busy';
      this.filled = null;
    }
    const found = await guest.getDma(this.key);
    if (!found) return 'not-bound';
    let n = 0;
    for (const section of guest.dmaSections(found.dma)) {
      if (this.queued === 0) break;
      const bytes = this.take(section.len);
      guest.writeGuest(section.addr, bytes);
      n += bytes.length;
    }
    const used = new Uint8Array(4);
    new DataView(used.buffer).setUint32(0, n, true);
    guest.writeGuest(found.dma + LGUEST_DMA.offsetOf.used_len, used);
    this.filled = found.dma;
    this.inputBytes += n;
    await guest.sendIrq(found.irq);
    return 'delivered';
  }

  /**
   * The input path's state, for a snapshot: the bytes still queued for the guest, and the
   * guest's buffer we filled last if it has not given it back yet.
   */
  saveState(): ConsoleState {
    const pending = new Uint8Array(this.queued);
    let at = 0;
    for (const chunk of this.queue) {
      pending.set(chunk, at);
      at += chunk.length;
    }
    return { pending, filled: this.filled };
  }

  /** Puts saved state back (a restored guest), ahead of any input that came since. */
  loadState(state: ConsoleState): void {
    if (state.pending.length > 0) {
      this.queue.unshift(state.pending.slice());
      this.queued += state.pending.length;
    }
    this.filled = state.filled;
  }

  /** Stops listening to the input source (at guest exit, so Node can exit too). */
  close(): void {
    this.detachInput?.();
    this.detachInput = null;
  }

  private attach(input: ConsoleInputSource): void {
    const onData = (chunk: Buffer | string) =>
      this.queueInput(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk));
    const onEnd = () => {
      this.inputEnded = true;
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onEnd);
    this.detachInput = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onEnd);
    };
  }

  /** Up to `max` queued bytes, oldest first. */
  private take(max: number): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.queued));
    let at = 0;
    while (at < out.length) {
      const head = this.queue[0];
      const n = Math.min(head.length, out.length - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    this.queued -= out.length;
    return out;
  }

  private usedLen(guest: ConsoleGuestAccess, dma: number): number {
    const b = guest.readGuest(dma + LGUEST_DMA.offsetOf.used_len, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }
}
