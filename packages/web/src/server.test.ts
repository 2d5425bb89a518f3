// The web view's server without a machine: it serves the built page's files and nothing
// else, greets a WebSocket client with the guests and their scrollback, sends console output
// to every open page, passes keys to the right guest's console input (Enter as LF), and
// lets a page go without anything else noticing.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerMessage } from './protocol';
import { WebView } from './server';
import { decodeFrame } from './websocket';

let dir = '';
let view: WebView;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-web-page-'));
  for (const f of ['index.html', 'app.js', 'app.css', 'xterm.css']) writeFileSync(join(dir, f), `/* ${f} */`);
  view = await WebView.listen({ port: 0, pageDir: dir, guests: ['a', 'b'] });
});
afterAll(async () => {
  await view.close();
  rmSync(dir, { recursive: true, force: true });
});

function fetch(path: string): Promise<[number, string, string]> {
  return new Promise((resolve, reject) =>
    get(view.url + path.slice(1), (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve([res.statusCode ?? 0, String(res.headers['content-type']), body]));
    }).on('error', reject),
  );
}

/** A WebSocket client on a raw socket: sends masked text frames, collects the server's messages. */
class Client {
  readonly messages: ServerMessage[] = [];
  private buf = Buffer.alloc(0);
  private handshaken = false;
  readonly sock: Socket;

  constructor() {
    const { port } = new URL(view.url);
    this.sock = connect(Number(port), '127.0.0.1');
    this.sock.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    this.sock.on('data', (b) => {
      this.buf = Buffer.concat([this.buf, b]);
      if (!this.handshaken) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.handshaken = true;
        this.buf = this.buf.subarray(end + 4);
      }
      // Server frames are unmasked; decodeFrame wants a mask, so give it a zero one.
      while (this.buf.length >= 2) {
        const n = this.buf[1] & 0x7f;
        const head = n < 126 ? 2 : n === 126 ? 4 : 10;
        if (this.buf.length < head) return;
        const masked = Buffer.concat([
          Buffer.from([this.buf[0], this.buf[1] | 0x80]),
          this.buf.subarray(2, head),
          Buffer.alloc(4),
          this.buf.subarray(head),
        ]);
        const r = decodeFrame(masked);
        if (r === null || typeof r === 'string') return;
        this.buf = this.buf.subarray(r.used - 4);
        if (r.frame.opcode === 1) this.messages.push(JSON.parse(r.frame.payload.toString()) as ServerMessage);
      }
    });
  }

  send(text: string): void {
    const payload = Buffer.from(text);
    const key = Buffer.from([1, 2, 3, 4]);
    this.sock.write(
      Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, payload.map((b, i) => b ^ key[i & 3])]),
    );
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

test('serves the page, and nothing else', async () => {
  expect(await fetch('/')).toEqual([200, 'text/html; charset=utf-8', '/* index.html */']);
  expect((await fetch('/app.js'))[0]).toBe(200);
  expect((await fetch('/../package.json'))[0]).toBe(404);
  expect((await fetch('/nope'))[0]).toBe(404);
  expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
});

test('consoles: scrollback for a late page, output to every page, keys to the right guest', async () => {
  view.consoleOutput(1).write(Buffer.from('boot of b\n'));
  const first = new Client();
  await until(() => first.messages.length >= 2);
  expect(first.messages[0]).toEqual({ type: 'hello', guests: ['a', 'b'] });
  expect(first.messages[1]).toEqual({ type: 'console', guest: 1, data: 'boot of b\n' });

  const second = new Client();
  await until(() => second.messages.length >= 2);
  // A UTF-8 character split across two writes arrives whole.
  const out = view.consoleOutput(0);
  out.write(Buffer.from([0x23, 0x20, 0xc3]));
  out.write(Buffer.from([0xa9, 0x0a]));
  await until(() => first.messages.length >= 4 && second.messages.length >= 4);
  for (const c of [first, second]) {
    expect(
      c.messages
        .filter((m) => m.type === 'console' && m.guest === 0)
        .map((m) => (m as { data: string }).data)
        .join(''),
    ).toBe('# é\n');
  }

  const typed: [number, string][] = [];
  view.inputs.forEach((input, i) => input.on('data', (b) => typed.push([i, b.toString()])));
  second.send(JSON.stringify({ type: 'input', guest: 1, data: 'echo hi\r' }));
  second.send('not json');
  second.send(JSON.stringify({ type: 'input', guest: 7, data: 'x' }));
  await until(() => typed.length >= 1);
  expect(typed).toEqual([[1, 'echo hi\n']]);

  // A page that goes away: the others still get the console.
  second.sock.destroy();
  view.consoleOutput(0).write(Buffer.from('still here\n'));
  await until(() => first.messages.some((m) => m.type === 'console' && m.data === 'still here\n'));
  first.sock.destroy();
});
