/*
 * ping [-c COUNT] ADDR: ICMP echo requests through a raw socket, one a second, each with its
 * sequence number; prints every reply with its round trip (gettimeofday before and after)
 * and a summary. Exits 0 if a reply came, 1 if none did, 2 on a usage error.
 */
#include "netlib.h"

#define DATA 56

static unsigned short csum(const unsigned char *p, int len)
{
	unsigned long sum = 0;
	for (int i = 0; i + 1 < len; i += 2)
		sum += (unsigned long)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (unsigned long)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (unsigned short)~sum;
}

static long usec_since(const struct timeval *t0)
{
	struct timeval t;
	gettimeofday(&t);
	return (t.sec - t0->sec) * 1000000L + (t.usec - t0->usec);
}

int main(int argc, char **argv)
{
	unsigned long count = 4;
	unsigned int addr, received = 0;
	unsigned short id = (unsigned short)getpid();
	struct sockaddr_in to;
	struct timeval timeout = { 1, 0 };
	const char *host = NULL;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			long c = parse_uint(argv[++i]);
			if (c <= 0) {
				say(2, "ping: bad count %s\n", argv[i]);
				return 2;
			}
			count = (unsigned long)c;
		} else if (!host) {
			host = argv[i];
		} else {
			host = NULL;
			break;
		}
	}
	if (!host || parse_ip(host, &addr)) {
		say(2, "usage: ping [-c COUNT] ADDRESS (dotted, like 10.0.2.2)\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		say(2, "ping: socket: %s\n", errstr(fd));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	make_addr(&to, addr, 0);
	say(1, "PING %I: %u data bytes\n", addr, DATA);
	for (unsigned long seq = 1; seq <= count; seq++) {
		unsigned char pkt[8 + DATA], reply[1500];
		struct timeval sent;
		long n;
		pkt[0] = 8;
		pkt[1] = 0;
		pkt[2] = pkt[3] = 0;
		pkt[4] = (unsigned char)(id >> 8);
		pkt[5] = (unsigned char)id;
		pkt[6] = (unsigned char)(seq >> 8);
		pkt[7] = (unsigned char)seq;
		for (int i = 0; i < DATA; i++)
			pkt[8 + i] = (unsigned char)i;
		unsigned short c = csum(pkt, sizeof(pkt));
		pkt[2] = (unsigned char)(c >> 8);
		pkt[3] = (unsigned char)c;
		gettimeofday(&sent);
		n = sendto(fd, pkt, sizeof(pkt), 0, &to);
		if (n < 0) {
			say(2, "ping: sendto: %s\n", errstr(n));
			continue;
		}
		/* Wait for our reply (other ICMP traffic is skipped) or for a second to pass. */
		for (;;) {
			struct sockaddr_in from;
			long us;
			n = recvfrom(fd, reply, sizeof(reply), 0, &from);
			if (n == -EINTR)
				return 1;
			if (n < 0)
				break;
			int hl = (reply[0] & 0xF) * 4;
			if (n < hl + 8 || reply[hl] != 0 || (reply[hl + 4] << 8 | reply[hl + 5]) != id ||
			    (unsigned long)(reply[hl + 6] << 8 | reply[hl + 7]) != (seq & 0xFFFF))
				continue;
			us = usec_since(&sent);
			if (us < 0)
				us = 0;
			received++;
			say(1, "%d bytes from %I: icmp_seq=%u ttl=%u time=%u.%03u ms\n", n - hl, ntohl(from.addr),
			    seq, reply[8], (unsigned long)us / 1000, (unsigned long)us % 1000);
			/* Keep one a second, as ping does. */
			if (seq < count && us < 1000000) {
				sleep_usec(1000000 - us);
			}
			break;
		}
		if (n < 0 && n != -EAGAIN)
			say(2, "ping: recvfrom: %s\n", errstr(n));
	}
	say(1, "--- %I ping statistics ---\n%u packets transmitted, %u received, %u%% packet loss\n", addr, count,
	    received, (count - received) * 100 / count);
	return received ? 0 : 1;
}
