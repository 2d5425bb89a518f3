// --net=user[,hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT]…: a network that needs no privileges
// and no host configuration. The launcher is the guest's only peer and plays a whole network
// for it with the user-mode stack of tcpip/: the gateway 10.0.2.2 answers ARP, DHCP (the
// guest gets 10.0.2.15) and ping, and every TCP connection and UDP datagram the guest sends is
// carried on by an ordinary socket of this process — to the host's own loopback when the
// guest addresses the gateway (as in QEMU), to the address it named otherwise. Each hostfwd
// rule listens on a host port (127.0.0.1 unless ADDR says otherwise) and turns every
// connection to it into a connection to GUESTPORT in the guest, from 10.0.2.2.
//
// Flow control is end to end: guest bytes go to the socket, and while the socket's buffer is
// full the guest sees a zero window; socket bytes go to the guest only as fast as it
// acknowledges them (the socket is paused while the connection's send buffer is full).
//
// Per frame nothing of ours is allocated: guest bytes for a socket go out in buffers lent by
// a pool (Node keeps a written buffer until the write is done), socket chunks are queued as
// Node gave them and copied into the connection's ring by offset.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { LauncherExit, type Launcher } from '@lguest/launcher';
import { addLauncherPeer, type LauncherPeer } from './peer';
import { BufferPool } from './pool';
import { UserNetStack } from './tcpip/stack';
import type { TcpConnection } from './tcpip/tcp';
import { copyBytes, formatIp, parseIp } from './tcpip/wire';

/** One hostfwd rule: a host address and port forwarded to a guest port. */
export interface HostForward {
  readonly hostAddr: string;
  readonly hostPort: number;
  readonly guestPort: number;
}

export interface UserNetOptions {
  readonly forwards: readonly HostForward[];
}

/** Thrown for a --net value that cannot be used; the message says what to write instead. */
export class NetOptionError extends Error {
  override readonly name = 'NetOptionError';
}

const FORWARD_RE = /^tcp:(\[?[^\]:]*\]?):(\d+)-(?:10\.0\.2\.15)?:(\d+)$/;

/** Parses "user[,hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT]…". */
export function parseUserNet(value: string): UserNetOptions {
  const [kind, ...parts] = value.split(',');
  if (kind !== 'user') {
    throw new NetOptionError(`--net=${value}: the only network type is 'user' (for a TAP device use --tunnet)`);
  }
  const forwards: HostForward[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const val = eq < 0 ? '' : part.slice(eq + 1);
    if (key !== 'hostfwd') {
      throw new NetOptionError(
        `--net=user: unknown setting '${key}' (the one setting is hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT)`,
      );
    }
    const m = FORWARD_RE.exec(val);
    if (!m) {
      throw new NetOptionError(
        `--net=user: hostfwd '${val}' is not tcp:[ADDR]:HOSTPORT-:GUESTPORT, e.g. hostfwd=tcp:127.0.0.1:8080-:80`,
      );
    }
    const hostPort = Number(m[2]);
    const guestPort = Number(m[3]);
    if (hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
      throw new NetOptionError(`--net=user: hostfwd '${val}': ports go from 1 to 65535 (host port 0: any free one)`);
    }
    forwards.push({ hostAddr: m[1].replace(/^\[|\]$/g, '') || '127.0.0.1', hostPort, guestPort });
  }
  return { forwards };
}

export interface UserNetDevice {
  readonly peer: LauncherPeer;
  readonly stack: UserNetStack;
  /** The host ports the hostfwd rules listen on (known once the launcher set the device up). */
  readonly forwardedPorts: number[];
  /** The buffers guest bytes leave in for host sockets (its counters show reuse). */
  readonly pool: BufferPool;
  /** Close every socket and listener (the launcher's run is over). */
  close(): void;
}

/** How often the retransmission timers are looked at. */
const TICK_MS = 100;

