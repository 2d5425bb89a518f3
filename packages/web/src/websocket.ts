// A WebSocket server end (RFC 6455), just what the page needs: the opening handshake, text
// frames both ways (fragmented or not), ping, pong and close. Node 20 has a WebSocket client
// but no server, and this is small enough to own.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** A client message larger than this is a protocol error here (the page sends keystrokes). */
const MAX_MESSAGE = 1 << 20;

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (§4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** One frame as the server sends it: FIN set, unmasked. */
export function encodeFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const out = Buffer.alloc(head + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 0x10000) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  out.set(payload, head);
  return out;
}

export interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Takes one whole frame off the front of `buf`: the frame and the bytes it used, null if
 * more bytes are needed, or an error string for a frame a client must not send (unmasked,
 * too big).
 */
export function decodeFrame(buf: Buffer): { frame: Frame; used: number } | null | string {
  if (buf.length < 2) return null;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  if ((buf[1] & 0x80) === 0) return 'client frames must be masked';
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) return 'frame too big';
    len = Number(big);
    at = 10;
  }
  if (len > MAX_MESSAGE) return 'frame too big';
  if (buf.length < at + 4 + len) return null;
  const mask = buf.subarray(at, at + 4);
  const payload = Buffer.alloc(len);
  for (let i = 0; i < len; i++) payload[i] = buf[at + 4 + i] ^ mask[i & 3];
  return { frame: { fin, opcode, payload }, used: at + 4 + len };
}

/** A connected client. */
export class WebSocketPeer {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;
  onMessage: (text: string) => void = () => {};
  onClose: () => void = () => {};

  constructor(private readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.gone());
    socket.on('error', () => this.gone());
  }

  /** Bytes queued in the socket and not yet sent: a slow page shows here. */
  get backlog(): number {
    return (this.socket as Duplex & { writableLength: number }).writableLength;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(text: string): void {
    if (!this.closed) this.socket.write(encodeFrame(OP_TEXT, Buffer.from(text, 'utf8')));
  }

  close(): void {
    if (this.closed) return;
    this.socket.end(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe9]))); // 1001: going away
    this.gone();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (!this.closed) {
      const r = decodeFrame(this.pending);
      if (r === null) return;
      if (typeof r === 'string') {
        this.socket.end(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xea]))); // 1002: protocol error
        this.gone();
        return;
      }
      this.pending = this.pending.subarray(r.used);
      this.frame(r.frame);
    }
  }

  private frame({ fin, opcode, payload }: Frame): void {
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
      case OP_CONTINUATION:
        this.fragments.push(payload);
        if (!fin) return;
        const whole = Buffer.concat(this.fragments);
        this.fragments = [];
        this.onMessage(whole.toString('utf8'));
        return;
      case OP_PING:
        this.socket.write(encodeFrame(OP_PONG, payload));
        return;
      case OP_CLOSE:
        this.socket.end(encodeFrame(OP_CLOSE, payload.subarray(0, 2)));
        this.gone();
        return;
      default:
        return; // pong, reserved opcodes: nothing to do
    }
  }
}

/** Answers an HTTP upgrade request; null (and a 400 written) if it is not a WebSocket one. */
export function upgrade(req: IncomingMessage, socket: Duplex): WebSocketPeer | null {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return null;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  return new WebSocketPeer(socket);
}
