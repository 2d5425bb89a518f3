/*
 * A small IPv4 stack over the one Ethernet interface, and the sockets above it.
 *
 * - ARP (RFC 826): a 16-entry cache; a packet for an address not yet resolved waits in its
 *   entry (one per entry, the newest) while the request goes out, and leaves with the reply.
 * - IPv4 (RFC 791): checked before anything reads past it (version, header length, total
 *   length against the frame, header checksum); fragments are dropped; options are skipped.
 *   Addresses on our subnet go straight out; others go to the gateway (from `ip=`).
 * - ICMP (RFC 792): echo requests are answered; every ICMP message is also handed to the raw
 *   ICMP sockets (ping), IP header first, as Linux does.
 * - UDP (RFC 768): datagram sockets; a datagram to a closed port is answered with ICMP port
 *   unreachable.
 * - TCP (RFC 793): active and passive open, in-order delivery into a 4 KiB receive ring
 *   whose free space is the window we advertise, a 4 KiB send ring, MSS from the peer's SYN,
 *   the peer's window respected (a zero window is probed), retransmission on a timer that
 *   doubles (go-back-N from the oldest unacknowledged byte; the connection is reset after 8
 *   timeouts), FIN in both directions and TIME_WAIT, RST for segments to closed ports.
 *
 * Checksums are checked on input (the L4 ones not when the network promised NOCSUM, which
 * is lguest's guest-to-guest network: Linux peers then leave TCP and UDP checksums empty) and
 * always computed on output. Malformed frames are dropped and counted, never trusted.
 *
 * Everything runs with interrupts off: the receive interrupt calls net_rx, the tick calls
 * net_tick, and each system call disables interrupts around its work and sleeps on the
 * socket (sleep_on) until the interrupt side wakes it.
 */
#include <irq.h>
#include <mm.h>
#include <net.h>
#include <task.h>

int copy_from_user(void *dst, unsigned long src, unsigned long len);
int copy_to_user(unsigned long dst, const void *src, unsigned long len);

/* ---- byte order and checksums ---- */

static inline u16 rd16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static inline u32 rd32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static inline void wr16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static inline void wr32(u8 *p, u32 v) { p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }

static u32 csum_add(u32 sum, const u8 *p, unsigned int len)
{
	while (len > 1) {
		sum += rd16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (u32)p[0] << 8;
	return sum;
}

static u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (u16)~sum;
}

/* The TCP/UDP pseudo-header sum. */
static u32 csum_pseudo(u32 src, u32 dst, u8 proto, u16 len)
{
	return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + len;
}

/* Sequence-number comparisons (RFC 793 arithmetic modulo 2^32). */
#define SEQ_LT(a, b) ((int)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int)((a) - (b)) <= 0)

/* ---- the interface ---- */

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_HLEN 20
#define TCP_HLEN 20
#define UDP_HLEN 8

static struct {
	struct net_device *dev;
	u32 addr, mask, gw; /* host order; 0 while unset */
	int up;
	/* Drops by reason, for /proc/net. */
	unsigned long bad_eth, bad_ip, bad_csum, frags, not_ours, bad_l4, no_socket, arp_unresolved;
} ifc;

static const u8 bcast_mac[ETH_ALEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };

/* Frames are built here: Ethernet header at 0, IP at 14, the transport header at 34. With
 * interrupts off nothing else builds one at the same time. */
static u8 txbuf[ETH_FRAME_MAX] __attribute__((aligned(4)));
static u8 arpbuf[64] __attribute__((aligned(4)));
static u16 ip_ident;

static int xmit(const u8 *frame, unsigned int len)
{
	if (!ifc.dev || !ifc.up)
		return -1;
	ifc.dev->tx_frames++;
	return ifc.dev->xmit(frame, len);
}

/* ---- ARP ---- */

#define ARP_ENTRIES 16
#define ARP_RETRY_TICKS HZ

static struct arp_entry {
	u32 ip;
	u8 mac[ETH_ALEN];
	int resolved;
	unsigned long asked; /* jiffy of the last request */
	unsigned int pending_len; /* a waiting IP packet (header on), or 0 */
	u8 pending[ETH_MTU];
} arp_cache[ARP_ENTRIES];
static unsigned int arp_next_victim;

static void arp_send(u16 op, const u8 *tha, u32 tip)
{
	u8 *f = arpbuf;

	memcpy(f, op == 1 ? bcast_mac : tha, ETH_ALEN);
	memcpy(f + 6, ifc.dev->mac, ETH_ALEN);
	wr16(f + 12, ETH_P_ARP);
	wr16(f + 14, 1);       /* Ethernet */
	wr16(f + 16, ETH_P_IP);
	f[18] = ETH_ALEN;
	f[19] = 4;
	wr16(f + 20, op);
	memcpy(f + 22, ifc.dev->mac, ETH_ALEN);
	wr32(f + 28, ifc.addr);
	memcpy(f + 32, op == 1 ? (const u8 *)"\0\0\0\0\0\0" : tha, ETH_ALEN);
	wr32(f + 38, tip);
	memset(f + 42, 0, 18);
	xmit(f, 60);
}

static struct arp_entry *arp_find(u32 ip)
{
	for (unsigned int i = 0; i < ARP_ENTRIES; i++)
		if (arp_cache[i].ip == ip)
			return &arp_cache[i];
	return NULL;
}

static void send_frame_to(const u8 *mac, const u8 *ippkt, unsigned int iplen)
{
	/* The IP packet may already sit at txbuf + 14 (the usual case); else copy it there. */
	if (ippkt != txbuf + ETH_HLEN)
		memcpy(txbuf + ETH_HLEN, ippkt, iplen);
	memcpy(txbuf, mac, ETH_ALEN);
	memcpy(txbuf + 6, ifc.dev->mac, ETH_ALEN);
	wr16(txbuf + 12, ETH_P_IP);
	xmit(txbuf, ETH_HLEN + iplen);
}

/* Learns ip → mac; sends a packet that was waiting for it. */
static void arp_learn(u32 ip, const u8 *mac, int create)
{
	struct arp_entry *e = arp_find(ip);

	if (!e) {
		if (!create)
			return;
		e = &arp_cache[arp_next_victim++ % ARP_ENTRIES];
		e->ip = ip;
		e->pending_len = 0;
	}
	memcpy(e->mac, mac, ETH_ALEN);
	e->resolved = 1;
	if (e->pending_len) {
		unsigned int n = e->pending_len;
		e->pending_len = 0;
		send_frame_to(e->mac, e->pending, n);
	}
}

static void arp_input(const u8 *p, unsigned int len)
{
	u16 op;
	u32 sip, tip;

	if (len < 28 || rd16(p) != 1 || rd16(p + 2) != ETH_P_IP || p[4] != ETH_ALEN || p[5] != 4) {
		ifc.bad_eth++;
		return;
	}
	op = rd16(p + 6);
	sip = rd32(p + 14);
	tip = rd32(p + 24);
	if (!ifc.addr || !sip)
		return;
	/* Learn the sender if it asks us or we know it already (RFC 826's merge). */
	arp_learn(sip, p + 8, tip == ifc.addr);
	if (op == 1 && tip == ifc.addr)
		arp_send(2, p + 8, sip);
}

/* ---- IPv4 output ---- */

static int on_link(u32 dst)
{
	return ifc.mask && (dst & ifc.mask) == (ifc.addr & ifc.mask);
}

