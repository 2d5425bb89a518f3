// The bytes on the wire: big-endian fields, the Internet checksum, addresses as numbers, and
// the offsets of the headers this stack reads and writes. An Ethernet frame here is an
// untagged Ethernet II frame (no preamble, no FCS), 14 to 1514 bytes, exactly what one
// lguest_net buffer holds.

export const ETH_HLEN = 14;
export const ETH_FRAME_MAX = 1514;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const IP_HLEN = 20;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const UDP_HLEN = 8;
export const TCP_HLEN = 20;
/** The most TCP payload one frame carries: 1514 − 14 − 20 − 20. */
export const TCP_MSS = ETH_FRAME_MAX - ETH_HLEN - IP_HLEN - TCP_HLEN;

export function get16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function get32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** The one's-complement sum of [at, at+len), folded to 16 bits, added to `sum` (RFC 1071). */
export function sum16(b: Uint8Array, at: number, len: number, sum = 0): number {
  let i = at;
  const end = at + len;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum to store: the complement of the folded sum. */
export function checksum(b: Uint8Array, at: number, len: number, sum = 0): number {
  return ~sum16(b, at, len, sum) & 0xffff;
}

/** The TCP/UDP pseudo-header sum: source, destination, protocol, length (RFC 793, 768). */
export function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** "10.0.2.15" → 0x0a00020f; NaN if it is not a dotted quad. */
export function parseIp(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return NaN;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return NaN;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIp(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

export function formatMac(b: Uint8Array, at = 0): string {
  return Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Whether the MAC at `at` is the broadcast address or a multicast group. */
export function isMulticastMac(b: Uint8Array, at: number): boolean {
  return (b[at] & 1) !== 0;
}

/** Sequence-number comparisons modulo 2^32 (RFC 793 §3.3). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Copies `n` bytes from src[srcAt…] to dst[dstAt…] (which may be the same array) without
 * making a view of either: the data path copies ranges of preallocated buffers this way.
 */
export function copyBytes(dst: Uint8Array, dstAt: number, src: Uint8Array, srcAt: number, n: number): void {
  if (dst === src) {
    dst.copyWithin(dstAt, srcAt, srcAt + n);
    return;
  }
  for (let i = 0; i < n; i++) dst[dstAt + i] = src[srcAt + i];
}
