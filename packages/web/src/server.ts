// The web view's server: a page and a WebSocket on 127.0.0.1, fed by the guests' consoles and
// by a Sampler on a timer.
//
// It is a view. Guests never wait for it: console output goes to every open page (and into
// a scrollback a page opened later starts from), input from a page goes to the guest as if
// typed on the terminal, and the sampler runs only while a page is open. A page that falls
// behind (its socket's backlog grows) misses samples, never console bytes; closing it stops
// nothing.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Host } from '@lguest/host';
import type { Lguest } from '@lguest/lg';
import type { ClientMessage, ServerMessage } from './protocol';
import { Sampler, type WatchedGuest } from './sample';
import { upgrade, type WebSocketPeer } from './websocket';

/** How often a sample goes out, and how many of them carry the pictures of memory. */
export const SAMPLE_MS = 250;
const MAPS_EVERY = 2;
/** Console bytes kept for a page that opens late. */
const SCROLLBACK = 256 * 1024;
/** A page with more than this queued gets no samples until it catches up. */
const MAX_BACKLOG = 4 << 20;

const PAGE_FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/xterm.css': ['xterm.css', 'text/css; charset=utf-8'],
};

export interface WebViewOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** The built page: index.html, app.js, app.css, xterm.css. */
  readonly pageDir: string;
  /** The guests' names, in panel order. */
  readonly guests: readonly string[];
}

/** One guest's console as the page sees it: an input source for the console device. */
export class WebConsoleInput {
  private readonly listeners = new Set<(chunk: Buffer | string) => void>();

  on(event: 'data', listener: (chunk: Buffer | string) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: string, listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') this.listeners.add(listener as (chunk: Buffer | string) => void);
    return this; // a page closing is not the end of the input: another may open
  }

  off(event: 'data', listener: (chunk: Buffer | string) => void): this;
  off(event: 'end' | 'close', listener: () => void): this;
  off(event: string, listener: ((chunk: Buffer | string) => void) | (() => void)): this {
    if (event === 'data') this.listeners.delete(listener as (chunk: Buffer | string) => void);
    return this;
  }

  /** Keys from a page. A terminal sends Enter as CR; the guest wants LF (ICRNL, as terminal.ts). */
  type(text: string): void {
    const bytes = Buffer.from(text.replace(/\r/g, '\n'), 'utf8');
    for (const l of [...this.listeners]) l(bytes);
  }
}

export class WebView {
  readonly url: string;
  readonly inputs: readonly WebConsoleInput[];
  private readonly peers = new Set<WebSocketPeer>();
  private readonly scrollback: string[][];
  private readonly decoders: ((chunk: Uint8Array) => string)[];
  private sampler: Sampler | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  private lastSampleMs = 0;
  private readonly page = new Map<string, Buffer>();

  private constructor(
    private readonly server: Server,
    private readonly names: readonly string[],
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/`;
    this.inputs = names.map(() => new WebConsoleInput());
    this.scrollback = names.map(() => []);
    this.decoders = names.map(() => {
      const utf8 = new TextDecoder();
      return (chunk: Uint8Array) => utf8.decode(chunk, { stream: true });
    });
  }

  /** Reads the page and listens on 127.0.0.1. Throws if the page is not built or the port is taken. */
  static async listen(options: WebViewOptions): Promise<WebView> {
    const files = new Map<string, Buffer>();
    for (const [path, [file]] of Object.entries(PAGE_FILES)) {
      try {
        files.set(path, readFileSync(join(options.pageDir, file)));
      } catch {
        throw new Error(
          `the web page is not built (${join(options.pageDir, file)} is missing): run \`npm run build\` at the repository root`,
        );
      }
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const view = new WebView(server, options.guests);
    for (const [k, v] of files) view.page.set(k, v);
    server.on('request', (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const body = view.page.get(path);
      if (req.method !== 'GET' || !body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': PAGE_FILES[path][1], 'cache-control': 'no-store' }).end(body);
    });
    server.on('upgrade', (req, socket) => {
      if ((req.url ?? '/') !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const peer = upgrade(req, socket);
      if (peer) view.join(peer);
    });
    return view;
  }

  /** The console output of guest `index`: to every page, and the scrollback. */
  consoleOutput(index: number): { write(chunk: Uint8Array): void } {
    return {
      write: (chunk) => {
        const data = this.decoders[index](chunk);
        if (!data) return;
        const back = this.scrollback[index];
        back.push(data);
        let size = back.reduce((n, s) => n + s.length, 0);
        while (size > SCROLLBACK && back.length > 1) size -= back.shift()!.length;
        this.broadcast({ type: 'console', guest: index, data });
      },
    };
  }

  /** The machine is up: sample it (while a page is open). */
  watch(host: Host, lg: Lguest, guests: readonly WatchedGuest[]): void {
    this.sampler = new Sampler(host, lg, guests);
    this.updateTimer();
  }

  /** Guest `index` is over: the page says how, and the sampler stops looking at it. */
  ended(index: number, how: string): void {
    this.sampler?.ended(index, how);
    this.broadcast({ type: 'ended', guest: index, how });
  }

  /** Sends a last sample, closes every page and stops listening. */
  async close(): Promise<void> {
    if (this.peers.size) this.tick();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of [...this.peers]) p.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private join(peer: WebSocketPeer): void {
    this.peers.add(peer);
    peer.onClose = () => {
      this.peers.delete(peer);
      this.updateTimer();
    };
    peer.onMessage = (text) => {
      let m: ClientMessage;
      try {
        m = JSON.parse(text) as ClientMessage;
      } catch {
        return; // not ours
      }
      if (m.type === 'input' && typeof m.data === 'string') this.inputs[m.guest]?.type(m.data);
    };
    this.send(peer, { type: 'hello', guests: this.names });
    this.scrollback.forEach((chunks, guest) => {
      if (chunks.length) this.send(peer, { type: 'console', guest, data: chunks.join('') });
    });
    this.updateTimer();
  }

  /** Samples run only while someone looks. */
  private updateTimer(): void {
    const want = this.sampler !== null && this.peers.size > 0;
    if (want && !this.timer) {
      this.lastSampleMs = performance.now();
      this.ticks = 0;
      this.timer = setInterval(() => this.tick(), SAMPLE_MS);
      this.timer.unref();
    } else if (!want && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    if (!this.sampler) return;
    const now = performance.now();
    const seconds = Math.max((now - this.lastSampleMs) / 1000, 1e-3);
    this.lastSampleMs = now;
    const withMaps = this.ticks++ % MAPS_EVERY === 0;
    const s = this.sampler.sample(seconds, withMaps);
    const text = JSON.stringify({ type: 'sample', ...s } satisfies ServerMessage);
    for (const p of this.peers) if (p.backlog < MAX_BACKLOG) p.send(text);
  }

  private broadcast(m: ServerMessage): void {
    if (this.peers.size === 0) return;
    const text = JSON.stringify(m);
    for (const p of this.peers) p.send(text);
  }

  private send(peer: WebSocketPeer, m: ServerMessage): void {
    peer.send(JSON.stringify(m));
  }
}