/* Sends the IP packet at txbuf + 14 (its header still to be filled): returns 0, or -errno. */
static int ip_output(u32 dst, u8 proto, unsigned int payload_len)
{
	u8 *ip = txbuf + ETH_HLEN;
	unsigned int total = IP_HLEN + payload_len;
	u32 hop;
	struct arp_entry *e;

	if (!ifc.dev || !ifc.up || !ifc.addr)
		return -ENETDOWN;
	ip[0] = 0x45;
	ip[1] = 0;
	wr16(ip + 2, (u16)total);
	wr16(ip + 4, ip_ident++);
	wr16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = 64;
	ip[9] = proto;
	wr16(ip + 10, 0);
	wr32(ip + 12, ifc.addr);
	wr32(ip + 16, dst);
	wr16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
	if (dst == 0xFFFFFFFFU || (ifc.mask && dst == (ifc.addr | ~ifc.mask))) {
		send_frame_to(bcast_mac, ip, total);
		return 0;
	}
	hop = on_link(dst) ? dst : ifc.gw;
	if (!hop)
		return -ENETUNREACH;
	e = arp_find(hop);
	if (e && e->resolved) {
		send_frame_to(e->mac, ip, total);
		return 0;
	}
	if (!e) {
		e = &arp_cache[arp_next_victim++ % ARP_ENTRIES];
		e->ip = hop;
		e->resolved = 0;
		e->asked = 0;
	}
	memcpy(e->pending, ip, total);
	e->pending_len = total;
	if (!e->asked || jiffies - e->asked >= ARP_RETRY_TICKS / 4) {
		e->asked = jiffies | 1;
		arp_send(1, NULL, hop);
	}
	ifc.arp_unresolved++;
	return 0; /* sent when the reply comes (or lost, as on a wire) */
}

/* ---- sockets ---- */

#define MAX_SOCKETS 24
#define RING_SIZE PAGE_SIZE
#define DGRAM_SLOTS 4
#define DGRAM_SLOT 2048 /* 8 bytes of header (length, address, port), then the data */
#define ACCEPT_MAX 4
#define TCP_MSS 1460
#define TCP_RTO_INIT (HZ / 2)
#define TCP_RTO_MAX (8 * HZ)
#define TCP_MAX_RETRIES 8
#define TIME_WAIT_TICKS (2 * HZ)
#define TCP_ORPHAN_LIMIT (60 * HZ)

enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

static const char *const tcp_state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT1",
	"FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

struct socket {
	int used;
	int refs;       /* open files that hold it; 0 for an orphan TCP connection finishing */
	int type, proto;
	u32 laddr, raddr;
	u16 lport, rport;
	int err;        /* an error to report once (-ECONNREFUSED, -ECONNRESET, -ETIMEDOUT) */
	int shut_rd, shut_wr;
	unsigned long rcvtimeo; /* ticks; 0 waits for ever */
	/* Receive: a byte ring (TCP) or DGRAM_SLOTS datagrams (UDP, raw). */
	u8 *rbuf;
	unsigned int rhead, rlen;
	unsigned int dhead, dcount;
	/* TCP */
	enum tcp_state state;
	u8 *sbuf;                 /* bytes from snd_una on, starting at shead */
	unsigned int shead, slen;
	u32 iss, snd_una, snd_nxt, snd_wnd, irs, rcv_nxt;
	u16 mss;
	int fin_queued, fin_sent, rcv_fin, probe;
	unsigned int last_wnd;    /* the window our last segment advertised */
	unsigned long rto, rtx_at; /* rtx_at: jiffy of the retransmission timeout, 0 if off */
	int retries;
	unsigned long linger_until; /* TIME_WAIT's end, or an orphan's limit */
	struct socket *parent;    /* a listener's connection not yet accepted */
	struct socket *acceptq[ACCEPT_MAX];
	int nacc, backlog;
};

static struct socket sockets[MAX_SOCKETS];
static u16 next_port = 49152;

static struct socket *sock_alloc(int type, int proto)
{
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->rbuf = try_alloc_page();
		if (!s->rbuf)
			return NULL;
		/* A stream's send ring, or a datagram socket's last two slots. */
		s->sbuf = try_alloc_page();
		if (!s->sbuf) {
			free_page(s->rbuf);
			return NULL;
		}
		s->used = 1;
		s->refs = 1;
		s->type = type;
		s->proto = proto;
		s->mss = 536;
		s->rto = TCP_RTO_INIT;
		return s;
	}
	return NULL;
}

static void sock_free(struct socket *s)
{
	if (s->rbuf)
		free_page(s->rbuf);
	if (s->sbuf)
		free_page(s->sbuf);
	memset(s, 0, sizeof(*s));
}

/* Datagram slot i: the first two in rbuf, the others in sbuf (a datagram socket sends
 * straight from the caller and needs no send ring). */
static u8 *dgram_slot(struct socket *s, unsigned int i)
{
	return (i < 2 ? s->rbuf : s->sbuf) + (i % 2) * DGRAM_SLOT;
}

static int port_in_use(int type, u16 port)
{
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (!s->used || s->type != type || s->lport != port)
			continue;
		/* A connection accepted from a listener shares its port. */
		if (type == SOCK_STREAM && (s->parent || s->state != TCP_LISTEN) && s->raddr)
			continue;
		return 1;
	}
	return 0;
}

static u16 ephemeral_port(int type)
{
	for (unsigned int tries = 0; tries < 16384; tries++) {
		u16 p = next_port++;
		if (next_port == 0)
			next_port = 49152;
		if (!port_in_use(type, p))
			return p;
	}
	return 0;
}

/* ---- TCP output ---- */

static unsigned int tcp_window(struct socket *s)
{
	if (s->state == TCP_LISTEN || !s->rbuf)
		return 0;
	return RING_SIZE - s->rlen;
}

