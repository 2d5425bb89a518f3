// The guest kernel's IPv4 stack (kernel/net.c), compiled for this machine (tools/net-host)
// and fed frames a whole-system run cannot easily make: every kind of malformed frame must be
// dropped and counted (never trusted, never a crash: the build uses AddressSanitizer where
// the compiler has it), and the answers the protocols owe — ARP replies, echo replies, RST
// for a closed port, ICMP port unreachable, a SYN-ACK from a listener — must be right to
// the byte and carry good checksums. The whole-system tests (real lguest networks, our
// programs, the Linux guest) are in packages/cli (guest-net.system.test.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PKG = join(__dirname, '..');
const TOOL = join(PKG, 'tools', 'net-host');
let binary: string;

beforeAll(() => {
  binary = join(mkdtempSync(join(tmpdir(), 'net-host-')), 'net-host');
  const compile = (extra: string[]) =>
    spawnSync(
      'gcc',
      [
        '-O1',
        '-g',
        '-Wall',
        '-Wno-unused-parameter',
        '-fno-strict-aliasing',
        ...extra,
        '-I',
        join(PKG, 'include'),
        '-I',
        join(PKG, '..', 'abi', 'build', 'include'),
        join(TOOL, 'host_net.c'),
        join(TOOL, 'net_glue.c'),
        join(PKG, 'kernel', 'net.c'),
        '-o',
        binary,
      ],
      { encoding: 'utf8' },
    );
  let r = compile(['-fsanitize=address,undefined', '-fno-sanitize-recover=all']);
  if (r.status !== 0) r = compile([]); // no sanitizer runtime on this machine
  if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
});

const OUR_MAC = [0x02, 0x00, 0x07, 0x00, 0x00, 0x00];
const PEER_MAC = [0x02, 0x00, 0x09, 0x00, 0x00, 0x00];
const OUR_IP = [10, 1, 0, 1];
const PEER_IP = [10, 1, 0, 9];

interface Run {
  tx: Buffer[];
  out: string;
}

/** Runs the commands (after `init` with our address); returns the frames sent and all output. */
function net(commands: string[], nocsum = 0): Run {
  const input = [`init ip=10.1.0.1::10.1.0.254:255.255.255.0 ${nocsum}`, ...commands, 'proc'].join('\n') + '\n';
  const r = spawnSync(binary, [], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`net-host exited ${r.status} (${r.signal}):\n${r.stdout}${r.stderr}`);
  const tx = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('tx '))
    .map((l) => Buffer.from(l.slice(3), 'hex'));
  return { tx, out: r.stdout };
}

const rx = (frame: Buffer | number[]) => `rx ${Buffer.from(frame).toString('hex')}`;

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ether(type: number, payload: Buffer, dst = OUR_MAC): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from(dst).copy(h, 0);
  Buffer.from(PEER_MAC).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

function ipv4(proto: number, payload: Buffer, opts: { total?: number; csum?: number; frag?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(opts.total ?? 20 + payload.length, 2);
  h.writeUInt16BE(opts.frag ?? 0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(PEER_IP).copy(h, 12);
  Buffer.from(OUR_IP).copy(h, 16);
  h.writeUInt16BE(opts.csum ?? checksum(h), 10);
  return ether(0x0800, Buffer.concat([h, payload]));
}

function pseudo(src: number[], dst: number[], proto: number, seg: Buffer): number {
  const p = Buffer.alloc(12);
  Buffer.from(src).copy(p, 0);
  Buffer.from(dst).copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(seg.length, 10);
  return checksum(Buffer.concat([p, seg]));
}

function tcp(
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  data = Buffer.alloc(0),
  good = true,
): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(8192, 14);
  const seg = Buffer.concat([t, data]);
  seg.writeUInt16BE(good ? pseudo(PEER_IP, OUR_IP, 6, seg) : 0x1234, 16);
  return seg;
}

function icmpEcho(id: number, seq: number, data: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([8, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255]), data]);
  m.writeUInt16BE(checksum(m), 2);
  return m;
}

