// The user-mode network, as the guest sees it: a gateway at 10.0.2.2 on 10.0.2.0/24 that
// answers ARP for itself and the name server address, hands the guest 10.0.2.15 by DHCP,
// answers ping, and terminates every UDP datagram and TCP connection the guest sends
// anywhere — the host side (the device, with Node sockets) carries them on. QEMU's "user"
// network made this the convention; the code here is our own, written from the RFCs.
//
// The stack sees Ethernet frames and nothing else: `receive` takes a frame from the guest,
// `transmit` (given at construction) takes each frame for the guest. A transmitted frame
// is the first bytes of one output buffer, valid only during the call — the device copies it
// into a guest buffer at once. The data path allocates nothing: frames, segments and
// payloads are (buffer, offset, length) in buffers that exist once, never views made per
// frame (the stack test checks it). Every frame that is dropped is counted under its reason
// in `drops`.

import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, dhcpReply } from './dhcp';
import { RECEIVE_WINDOW, TcpConnection, TCP_ACK, TCP_RST, TCP_SYN, type Segment, type SegmentSink } from './tcp';
import {
  checksum,
  copyBytes,
  ETH_FRAME_MAX,
  ETH_HLEN,
  ETH_P_ARP,
  ETH_P_IP,
  get16,
  get32,
  IP_HLEN,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  isMulticastMac,
  parseIp,
  pseudoSum,
  put16,
  put32,
  seqAdd,
  sum16,
  TCP_HLEN,
  TCP_MSS,
  UDP_HLEN,
} from './wire';

export interface UserNetConfig {
  /** The network, its mask, the gateway (us), the name server address, and the guest's address. */
  readonly network: number;
  readonly mask: number;
  readonly gateway: number;
  readonly dns: number;
  readonly guest: number;
  /** The gateway's MAC. */
  readonly mac: Uint8Array;
}

export const DEFAULT_CONFIG: UserNetConfig = {
  network: parseIp('10.0.2.0'),
  mask: parseIp('255.255.255.0'),
  gateway: parseIp('10.0.2.2'),
  dns: parseIp('10.0.2.3'),
  guest: parseIp('10.0.2.15'),
  mac: Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02),
};

/** What the stack hands to the host side. */
export interface UserNetHost {
  /**
   * A frame for the guest: its first `length` bytes of `frame`, the stack's one output
   * buffer (the same array every time: copy the bytes before returning).
   */
  transmit(frame: Uint8Array, length: number): void;
  /** A datagram from the guest to dstIp:dstPort: `length` bytes of `data` from `start` (copy to keep). */
  udp?(srcPort: number, dstIp: number, dstPort: number, data: Uint8Array, start: number, length: number): void;
  /** The guest opened a connection (the handshake is answered already); set conn.peer. */
  tcpAccept?(conn: TcpConnection): void;
}

export type DropReason =
  | 'runt'
  | 'not for us'
  | 'unknown ethertype'
  | 'bad arp'
  | 'bad ip header'
  | 'bad ip checksum'
  | 'fragment'
  | 'bad icmp'
  | 'bad udp'
  | 'bad tcp'
  | 'no connection'
  | 'unknown protocol';