/* Sends one segment: flags, seq, and len bytes of the send ring from offset off. */
static void tcp_send(struct socket *s, u8 flags, u32 seq, unsigned int off, unsigned int len)
{
	u8 *t = txbuf + ETH_HLEN + IP_HLEN;
	unsigned int hlen = TCP_HLEN + ((flags & 0x02) ? 4 : 0);
	unsigned int wnd = tcp_window(s);

	wr16(t, s->lport);
	wr16(t + 2, s->rport);
	wr32(t + 4, seq);
	wr32(t + 8, (flags & 0x10) ? s->rcv_nxt : 0);
	t[12] = (u8)((hlen / 4) << 4);
	t[13] = flags;
	wr16(t + 14, (u16)(wnd > 0xFFFF ? 0xFFFF : wnd));
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (flags & 0x02) {
		t[20] = 2; /* MSS */
		t[21] = 4;
		wr16(t + 22, TCP_MSS);
	}
	for (unsigned int i = 0; i < len; i++)
		t[hlen + i] = s->sbuf[(s->shead + off + i) % RING_SIZE];
	wr16(t + 16, csum_fold(csum_add(csum_pseudo(ifc.addr, s->raddr, IPPROTO_TCP, (u16)(hlen + len)), t,
					 hlen + len)));
	s->last_wnd = wnd;
	ip_output(s->raddr, IPPROTO_TCP, hlen + len);
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static void tcp_ack(struct socket *s)
{
	tcp_send(s, TH_ACK, s->snd_nxt, 0, 0);
}

/* A reset answering a segment (RFC 793's rules for a closed port). */
static void tcp_reset_reply(u32 src, u32 dst, const u8 *th, unsigned int seglen)
{
	u8 *t = txbuf + ETH_HLEN + IP_HLEN;
	u8 flags = th[13];

	if (flags & TH_RST)
		return;
	wr16(t, rd16(th + 2));
	wr16(t + 2, rd16(th));
	if (flags & TH_ACK) {
		wr32(t + 4, rd32(th + 8));
		wr32(t + 8, 0);
		t[13] = TH_RST;
	} else {
		wr32(t + 4, 0);
		wr32(t + 8, rd32(th + 4) + seglen);
		t[13] = TH_RST | TH_ACK;
	}
	t[12] = 5 << 4;
	wr16(t + 14, 0);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	wr16(t + 16, csum_fold(csum_add(csum_pseudo(dst, src, IPPROTO_TCP, TCP_HLEN), t, TCP_HLEN)));
	(void)dst;
	ip_output(src, IPPROTO_TCP, TCP_HLEN);
}

static void tcp_arm(struct socket *s)
{
	int outstanding = s->snd_nxt != s->snd_una;
	int blocked = s->slen > s->snd_nxt - s->snd_una && s->snd_wnd == 0 && s->state >= TCP_ESTABLISHED;

	if (outstanding || blocked) {
		if (!s->rtx_at)
			s->rtx_at = jiffies + s->rto;
	} else {
		s->rtx_at = 0;
	}
}

/* Sends what the window allows: new data from the ring, then the FIN once the data is out. */
static void tcp_output(struct socket *s)
{
	switch (s->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	for (;;) {
		unsigned int sent = s->snd_nxt - s->snd_una - (s->fin_sent ? 1 : 0);
		unsigned int wnd = s->snd_wnd ? s->snd_wnd : (s->probe ? 1 : 0);
		unsigned int n;
		if (s->fin_sent || sent >= s->slen)
			break;
		n = s->slen - sent;
		if (n > s->mss)
			n = s->mss;
		if (sent >= wnd)
			break;
		if (n > wnd - sent)
			n = wnd - sent;
		s->probe = 0;
		tcp_send(s, TH_ACK | (sent + n == s->slen ? TH_PSH : 0), s->snd_una + sent, sent, n);
		s->snd_nxt = s->snd_una + sent + n;
	}
	if (s->fin_queued && !s->fin_sent && s->snd_nxt - s->snd_una == s->slen) {
		tcp_send(s, TH_FIN | TH_ACK, s->snd_nxt, 0, 0);
		s->fin_sent = 1;
		s->snd_nxt++;
	}
	tcp_arm(s);
}

/* The connection is over: wake everyone; an orphan is freed, an open socket stays CLOSED. */
static void tcp_done(struct socket *s, int err)
{
	if (err && !s->err)
		s->err = err;
	s->state = TCP_CLOSED;
	s->rtx_at = 0;
	wakeup(s);
	if (s->parent) {
		/* Never accepted: take it out of its listener's queue. */
		struct socket *l = s->parent;
		for (int i = 0; i < l->nacc; i++)
			if (l->acceptq[i] == s) {
				for (int j = i; j + 1 < l->nacc; j++)
					l->acceptq[j] = l->acceptq[j + 1];
				l->nacc--;
				break;
			}
		sock_free(s);
		return;
	}
	if (!s->refs)
		sock_free(s);
}

static void tcp_retransmit_timeout(struct socket *s)
{
	s->rtx_at = 0;
	if (++s->retries > TCP_MAX_RETRIES) {
		if (s->state != TCP_SYN_SENT)
			tcp_send(s, TH_RST | TH_ACK, s->snd_nxt, 0, 0);
		tcp_done(s, -ETIMEDOUT);
		return;
	}
	s->rto = s->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : s->rto * 2;
	switch (s->state) {
	case TCP_SYN_SENT:
		tcp_send(s, TH_SYN, s->iss, 0, 0);
		break;
	case TCP_SYN_RCVD:
		tcp_send(s, TH_SYN | TH_ACK, s->iss, 0, 0);
		break;
	default:
		/* Go back to the oldest unacknowledged byte and send again. */
		if (s->snd_wnd == 0)
			s->probe = 1;
		s->snd_nxt = s->snd_una;
		s->fin_sent = 0;
		tcp_output(s);
		return;
	}
	s->rtx_at = jiffies + s->rto;
}

/* ---- TCP input ---- */

static struct socket *tcp_lookup(u32 src, u16 sport, u32 dst, u16 dport, int *listener)
{
	struct socket *l = NULL;

	*listener = 0;
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (!s->used || s->type != SOCK_STREAM || s->lport != dport)
			continue;
		if (s->state == TCP_LISTEN) {
			if (!s->laddr || s->laddr == dst)
				l = s;
			continue;
		}
		if (s->state != TCP_CLOSED && s->raddr == src && s->rport == sport)
			return s;
	}
	*listener = l != NULL;
	return l;
}

static void tcp_parse_mss(struct socket *s, const u8 *th, unsigned int hlen)
{
	unsigned int i = TCP_HLEN;
	u16 mss = 536;

	while (i < hlen) {
		u8 kind = th[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hlen || th[i + 1] < 2 || i + th[i + 1] > hlen)
			break;
		if (kind == 2 && th[i + 1] == 4)
			mss = rd16(th + i + 2);
		i += th[i + 1];
	}
	if (mss < 64)
		mss = 64;
	s->mss = mss > TCP_MSS ? TCP_MSS : mss;
}

static void tcp_new_connection(struct socket *l, u32 src, u32 dst, const u8 *th, unsigned int hlen)
{
	struct socket *c;

	if (l->nacc >= l->backlog || l->nacc >= ACCEPT_MAX)
		return; /* the queue is full: the SYN is dropped and comes again */
	c = sock_alloc(SOCK_STREAM, IPPROTO_TCP);
	if (!c)
		return;
	c->refs = 0;
	c->parent = l;
	c->laddr = dst;
	c->lport = l->lport;
	c->raddr = src;
	c->rport = rd16(th);
	c->irs = rd32(th + 4);
	c->rcv_nxt = c->irs + 1;
	c->snd_wnd = rd16(th + 14);
	tcp_parse_mss(c, th, hlen);
	c->iss = (u32)jiffies * 64000 + (u32)(c - sockets) * 0x10001;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->state = TCP_SYN_RCVD;
	l->acceptq[l->nacc++] = c;
	tcp_send(c, TH_SYN | TH_ACK, c->iss, 0, 0);
	c->rtx_at = jiffies + c->rto;
}

/* Copies up to n bytes into the receive ring; returns how many fit. */
static unsigned int ring_put(struct socket *s, const u8 *p, unsigned int n)
{
	unsigned int room = RING_SIZE - s->rlen;

	if (n > room)
		n = room;
	for (unsigned int i = 0; i < n; i++)
		s->rbuf[(s->rhead + s->rlen + i) % RING_SIZE] = p[i];
	s->rlen += n;
	return n;
}

static void tcp_input(u32 src, u32 dst, const u8 *th, unsigned int len)
{
	unsigned int hlen;
	u8 flags;
	u32 seq, ack;
	const u8 *data;
	unsigned int dlen;
	int is_listener;
	struct socket *s;

	if (len < TCP_HLEN || (hlen = (th[12] >> 4) * 4u) < TCP_HLEN || hlen > len) {
		ifc.bad_l4++;
		return;
	}
	if (!ifc.dev->nocsum &&
	    csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (u16)len), th, len)) != 0) {
		ifc.bad_csum++;
		return;
	}
	flags = th[13];
	seq = rd32(th + 4);
	ack = rd32(th + 8);
	data = th + hlen;
	dlen = len - hlen;
	s = tcp_lookup(src, rd16(th), dst, rd16(th + 2), &is_listener);
	if (!s) {
		ifc.no_socket++;
		tcp_reset_reply(src, dst, th, dlen + ((flags & TH_SYN) ? 1 : 0) + ((flags & TH_FIN) ? 1 : 0));
		return;
	}
	if (is_listener) {
		if (flags & TH_RST)
			return;
		if (flags & TH_ACK) {
			tcp_reset_reply(src, dst, th, dlen);
			return;
		}
		if (flags & TH_SYN)
			tcp_new_connection(s, src, dst, th, hlen);
		return;
	}
	if (s->state == TCP_SYN_SENT) {
		if ((flags & TH_ACK) && ack != s->iss + 1) {
			tcp_reset_reply(src, dst, th, dlen);
			return;
		}
		if (flags & TH_RST) {
			if (flags & TH_ACK)
				tcp_done(s, -ECONNREFUSED);
			return;
		}
		if ((flags & TH_SYN) && (flags & TH_ACK)) {
			s->irs = seq;
			s->rcv_nxt = seq + 1;
			s->snd_una = ack;
			s->snd_wnd = rd16(th + 14);
			tcp_parse_mss(s, th, hlen);
			s->state = TCP_ESTABLISHED;
			s->retries = 0;
			s->rto = TCP_RTO_INIT;
			s->rtx_at = 0;
			tcp_ack(s);
			wakeup(s);
		}
		return;
	}
	/* A synchronised connection. First the sequence check (a segment must start at or before
	 * rcv_nxt and reach into the window; old duplicates are acknowledged). */
	if (flags & TH_RST) {
		if (SEQ_LEQ(s->rcv_nxt, seq) && SEQ_LT(seq, s->rcv_nxt + tcp_window(s) + 1))
			tcp_done(s, s->state == TCP_SYN_RCVD ? -ECONNREFUSED : -ECONNRESET);
		return;
	}
	if (flags & TH_SYN) {
		/* Our SYN-ACK was lost (a retransmitted SYN), or a stray: answer with where we are. */
		if (s->state == TCP_SYN_RCVD && seq == s->irs)
			tcp_send(s, TH_SYN | TH_ACK, s->iss, 0, 0);
		else
			tcp_ack(s);
		return;
	}
	if (SEQ_LT(seq, s->rcv_nxt)) {
		unsigned int skip = s->rcv_nxt - seq;
		if (skip >= dlen + ((flags & TH_FIN) ? 1 : 0)) {
			dlen = 0;
			flags &= (u8)~TH_FIN;
			tcp_ack(s); /* a duplicate: say again where we are */
		} else {
			data += skip;
			dlen -= skip;
		}
		seq = s->rcv_nxt;
	} else if (seq != s->rcv_nxt) {
		tcp_ack(s); /* out of order: dropped, and the peer told what we wait for */
		dlen = 0;
		flags &= (u8)~TH_FIN;
	}
	if (!(flags & TH_ACK))
		return;
	/* The acknowledgement. */
	if (s->state == TCP_SYN_RCVD) {
		if (ack != s->iss + 1) {
			tcp_reset_reply(src, dst, th, dlen);
			return;
		}
		s->snd_una = ack;
		s->state = TCP_ESTABLISHED;
		s->retries = 0;
		s->rto = TCP_RTO_INIT;
		s->rtx_at = 0;
		if (s->parent)
			wakeup(s->parent);
	}
	if (SEQ_LT(s->snd_una, ack) && SEQ_LEQ(ack, s->snd_nxt)) {
		unsigned int acked = ack - s->snd_una;
		unsigned int bytes = acked > s->slen ? s->slen : acked;
		s->shead = (s->shead + bytes) % RING_SIZE;
		s->slen -= bytes;
		s->snd_una = ack;
		s->retries = 0;
		s->rto = TCP_RTO_INIT;
		s->rtx_at = 0;
		wakeup(s);
		if (s->fin_sent && ack == s->snd_nxt) {
			if (s->state == TCP_FIN_WAIT1)
				s->state = TCP_FIN_WAIT2;
			else if (s->state == TCP_CLOSING) {
				s->state = TCP_TIME_WAIT;
				s->linger_until = jiffies + TIME_WAIT_TICKS;
			} else if (s->state == TCP_LAST_ACK) {
				tcp_done(s, 0);
				return;
			}
		}
	}
	s->snd_wnd = rd16(th + 14);
	/* The data, in order, as much as the ring takes. */
	if (dlen || (flags & TH_FIN)) {
		unsigned int took = 0;
		if (s->state == TCP_ESTABLISHED || s->state == TCP_FIN_WAIT1 || s->state == TCP_FIN_WAIT2) {
			if (s->shut_rd || (!s->refs && !s->parent))
				took = dlen; /* nobody will read it: acknowledged and dropped */
			else
				took = ring_put(s, data, dlen);
			s->rcv_nxt += took;
			if (took)
				wakeup(s);
		}
		if ((flags & TH_FIN) && took == dlen && !s->rcv_fin) {
			s->rcv_nxt++;
			s->rcv_fin = 1;
			wakeup(s);
			switch (s->state) {
			case TCP_ESTABLISHED:
				s->state = TCP_CLOSE_WAIT;
				break;
			case TCP_FIN_WAIT1:
				s->state = TCP_CLOSING;
				break;
			case TCP_FIN_WAIT2:
				s->state = TCP_TIME_WAIT;
				s->linger_until = jiffies + TIME_WAIT_TICKS;
				break;
			default:
				break;
			}
		}
		tcp_ack(s);
	}
	tcp_output(s);
}

