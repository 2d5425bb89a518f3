/*
 * lgnet: a small static network tool for the Linux guest, built with the workspace's i386
 * toolchain (no libc: Linux i386 system calls through int $0x80, sockets through
 * socketcall). The tests put it into an initramfs next to klibc's shell; the same binary is
 * what a user runs to see guests talk.
 *
 *   lgnet ping ADDR [COUNT]          ICMP echo over a raw socket; 0 if every echo came back
 *   lgnet serve PORT [COUNT]         TCP server: an HTTP GET gets a page with a counter,
 *                                    anything else is answered "echo: " + what came
 *   lgnet get ADDR PORT TEXT         TCP client: send TEXT (\n and \r understood), print reply
 *   lgnet udp ADDR PORT TEXT         send one datagram, print the reply
 *   lgnet udpserve PORT [COUNT]      answer datagrams with "echo: " + what came
 *   lgnet sink PORT                  TCP server that counts what it is sent, prints the total
 *   lgnet blast ADDR PORT KBYTES     TCP client that sends KBYTES KiB of zeros
 *   lgnet rawsend COUNT              COUNT broadcast Ethernet frames of 1514 bytes on eth0
 *                                    (a packet socket, EtherType 0x88b5), then end markers
 *   lgnet rawcount                   counts those frames until an end marker, times them
 */

#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_close 6
#define SYS_socketcall 102
#define SYS_nanosleep 162
#define SYS_gettimeofday 78

#define SC_SOCKET 1
#define SC_BIND 2
#define SC_CONNECT 3
#define SC_LISTEN 4
#define SC_ACCEPT 5
#define SC_SEND 9
#define SC_RECV 10
#define SC_SENDTO 11
#define SC_RECVFROM 12
#define SC_SHUTDOWN 13
#define SC_SETSOCKOPT 14

#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define IPPROTO_ICMP 1
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_RCVTIMEO 20

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

struct sockaddr_in {
	u16 family;
	u16 port; /* network order */
	u32 addr; /* network order */
	u8 zero[8];
};

struct timeval {
	long sec;
	long usec;
};

static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static long socketcall(int call, long *args)
{
	return sys3(SYS_socketcall, call, (long)args, 0);
}

static long sock(int type, int proto)
{
	long a[3] = { AF_INET, type, proto };
	return socketcall(SC_SOCKET, a);
}

static unsigned long slen(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(SYS_write, 1, (long)s, slen(s));
}

