// The GDB remote serial protocol's framing: what travels on the wire between gdb and us.
//
// A packet is `$payload#cc`, cc the modulo-256 sum of the payload's bytes in two lower-case
// hex digits. The receiver answers `+` (good) or `-` (send it again) until both sides agree
// to QStartNoAckMode. Between packets gdb may send a lone 0x03: the user pressed Ctrl-C, stop
// the target. In binary payloads (X, and our replies if we ever sent binary) the bytes `$`,
// `#`, `}` and `*` are escaped as `}` followed by the byte XOR 0x20. gdb never sends run-length
// encoding (`*`), so we neither send nor accept it.

/** What the reader found in the byte stream, in order. */
export type WireEvent =
  | { readonly kind: 'packet'; readonly payload: Uint8Array }
  /** A packet whose checksum did not match: answer `-` so gdb sends it again. */
  | { readonly kind: 'bad-checksum'; readonly payload: Uint8Array }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  | { readonly kind: 'interrupt' };

/** The largest packet we accept (and advertise in qSupported's PacketSize). */
export const MAX_PACKET = 16384;

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const CTRL_C = 0x03;

/** The modulo-256 sum of `bytes`. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum + bytes[i]) & 0xff;
  return sum;
}

/** `$payload#cc` as bytes (the payload is sent as is: escape binary data first). */
export function framePacket(payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const out = new Uint8Array(body.length + 4);
  out[0] = DOLLAR;
  out.set(body, 1);
  out[body.length + 1] = HASH;
  const cc = checksum(body).toString(16).padStart(2, '0');
  out[body.length + 2] = cc.charCodeAt(0);
  out[body.length + 3] = cc.charCodeAt(1);
  return out;
}

/** Undo the binary escape (`}` then byte ^ 0x20); null if the payload ends inside an escape. */
export function unescapeBinary(bytes: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === ESCAPE) {
      if (++i >= bytes.length) return null;
      out[n++] = bytes[i] ^ 0x20;
    } else out[n++] = bytes[i];
  }
  return out.subarray(0, n);
}

/** Escape the bytes that may not appear raw in a packet. */
export function escapeBinary(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) out.push(ESCAPE, b ^ 0x20);
    else out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * Splits the byte stream from gdb into packets, acks and interrupts. Feed it whatever the
 * socket delivers (packets may arrive in pieces or several at once); it calls `emit` for
 * each complete event. Noise between packets (anything but `$`, `+`, `-`, 0x03) is skipped,
 * as is a packet longer than MAX_PACKET (reported as a bad checksum, so gdb retries or
 * gives up).
 */
export class PacketReader {
  private state: 'idle' | 'body' | 'sum1' | 'sum2' = 'idle';
  private readonly body = new Uint8Array(MAX_PACKET);
  private length = 0;
  private overflow = false;
  private sumHigh = 0;
  private escaped = false;

  constructor(private readonly emit: (event: WireEvent) => void) {}

  feed(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.byte(bytes[i]);
  }

  private byte(b: number): void {
    switch (this.state) {
      case 'idle':
        if (b === DOLLAR) {
          this.state = 'body';
          this.length = 0;
          this.overflow = false;
          this.escaped = false;
        } else if (b === 0x2b) this.emit({ kind: 'ack' });
        else if (b === 0x2d) this.emit({ kind: 'nack' });
        else if (b === CTRL_C) this.emit({ kind: 'interrupt' });
        return;
      case 'body':
        // A `#` right after the escape character is escaped data, not the end.
        if (b === HASH && !this.escaped) {
          this.state = 'sum1';
          return;
        }
        this.escaped = !this.escaped && b === ESCAPE;
        if (this.length < MAX_PACKET) this.body[this.length++] = b;
        else this.overflow = true;
        return;
      case 'sum1':
        this.sumHigh = hexDigit(b);
        this.state = 'sum2';
        return;
      case 'sum2': {
        const low = hexDigit(b);
        this.state = 'idle';
        const payload = this.body.slice(0, this.length);
        const good =
          !this.overflow && this.sumHigh >= 0 && low >= 0 && ((this.sumHigh << 4) | low) === checksum(payload);
        this.emit(good ? { kind: 'packet', payload } : { kind: 'bad-checksum', payload });
        return;
      }
    }
  }
}

/** The value of one hex digit, or -1. */
export function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Bytes as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Hex text as bytes, or null if it is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** A 32-bit value as gdb's target byte order for i386: 8 hex digits, little-endian. */
export function le32Hex(value: number): string {
  const v = value >>> 0;
  let s = '';
  for (let i = 0; i < 4; i++) s += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}

/** 8 hex digits of a little-endian 32-bit value, or null. */
export function parseLe32Hex(text: string): number | null {
  const b = fromHex(text);
  if (!b || b.length !== 4) return null;
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

/** A big-endian hex number as gdb writes addresses and lengths ("c0100000"), or null. */
export function parseHexNumber(text: string): number | null {
  if (!/^[0-9a-fA-F]{1,8}$/.test(text)) return null;
  return parseInt(text, 16) >>> 0;
}