/* ---- UDP and ICMP input ---- */

/* Queues a datagram (its source address and port, then the bytes) on a datagram socket. */
static void dgram_queue(struct socket *s, u32 src, u16 sport, const u8 *p, unsigned int len)
{
	u8 *slot;

	if (s->dcount == DGRAM_SLOTS || len > DGRAM_SLOT - 8)
		return; /* full: dropped, as a busy Linux socket drops */
	slot = dgram_slot(s, (s->dhead + s->dcount) % DGRAM_SLOTS);
	wr16(slot, (u16)len);
	wr16(slot + 2, sport);
	wr32(slot + 4, src);
	memcpy(slot + 8, p, len);
	s->dcount++;
	wakeup(s);
}

static void icmp_send(u32 dst, u8 type, u8 code, u32 rest, const u8 *data, unsigned int len)
{
	u8 *m = txbuf + ETH_HLEN + IP_HLEN;

	if (len > ETH_MTU - IP_HLEN - 8)
		len = ETH_MTU - IP_HLEN - 8;
	m[0] = type;
	m[1] = code;
	wr16(m + 2, 0);
	wr32(m + 4, rest);
	memcpy(m + 8, data, len);
	wr16(m + 2, csum_fold(csum_add(0, m, 8 + len)));
	ip_output(dst, IPPROTO_ICMP, 8 + len);
}

static void udp_input(const u8 *ip, u32 src, u32 dst, const u8 *u, unsigned int len)
{
	unsigned int ulen;
	u16 dport;

	if (len < UDP_HLEN || (ulen = rd16(u + 4)) < UDP_HLEN || ulen > len) {
		ifc.bad_l4++;
		return;
	}
	if (!ifc.dev->nocsum && rd16(u + 6) &&
	    csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP, (u16)ulen), u, ulen)) != 0) {
		ifc.bad_csum++;
		return;
	}
	dport = rd16(u + 2);
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (!s->used || s->type != SOCK_DGRAM || s->lport != dport)
			continue;
		if (s->laddr && s->laddr != dst && dst != 0xFFFFFFFFU)
			continue;
		if (s->raddr && (s->raddr != src || s->rport != rd16(u)))
			continue;
		dgram_queue(s, src, rd16(u), u + UDP_HLEN, ulen - UDP_HLEN);
		return;
	}
	ifc.no_socket++;
	if (dst == ifc.addr) /* port unreachable, quoting the IP header and 8 bytes */
		icmp_send(src, 3, 3, 0, ip, IP_HLEN + 8);
}