const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export class UserNetStack implements SegmentSink {
  readonly config: UserNetConfig;
  /** The guest's MAC, learned from its frames (broadcast until then). */
  readonly guestMac = new Uint8Array(BROADCAST);
  readonly drops = new Map<DropReason, number>();
  framesIn = 0;
  framesOut = 0;
  /** Open connections, by host address, then ports. */
  readonly connections = new ConnectionTable();

  private readonly out = new Uint8Array(ETH_FRAME_MAX);
  private readonly segment: Segment = { seq: 0, ack: 0, flags: 0, window: 0, mss: 0, data: EMPTY, start: 0, length: 0 };
  /** The length of the frame `receive` is looking at. */
  private frameLength = 0;
  private ipId = 1;
  private nowMs = 0;
  private issCounter = 0x1000;

  constructor(
    private readonly host: UserNetHost,
    config: Partial<UserNetConfig> = {},
  ) {
    this.config = { ...DEFAULT_CONFIG, ...config };
  }

  /** A frame from the guest: the first `length` bytes of `frame` (all of it by default). */
  receive(frame: Uint8Array, nowMs = this.nowMs, length = frame.length): void {
    this.nowMs = nowMs;
    this.framesIn++;
    this.frameLength = Math.min(length, frame.length);
    if (this.frameLength < ETH_HLEN) return this.drop('runt');
    const dstIsUs = isMulticastMac(frame, 0) || macEquals(frame, 0, this.config.mac);
    if (!dstIsUs) return this.drop('not for us');
    if (!isMulticastMac(frame, 6)) copyBytes(this.guestMac, 0, frame, 6, 6);
    switch (get16(frame, 12)) {
      case ETH_P_ARP:
        return this.arp(frame);
      case ETH_P_IP:
        return this.ip(frame);
      default:
        return this.drop('unknown ethertype');
    }
  }

  /** Retransmission timers: call every so often with the time. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    for (const conn of this.connections.values()) conn.tick(nowMs);
  }

  /** Open a connection to the guest's port (hostfwd); the handshake starts at once. */
  openTcp(hostIp: number, hostPort: number, guestPort: number): TcpConnection {
    const conn = new TcpConnection(
      this,
      this.config.guest,
      guestPort,
      hostIp,
      hostPort,
      this.nextIss(),
      true,
      this.nowMs,
    );
    this.connections.add(conn);
    conn.connect();
    return conn;
  }

  /** A datagram to the guest from srcIp:srcPort. False if it is too big for one frame. */
  sendUdp(srcIp: number, srcPort: number, dstPort: number, payload: Uint8Array): boolean {
    const len = UDP_HLEN + payload.length;
    if (ETH_HLEN + IP_HLEN + len > ETH_FRAME_MAX) return false;
    const b = this.out;
    const u = ETH_HLEN + IP_HLEN;
    put16(b, u, srcPort);
    put16(b, u + 2, dstPort);
    put16(b, u + 4, len);
    put16(b, u + 6, 0);
    b.set(payload, u + UDP_HLEN);
    const c = checksum(b, u, len, pseudoSum(srcIp, this.config.guest, IPPROTO_UDP, len));
    put16(b, u + 6, c === 0 ? 0xffff : c);
    this.sendIp(srcIp, this.config.guest, IPPROTO_UDP, len, this.guestMac, 0);
    return true;
  }

  /** How many frames were dropped, in all. */
  get dropped(): number {
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }

  // ------------------------------------------------------------------ ARP (RFC 826)

  private arp(f: Uint8Array): void {
    const a = ETH_HLEN;
    if (
      this.frameLength < a + 28 ||
      get16(f, a) !== 1 ||
      get16(f, a + 2) !== ETH_P_IP ||
      f[a + 4] !== 6 ||
      f[a + 5] !== 4
    ) {
      return this.drop('bad arp');
    }
    const op = get16(f, a + 6);
    const target = get32(f, a + 24);
    if (op !== 1) return; // a reply (to nobody's request) or anything else: nothing to do
    if (target !== this.config.gateway && target !== this.config.dns) return;
    const b = this.out;
    copyBytes(b, 0, f, 6, 6);
    b.set(this.config.mac, 6);
    put16(b, 12, ETH_P_ARP);
    put16(b, a, 1);
    put16(b, a + 2, ETH_P_IP);
    b[a + 4] = 6;
    b[a + 5] = 4;
    put16(b, a + 6, 2);
    b.set(this.config.mac, a + 8);
    put32(b, a + 14, target);
    copyBytes(b, a + 18, f, a + 8, 10); // the asker's MAC and IP become the target
    this.emit(a + 28);
  }

  // ------------------------------------------------------------------ IPv4 (RFC 791)

  private ip(f: Uint8Array): void {
    const at = ETH_HLEN;
    if (this.frameLength < at + IP_HLEN || f[at] >> 4 !== 4) return this.drop('bad ip header');
    const ihl = (f[at] & 15) * 4;
    const total = get16(f, at + 2);
    if (ihl < IP_HLEN || total < ihl || at + total > this.frameLength) return this.drop('bad ip header');
    if (sum16(f, at, ihl) !== 0xffff) return this.drop('bad ip checksum');
    if ((get16(f, at + 6) & 0x3fff) !== 0) return this.drop('fragment'); // MF or an offset
    const src = get32(f, at + 12);
    const dst = get32(f, at + 16);
    const p = at + ihl;
    const len = total - ihl;
    switch (f[at + 9]) {
      case IPPROTO_ICMP:
        return this.icmp(f, p, len, src, dst);
      case IPPROTO_UDP:
        return this.udp(f, p, len, src, dst);
      case IPPROTO_TCP:
        return this.tcp(f, p, len, src, dst);
      default:
        return this.drop('unknown protocol');
    }
  }

  /** Sends the IP packet whose payload (len bytes) is already at out[34…], to the MAC at mac[macAt…]. */
  private sendIp(src: number, dst: number, proto: number, len: number, mac: Uint8Array, macAt: number): void {
    const b = this.out;
    copyBytes(b, 0, mac, macAt, 6);
    b.set(this.config.mac, 6);
    put16(b, 12, ETH_P_IP);
    const at = ETH_HLEN;
    b[at] = 0x45;
    b[at + 1] = 0;
    put16(b, at + 2, IP_HLEN + len);
    put16(b, at + 4, this.ipId++ & 0xffff);
    put16(b, at + 6, 0x4000); // don't fragment
    b[at + 8] = 64;
    b[at + 9] = proto;
    put16(b, at + 10, 0);
    put32(b, at + 12, src);
    put32(b, at + 16, dst);
    put16(b, at + 10, checksum(b, at, IP_HLEN));
    this.emit(ETH_HLEN + IP_HLEN + len);
  }

  // ------------------------------------------------------------------ ICMP (RFC 792)

  private icmp(f: Uint8Array, p: number, len: number, src: number, dst: number): void {
    if (len < 8 || sum16(f, p, len) !== 0xffff) return this.drop('bad icmp');
    if (f[p] !== 8) return; // only echo requests get an answer
    // Echo to the gateway or the name server address: we answer as the host would.
    if (dst !== this.config.gateway && dst !== this.config.dns) return;
    const b = this.out;
    const q = ETH_HLEN + IP_HLEN;
    copyBytes(b, q, f, p, len);
    b[q] = 0; // echo reply
    put16(b, q + 2, 0);
    put16(b, q + 2, checksum(b, q, len));
    this.sendIp(dst, src, IPPROTO_ICMP, len, f, 6);
  }

  // ------------------------------------------------------------------ UDP (RFC 768) and DHCP

  private udp(f: Uint8Array, p: number, len: number, src: number, dst: number): void {
    if (len < UDP_HLEN || get16(f, p + 4) < UDP_HLEN || get16(f, p + 4) > len) return this.drop('bad udp');
    const ulen = get16(f, p + 4);
    if (get16(f, p + 6) !== 0 && sum16(f, p, ulen, pseudoSum(src, dst, IPPROTO_UDP, ulen)) !== 0xffff) {
      return this.drop('bad udp');
    }
    const srcPort = get16(f, p);
    const dstPort = get16(f, p + 2);
    if (dstPort === DHCP_SERVER_PORT && srcPort === DHCP_CLIENT_PORT) {
      // A few messages per boot, not the data path: views are fine here.
      const q = ETH_HLEN + IP_HLEN + UDP_HLEN;
      const n = dhcpReply(f.subarray(p + UDP_HLEN, p + ulen), this.config, this.out.subarray(q));
      if (n > 0) {
        const b = this.out;
        const u = ETH_HLEN + IP_HLEN;
        put16(b, u, DHCP_SERVER_PORT);
        put16(b, u + 2, DHCP_CLIENT_PORT);
        put16(b, u + 4, UDP_HLEN + n);
        put16(b, u + 6, 0);
        const c = checksum(b, u, UDP_HLEN + n, pseudoSum(this.config.gateway, 0xffffffff, IPPROTO_UDP, UDP_HLEN + n));
        put16(b, u + 6, c === 0 ? 0xffff : c);
        this.sendIp(this.config.gateway, 0xffffffff, IPPROTO_UDP, UDP_HLEN + n, BROADCAST, 0);
      }
      return;
    }
    if (isBroadcastIp(dst, this.config)) return; // nothing to carry a broadcast to
    this.host.udp?.(srcPort, dst, dstPort, f, p + UDP_HLEN, ulen - UDP_HLEN);
  }

  // ------------------------------------------------------------------ TCP (RFC 793)

  private tcp(f: Uint8Array, p: number, len: number, src: number, dst: number): void {
    if (len < TCP_HLEN) return this.drop('bad tcp');
    const off = (f[p + 12] >> 4) * 4;
    if (off < TCP_HLEN || off > len) return this.drop('bad tcp');
    if (sum16(f, p, len, pseudoSum(src, dst, IPPROTO_TCP, len)) !== 0xffff) return this.drop('bad tcp');
    const srcPort = get16(f, p);
    const dstPort = get16(f, p + 2);
    // One segment record, filled in place for each frame (the connection does not keep it).
    const seg = this.segment;
    seg.seq = get32(f, p + 4);
    seg.ack = get32(f, p + 8);
    seg.flags = f[p + 13];
    seg.window = get16(f, p + 14);
    seg.mss = mssOption(f, p + TCP_HLEN, p + off);
    seg.data = f;
    seg.start = p + off;
    seg.length = len - off;
    let conn = this.connections.get(srcPort, dst, dstPort);
    if (!conn && seg.flags & TCP_SYN && !(seg.flags & TCP_ACK) && this.host.tcpAccept) {
      // The guest connects out: answer the handshake now and let the host side connect.
      conn = new TcpConnection(this, src, srcPort, dst, dstPort, this.nextIss(), false, this.nowMs);
      conn.rcvNxt = seqAdd(seg.seq, 1);
      conn.sndWnd = seg.window;
      if (seg.mss) conn.mss = Math.min(seg.mss, TCP_MSS);
      this.connections.add(conn);
      this.host.tcpAccept(conn);
      if (conn.state !== 'CLOSED') conn.connect();
      return;
    }
    if (!conn) {
      this.drop('no connection');
      if (!(seg.flags & TCP_RST)) this.reset(src, srcPort, dst, dstPort, seg);
      return;
    }
    conn.input(seg, this.nowMs);
    if (conn.state === 'CLOSED') this.connections.delete(conn);
  }

  /** SegmentSink: one segment of `conn` to the guest, its payload `length` bytes of `data` from `start`. */
  sendSegment(
    conn: TcpConnection,
    seq: number,
    flags: number,
    data: Uint8Array,
    start: number,
    length: number,
    withMss: boolean,
  ): void {
    const ack = flags & TCP_ACK ? conn.rcvNxt : 0;
    this.sendTcp(
      conn.hostIp,
      conn.hostPort,
      conn.guestIp,
      conn.guestPort,
      seq,
      ack,
      flags,
      conn.receiveWindow,
      withMss,
    );
    this.finishTcp(conn.hostIp, conn.guestIp, data, start, length, withMss);
    if (conn.state === 'CLOSED') this.connections.delete(conn);
  }

  /** The TCP header at out[34…] (its checksum filled in by finishTcp). */
  private sendTcp(
    hostIp: number,
    hostPort: number,
    guestIp: number,
    guestPort: number,
    seq: number,
    ack: number,
    flags: number,
    window: number,
    withMss: boolean,
  ): void {
    const b = this.out;
    const t = ETH_HLEN + IP_HLEN;
    const hlen = withMss ? TCP_HLEN + 4 : TCP_HLEN;
    put16(b, t, hostPort);
    put16(b, t + 2, guestPort);
    put32(b, t + 4, seq);
    put32(b, t + 8, ack);
    b[t + 12] = (hlen / 4) << 4;
    b[t + 13] = flags;
    put16(b, t + 14, window);
    put32(b, t + 16, 0); // checksum, urgent pointer
    if (withMss) {
      b[t + 20] = 2;
      b[t + 21] = 4;
      put16(b, t + 22, TCP_MSS);
    }
  }

  /** The payload after the header sendTcp wrote, the checksum, and out it goes. */
  private finishTcp(
    hostIp: number,
    guestIp: number,
    data: Uint8Array,
    start: number,
    length: number,
    withMss: boolean,
  ): void {
    const b = this.out;
    const t = ETH_HLEN + IP_HLEN;
    const hlen = withMss ? TCP_HLEN + 4 : TCP_HLEN;
    copyBytes(b, t + hlen, data, start, length);
    const len = hlen + length;
    put16(b, t + 16, checksum(b, t, len, pseudoSum(hostIp, guestIp, IPPROTO_TCP, len)));
    this.sendIp(hostIp, guestIp, IPPROTO_TCP, len, this.guestMac, 0);
  }

  /**
   * A RST for a segment that belongs to no connection (RFC 793, "reset generation"), written
   * straight from the segment: a guest spraying stray segments costs no connection objects.
   */
  private reset(guestIp: number, guestPort: number, hostIp: number, hostPort: number, seg: Segment): void {
    if (seg.flags & TCP_ACK) {
      this.sendTcp(hostIp, hostPort, guestIp, guestPort, seg.ack, 0, TCP_RST, RECEIVE_WINDOW, false);
    } else {
      const ack = seqAdd(seg.seq, seg.length + (seg.flags & TCP_SYN ? 1 : 0));
      this.sendTcp(hostIp, hostPort, guestIp, guestPort, 0, ack, TCP_RST | TCP_ACK, RECEIVE_WINDOW, false);
    }
    this.finishTcp(hostIp, guestIp, EMPTY, 0, 0, false);
  }

  private nextIss(): number {
    this.issCounter = (this.issCounter + 64000) >>> 0;
    return this.issCounter;
  }

  private emit(len: number): void {
    this.framesOut++;
    this.host.transmit(this.out, len);
  }

  private drop(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
}

const EMPTY = new Uint8Array(0);

/** Connections by (host address, guest port, host port), found without building a key string. */
export class ConnectionTable {
  private readonly byHost = new Map<number, Map<number, TcpConnection>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(guestPort: number, hostIp: number, hostPort: number): TcpConnection | undefined {
    return this.byHost.get(hostIp)?.get(guestPort * 65536 + hostPort);
  }

  add(conn: TcpConnection): void {
    let ports = this.byHost.get(conn.hostIp);
    if (!ports) this.byHost.set(conn.hostIp, (ports = new Map()));
    const key = conn.guestPort * 65536 + conn.hostPort;
    if (!ports.has(key)) this.count++;
    ports.set(key, conn);
  }

  delete(conn: TcpConnection): void {
    const ports = this.byHost.get(conn.hostIp);
    const key = conn.guestPort * 65536 + conn.hostPort;
    if (ports?.get(key) !== conn) return;
    ports.delete(key);
    this.count--;
    if (ports.size === 0) this.byHost.delete(conn.hostIp);
  }

  *values(): IterableIterator<TcpConnection> {
    for (const ports of this.byHost.values()) yield* ports.values();
  }
}

function macEquals(b: Uint8Array, at: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (b[at + i] !== mac[i]) return false;
  return true;
}

function isBroadcastIp(ip: number, c: UserNetConfig): boolean {
  return ip === 0xffffffff || ((ip & ~c.mask) >>> 0 === ~c.mask >>> 0 && (ip & c.mask) >>> 0 === c.network);
}

/** The MSS option in [at, end), or 0. */
function mssOption(f: Uint8Array, at: number, end: number): number {
  let i = at;
  while (i < end) {
    const kind = f[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = f[i + 1];
    if (len < 2 || i + len > end) break;
    if (kind === 2 && len === 4) return get16(f, i + 2);
    i += len;
  }
  return 0;
}
