// DHCP, the server half (RFC 2131, options of RFC 2132): the guest broadcasts DISCOVER, we
// OFFER it its one address; it REQUESTs it, we ACK. There is one client and one address, so
// there is no pool and no lease book-keeping: the answer depends only on the message.

import type { UserNetConfig } from './stack';
import { get32, put16, put32 } from './wire';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC = 0x63825363;
/** The fixed part of a BOOTP message, before the magic cookie and options. */
export const BOOTP_FIXED = 236;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPACK = 5;
export const DHCPNAK = 6;

const OPT_SUBNET = 1;
const OPT_ROUTER = 3;
const OPT_DNS = 6;
const OPT_REQUESTED_IP = 50;
const OPT_LEASE = 51;
const OPT_MSG_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_END = 255;
const LEASE_SECONDS = 86400;

/** The options of a message as (code → [offset, length]) within `msg`; null if malformed. */
export function dhcpOptions(msg: Uint8Array): Map<number, [number, number]> | null {
  if (msg.length < BOOTP_FIXED + 4 || get32(msg, BOOTP_FIXED) !== DHCP_MAGIC) return null;
  const opts = new Map<number, [number, number]>();
  let i = BOOTP_FIXED + 4;
  while (i < msg.length) {
    const code = msg[i];
    if (code === OPT_END) return opts;
    if (code === 0) {
      i++;
      continue;
    }
    if (i + 1 >= msg.length || i + 2 + msg[i + 1] > msg.length) return null;
    opts.set(code, [i + 2, msg[i + 1]]);
    i += 2 + msg[i + 1];
  }
  return opts;
}

/**
 * The reply to a client's message, written into `out`; its length, or 0 when there is
 * nothing to answer (not a BOOTREQUEST, malformed, not DISCOVER or REQUEST).
 */
export function dhcpReply(msg: Uint8Array, c: UserNetConfig, out: Uint8Array): number {
  if (msg[0] !== 1 || msg[1] !== 1 || msg[2] !== 6) return 0; // BOOTREQUEST, Ethernet
  const opts = dhcpOptions(msg);
  const type = opts?.get(OPT_MSG_TYPE);
  if (!opts || !type || type[1] !== 1) return 0;
  let reply: number;
  switch (msg[type[0]]) {
    case DHCPDISCOVER:
      reply = DHCPOFFER;
      break;
    case DHCPREQUEST: {
      const asked = opts.get(OPT_REQUESTED_IP);
      const wanted = asked && asked[1] === 4 ? get32(msg, asked[0]) : get32(msg, 12); // or ciaddr
      reply = wanted === c.guest ? DHCPACK : DHCPNAK;
      break;
    }
    default:
      return 0;
  }
  if (out.length < 300) return 0;
  out.fill(0, 0, 300);
  out[0] = 2; // BOOTREPLY
  out[1] = 1;
  out[2] = 6;
  out.set(msg.subarray(4, 8), 4); // xid
  put16(out, 10, 0x8000); // broadcast: the client has no address yet
  if (reply !== DHCPNAK) put32(out, 16, c.guest); // yiaddr
  put32(out, 20, c.gateway); // siaddr
  out.set(msg.subarray(28, 44), 28); // chaddr
  put32(out, BOOTP_FIXED, DHCP_MAGIC);
  let i = BOOTP_FIXED + 4;
  const opt = (code: number, bytes: number[]) => {
    out[i++] = code;
    out[i++] = bytes.length;
    for (const b of bytes) out[i++] = b;
  };
  const ip = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  opt(OPT_MSG_TYPE, [reply]);
  opt(OPT_SERVER_ID, ip(c.gateway));
  if (reply !== DHCPNAK) {
    opt(OPT_LEASE, ip(LEASE_SECONDS));
    opt(OPT_SUBNET, ip(c.mask));
    opt(OPT_ROUTER, ip(c.gateway));
    opt(OPT_DNS, ip(c.dns));
  }
  out[i++] = OPT_END;
  return Math.max(i, 300); // BOOTP's minimum message size
}