static void icmp_input(const u8 *ip, unsigned int iplen, u32 src, const u8 *m, unsigned int len)
{
	if (len < 8 || csum_fold(csum_add(0, m, len)) != 0) {
		ifc.bad_csum++;
		return;
	}
	/* Every raw ICMP socket gets a copy, IP header and all. */
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (s->used && s->type == SOCK_RAW && s->proto == IPPROTO_ICMP)
			dgram_queue(s, src, 0, ip, iplen);
	}
	if (m[0] == 8 && m[1] == 0) /* echo request: the same identifier, sequence and data */
		icmp_send(src, 0, 0, rd32(m + 4), m + 8, len - 8);
}

/* ---- IPv4 input ---- */

static void ip_input(const u8 *ip, unsigned int len)
{
	unsigned int hlen, total;
	u32 src, dst;

	if (len < IP_HLEN || (ip[0] >> 4) != 4 || (hlen = (ip[0] & 0xF) * 4u) < IP_HLEN || hlen > len) {
		ifc.bad_ip++;
		return;
	}
	total = rd16(ip + 2);
	if (total < hlen || total > len) {
		ifc.bad_ip++;
		return;
	}
	if (csum_fold(csum_add(0, ip, hlen)) != 0) {
		ifc.bad_csum++;
		return;
	}
	if (rd16(ip + 6) & 0x3FFF) { /* more fragments, or an offset */
		ifc.frags++;
		return;
	}
	src = rd32(ip + 12);
	dst = rd32(ip + 16);
	if (!ifc.addr || (dst != ifc.addr && dst != 0xFFFFFFFFU && !(ifc.mask && dst == (ifc.addr | ~ifc.mask)))) {
		ifc.not_ours++;
		return;
	}
	switch (ip[9]) {
	case IPPROTO_ICMP:
		icmp_input(ip, total, src, ip + hlen, total - hlen);
		break;
	case IPPROTO_UDP:
		udp_input(ip, src, dst, ip + hlen, total - hlen);
		break;
	case IPPROTO_TCP:
		if (dst == ifc.addr)
			tcp_input(src, dst, ip + hlen, total - hlen);
		break;
	default:
		ifc.no_socket++;
	}
}

void net_rx(const u8 *frame, unsigned int len)
{
	if (!ifc.dev)
		return;
	ifc.dev->rx_frames++;
	if (!ifc.up)
		return;
	if (len < ETH_HLEN) {
		ifc.bad_eth++;
		return;
	}
	switch (rd16(frame + 12)) {
	case ETH_P_ARP:
		arp_input(frame + ETH_HLEN, len - ETH_HLEN);
		break;
	case ETH_P_IP:
		ip_input(frame + ETH_HLEN, len - ETH_HLEN);
		break;
	default:
		ifc.bad_eth++;
	}
}

void net_tick(void)
{
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (!s->used || s->type != SOCK_STREAM)
			continue;
		if (s->rtx_at && jiffies >= s->rtx_at)
			tcp_retransmit_timeout(s);
		else if (s->state == TCP_TIME_WAIT && jiffies >= s->linger_until)
			tcp_done(s, 0);
		else if (!s->refs && !s->parent && s->linger_until && jiffies >= s->linger_until)
			tcp_done(s, 0); /* an orphan the peer never finished with */
	}
	for (unsigned int i = 0; i < ARP_ENTRIES; i++) {
		struct arp_entry *e = &arp_cache[i];
		if (e->ip && !e->resolved && e->pending_len && jiffies - e->asked >= ARP_RETRY_TICKS) {
			e->asked = jiffies | 1;
			arp_send(1, NULL, e->ip);
		}
	}
}

/* ---- configuration: `ip=` on the command line ---- */

static int parse_ip(const char *p, const char **end, u32 *out)
{
	u32 v = 0;

	for (int part = 0; part < 4; part++) {
		u32 n = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			n = n * 10 + (u32)(*p++ - '0');
			digits++;
		}
		if (!digits || n > 255)
			return -1;
		v = v << 8 | n;
		if (part < 3 && *p++ != '.')
			return -1;
	}
	*end = p;
	*out = v;
	return 0;
}

static u32 default_mask(u32 addr)
{
	return addr >> 31 == 0 ? 0xFF000000U : addr >> 30 == 2 ? 0xFFFF0000U : 0xFFFFFF00U;
}

/* ip=ADDR[:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF], Linux's format; we use the
 * address, the gateway and the netmask. */
static void net_config_cmdline(void)
{
	const char *p = boot_info.cmdline, *q;
	u32 v;

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (memcmp(p, "ip=", 3) != 0) {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		p += 3;
		if (parse_ip(p, &q, &v) != 0 || (*q && *q != ' ' && *q != ':')) {
			printk("net: ip=%s: not an address (we take ip=ADDR[::GATEWAY:NETMASK], no dhcp)\n", p);
			return;
		}
		ifc.addr = v;
		ifc.mask = default_mask(v);
		for (int field = 1; *q == ':' && field <= 3; field++) {
			q++;
			if (*q == ':' || *q == ' ' || !*q)
				continue;
			if (parse_ip(q, &q, &v) != 0)
				break;
			if (field == 2)
				ifc.gw = v;
			else if (field == 3)
				ifc.mask = v;
		}
		return;
	}
}

static void ip_str(char *buf, u32 a)
{
	snprintf(buf, 16, "%u.%u.%u.%u", (unsigned int)(a >> 24), (unsigned int)(a >> 16 & 255),
		 (unsigned int)(a >> 8 & 255), (unsigned int)(a & 255));
}

void net_register(struct net_device *dev)
{
	char a[16], m[16], g[16];

	ifc.dev = dev;
	ifc.up = 1;
	net_config_cmdline();
	ip_str(a, ifc.addr);
	ip_str(m, ifc.mask);
	ip_str(g, ifc.gw);
	if (ifc.addr)
		printk("net: %s: %s netmask %s%s%s\n", dev->name, a, m, ifc.gw ? " gateway " : "", ifc.gw ? g : "");
	else
		printk("net: %s: no address (ip=ADDR on the command line, or ifconfig)\n", dev->name);
}

/* ---- the socket system calls ---- */

struct sockaddr_in_k {
	u16 family;
	u8 port[2];
	u8 addr[4];
	u8 zero[8];
};

static long get_addr(unsigned long uaddr, unsigned long ulen, u32 *addr, u16 *port)
{
	struct sockaddr_in_k sa;

	if (ulen < 8)
		return -EINVAL;
	if (copy_from_user(&sa, uaddr, 8))
		return -EFAULT;
	if (sa.family != AF_INET)
		return -EAFNOSUPPORT;
	*port = rd16(sa.port);
	*addr = rd32(sa.addr);
	return 0;
}

static long put_addr(unsigned long uaddr, unsigned long ulenp, u32 addr, u16 port)
{
	struct sockaddr_in_k sa;
	u32 len;

	if (!uaddr)
		return 0;
	if (copy_from_user(&len, ulenp, 4))
		return -EFAULT;
	memset(&sa, 0, sizeof(sa));
	sa.family = AF_INET;
	wr16(sa.port, port);
	wr32(sa.addr, addr);
	if (len > sizeof(sa))
		len = sizeof(sa);
	if (copy_to_user(uaddr, &sa, len))
		return -EFAULT;
	len = sizeof(sa);
	return copy_to_user(ulenp, &len, 4) ? -EFAULT : 0;
}

/* The socket behind fd, or NULL. */
struct socket *file_socket(struct task *t, u32 fd);

static int install_fd(struct socket *s)
{
	for (int fd = 3; fd < MAX_FDS; fd++) {
		struct file *f = &current->files[fd];
		if (f->open)
			continue;
		memset(f, 0, sizeof(*f));
		f->open = 1;
		f->sock = s;
		f->flags = O_RDWR;
		return fd;
	}
	return -EMFILE;
}

void sock_get(struct socket *s)
{
	s->refs++;
}

