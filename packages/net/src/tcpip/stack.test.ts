// The user-mode stack against frames a guest would send, one protocol at a time: what comes
// back is parsed and checked field by field (checksums included), and what must be dropped is
// dropped under its reason.

import { DHCP_MAGIC } from './dhcp';
import { UserNetStack, DEFAULT_CONFIG, type UserNetHost } from './stack';
import { TcpConnection, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpPeer } from './tcp';
import {
  checksum,
  ETH_P_ARP,
  ETH_P_IP,
  get16,
  get32,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  parseIp,
  pseudoSum,
  put16,
  put32,
  sum16,
} from './wire';

const GUEST_MAC = Uint8Array.of(0x02, 0x00, 0x01, 0x00, 0x00, 0x00);
const GW_MAC = DEFAULT_CONFIG.mac;
const GUEST = parseIp('10.0.2.15');
const GW = parseIp('10.0.2.2');
const HOST = parseIp('192.0.2.7');

function eth(dst: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(GUEST_MAC, 6);
  put16(f, 12, type);
  f.set(payload, 14);
  return f;
}

function ipPacket(src: number, dst: number, proto: number, payload: Uint8Array, flags = 0x4000): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  put16(p, 2, p.length);
  put16(p, 6, flags);
  p[8] = 64;
  p[9] = proto;
  put32(p, 12, src);
  put32(p, 16, dst);
  put16(p, 10, checksum(p, 0, 20));
  p.set(payload, 20);
  return eth(GW_MAC, ETH_P_IP, p);
}

function udpPacket(srcPort: number, dst: number, dstPort: number, data: Uint8Array, src = GUEST): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  put16(u, 0, srcPort);
  put16(u, 2, dstPort);
  put16(u, 4, u.length);
  u.set(data, 8);
  put16(u, 6, checksum(u, 0, u.length, pseudoSum(src, dst, IPPROTO_UDP, u.length)));
  return ipPacket(src, dst, IPPROTO_UDP, u);
}

interface TcpOut {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Uint8Array;
}

function tcpPacket(s: Omit<TcpOut, 'window'> & { window?: number; mss?: number }, dst = HOST): Uint8Array {
  const opt = s.mss ? 4 : 0;
  const t = new Uint8Array(20 + opt + s.payload.length);
  put16(t, 0, s.srcPort);
  put16(t, 2, s.dstPort);
  put32(t, 4, s.seq);
  put32(t, 8, s.ack);
  t[12] = ((20 + opt) / 4) << 4;
  t[13] = s.flags;
  put16(t, 14, s.window ?? 65535);
  if (s.mss) {
    t[20] = 2;
    t[21] = 4;
    put16(t, 22, s.mss);
  }
  t.set(s.payload, 20 + opt);
  put16(t, 16, checksum(t, 0, t.length, pseudoSum(GUEST, dst, IPPROTO_TCP, t.length)));
  return ipPacket(GUEST, dst, IPPROTO_TCP, t);
}

/** A stack whose transmitted frames are kept (copied), with the host hooks recorded. */
function setup(extra: Partial<UserNetHost> = {}) {
  const sent: Uint8Array[] = [];
  const udp: [number, number, number, string][] = [];
  const stack = new UserNetStack({
    transmit: (f, n) => sent.push(f.slice(0, n)),
    udp: (sp, dip, dp, d, start, n) => udp.push([sp, dip, dp, Buffer.from(d.subarray(start, start + n)).toString()]),
    ...extra,
  });
  return { stack, sent, udp };
}

/** Checks the IPv4 header of a frame we sent and returns its protocol payload. */
function ipPayload(f: Uint8Array): { proto: number; src: number; dst: number; p: Uint8Array } {
  expect(get16(f, 12)).toBe(ETH_P_IP);
  expect(sum16(f, 14, 20)).toBe(0xffff);
  const total = get16(f, 16);
  return { proto: f[23], src: get32(f, 26), dst: get32(f, 30), p: f.subarray(34, 14 + total) };
}