static void outnum(unsigned long v)
{
	char b[12];
	int i = 11;
	b[i] = 0;
	do {
		b[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	out(b + i);
}

static void fail(const char *what, long err)
{
	out("lgnet: ");
	out(what);
	out(" failed: error ");
	outnum(-err);
	out("\n");
	sys3(SYS_exit, 1, 0, 0);
}

static unsigned long num(const char *s)
{
	unsigned long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static u16 htons(u16 v)
{
	return (u16)((v >> 8) | (v << 8));
}

/* "a.b.c.d" in network order; 0 if it is not one. */
static u32 parse_ip(const char *s)
{
	u32 ip = 0;
	for (int i = 0; i < 4; i++) {
		unsigned long part = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			part = part * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits || part > 255 || (i < 3 && *s++ != '.'))
			return 0;
		ip |= (u32)part << (8 * i);
	}
	return *s ? 0 : ip;
}

static void addr_of(struct sockaddr_in *sa, const char *ip, unsigned long port)
{
	u8 *p = (u8 *)sa;
	for (unsigned i = 0; i < sizeof(*sa); i++)
		p[i] = 0;
	sa->family = AF_INET;
	sa->port = htons((u16)port);
	sa->addr = ip ? parse_ip(ip) : 0;
	if (ip && !sa->addr)
		fail("parsing the address", -22);
}

static void set_timeout(long fd, long seconds)
{
	struct timeval tv = { seconds, 0 };
	long a[5] = { fd, SOL_SOCKET, SO_RCVTIMEO, (long)&tv, sizeof(tv) };
	socketcall(SC_SETSOCKOPT, a);
}

/* Unescape \n and \r in place. */
static unsigned long unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == 'n') {
			*w++ = '\n';
			r++;
		} else if (r[0] == '\\' && r[1] == 'r') {
			*w++ = '\r';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return (unsigned long)(w - s);
}

static u16 checksum(const u8 *p, int len)
{
	u32 sum = 0;
	for (int i = 0; i + 1 < len; i += 2)
		sum += (u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (u32)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)~sum;
}

static int ping(const char *ip, unsigned long count)
{
	long fd = sock(SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		fail("socket(SOCK_RAW, IPPROTO_ICMP)", fd);
	set_timeout(fd, 2);
	struct sockaddr_in to;
	addr_of(&to, ip, 0);
	unsigned long replies = 0;
	for (unsigned long seq = 1; seq <= count; seq++) {
		u8 pkt[64];
		for (int i = 0; i < 64; i++)
			pkt[i] = (u8)i;
		pkt[0] = 8; /* echo request */
		pkt[1] = 0;
		pkt[2] = pkt[3] = 0;
		pkt[4] = 0x4c; /* identifier "LG" */
		pkt[5] = 0x47;
		pkt[6] = (u8)(seq >> 8);
		pkt[7] = (u8)seq;
		u16 c = checksum(pkt, 64);
		pkt[2] = (u8)(c >> 8);
		pkt[3] = (u8)c;
		long a[6] = { fd, (long)pkt, 64, 0, (long)&to, sizeof(to) };
		long r = socketcall(SC_SENDTO, a);
		if (r < 0)
			fail("sendto", r);
		for (;;) {
			u8 in[128];
			long b[6] = { fd, (long)in, sizeof(in), 0, 0, 0 };
			r = socketcall(SC_RECVFROM, b);
			if (r < 0)
				break;
			int ihl = (in[0] & 15) * 4;
			u8 *icmp = in + ihl;
			if (r < ihl + 8 || icmp[0] != 0 || icmp[4] != 0x4c || icmp[5] != 0x47)
				continue;
			if (((unsigned long)icmp[6] << 8 | icmp[7]) != seq)
				continue;
			out("64 bytes from ");
			out(ip);
			out(": icmp_seq=");
			outnum(seq);
			out(" ttl=");
			outnum(in[8]);
			out("\n");
			replies++;
			break;
		}
	}
	out("ping ");
	out(ip);
	out(": ");
	outnum(count);
	out(" sent, ");
	outnum(replies);
	out(" received\n");
	sys3(SYS_close, fd, 0, 0);
	return replies == count ? 0 : 1;
}

static long listen_on(int type, unsigned long port)
{
	long fd = sock(type, 0);
	if (fd < 0)
		fail("socket", fd);
	long one = 1;
	long o[5] = { fd, SOL_SOCKET, SO_REUSEADDR, (long)&one, sizeof(one) };
	socketcall(SC_SETSOCKOPT, o);
	struct sockaddr_in sa;
	addr_of(&sa, 0, port);
	long a[3] = { fd, (long)&sa, sizeof(sa) };
	long r = socketcall(SC_BIND, a);
	if (r < 0)
		fail("bind", r);
	if (type == SOCK_STREAM) {
		long l[2] = { fd, 8 };
		r = socketcall(SC_LISTEN, l);
		if (r < 0)
			fail("listen", r);
	}
	out("lgnet: listening on port ");
	outnum(port);
	out("\n");
	return fd;
}

static long writeall(long fd, const char *p, unsigned long n)
{
	while (n) {
		long r = sys3(SYS_write, fd, (long)p, n);
		if (r <= 0)
			return r;
		p += r;
		n -= (unsigned long)r;
	}
	return 0;
}

static char buf[8192];

static int serve(unsigned long port, unsigned long count)
{
	long fd = listen_on(SOCK_STREAM, port);
	for (unsigned long served = 1; !count || served <= count; served++) {
		long a[3] = { fd, 0, 0 };
		long c = socketcall(SC_ACCEPT, a);
		if (c < 0)
			fail("accept", c);
		long n = sys3(SYS_read, c, (long)buf, sizeof(buf) - 1);
		if (n < 0)
			n = 0;
		buf[n] = 0;
		if (n >= 4 && buf[0] == 'G' && buf[1] == 'E' && buf[2] == 'T' && buf[3] == ' ') {
			static char body[128];
			char *w = body;
			const char *t = "<h1>hello from the lguest guest</h1>\n<p>request ";
			while (*t)
				*w++ = *t++;
			char d[12];
			int i = 11;
			unsigned long v = served;
			d[i] = 0;
			do {
				d[--i] = '0' + v % 10;
				v /= 10;
			} while (v);
			for (t = d + i; *t;)
				*w++ = *t++;
			t = "</p>\n";
			while (*t)
				*w++ = *t++;
			*w = 0;
			const char *head = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n";
			writeall(c, head, slen(head));
			writeall(c, body, slen(body));
		} else {
			writeall(c, "echo: ", 6);
			writeall(c, buf, (unsigned long)n);
		}
		out("lgnet: served request ");
		outnum(served);
		out("\n");
		sys3(SYS_close, c, 0, 0);
	}
	return 0;
}

static long connect_to(const char *ip, unsigned long port)
{
	long fd = sock(SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket", fd);
	struct sockaddr_in sa;
	addr_of(&sa, ip, port);
	long a[3] = { fd, (long)&sa, sizeof(sa) };
	long r = socketcall(SC_CONNECT, a);
	if (r < 0)
		fail("connect", r);
	return fd;
}

static int get(const char *ip, unsigned long port, char *text)
{
	long fd = connect_to(ip, port);
	unsigned long n = unescape(text);
	if (writeall(fd, text, n) < 0)
		fail("write", -5);
	long s[2] = { fd, 1 }; /* SHUT_WR */
	socketcall(SC_SHUTDOWN, s);
	long r;
	while ((r = sys3(SYS_read, fd, (long)buf, sizeof(buf))) > 0)
		sys3(SYS_write, 1, (long)buf, r);
	if (r < 0)
		fail("read", r);
	sys3(SYS_close, fd, 0, 0);
	out("\nlgnet: connection closed\n");
	return 0;
}

static int udp(const char *ip, unsigned long port, char *text)
{
	long fd = sock(SOCK_DGRAM, 0);
	if (fd < 0)
		fail("socket", fd);
	set_timeout(fd, 3);
	struct sockaddr_in sa;
	addr_of(&sa, ip, port);
	unsigned long n = unescape(text);
	long a[6] = { fd, (long)text, (long)n, 0, (long)&sa, sizeof(sa) };
	long r = socketcall(SC_SENDTO, a);
	if (r < 0)
		fail("sendto", r);
	long b[6] = { fd, (long)buf, sizeof(buf), 0, 0, 0 };
	r = socketcall(SC_RECVFROM, b);
	if (r < 0)
		fail("recvfrom", r);
	out("lgnet: udp reply: ");
	sys3(SYS_write, 1, (long)buf, r);
	out("\n");
	return 0;
}

static int udpserve(unsigned long port, unsigned long count)
{
	long fd = listen_on(SOCK_DGRAM, port);
	for (unsigned long served = 1; !count || served <= count; served++) {
		struct sockaddr_in from;
		long fromlen = sizeof(from);
		long b[6] = { fd, (long)buf + 6, sizeof(buf) - 6, 0, (long)&from, (long)&fromlen };
		long r = socketcall(SC_RECVFROM, b);
		if (r < 0)
			fail("recvfrom", r);
		const char *e = "echo: ";
		for (int i = 0; i < 6; i++)
			buf[i] = e[i];
		long a[6] = { fd, (long)buf, r + 6, 0, (long)&from, sizeof(from) };
		socketcall(SC_SENDTO, a);
	}
	return 0;
}

/* Microseconds since the epoch, modulo 2^32 (enough to time one transfer). */
static unsigned long now_us(void)
{
	struct timeval tv;
	sys3(SYS_gettimeofday, (long)&tv, 0, 0);
	return (unsigned long)tv.sec * 1000000UL + (unsigned long)tv.usec;
}

static int sink(unsigned long port)
{
	long fd = listen_on(SOCK_STREAM, port);
	long a[3] = { fd, 0, 0 };
	long c = socketcall(SC_ACCEPT, a);
	if (c < 0)
		fail("accept", c);
	unsigned long total = 0, start = now_us();
	long r;
	while ((r = sys3(SYS_read, c, (long)buf, sizeof(buf))) > 0)
		total += (unsigned long)r;
	out("lgnet: received ");
	outnum(total);
	out(" bytes in ");
	outnum(now_us() - start);
	out(" us\n");
	writeall(c, "done\n", 5);
	sys3(SYS_close, c, 0, 0);
	return 0;
}

static int blast(const char *ip, unsigned long port, unsigned long kbytes)
{
	long fd = connect_to(ip, port);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 0;
	for (unsigned long k = 0; k < kbytes; k += 8)
		if (writeall(fd, buf, 8192) < 0)
			fail("write", -5);
	long s[2] = { fd, 1 };
	socketcall(SC_SHUTDOWN, s);
	long r;
	while ((r = sys3(SYS_read, fd, (long)buf, sizeof(buf))) > 0)
		sys3(SYS_write, 1, (long)buf, r);
	sys3(SYS_close, fd, 0, 0);
	return 0;
}

#define PF_PACKET 17
#define ETH_P_LGNET 0x88b5
#define ETH0_IFINDEX 2 /* lo is 1, and the lguest guest has one network device */

struct sockaddr_ll {
	u16 family;
	u16 protocol;
	int ifindex;
	u16 hatype;
	u8 pkttype;
	u8 halen;
	u8 addr[8];
};

static long packet_socket(struct sockaddr_ll *to)
{
	long fd = socketcall(SC_SOCKET, (long[]){ PF_PACKET, SOCK_DGRAM, htons(ETH_P_LGNET) });
	if (fd < 0)
		fail("socket(PF_PACKET)", fd);
	u8 *p = (u8 *)to;
	for (unsigned i = 0; i < sizeof(*to); i++)
		p[i] = 0;
	to->family = PF_PACKET;
	to->protocol = htons(ETH_P_LGNET);
	to->ifindex = ETH0_IFINDEX;
	to->halen = 6;
	for (int i = 0; i < 6; i++)
		to->addr[i] = 0xff;
	return fd;
}

static int rawsend(unsigned long count)
{
	struct sockaddr_ll to;
	long fd = packet_socket(&to);
	for (unsigned i = 0; i < 1500; i++)
		buf[i] = (char)i;
	for (unsigned long n = 0; n < count; n++) {
		long r = socketcall(SC_SENDTO, (long[]){ fd, (long)buf, 1500, 0, (long)&to, sizeof(to) });
		if (r < 0)
			fail("sendto", r);
	}
	for (int n = 0; n < 50; n++)
		socketcall(SC_SENDTO, (long[]){ fd, (long)buf, 1, 0, (long)&to, sizeof(to) });
	out("lgnet: sent ");
	outnum(count);
	out(" frames\n");
	return 0;
}

static int rawcount(void)
{
	struct sockaddr_ll at;
	long fd = packet_socket(&at);
	socketcall(SC_BIND, (long[]){ fd, (long)&at, sizeof(at) });
	out("lgnet: counting frames\n");
	unsigned long frames = 0, bytes = 0, start = 0;
	for (;;) {
		long r = socketcall(SC_RECV, (long[]){ fd, (long)buf, sizeof(buf), 0 });
		if (r < 0)
			fail("recv", r);
		if (r == 1)
			break;
		if (!frames)
			start = now_us();
		frames++;
		bytes += (unsigned long)r + 14;
	}
	unsigned long us = now_us() - start;
	out("lgnet: received ");
	outnum(frames);
	out(" frames (");
	outnum(bytes);
	out(" bytes) in ");
	outnum(us);
	out(" us\n");
	return 0;
}

static int usage(void)
{
	out("usage: lgnet ping ADDR [COUNT] | serve PORT [COUNT] | get ADDR PORT TEXT |\n"
	    "       udp ADDR PORT TEXT | udpserve PORT [COUNT] | sink PORT | blast ADDR PORT KBYTES |\n"
	    "       rawsend COUNT | rawcount\n");
	return 2;
}

static int is(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int main(int argc, char **argv)
{
	if (argc == 2 && is(argv[1], "rawcount"))
		return rawcount();
	if (argc < 3)
		return usage();
	const char *cmd = argv[1];
	if (is(cmd, "ping"))
		return ping(argv[2], argc > 3 ? num(argv[3]) : 3);
	if (is(cmd, "serve"))
		return serve(num(argv[2]), argc > 3 ? num(argv[3]) : 0);
	if (is(cmd, "udpserve"))
		return udpserve(num(argv[2]), argc > 3 ? num(argv[3]) : 0);
	if (is(cmd, "sink"))
		return sink(num(argv[2]));
	if (is(cmd, "rawsend"))
		return rawsend(num(argv[2]));
	if (argc < 5)
		return usage();
	if (is(cmd, "get"))
		return get(argv[2], num(argv[3]), argv[4]);
	if (is(cmd, "udp"))
		return udp(argv[2], num(argv[3]), argv[4]);
	if (is(cmd, "blast"))
		return blast(argv[2], num(argv[3]), num(argv[4]));
	return usage();
}