static void tcp_close(struct socket *s)
{
	switch (s->state) {
	case TCP_LISTEN:
		while (s->nacc) {
			struct socket *c = s->acceptq[0];
			tcp_send(c, TH_RST | TH_ACK, c->snd_nxt, 0, 0);
			tcp_done(c, 0);
		}
		sock_free(s);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		s->fin_queued = 1;
		s->state = s->state == TCP_ESTABLISHED ? TCP_FIN_WAIT1 : TCP_LAST_ACK;
		s->linger_until = jiffies + TCP_ORPHAN_LIMIT;
		tcp_output(s);
		return;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
		if (!s->linger_until)
			s->linger_until = jiffies + TCP_ORPHAN_LIMIT;
		return; /* finishing: freed when done */
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
	case TCP_CLOSED:
		sock_free(s);
		return;
	}
}

void sock_put(struct socket *s)
{
	unsigned long flags = local_irq_save();

	if (--s->refs <= 0) {
		s->refs = 0;
		if (s->type == SOCK_STREAM)
			tcp_close(s);
		else
			sock_free(s);
	}
	local_irq_restore(flags);
}

/* Sleeps on s until woken, a signal, or the receive timeout; interrupts are off. Returns 0,
 * -EINTR or -EAGAIN. */
static int sock_wait(struct socket *s, unsigned long deadline)
{
	if (signal_pending())
		return -EINTR;
	if (deadline && jiffies >= deadline)
		return -EAGAIN;
	current->wake_at = deadline;
	sleep_on(s);
	current->wake_at = 0;
	return 0;
}

static unsigned long deadline_of(struct socket *s)
{
	return s->rcvtimeo ? jiffies + s->rcvtimeo : 0;
}

static long sys_socket(int family, int type, int proto)
{
	struct socket *s;
	int fd;

	if (family != AF_INET)
		return -EAFNOSUPPORT;
	type &= 0xF;
	if (type == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP))
		proto = IPPROTO_TCP;
	else if (type == SOCK_DGRAM && (proto == 0 || proto == IPPROTO_UDP))
		proto = IPPROTO_UDP;
	else if (type == SOCK_RAW && proto == IPPROTO_ICMP)
		;
	else
		return type == SOCK_RAW || type == SOCK_STREAM || type == SOCK_DGRAM ? -EPROTONOSUPPORT : -EINVAL;
	local_irq_disable();
	s = sock_alloc(type, proto);
	local_irq_enable();
	if (!s)
		return -ENOBUFS;
	fd = install_fd(s);
	if (fd < 0)
		sock_put(s);
	return fd;
}

static long sys_bind(struct socket *s, unsigned long uaddr, unsigned long len)
{
	u32 addr;
	u16 port;
	long err = get_addr(uaddr, len, &addr, &port);

	if (err)
		return err;
	if (addr && addr != ifc.addr && addr != 0x7F000001U)
		return -EADDRNOTAVAIL;
	if (s->lport)
		return -EINVAL;
	local_irq_disable();
	if (port && port_in_use(s->type, port))
		err = -EADDRINUSE;
	else if (!port && s->type != SOCK_RAW && !(port = ephemeral_port(s->type)))
		err = -EADDRINUSE;
	if (!err) {
		s->laddr = addr == 0x7F000001U ? 0 : addr;
		s->lport = port;
	}
	local_irq_enable();
	return err;
}

static long sys_listen(struct socket *s, int backlog)
{
	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (s->state != TCP_CLOSED && s->state != TCP_LISTEN)
		return -EINVAL;
	local_irq_disable();
	if (!s->lport && !(s->lport = ephemeral_port(SOCK_STREAM))) {
		local_irq_enable();
		return -EADDRINUSE;
	}
	s->state = TCP_LISTEN;
	s->backlog = backlog < 1 ? 1 : backlog > ACCEPT_MAX ? ACCEPT_MAX : backlog;
	local_irq_enable();
	return 0;
}

static long sys_accept(struct socket *s, unsigned long uaddr, unsigned long ulenp)
{
	unsigned long deadline = deadline_of(s);
	struct socket *c = NULL;
	long err = 0;
	int fd;

	if (s->type != SOCK_STREAM || s->state != TCP_LISTEN)
		return -EINVAL;
	local_irq_disable();
	for (;;) {
		for (int i = 0; i < s->nacc; i++)
			if (s->acceptq[i]->state != TCP_SYN_RCVD) {
				c = s->acceptq[i];
				for (int j = i; j + 1 < s->nacc; j++)
					s->acceptq[j] = s->acceptq[j + 1];
				s->nacc--;
				break;
			}
		if (c || (err = sock_wait(s, deadline)))
			break;
		if (s->state != TCP_LISTEN) {
			err = -EINVAL;
			break;
		}
	}
	if (c) {
		c->parent = NULL;
		c->refs = 1;
	}
	local_irq_enable();
	if (err)
		return err;
	fd = install_fd(c);
	if (fd < 0) {
		sock_put(c);
		return fd;
	}
	if ((err = put_addr(uaddr, ulenp, c->raddr, c->rport)))
		return err;
	return fd;
}

static long sys_connect(struct socket *s, unsigned long uaddr, unsigned long len)
{
	u32 addr;
	u16 port;
	long err = get_addr(uaddr, len, &addr, &port);

	if (err)
		return err;
	if (addr == 0x7F000001U || addr == 0)
		addr = ifc.addr;
	if (s->type != SOCK_STREAM) {
		s->raddr = addr;
		s->rport = port;
		return 0;
	}
	if (s->state == TCP_ESTABLISHED || s->state == TCP_CLOSE_WAIT)
		return -EISCONN;
	if (s->state != TCP_CLOSED)
		return -EALREADY;
	if (!port)
		return -ECONNREFUSED;
	if (!ifc.addr)
		return -ENETUNREACH;
	if (addr == ifc.addr)
		return -ECONNREFUSED; /* no loopback device */
	if (!on_link(addr) && !ifc.gw)
		return -ENETUNREACH;
	local_irq_disable();
	if (!s->lport && !(s->lport = ephemeral_port(SOCK_STREAM))) {
		local_irq_enable();
		return -EADDRNOTAVAIL;
	}
	s->laddr = ifc.addr;
	s->raddr = addr;
	s->rport = port;
	s->iss = (u32)jiffies * 64000 + (u32)(s - sockets) * 0x10001 + s->lport;
	s->snd_una = s->iss;
	s->snd_nxt = s->iss + 1;
	s->state = TCP_SYN_SENT;
	s->err = 0;
	tcp_send(s, TH_SYN, s->iss, 0, 0);
	s->rtx_at = jiffies + s->rto;
	while (s->state == TCP_SYN_SENT) {
		if ((err = sock_wait(s, 0)))
			break;
	}
	if (!err && s->state != TCP_ESTABLISHED) {
		err = s->err ? s->err : -ECONNREFUSED;
		s->err = 0;
	}
	if (err == -EINTR && s->state == TCP_SYN_SENT) {
		s->state = TCP_CLOSED;
		s->rtx_at = 0;
	}
	local_irq_enable();
	return err;
}

