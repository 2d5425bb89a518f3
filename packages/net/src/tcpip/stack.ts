// The user-mode network, as the guest sees it: a gateway at 10.0.2.2 on 10.0.2.0/24 that
// answers ARP for itself and the name server address, hands the guest 10.0.2.15 by DHCP,
// answers ping, and terminates every UDP datagram and TCP connection the guest sends
// anywhere — the host side (the device, with Node sockets) carries them on. QEMU's "user"
// network made this the convention; the code here is our own, written from the RFCs.
//
// The stack sees Ethernet frames and nothing else: `receive` takes a frame from the guest,
// `transmit` (given at construction) takes each frame for the guest. A transmitted frame
// is a view of one scratch buffer, valid only during the call — the device copies it into a
// guest buffer at once — so the data path allocates nothing. Every frame that is dropped is
// counted under its reason in `drops`.

import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, dhcpReply } from './dhcp';
import { TcpConnection, TCP_ACK, TCP_RST, TCP_SYN, type Segment, type SegmentSink } from './tcp';
import {
  checksum,
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
  /** A frame for the guest (a view of a scratch buffer: copy it before returning). */
  transmit(frame: Uint8Array): void;
  /** A datagram from the guest to dstIp:dstPort (the payload is a view). */
  udp?(srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array): void;
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
  private readonly segment: Segment = { seq: 0, ack: 0, flags: 0, window: 0, mss: 0, payload: EMPTY };
  private ipId = 1;
  private nowMs = 0;
  private issCounter = 0x1000;

  constructor(
    private readonly host: UserNetHost,
    config: Partial<UserNetConfig> = {},
  ) {
    this.config = { ...DEFAULT_CONFIG, ...config };
  }

  /** A frame from the guest. */
  receive(frame: Uint8Array, nowMs = this.nowMs): void {
    this.nowMs = nowMs;
    this.framesIn++;
    if (frame.length < ETH_HLEN) return this.drop('runt');
    const dstIsUs = isMulticastMac(frame, 0) || macEquals(frame, 0, this.config.mac);
    if (!dstIsUs) return this.drop('not for us');
    if (!isMulticastMac(frame, 6)) this.guestMac.set(frame.subarray(6, 12));
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
    this.sendIp(srcIp, this.config.guest, IPPROTO_UDP, len, this.guestMac);
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
    if (f.length < a + 28 || get16(f, a) !== 1 || get16(f, a + 2) !== ETH_P_IP || f[a + 4] !== 6 || f[a + 5] !== 4) {
      return this.drop('bad arp');
    }
    const op = get16(f, a + 6);
    const target = get32(f, a + 24);
    if (op !== 1) return; // a reply (to nobody's request) or anything else: nothing to do
    if (target !== this.config.gateway && target !== this.config.dns) return;
    const b = this.out;
    b.set(f.subarray(6, 12), 0);
    b.set(this.config.mac, 6);
    put16(b, 12, ETH_P_ARP);
    put16(b, a, 1);
    put16(b, a + 2, ETH_P_IP);
    b[a + 4] = 6;
    b[a + 5] = 4;
    put16(b, a + 6, 2);
    b.set(this.config.mac, a + 8);
    put32(b, a + 14, target);
    b.set(f.subarray(a + 8, a + 18), a + 18); // the asker's MAC and IP become the target
    this.emit(a + 28);
  }

  // ------------------------------------------------------------------ IPv4 (RFC 791)

  private ip(f: Uint8Array): void {
    const at = ETH_HLEN;
    if (f.length < at + IP_HLEN || f[at] >> 4 !== 4) return this.drop('bad ip header');
    const ihl = (f[at] & 15) * 4;
    const total = get16(f, at + 2);
    if (ihl < IP_HLEN || total < ihl || at + total > f.length) return this.drop('bad ip header');
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

  /** Sends the IP packet whose payload (len bytes) is already at out[34…]. */
  private sendIp(src: number, dst: number, proto: number, len: number, dstMac: Uint8Array): void {
    const b = this.out;
    b.set(dstMac, 0);
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
    b.set(f.subarray(p, p + len), q);
    b[q] = 0; // echo reply
    put16(b, q + 2, 0);
    put16(b, q + 2, checksum(b, q, len));
    this.sendIp(dst, src, IPPROTO_ICMP, len, f.subarray(6, 12));
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
    const payload = f.subarray(p + UDP_HLEN, p + ulen);
    if (dstPort === DHCP_SERVER_PORT && srcPort === DHCP_CLIENT_PORT) {
      const q = ETH_HLEN + IP_HLEN + UDP_HLEN;
      const n = dhcpReply(payload, this.config, this.out.subarray(q));
      if (n > 0) {
        const b = this.out;
        const u = ETH_HLEN + IP_HLEN;
        put16(b, u, DHCP_SERVER_PORT);
        put16(b, u + 2, DHCP_CLIENT_PORT);
        put16(b, u + 4, UDP_HLEN + n);
        put16(b, u + 6, 0);
        const c = checksum(b, u, UDP_HLEN + n, pseudoSum(this.config.gateway, 0xffffffff, IPPROTO_UDP, UDP_HLEN + n));
        put16(b, u + 6, c === 0 ? 0xffff : c);
        this.sendIp(this.config.gateway, 0xffffffff, IPPROTO_UDP, UDP_HLEN + n, BROADCAST);
      }
      return;
    }
    if (isBroadcastIp(dst, this.config)) return; // nothing to carry a broadcast to
    this.host.udp?.(srcPort, dst, dstPort, payload);
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
    seg.payload = f.subarray(p + off, p + len);
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

  /** SegmentSink: one segment of `conn` to the guest. */
  sendSegment(conn: TcpConnection, seq: number, flags: number, payload: Uint8Array, withMss: boolean): void {
    const b = this.out;
    const t = ETH_HLEN + IP_HLEN;
    const hlen = withMss ? TCP_HLEN + 4 : TCP_HLEN;
    put16(b, t, conn.hostPort);
    put16(b, t + 2, conn.guestPort);
    put32(b, t + 4, seq);
    put32(b, t + 8, flags & TCP_ACK ? conn.rcvNxt : 0);
    b[t + 12] = (hlen / 4) << 4;
    b[t + 13] = flags;
    put16(b, t + 14, conn.receiveWindow);
    put32(b, t + 16, 0); // checksum, urgent pointer
    if (withMss) {
      b[t + 20] = 2;
      b[t + 21] = 4;
      put16(b, t + 22, TCP_MSS);
    }
    b.set(payload, t + hlen);
    const len = hlen + payload.length;
    put16(b, t + 16, checksum(b, t, len, pseudoSum(conn.hostIp, conn.guestIp, IPPROTO_TCP, len)));
    this.sendIp(conn.hostIp, conn.guestIp, IPPROTO_TCP, len, this.guestMac);
    if (conn.state === 'CLOSED') this.connections.delete(conn);
  }

  /** A RST for a segment that belongs to no connection (RFC 793, "reset generation"). */
  private reset(guestIp: number, guestPort: number, hostIp: number, hostPort: number, seg: Segment): void {
    const stray = new TcpConnection(this, guestIp, guestPort, hostIp, hostPort, 0, false, this.nowMs);
    if (seg.flags & TCP_ACK) {
      this.sendSegment(stray, seg.ack, TCP_RST, EMPTY, false);
    } else {
      stray.rcvNxt = seqAdd(seg.seq, seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0));
      this.sendSegment(stray, 0, TCP_RST | TCP_ACK, EMPTY, false);
    }
  }

  private nextIss(): number {
    this.issCounter = (this.issCounter + 64000) >>> 0;
    return this.issCounter;
  }

  private emit(len: number): void {
    this.framesOut++;
    this.host.transmit(this.out.subarray(0, len));
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