function parseTcp(f: Uint8Array): TcpOut {
  const { proto, src, dst, p } = ipPayload(f);
  expect(proto).toBe(IPPROTO_TCP);
  expect(sum16(p, 0, p.length, pseudoSum(src, dst, IPPROTO_TCP, p.length))).toBe(0xffff);
  const off = (p[12] >> 4) * 4;
  return {
    srcPort: get16(p, 0),
    dstPort: get16(p, 2),
    seq: get32(p, 4),
    ack: get32(p, 8),
    flags: p[13],
    window: get16(p, 14),
    payload: p.slice(off),
  };
}

describe('ARP', () => {
  it('answers who-has for the gateway with its MAC, addressed to the asker', () => {
    const { stack, sent } = setup();
    const a = new Uint8Array(28);
    put16(a, 0, 1);
    put16(a, 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, 1);
    a.set(GUEST_MAC, 8);
    put32(a, 14, GUEST);
    put32(a, 24, GW);
    stack.receive(eth(Uint8Array.of(255, 255, 255, 255, 255, 255), ETH_P_ARP, a));
    expect(sent).toHaveLength(1);
    const r = sent[0];
    expect(r.subarray(0, 6)).toEqual(GUEST_MAC);
    expect(get16(r, 12)).toBe(ETH_P_ARP);
    expect(get16(r, 20)).toBe(2);
    expect(r.subarray(22, 28)).toEqual(GW_MAC);
    expect(get32(r, 28)).toBe(GW);
    expect(r.subarray(32, 38)).toEqual(GUEST_MAC);
    expect(get32(r, 38)).toBe(GUEST);
    // Not for an address that is not ours; and a short ARP is dropped as bad.
    put32(a, 24, parseIp('10.0.2.99'));
    stack.receive(eth(Uint8Array.of(255, 255, 255, 255, 255, 255), ETH_P_ARP, a));
    stack.receive(eth(Uint8Array.of(255, 255, 255, 255, 255, 255), ETH_P_ARP, a.subarray(0, 20)));
    expect(sent).toHaveLength(1);
    expect(stack.drops.get('bad arp')).toBe(1);
  });
});

describe('IPv4', () => {
  it('drops bad checksums, fragments, short headers and frames for another MAC, each under its reason', () => {
    const { stack, sent } = setup();
    const good = udpPacket(1000, HOST, 53, Uint8Array.of(1));
    const badSum = good.slice();
    badSum[14 + 10] ^= 1;
    stack.receive(badSum);
    stack.receive(udpPacket(1000, HOST, 53, Uint8Array.of(1)).fill(0, 34)); // UDP header zeroed: bad udp
    stack.receive(ipPacket(GUEST, HOST, IPPROTO_UDP, new Uint8Array(8), 0x2000)); // MF set
    stack.receive(good.subarray(0, 20));
    const other = good.slice();
    other.set(Uint8Array.of(0x02, 9, 9, 9, 9, 9), 0);
    stack.receive(other);
    stack.receive(new Uint8Array(10));
    expect(Object.fromEntries(stack.drops)).toEqual({
      'bad ip checksum': 1,
      'bad udp': 1,
      fragment: 1,
      'bad ip header': 1,
      'not for us': 1,
      runt: 1,
    });
    expect(sent).toHaveLength(0);
  });
});

describe('ICMP', () => {
  it('answers an echo request to the gateway with the same identifier, sequence and data', () => {
    const { stack, sent } = setup();
    const icmp = new Uint8Array(40);
    icmp[0] = 8;
    put16(icmp, 4, 0x4c47);
    put16(icmp, 6, 7);
    for (let i = 8; i < 40; i++) icmp[i] = i;
    put16(icmp, 2, checksum(icmp, 0, 40));
    stack.receive(ipPacket(GUEST, GW, IPPROTO_ICMP, icmp));
    expect(sent).toHaveLength(1);
    const { proto, src, dst, p } = ipPayload(sent[0]);
    expect([proto, src, dst]).toEqual([IPPROTO_ICMP, GW, GUEST]);
    expect(p[0]).toBe(0);
    expect(sum16(p, 0, p.length)).toBe(0xffff);
    expect(p.subarray(4)).toEqual(icmp.subarray(4));
    // Echo to an address outside: no answer (we have no raw sockets); a bad checksum: dropped.
    stack.receive(ipPacket(GUEST, HOST, IPPROTO_ICMP, icmp));
    icmp[9] ^= 0xff;
    stack.receive(ipPacket(GUEST, GW, IPPROTO_ICMP, icmp));
    expect(sent).toHaveLength(1);
    expect(stack.drops.get('bad icmp')).toBe(1);
  });
});