/* TCP send: copies into the send ring as room appears, sending as it goes. */
static long tcp_sendmsg(struct socket *s, unsigned long buf, unsigned long len)
{
	unsigned long done = 0;
	long err = 0;

	local_irq_disable();
	while (done < len) {
		unsigned int room, n;
		if (s->err) {
			err = s->err;
			s->err = 0;
			break;
		}
		if (s->shut_wr || s->fin_queued || (s->state != TCP_ESTABLISHED && s->state != TCP_CLOSE_WAIT)) {
			err = s->state == TCP_SYN_SENT || (s->state == TCP_CLOSED && !s->raddr) ? -ENOTCONN : -EPIPE;
			break;
		}
		room = RING_SIZE - s->slen;
		if (!room) {
			if ((err = sock_wait(s, 0)))
				break;
			continue;
		}
		n = len - done < room ? len - done : room;
		for (unsigned int i = 0; i < n;) {
			unsigned int at = (s->shead + s->slen + i) % RING_SIZE;
			unsigned int chunk = RING_SIZE - at < n - i ? RING_SIZE - at : n - i;
			if (copy_from_user(s->sbuf + at, buf + done + i, chunk)) {
				err = -EFAULT;
				break;
			}
			i += chunk;
		}
		if (err)
			break;
		s->slen += n;
		done += n;
		tcp_output(s);
	}
	local_irq_enable();
	if (err == -EPIPE && !done)
		send_signal(current, SIGPIPE);
	return done ? (long)done : err;
}

static long tcp_recvmsg(struct socket *s, unsigned long buf, unsigned long len, int flags)
{
	unsigned long deadline = deadline_of(s);
	long err = 0;
	unsigned int n = 0, before;

	if (s->state == TCP_LISTEN || (s->state == TCP_CLOSED && !s->raddr && !s->err))
		return -ENOTCONN;
	local_irq_disable();
	while (!s->rlen) {
		if (s->err) {
			err = s->err;
			s->err = 0;
			break;
		}
		if (s->rcv_fin || s->shut_rd || s->state == TCP_CLOSED)
			break; /* end of file */
		if (flags & MSG_DONTWAIT) {
			err = -EAGAIN;
			break;
		}
		if ((err = sock_wait(s, deadline)))
			break;
	}
	if (!err && s->rlen) {
		n = s->rlen < len ? s->rlen : (unsigned int)len;
		for (unsigned int i = 0; i < n;) {
			unsigned int at = (s->rhead + i) % RING_SIZE;
			unsigned int chunk = RING_SIZE - at < n - i ? RING_SIZE - at : n - i;
			if (copy_to_user(buf + i, s->rbuf + at, chunk)) {
				err = -EFAULT;
				break;
			}
			i += chunk;
		}
		if (!err && !(flags & MSG_PEEK)) {
			before = s->last_wnd;
			s->rhead = (s->rhead + n) % RING_SIZE;
			s->rlen -= n;
			/* Tell the peer the window opened if it had (nearly) closed. */
			if (before < s->mss && tcp_window(s) >= s->mss && s->state >= TCP_ESTABLISHED &&
			    s->state != TCP_TIME_WAIT)
				tcp_ack(s);
		}
	}
	local_irq_enable();
	return err ? err : (long)n;
}

static long dgram_sendto(struct socket *s, unsigned long buf, unsigned long len, u32 addr, u16 port)
{
	u8 *p = txbuf + ETH_HLEN + IP_HLEN;
	unsigned int hdr = s->type == SOCK_DGRAM ? UDP_HLEN : 0;
	long err;

	if (len + hdr > ETH_MTU - IP_HLEN)
		return -EMSGSIZE;
	if (!ifc.addr)
		return -ENETUNREACH;
	if (addr == 0x7F000001U)
		addr = ifc.addr;
	if (s->type == SOCK_DGRAM && !s->lport) {
		local_irq_disable();
		s->lport = ephemeral_port(SOCK_DGRAM);
		local_irq_enable();
		if (!s->lport)
			return -EAGAIN;
	}
	if (addr != 0xFFFFFFFFU && !on_link(addr) && !ifc.gw)
		return -ENETUNREACH;
	local_irq_disable();
	if (copy_from_user(p + hdr, buf, len)) {
		local_irq_enable();
		return -EFAULT;
	}
	if (s->type == SOCK_DGRAM) {
		wr16(p, s->lport);
		wr16(p + 2, port);
		wr16(p + 4, (u16)(len + UDP_HLEN));
		wr16(p + 6, 0);
		u16 c = csum_fold(csum_add(csum_pseudo(ifc.addr, addr, IPPROTO_UDP, (u16)(len + UDP_HLEN)), p,
					   len + UDP_HLEN));
		wr16(p + 6, c ? c : 0xFFFF);
	}
	err = ip_output(addr, (u8)s->proto, len + hdr);
	local_irq_enable();
	return err ? err : (long)len;
}

static long dgram_recvfrom(struct socket *s, unsigned long buf, unsigned long len, int flags,
			   unsigned long uaddr, unsigned long ulenp)
{
	unsigned long deadline = deadline_of(s);
	long err = 0;
	unsigned int n = 0;
	u32 src = 0;
	u16 sport = 0;

	local_irq_disable();
	while (!s->dcount) {
		if (s->shut_rd)
			break;
		if (flags & MSG_DONTWAIT) {
			err = -EAGAIN;
			break;
		}
		if ((err = sock_wait(s, deadline)))
			break;
	}
	if (!err && s->dcount) {
		u8 *slot = dgram_slot(s, s->dhead);
		n = rd16(slot);
		sport = rd16(slot + 2);
		src = rd32(slot + 4);
		if (n > len)
			n = len; /* the rest of the datagram is lost, as in Linux */
		if (copy_to_user(buf, slot + 8, n))
			err = -EFAULT;
		else if (!(flags & MSG_PEEK)) {
			s->dhead = (s->dhead + 1) % DGRAM_SLOTS;
			s->dcount--;
		}
	}
	local_irq_enable();
	if (err)
		return err;
	if ((err = put_addr(uaddr, ulenp, src, sport)))
		return err;
	return n;
}

static long sys_sendto(struct socket *s, unsigned long buf, unsigned long len, unsigned long uaddr,
		       unsigned long alen)
{
	u32 addr = s->raddr;
	u16 port = s->rport;
	long err;

	if (s->type == SOCK_STREAM)
		return tcp_sendmsg(s, buf, len);
	if (uaddr && (err = get_addr(uaddr, alen, &addr, &port)))
		return err;
	if (!addr)
		return -EDESTADDRREQ;
	return dgram_sendto(s, buf, len, addr, port);
}

static long sys_recvfrom(struct socket *s, unsigned long buf, unsigned long len, int flags, unsigned long uaddr,
			 unsigned long ulenp)
{
	if (s->type == SOCK_STREAM) {
		long n = tcp_recvmsg(s, buf, len, flags);
		if (n >= 0 && uaddr) {
			long err = put_addr(uaddr, ulenp, s->raddr, s->rport);
			if (err)
				return err;
		}
		return n;
	}
	return dgram_recvfrom(s, buf, len, flags, uaddr, ulenp);
}

static long sys_shutdown(struct socket *s, int how)
{
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	if (s->type == SOCK_STREAM && s->state != TCP_ESTABLISHED && s->state != TCP_CLOSE_WAIT &&
	    s->state != TCP_FIN_WAIT1 && s->state != TCP_FIN_WAIT2)
		return -ENOTCONN;
	local_irq_disable();
	if (how != SHUT_WR) {
		s->shut_rd = 1;
		wakeup(s);
	}
	if (how != SHUT_RD && !s->shut_wr) {
		s->shut_wr = 1;
		if (s->type == SOCK_STREAM && (s->state == TCP_ESTABLISHED || s->state == TCP_CLOSE_WAIT)) {
			s->fin_queued = 1;
			s->state = s->state == TCP_ESTABLISHED ? TCP_FIN_WAIT1 : TCP_LAST_ACK;
			tcp_output(s);
		}
	}
	local_irq_enable();
	return 0;
}