/** Adds a --net=user device to `launcher` (before run()). */
export function addUserNet(launcher: Launcher, options: UserNetOptions): UserNetDevice {
  const sockets = new Set<Socket>();
  const udpSockets = new Map<number, UdpSocket>();
  const servers: Server[] = [];
  const forwardedPorts: number[] = [];
  let closed = false;
  let ticker: ReturnType<typeof setInterval> | null = null;
  let releasePacing = () => {};
  const pool = new BufferPool();

  const stack: UserNetStack = new UserNetStack({
    transmit: (frame, length) => void peer.send(frame, 0, length),
    udp: (srcPort, dstIp, dstPort, data, start, length) => sendUdp(srcPort, dstIp, dstPort, data, start, length),
    tcpAccept: (conn) => connectOut(conn),
  });
  const gateway = stack.config.gateway;
  /** Where an address the guest names is on the host: the gateway is our loopback. */
  let lastIp = gateway;
  let lastAddress = '127.0.0.1';
  const hostAddress = (ip: number) => {
    if (ip !== lastIp) {
      lastIp = ip;
      lastAddress = ip === gateway ? '127.0.0.1' : formatIp(ip);
    }
    return lastAddress;
  };
  /** How a host address looks from the guest. */
  const guestAddress = (addr: string) => (addr === '127.0.0.1' || addr === '::1' ? gateway : parseIp(addr));

  const peer: LauncherPeer = addLauncherPeer(launcher, {
    mac: stack.config.mac,
    receive: (frame, length) => stack.receive(frame, Date.now(), length),
    setup: async (l) => {
      // The guest now waits on sockets: its idle time must pass as real time does.
      releasePacing = l.proc.holdPacing();
      for (const f of options.forwards) await listen(f);
      ticker = setInterval(() => stack.tick(Date.now()), TICK_MS);
      ticker.unref?.();
    },
  });

  /** Both ends of one TCP connection: its socket and the guest's side. */
  function join(conn: TcpConnection, socket: Socket): void {
    sockets.add(socket);
    // Socket chunks the send buffer had no room for yet; the first from offset `backlogAt`.
    const backlog: Buffer[] = [];
    let backlogAt = 0;
    const pushToGuest = () => {
      while (backlog.length > 0) {
        const chunk = backlog[0];
        backlogAt += conn.write(chunk, backlogAt, chunk.length);
        if (backlogAt < chunk.length) break;
        backlog.shift();
        backlogAt = 0;
      }
      if (backlog.length > 0) socket.pause();
      else socket.resume();
    };
    conn.peer = {
      data: (_c, data, start, length) => {
        const out = pool.take(length);
        copyBytes(out.buffer, 0, data, start, length);
        return socket.write(out.buffer, out.release);
      },
      drained: () => pushToGuest(),
      end: () => socket.end(),
      closed: () => {
        socket.destroy();
        sockets.delete(socket);
      },
    };
    socket.on('data', (chunk: Buffer) => {
      backlog.push(chunk);
      pushToGuest();
    });
    socket.on('drain', () => conn.resume());
    socket.on('end', () => {
      if (backlog.length > 0) {
        // Send the FIN once the backlog is in the send buffer.
        const wait = setInterval(() => {
          if (backlog.length === 0 || conn.state === 'CLOSED') {
            clearInterval(wait);
            conn.end();
          }
        }, TICK_MS);
        wait.unref?.();
      } else conn.end();
    });
    socket.on('error', (e) => conn.abort(`host socket: ${e.message}`));
    socket.on('close', () => {
      sockets.delete(socket);
      if (conn.state !== 'CLOSED' && !socket.readableEnded) conn.abort('host socket closed');
    });
  }

  /** The guest connects out: the same connection from a socket of ours. */
  function connectOut(conn: TcpConnection): void {
    if (closed) return conn.abort('network closed');
    const socket = connect({ host: hostAddress(conn.hostIp), port: conn.hostPort });
    socket.setNoDelay(true);
    join(conn, socket);
  }

  /** hostfwd: listen on the host, and connect each caller to the guest's port. */
  async function listen(f: HostForward): Promise<void> {
    const server = createServer((socket) => {
      if (closed) return void socket.destroy();
      socket.setNoDelay(true);
      const conn = stack.openTcp(gateway, socket.remotePort ?? 0, f.guestPort);
      join(conn, socket);
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(f.hostPort, f.hostAddr, () => resolve());
    }).catch((e: NodeJS.ErrnoException) => {
      throw new LauncherExit(
        1,
        `--net=user: cannot listen on ${f.hostAddr}:${f.hostPort} for hostfwd: ${e.code ?? e.message}` +
          (e.code === 'EADDRINUSE' ? ' (the port is taken: choose another host port)' : ''),
      );
    });
    const address = server.address();
    forwardedPorts.push(typeof address === 'object' && address ? address.port : f.hostPort);
    server.unref();
  }

  /** A datagram from the guest: out through a socket per guest port, replies back to it. */
  function sendUdp(
    srcPort: number,
    dstIp: number,
    dstPort: number,
    data: Uint8Array,
    start: number,
    length: number,
  ): void {
    if (closed) return;
    let socket = udpSockets.get(srcPort);
    if (!socket) {
      const s = createSocket('udp4');
      s.on('message', (msg, rinfo) => {
        stack.sendUdp(guestAddress(rinfo.address), rinfo.port, srcPort, msg);
      });
      s.on('error', () => {
        s.close();
        udpSockets.delete(srcPort);
      });
      s.unref();
      udpSockets.set(srcPort, s);
      socket = s;
    }
    const out = pool.take(length);
    copyBytes(out.buffer, 0, data, start, length);
    socket.send(out.buffer, dstPort, hostAddress(dstIp), out.release);
  }

  return {
    peer,
    stack,
    forwardedPorts,
    pool,
    close() {
      closed = true;
      releasePacing();
      peer.close();
      if (ticker) clearInterval(ticker);
      for (const s of sockets) s.destroy();
      for (const s of udpSockets.values()) s.close();
      for (const s of servers) s.close();
      for (const c of stack.connections.values()) c.abort('network closed');
    },
  };
}