describe('UDP', () => {
  it('hands datagrams to the host side and sends the host’s replies with a valid checksum', () => {
    const { stack, sent, udp } = setup();
    stack.receive(udpPacket(4000, GW, 5353, Buffer.from('question')));
    expect(udp).toEqual([[4000, GW, 5353, 'question']]);
    expect(stack.sendUdp(GW, 5353, 4000, Buffer.from('answer'))).toBe(true);
    const { proto, src, dst, p } = ipPayload(sent[0]);
    expect([proto, src, dst]).toEqual([IPPROTO_UDP, GW, GUEST]);
    expect(sum16(p, 0, p.length, pseudoSum(src, dst, IPPROTO_UDP, p.length))).toBe(0xffff);
    expect([get16(p, 0), get16(p, 2)]).toEqual([5353, 4000]);
    expect(Buffer.from(p.subarray(8)).toString()).toBe('answer');
    expect(stack.sendUdp(GW, 1, 2, new Uint8Array(1500))).toBe(false);
  });
});

describe('DHCP', () => {
  function request(type: number, requested?: number): Uint8Array {
    const m = new Uint8Array(300);
    m[0] = 1;
    m[1] = 1;
    m[2] = 6;
    put32(m, 4, 0xdeadbeef);
    m.set(GUEST_MAC, 28);
    put32(m, 236, DHCP_MAGIC);
    let i = 240;
    m.set([53, 1, type], i);
    i += 3;
    if (requested !== undefined) {
      m.set([50, 4], i);
      put32(m, i + 2, requested);
      i += 6;
    }
    m[i] = 255;
    return udpPacket(68, 0xffffffff, 67, m, 0);
  }

  function reply(f: Uint8Array) {
    const { p } = ipPayload(f);
    const m = p.subarray(8);
    const opts: Record<number, number[]> = {};
    for (let i = 240; m[i] !== 255; i += 2 + m[i + 1]) opts[m[i]] = Array.from(m.subarray(i + 2, i + 2 + m[i + 1]));
    return { xid: get32(m, 4), yiaddr: get32(m, 16), type: opts[53][0], opts, dstMac: f.subarray(0, 6) };
  }

  it('offers 10.0.2.15 to a DISCOVER and ACKs a REQUEST for it, with mask, router and server id', () => {
    const { stack, sent } = setup();
    stack.receive(request(1));
    const offer = reply(sent[0]);
    expect(offer).toMatchObject({ xid: 0xdeadbeef, yiaddr: GUEST, type: 2 });
    expect(offer.opts[1]).toEqual([255, 255, 255, 0]);
    expect(offer.opts[3]).toEqual([10, 0, 2, 2]);
    expect(offer.opts[54]).toEqual([10, 0, 2, 2]);
    stack.receive(request(3, GUEST));
    expect(reply(sent[1])).toMatchObject({ yiaddr: GUEST, type: 5 });
    stack.receive(request(3, parseIp('10.0.2.99')));
    expect(reply(sent[2]).type).toBe(6); // NAK
  });
});

