// The WebSocket server end against the RFC's own example and a real client on a socket:
// the handshake, masked frames in (fragmented too), text out, ping, close, and what a client
// must not send.

import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { acceptKey, decodeFrame, encodeFrame, upgrade, type WebSocketPeer } from './websocket';

/** A client frame: masked, as RFC 6455 §5.3 requires. */
function clientFrame(opcode: number, payload: Buffer, fin = true, mask = true): Buffer {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const n = payload.length;
  const head = n < 126 ? [n] : [126, n >> 8, n & 0xff];
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([
    Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | head[0], ...head.slice(1)]),
    mask ? key : Buffer.alloc(0),
    mask ? masked : payload,
  ]);
}

test('Sec-WebSocket-Accept is the one RFC 6455 gives for its sample key', () => {
  expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('frames: lengths of 7, 16 and 64 bits out; masked frames in, whole or not yet', () => {
  for (const n of [0, 125, 126, 65535, 65536]) {
    const f = encodeFrame(1, Buffer.alloc(n, 0x61));
    expect(f[0]).toBe(0x81);
    expect(f.length).toBe(n + (n < 126 ? 2 : n < 0x10000 ? 4 : 10));
  }
  const f = clientFrame(1, Buffer.from('Hello'));
  expect(decodeFrame(f.subarray(0, f.length - 1))).toBeNull();
  const r = decodeFrame(Buffer.concat([f, Buffer.from([0x81])]));
  expect(r).not.toBeNull();
  if (r === null || typeof r === 'string') throw new Error('no frame');
  expect(r.used).toBe(f.length);
  expect(r.frame.payload.toString()).toBe('Hello');
  expect(decodeFrame(clientFrame(1, Buffer.from('x'), true, false))).toBe('client frames must be masked');
});

describe('a client on a socket', () => {
  let server: Server;
  let peer: Promise<WebSocketPeer>;
  let sock: Socket;
  let received = Buffer.alloc(0);

  beforeAll(async () => {
    server = createServer();
    peer = new Promise((resolve) =>
      server.on('upgrade', (req, socket) => {
        const p = upgrade(req, socket);
        if (p) resolve(p);
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    sock = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sock.on('data', (b) => (received = Buffer.concat([received, b])));
    sock.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  afterAll(async () => {
    sock.destroy();
    await new Promise((r) => server.close(r));
  });

  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  }

  test('handshake, messages both ways, ping and close', async () => {
    const p = await peer;
    await until(() => received.includes('\r\n\r\n'));
    expect(received.toString()).toMatch(/^HTTP\/1\.1 101 /);
    expect(received.toString()).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    received = Buffer.alloc(0);

    const messages: string[] = [];
    p.onMessage = (m) => messages.push(m);
    // One message in two fragments, split across writes, then a ping.
    const whole = Buffer.concat([
      clientFrame(1, Buffer.from('echo '), false),
      clientFrame(0, Buffer.from('hi')),
      clientFrame(9, Buffer.from('p')),
    ]);
    sock.write(whole.subarray(0, 5));
    sock.write(whole.subarray(5));
    await until(() => messages.length === 1 && received.length >= 3);
    expect(messages).toEqual(['echo hi']);
    expect([...received.subarray(0, 3)]).toEqual([0x8a, 1, 0x70]); // pong "p"

    received = Buffer.alloc(0);
    p.send('héllo');
    await until(() => received.length >= 8);
    expect(received[0]).toBe(0x81);
    expect(received.subarray(2, 2 + received[1]).toString()).toBe('héllo');

    let closed = false;
    p.onClose = () => (closed = true);
    received = Buffer.alloc(0);
    sock.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    await until(() => closed && received.length >= 4);
    expect([...received.subarray(0, 4)]).toEqual([0x88, 2, 0x03, 0xe8]);
    expect(p.isOpen).toBe(false);
  });
});
