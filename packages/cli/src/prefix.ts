// Several guests, one terminal: run-many gives each guest's console a sink that starts every
// line with the guest's name, so interleaved boots stay readable ("[a] timer: tick 3").
// Bytes pass through unchanged otherwise; a partial line waits for nothing (it is written at
// once) but the next byte after a newline gets the prefix.

/** Where console bytes go: a Node Writable fits. */
export interface ByteSink {
  write(chunk: Uint8Array | string): unknown;
}

export class LinePrefixer implements ByteSink {
  private atLineStart = true;
  private readonly prefix: Buffer;

  constructor(
    private readonly sink: ByteSink,
    prefix: string,
  ) {
    this.prefix = Buffer.from(prefix);
  }

  write(chunk: Uint8Array | string): boolean {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (this.atLineStart) {
        parts.push(this.prefix);
        this.atLineStart = false;
      }
      if (bytes[i] === 0x0a) {
        parts.push(bytes.subarray(start, i + 1));
        start = i + 1;
        this.atLineStart = true;
      }
    }
    if (start < bytes.length) parts.push(bytes.subarray(start));
    if (parts.length > 0) this.sink.write(Buffer.concat(parts));
    return true;
  }

  /** Ends an unfinished last line, so whatever is written next starts on its own line. */
  finish(): void {
    if (!this.atLineStart) this.sink.write('\n');
    this.atLineStart = true;
  }
}