describe('TCP', () => {
  /** A peer that records what the connection gives it. */
  function recorder(accept = true) {
    const got = { data: '', ended: false, closed: '', established: 0 };
    const peer: TcpPeer = {
      established: () => void got.established++,
      data: (_c, d, start, n) => {
        got.data += Buffer.from(d.subarray(start, start + n)).toString();
        return accept;
      },
      end: () => void (got.ended = true),
      closed: (_c, why) => void (got.closed = why),
    };
    return { got, peer };
  }

  function connected(accept = true) {
    const { got, peer } = recorder(accept);
    let conn: TcpConnection | null = null;
    const env = setup({
      tcpAccept: (c) => {
        conn = c;
        c.peer = peer;
      },
    });
    env.stack.receive(
      tcpPacket({
        srcPort: 40000,
        dstPort: 80,
        seq: 100,
        ack: 0,
        flags: TCP_SYN,
        payload: new Uint8Array(0),
        mss: 1000,
      }),
    );
    const synAck = parseTcp(env.sent[0]);
    expect(synAck.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck.ack).toBe(101);
    const iss = synAck.seq;
    env.stack.receive(
      tcpPacket({ srcPort: 40000, dstPort: 80, seq: 101, ack: iss + 1, flags: TCP_ACK, payload: new Uint8Array(0) }),
    );
    expect(conn!.state).toBe('ESTABLISHED');
    expect(got.established).toBe(1);
    const send = (seq: number, flags: number, data = '', ack = iss + 1, window = 65535) =>
      env.stack.receive(
        tcpPacket({ srcPort: 40000, dstPort: 80, seq, ack, flags, window, payload: Buffer.from(data) }),
      );
    return { ...env, got, conn: conn! as TcpConnection, iss, send };
  }

  it('accepts a connection, delivers in-order data, ACKs it, and refuses out-of-order data', () => {
    const { sent, got, send } = connected();
    send(101, TCP_ACK | TCP_PSH, 'GET / HTTP/1.0\r\n');
    expect(got.data).toBe('GET / HTTP/1.0\r\n');
    const ack = parseTcp(sent[sent.length - 1]);
    expect(ack.ack).toBe(101 + 16);
    // A segment past a gap is not delivered; the ACK repeats what we expect.
    send(200, TCP_ACK | TCP_PSH, 'later');
    expect(got.data).toBe('GET / HTTP/1.0\r\n');
    expect(parseTcp(sent[sent.length - 1]).ack).toBe(117);
  });

  it('segments host data by the guest MSS, within its window, and retransmits what is not ACKed', () => {
    const { stack, sent, conn, iss, send } = connected();
    send(101, TCP_ACK, '', iss + 1, 2500); // the guest's window: 2500 bytes
    const before = sent.length;
    expect(conn.write(new Uint8Array(5000).fill(7))).toBe(5000);
    const segs = sent.slice(before).map(parseTcp);
    expect(segs.map((s) => s.payload.length)).toEqual([1000, 1000, 500]); // MSS 1000, window 2500
    expect(segs[0].seq).toBe(iss + 1);
    // Nothing ACKed for an RTO: the oldest byte goes again, once per timeout.
    const m = sent.length;
    stack.tick(5000);
    const re = sent.slice(m).map(parseTcp);
    expect(conn.retransmits).toBe(1);
    expect(re.map((s) => s.seq)).toEqual([iss + 1, iss + 1001, iss + 2001]); // go-back-N
    stack.tick(5500); // before the doubled RTO: nothing
    expect(sent.length).toBe(m + 3);
    // ACK everything sent so far and open the window: the rest follows.
    const n = sent.length;
    send(101, TCP_ACK, '', iss + 1 + 2500, 65535);
    const rest = sent.slice(n).map(parseTcp);
    expect(rest.reduce((s, x) => s + x.payload.length, 0)).toBe(2500);
    expect(conn.unacknowledged).toBe(2500);
  });

  it('resets after MAX_RETRIES timeouts without an ACK and tells the host side', () => {
    const { stack, sent, conn, got } = connected();
    conn.write(Buffer.from('hello'));
    for (let t = 1; t <= 12; t++) stack.tick(t * 20000);
    expect(conn.state).toBe('CLOSED');
    expect(got.closed).toMatch(/timed out/);
    expect(parseTcp(sent[sent.length - 1]).flags & TCP_RST).toBeTruthy();
  });

  it('closes both ways: the guest FIN reaches the host as end, ours follows the data', () => {
    const { stack, sent, conn, got, iss, send } = connected();
    expect(stack.connections.size).toBe(1);
    send(101, TCP_ACK | TCP_FIN, 'bye');
    expect(got.data).toBe('bye');
    expect(got.ended).toBe(true);
    expect(conn.state).toBe('CLOSE_WAIT');
    conn.write(Buffer.from('ok'));
    conn.end();
    const last = parseTcp(sent[sent.length - 1]);
    expect(last.flags & TCP_FIN).toBeTruthy();
    expect(conn.state).toBe('LAST_ACK');
    send(105, TCP_ACK, '', iss + 1 + 2 + 1);
    expect(conn.state).toBe('CLOSED');
    expect(got.closed).toBe('closed');
    expect(stack.connections.size).toBe(0);
    expect([...stack.connections.values()]).toEqual([]);
  });

  it('advertises a zero window while the host side is full, and reopens it on resume', () => {
    const { sent, conn, send } = connected(false);
    send(101, TCP_ACK | TCP_PSH, 'fill');
    expect(parseTcp(sent[sent.length - 1]).window).toBe(0);
    conn.resume();
    expect(parseTcp(sent[sent.length - 1]).window).toBe(65535);
  });

  it('makes no buffers or views per frame: one output buffer, payloads handed over in the frame they came in', () => {
    // Frames out are always the stack's one buffer; guest bytes reach the host side as the
    // received frame itself plus an offset. A regression to views or copies per frame fails here.
    const outs = new Set<Uint8Array>();
    const handed: { data: Uint8Array; start: number; length: number }[] = [];
    let conn: TcpConnection | null = null;
    const stack = new UserNetStack({
      transmit: (f) => void outs.add(f),
      tcpAccept: (c) => {
        conn = c;
        c.peer = {
          data: (_c, data, start, length) => {
            handed.push({ data, start, length });
            return true;
          },
          end: () => {},
          closed: () => {},
        };
      },
    });
    stack.receive(
      tcpPacket({ srcPort: 40000, dstPort: 80, seq: 100, ack: 0, flags: TCP_SYN, payload: new Uint8Array(0) }),
    );
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const f = tcpPacket({
        srcPort: 40000,
        dstPort: 80,
        seq: 101 + i * 1000,
        ack: conn!.iss + 1,
        flags: TCP_ACK | TCP_PSH,
        payload: new Uint8Array(1000).fill(i),
      });
      frames.push(f);
      stack.receive(f);
    }
    // Host bytes out, across the end of the send ring (64 KiB) more than once.
    for (let i = 0; i < 200; i++) {
      conn!.write(new Uint8Array(1000).fill(i));
      stack.receive(
        tcpPacket({
          srcPort: 40000,
          dstPort: 80,
          seq: 50101,
          ack: conn!.sndNxt,
          flags: TCP_ACK,
          payload: new Uint8Array(0),
        }),
      );
    }
    stack.receive(ipPacket(GUEST, GW, IPPROTO_ICMP, Uint8Array.of(8, 0, 0xf7, 0xff, 0, 0, 0, 0)));
    expect(stack.framesOut).toBeGreaterThan(250);
    expect(outs.size).toBe(1);
    expect(handed).toHaveLength(50);
    handed.forEach((h, i) => {
      expect(h.data).toBe(frames[i]);
      expect([h.start, h.length]).toEqual([14 + 20 + 20, 1000]);
      expect(h.data[h.start]).toBe(i);
    });
  });

  it('opens a connection to a guest port (hostfwd) and answers a segment for no connection with RST', () => {
    const { stack, sent } = setup();
    const { got, peer } = recorder();
    const conn = stack.openTcp(GW, 33333, 80);
    conn.peer = peer;
    const syn = parseTcp(sent[0]);
    expect(syn.flags).toBe(TCP_SYN);
    expect([syn.srcPort, syn.dstPort]).toEqual([33333, 80]);
    stack.receive(
      tcpPacket(
        {
          srcPort: 80,
          dstPort: 33333,
          seq: 5000,
          ack: syn.seq + 1,
          flags: TCP_SYN | TCP_ACK,
          payload: new Uint8Array(0),
        },
        GW,
      ),
    );
    expect(conn.state).toBe('ESTABLISHED');
    expect(got.established).toBe(1);
    expect(parseTcp(sent[1]).ack).toBe(5001);
    stack.receive(
      tcpPacket({ srcPort: 81, dstPort: 1, seq: 1, ack: 77, flags: TCP_ACK, payload: new Uint8Array(0) }, GW),
    );
    const rst = parseTcp(sent[sent.length - 1]);
    expect(rst.flags & TCP_RST).toBeTruthy();
    expect(rst.seq).toBe(77);
    expect(stack.drops.get('no connection')).toBe(1);
  });
});
