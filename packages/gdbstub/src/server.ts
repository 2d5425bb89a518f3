// Where gdb connects: `tcp::PORT` (every address), `tcp:HOST:PORT`, or port 0 for any free
// one (the caller prints the port it got). One debugger at a time, as with QEMU's -gdb: a
// second connection is refused while the first is open. When gdb goes away the guest runs
// on without it, and the next `target remote` may attach again.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { GdbSession } from './stub';
import type { DebugTarget, StopReason } from './target';

export interface GdbAddress {
  /** null: every address (`tcp::1234`). */
  readonly host: string | null;
  readonly port: number;
}

/** A --gdb value that cannot be used: the message says what to give instead. */
export class GdbAddressError extends Error {
  override readonly name = 'GdbAddressError';
}

/** Parses `tcp::PORT` or `tcp:HOST:PORT` (a bare PORT is taken as `tcp::PORT`). */
export function parseGdbAddress(text: string): GdbAddress {
  const example = 'e.g. --gdb=tcp::1234, --gdb=tcp:127.0.0.1:1234, or tcp::0 for any free port';
  let rest = text;
  if (/^\d+$/.test(text)) rest = `tcp::${text}`;
  const m = /^tcp:(.*):(\d+)$/.exec(rest);
  if (!m) throw new GdbAddressError(`--gdb takes tcp:[HOST]:PORT, not '${text}' (${example})`);
  const port = Number(m[2]);
  if (port > 65535) throw new GdbAddressError(`--gdb port ${m[2]} is not a TCP port (0 to 65535; ${example})`);
  const host = m[1] === '' ? null : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

export class GdbServer {
  private server: Server | null = null;
  private session: GdbSession | null = null;
  private socket: Socket | null = null;
  private target: DebugTarget | null = null;
  /** A debugger that connected before there was a guest to debug: served once there is. */
  private waiting: Socket | null = null;

  constructor(private readonly log: (line: string) => void = () => {}) {}

  /**
   * The guest to debug. A server may listen before its guest exists (the guest is made when
   * its launcher starts it); a debugger connecting meanwhile waits for this.
   */
  setTarget(target: DebugTarget): void {
    this.target = target;
    const socket = this.waiting;
    this.waiting = null;
    if (socket && !socket.destroyed) this.serve(socket, target);
  }

  /** Starts listening; resolves to the port (the chosen one for port 0). */
  listen(address: GdbAddress): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.once('error', reject);
      server.listen(address.port, address.host ?? undefined, () => {
        server.off('error', reject);
        this.server = server;
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /** The target stopped: tell the debugger, if one is connected. */
  targetStopped(reason: StopReason): void {
    this.session?.targetStopped(reason);
  }

  /** Whether a debugger is connected now. */
  get connected(): boolean {
    return this.session !== null;
  }

  /** Stop listening and drop the connection. */
  close(): void {
    this.server?.close();
    this.server = null;
    this.socket?.destroy();
    this.waiting?.destroy();
  }

  private accept(socket: Socket): void {
    if (this.session || this.waiting) {
      this.log(`gdb: refused a second debugger from ${socket.remoteAddress}: one is attached`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    if (this.target) return this.serve(socket, this.target);
    // Not yet: leave its bytes in the socket until the guest exists.
    socket.pause();
    this.waiting = socket;
    socket.on('close', () => {
      if (this.waiting === socket) this.waiting = null;
    });
  }

  private serve(socket: Socket, target: DebugTarget): void {
    this.socket = socket;
    const session = new GdbSession(target, {
      send: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: () => socket.end(),
      log: (line) => this.log(`gdb: ${line}`),
    });
    this.session = session;
    this.log(`gdb: debugger connected from ${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    const gone = () => {
      if (this.session !== session) return;
      this.session = null;
      this.socket = null;
      session.disconnected();
      this.log('gdb: debugger disconnected');
    };
    socket.on('close', gone);
    socket.on('error', gone);
    socket.resume();
  }
}