/** The IP packet and transport segment of a frame we sent, checked for good checksums. */
function parseSent(f: Buffer): { ip: Buffer; l4: Buffer } {
  expect(f.readUInt16BE(12)).toBe(0x0800);
  const ip = f.subarray(14);
  const hl = (ip[0] & 15) * 4;
  expect(checksum(ip.subarray(0, hl))).toBe(0);
  const l4 = ip.subarray(hl, ip.readUInt16BE(2));
  return { ip, l4 };
}

const counter = (out: string, what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(out)?.[1]);

describe('the guest IPv4 stack, fed frames on this machine', () => {
  it('answers an ARP request for its address, and learns the asker', () => {
    const arp = Buffer.alloc(28);
    arp.writeUInt16BE(1, 0);
    arp.writeUInt16BE(0x0800, 2);
    arp[4] = 6;
    arp[5] = 4;
    arp.writeUInt16BE(1, 6);
    Buffer.from(PEER_MAC).copy(arp, 8);
    Buffer.from(PEER_IP).copy(arp, 14);
    Buffer.from(OUR_IP).copy(arp, 24);
    const { tx } = net([rx(ether(0x0806, arp, [255, 255, 255, 255, 255, 255]))]);
    expect(tx).toHaveLength(1);
    const r = tx[0];
    expect([...r.subarray(0, 6)]).toEqual(PEER_MAC);
    expect(r.readUInt16BE(12)).toBe(0x0806);
    expect(r.readUInt16BE(20)).toBe(2); // a reply
    expect([...r.subarray(22, 28)]).toEqual(OUR_MAC);
    expect([...r.subarray(28, 32)]).toEqual(OUR_IP);
    expect([...r.subarray(38, 42)]).toEqual(PEER_IP);
  });

  it('answers an echo request with the same identifier, sequence and data (after ARP resolves the peer)', () => {
    const data = Buffer.from('0123456789abcdef');
    const { tx } = net([rx(ipv4(1, icmpEcho(0x4242, 7, data)))]);
    // Not yet known: the reply waits while an ARP request goes out.
    expect(tx).toHaveLength(1);
    expect(tx[0].readUInt16BE(12)).toBe(0x0806);
    expect([...tx[0].subarray(38, 42)]).toEqual(PEER_IP);
    const arpReply = Buffer.alloc(28);
    arpReply.writeUInt16BE(1, 0);
    arpReply.writeUInt16BE(0x0800, 2);
    arpReply[4] = 6;
    arpReply[5] = 4;
    arpReply.writeUInt16BE(2, 6);
    Buffer.from(PEER_MAC).copy(arpReply, 8);
    Buffer.from(PEER_IP).copy(arpReply, 14);
    Buffer.from(OUR_MAC).copy(arpReply, 18);
    Buffer.from(OUR_IP).copy(arpReply, 24);
    const r = net([rx(ipv4(1, icmpEcho(0x4242, 7, data))), rx(ether(0x0806, arpReply))]);
    expect(r.tx).toHaveLength(2);
    const { l4 } = parseSent(r.tx[1]);
    expect([...r.tx[1].subarray(0, 6)]).toEqual(PEER_MAC);
    expect(l4[0]).toBe(0);
    expect(checksum(l4)).toBe(0);
    expect(l4.readUInt16BE(4)).toBe(0x4242);
    expect(l4.readUInt16BE(6)).toBe(7);
    expect(l4.subarray(8).toString()).toBe(data.toString());
  });

  it('drops zero-length, short, oversized-claim, bad-checksum, fragmented and bad-header frames, counting each', () => {
    const ping = icmpEcho(1, 1, Buffer.from('x'));
    const badIhl = ipv4(1, ping);
    badIhl[14] = 0x43; // header length 12 bytes
    const v6 = ipv4(1, ping);
    v6[14] = 0x65;
    const badIcmp = Buffer.from(ping);
    badIcmp[3] ^= 0xff;
    const { tx, out } = net([
      'rx',
      rx([1, 2, 3]),
      rx(Buffer.alloc(13, 0xff)),
      rx(ether(0x0800, Buffer.alloc(0))),
      rx(ether(0x0800, Buffer.alloc(10, 0x45))),
      rx(ipv4(1, ping, { total: 60 })), // claims more than the frame holds
      rx(ipv4(1, ping, { total: 10 })), // shorter than its own header
      rx(ipv4(1, ping, { csum: 0xbeef })),
      rx(ipv4(1, ping, { frag: 0x2000 })), // more fragments
      rx(ipv4(1, ping, { frag: 0x0010 })), // an offset
      rx(badIhl),
      rx(v6),
      rx(ipv4(1, badIcmp)),
      rx(ipv4(6, Buffer.alloc(8))), // a TCP header cut short
      rx(ipv4(17, Buffer.from([0, 1, 0, 2, 0, 200, 0, 0]))), // UDP length past the packet
      rx(ether(0x0806, Buffer.alloc(8))), // ARP cut short
      rx(ether(0x86dd, Buffer.alloc(40))), // a protocol we do not speak
    ]);
    expect(tx).toHaveLength(0);
    expect(counter(out, 'received')).toBe(17);
    expect(counter(out, 'bad ethernet/arp')).toBe(5);
    expect(counter(out, 'bad ip')).toBe(6);
    expect(counter(out, 'bad checksum')).toBe(2);
    expect(counter(out, 'fragments')).toBe(2);
    expect(counter(out, 'bad transport header')).toBe(2);
  });

  it('answers TCP to a closed port with RST (RST+ACK for a SYN), never a RST for a RST, and drops a bad checksum', () => {
    const { tx, out } = net([
      // Resolve the peer first, so replies leave at once.
      rx(ipv4(1, icmpEcho(1, 1, Buffer.alloc(0)))),
      rx(ether(0x0806, arpFrom())),
      rx(ipv4(6, tcp(40000, 81, 1000, 0, 0x02))), // SYN
      rx(ipv4(6, tcp(40000, 81, 2000, 5555, 0x10))), // a stray ACK
      rx(ipv4(6, tcp(40000, 81, 3000, 0, 0x04))), // RST: no answer
      rx(ipv4(6, tcp(40000, 81, 4000, 0, 0x02, Buffer.alloc(0), false))), // bad checksum
    ]);
    const tcpSent = tx.filter((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 6).map((f) => parseSent(f).l4);
    expect(tcpSent).toHaveLength(2);
    for (const seg of tcpSent) expect(pseudo(OUR_IP, PEER_IP, 6, seg)).toBe(0);
    expect(tcpSent[0][13]).toBe(0x14); // RST|ACK
    expect(tcpSent[0].readUInt32BE(8)).toBe(1001);
    expect(tcpSent[1][13]).toBe(0x04); // RST with seq = their ack
    expect(tcpSent[1].readUInt32BE(4)).toBe(5555);
    expect(counter(out, 'bad checksum')).toBe(1);
  });

  it('skips L4 checksums on a NOCSUM network (Linux peers leave them empty there)', () => {
    const { tx } = net(
      [rx(ether(0x0806, arpFrom())), rx(ipv4(6, tcp(40000, 81, 1, 0, 0x02, Buffer.alloc(0), false)))],
      1,
    );
    expect(tx.filter((f) => f[23] === 6)).toHaveLength(1);
  });

  it('answers UDP to a closed port with ICMP port unreachable quoting the datagram', () => {
    const udp = Buffer.from([0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 1, 2, 3, 4]);
    const { tx } = net([rx(ether(0x0806, arpFrom())), rx(ipv4(17, udp))]);
    const icmp = tx.filter((f) => f[23] === 1).map((f) => parseSent(f).l4);
    expect(icmp).toHaveLength(1);
    expect([icmp[0][0], icmp[0][1]]).toEqual([3, 3]);
    expect(checksum(icmp[0])).toBe(0);
    expect(icmp[0].subarray(8 + 20, 8 + 28).equals(udp.subarray(0, 8))).toBe(true);
  });

  it('a listener answers a SYN with SYN-ACK and its MSS, retransmits it on the timer, and takes the handshake', () => {
    const { tx, out } = net([
      'listen 80',
      rx(ether(0x0806, arpFrom())),
      rx(ipv4(6, tcp(40001, 80, 5000, 0, 0x02))),
      'tick 60', // past the first retransmission timeout (half a second)
    ]);
    expect(out).toContain('listen: 3');
    const segs = tx.filter((f) => f[23] === 6).map((f) => parseSent(f).l4);
    expect(segs.length).toBeGreaterThanOrEqual(2);
    for (const s of segs) {
      expect(s[13]).toBe(0x12); // SYN|ACK
      expect(s.readUInt32BE(8)).toBe(5001);
      expect(s.readUInt16BE(22)).toBe(1460); // the MSS option
      expect(pseudo(OUR_IP, PEER_IP, 6, s)).toBe(0);
    }
    const iss = segs[0].readUInt32BE(4);
    expect(segs[1].readUInt32BE(4)).toBe(iss);
    // Finish the handshake and send data: it is acknowledged, and the window shrinks by it.
    const r = net(['listen 80', rx(ether(0x0806, arpFrom())), rx(ipv4(6, tcp(40001, 80, 5000, 0, 0x02))), 'tick 1']);
    const synAck = r.tx.filter((f) => f[23] === 6).map((f) => parseSent(f).l4)[0];
    const ours = synAck.readUInt32BE(4);
    const data = Buffer.from('GET / HTTP/1.0\r\n\r\n');
    const r2 = net([
      'listen 80',
      rx(ether(0x0806, arpFrom())),
      rx(ipv4(6, tcp(40001, 80, 5000, 0, 0x02))),
      'tick 1',
      rx(ipv4(6, tcp(40001, 80, 5001, ours + 1, 0x10))),
      rx(ipv4(6, tcp(40001, 80, 5001, ours + 1, 0x18, data))),
    ]);
    const acks = r2.tx.filter((f) => f[23] === 6).map((f) => parseSent(f).l4);
    const last = acks[acks.length - 1];
    expect(last[13]).toBe(0x10);
    expect(last.readUInt32BE(8)).toBe(5001 + data.length);
    expect(last.readUInt16BE(14)).toBe(4096 - data.length);
    expect(r2.out).toContain('tcp 10.1.0.1:80 10.1.0.9:40001 ESTABLISHED');
  });

  it('survives 2000 frames of random bytes, and random damage to good ones', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const good = [
      ipv4(1, icmpEcho(1, 1, Buffer.alloc(32))),
      ipv4(6, tcp(40000, 80, 1, 0, 0x02)),
      ipv4(17, Buffer.from([0, 1, 0, 2, 0, 8, 0, 0])),
      ether(0x0806, arpFrom()),
    ];
    const lines = ['listen 80'];
    for (let i = 0; i < 1000; i++)
      lines.push(rx(Buffer.from(Array.from({ length: rand() % 1600 }, () => rand() & 255))));
    for (let i = 0; i < 1000; i++) {
      const f = Buffer.from(good[i % good.length]);
      for (let k = rand() % 4; k >= 0; k--) f[14 + (rand() % (f.length - 14))] = rand() & 255;
      lines.push(rx(f.subarray(0, f.length - (rand() % 3 === 0 ? rand() % f.length : 0))));
      if (i % 100 === 0) lines.push('tick 50');
    }
    const { out } = net(lines);
    expect(out).not.toContain('Kernel panic');
    expect(counter(out, 'received')).toBe(2000);
  });
});

/** An ARP reply from the peer to us: it resolves the peer's address. */
function arpFrom(): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0);
  a.writeUInt16BE(0x0800, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(2, 6);
  Buffer.from(PEER_MAC).copy(a, 8);
  Buffer.from(PEER_IP).copy(a, 14);
  Buffer.from(OUR_MAC).copy(a, 18);
  Buffer.from(OUR_IP).copy(a, 24);
  return a;
}