static long sys_setsockopt(struct socket *s, int level, int name, unsigned long val, unsigned long len)
{
	u32 tv[2];

	if (level != SOL_SOCKET)
		return level == IPPROTO_TCP || level == IPPROTO_IP ? 0 : -ENOPROTOOPT;
	switch (name) {
	case SO_REUSEADDR:
	case SO_BROADCAST:
	case SO_SNDTIMEO:
		return 0; /* a port is free once its listener closes; broadcasts are allowed */
	case SO_RCVTIMEO:
		if (len < 8)
			return -EINVAL;
		if (copy_from_user(tv, val, 8))
			return -EFAULT;
		if (tv[1] >= 1000000)
			return -EINVAL;
		s->rcvtimeo = tv[0] * HZ + (tv[1] + 9999) / 10000;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static long sys_getsockopt(struct socket *s, int level, int name, unsigned long val, unsigned long ulenp)
{
	u32 len, v;

	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	if (copy_from_user(&len, ulenp, 4))
		return -EFAULT;
	switch (name) {
	case SO_TYPE:
		v = (u32)s->type;
		break;
	case SO_ERROR:
		v = (u32)-s->err;
		s->err = 0;
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < 4)
		return -EINVAL;
	len = 4;
	if (copy_to_user(val, &v, 4) || copy_to_user(ulenp, &len, 4))
		return -EFAULT;
	return 0;
}

long sys_socketcall(int call, unsigned long uargs)
{
	static const u8 nargs[16] = { 0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5 };
	u32 a[6];
	struct socket *s;

	if (call < 1 || call > 15 || call == 8)
		return call == 8 ? -EOPNOTSUPP : -EINVAL;
	if (copy_from_user(a, uargs, nargs[call] * 4))
		return -EFAULT;
	if (call == SOCKOP_socket)
		return sys_socket((int)a[0], (int)a[1], (int)a[2]);
	s = file_socket(current, a[0]);
	if (!s)
		return a[0] < MAX_FDS && (a[0] < 3 || current->files[a[0]].open) ? -ENOTSOCK : -EBADF;
	switch (call) {
	case SOCKOP_bind:
		return sys_bind(s, a[1], a[2]);
	case SOCKOP_connect:
		return sys_connect(s, a[1], a[2]);
	case SOCKOP_listen:
		return sys_listen(s, (int)a[1]);
	case SOCKOP_accept:
		return sys_accept(s, a[1], a[2]);
	case SOCKOP_getsockname:
		return put_addr(a[1], a[2], s->laddr ? s->laddr : ifc.addr, s->lport);
	case SOCKOP_getpeername:
		if (!s->raddr)
			return -ENOTCONN;
		return put_addr(a[1], a[2], s->raddr, s->rport);
	case SOCKOP_send:
		return sys_sendto(s, a[1], a[2], 0, 0);
	case SOCKOP_recv:
		return sys_recvfrom(s, a[1], a[2], (int)a[3], 0, 0);
	case SOCKOP_sendto:
		return sys_sendto(s, a[1], a[2], a[4], a[5]);
	case SOCKOP_recvfrom:
		return sys_recvfrom(s, a[1], a[2], (int)a[3], a[4], a[5]);
	case SOCKOP_shutdown:
		return sys_shutdown(s, (int)a[1]);
	case SOCKOP_setsockopt:
		return sys_setsockopt(s, (int)a[1], (int)a[2], a[3], a[4]);
	case SOCKOP_getsockopt:
		return sys_getsockopt(s, (int)a[1], (int)a[2], a[3], a[4]);
	default:
		return -EINVAL;
	}
}

long sock_read(struct socket *s, unsigned long buf, unsigned long len)
{
	return sys_recvfrom(s, buf, len, 0, 0, 0);
}

long sock_write(struct socket *s, unsigned long buf, unsigned long len)
{
	return sys_sendto(s, buf, len, 0, 0);
}

/* ---- the interface ioctls (ifconfig) ---- */

long sock_ioctl(struct socket *s, u32 request, unsigned long arg)
{
	u8 ifr[32];
	u32 v;
	u16 fam;

	(void)s;
	if (request < 0x8900 || request > 0x89FF)
		return -ENOTTY;
	if (copy_from_user(ifr, arg, sizeof(ifr)))
		return -EFAULT;
	ifr[IFNAMSIZ - 1] = 0;
	if (!ifc.dev || strcmp((const char *)ifr, ifc.dev->name) != 0)
		return -ENODEV;
	memcpy(&fam, ifr + 16, 2);
	switch (request) {
	case SIOCGIFFLAGS: {
		u16 fl = (ifc.up ? IFF_UP | IFF_RUNNING : 0) | IFF_BROADCAST | IFF_MULTICAST;
		memcpy(ifr + 16, &fl, 2);
		break;
	}
	case SIOCSIFFLAGS: {
		u16 fl;
		memcpy(&fl, ifr + 16, 2);
		local_irq_disable();
		ifc.up = !!(fl & IFF_UP);
		local_irq_enable();
		return 0;
	}
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
		v = request == SIOCGIFADDR ? ifc.addr : ifc.mask;
		memset(ifr + 16, 0, 16);
		fam = AF_INET;
		memcpy(ifr + 16, &fam, 2);
		wr32(ifr + 20, v);
		break;
	case SIOCSIFADDR:
	case SIOCSIFNETMASK:
		if (fam != AF_INET)
			return -EINVAL;
		v = rd32(ifr + 20);
		local_irq_disable();
		if (request == SIOCSIFADDR) {
			ifc.addr = v;
			ifc.mask = v ? default_mask(v) : 0;
			memset(arp_cache, 0, sizeof(arp_cache));
		} else {
			ifc.mask = v;
		}
		local_irq_enable();
		return 0;
	case SIOCGIFHWADDR:
		memset(ifr + 16, 0, 16);
		fam = ARPHRD_ETHER;
		memcpy(ifr + 16, &fam, 2);
		memcpy(ifr + 18, ifc.dev->mac, ETH_ALEN);
		break;
	default:
		return -EINVAL;
	}
	return copy_to_user(arg, ifr, sizeof(ifr)) ? -EFAULT : 0;
}

/* ---- /proc/net ---- */

void net_proc(void)
{
	char a[16], m[16], g[16];

	if (!ifc.dev) {
		cprintf("no network device\n");
		return;
	}
	ip_str(a, ifc.addr);
	ip_str(m, ifc.mask);
	ip_str(g, ifc.gw);
	cprintf("%s: %02x:%02x:%02x:%02x:%02x:%02x %s addr %s netmask %s gateway %s\n", ifc.dev->name,
		ifc.dev->mac[0], ifc.dev->mac[1], ifc.dev->mac[2], ifc.dev->mac[3], ifc.dev->mac[4],
		ifc.dev->mac[5], ifc.up ? "up" : "down", a, m, g);
	cprintf("frames: %u received, %u sent, %u dropped by the driver, %u unsent\n",
		(unsigned int)ifc.dev->rx_frames, (unsigned int)ifc.dev->tx_frames,
		(unsigned int)ifc.dev->rx_dropped, (unsigned int)ifc.dev->tx_dropped);
	cprintf("dropped: %u bad ethernet/arp, %u bad ip, %u bad checksum, %u fragments, %u not ours, "
		"%u bad transport header, %u no socket\n",
		(unsigned int)ifc.bad_eth, (unsigned int)ifc.bad_ip, (unsigned int)ifc.bad_csum,
		(unsigned int)ifc.frags, (unsigned int)ifc.not_ours, (unsigned int)ifc.bad_l4,
		(unsigned int)ifc.no_socket);
	for (unsigned int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = &sockets[i];
		if (!s->used)
			continue;
		ip_str(a, s->laddr);
		ip_str(m, s->raddr);
		cprintf("%s %s:%u %s:%u %s\n", s->type == SOCK_STREAM ? "tcp" : s->type == SOCK_DGRAM ? "udp" : "raw",
			a, s->lport, m, s->rport, s->type == SOCK_STREAM ? tcp_state_names[s->state] : "");
	}
}
