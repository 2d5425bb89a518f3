/*
 * lguest-tap: the TAP device of --tunnet, for a launcher written in a language without
 * ioctl(). It creates the device (/dev/net/tun, TUNSETIFF with IFF_TAP | IFF_NO_PI, named
 * tap%d), configures the host's side as the 2.6.23 launcher did — an IPv4 address and up,
 * or up and added to a bridge — and then relays frames between the device and its
 * standard input and output, each frame preceded by its length as two big-endian bytes.
 * The first line it writes is "NAME MAC\n", so the launcher can put the device's hardware
 * address in its peer slot.
 *
 *   lguest-tap IPADDR        e.g. 192.168.19.1
 *   lguest-tap bridge:BR     add the device to bridge BR
 *
 * Exit status: 0 at the end of its input, 1 for a failure, 3 when the system refuses to
 * create the device for lack of CAP_NET_ADMIN (the launcher says what to do instead).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME 1514
#ifndef SIOCBRADDIF
#define SIOCBRADDIF 0x89a2
#endif

static void die(const char *what)
{
	fprintf(stderr, "lguest-tap: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void configure(int netfd, const char *name, const char *arg)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (strncmp(arg, "bridge:", 7) == 0) {
		struct ifreq br;
		if (ioctl(netfd, SIOCGIFINDEX, &ifr) != 0)
			die("SIOCGIFINDEX");
		memset(&br, 0, sizeof(br));
		snprintf(br.ifr_name, IFNAMSIZ, "%s", arg + 7);
		br.ifr_ifindex = ifr.ifr_ifindex;
		if (ioctl(netfd, SIOCBRADDIF, &br) != 0)
			die("adding the device to the bridge");
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, arg, &sin->sin_addr) != 1) {
			fprintf(stderr, "lguest-tap: '%s' is not an IPv4 address or bridge:NAME\n", arg);
			exit(1);
		}
		if (ioctl(netfd, SIOCSIFADDR, &ifr) != 0)
			die("setting the address");
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(netfd, SIOCGIFFLAGS, &ifr) != 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(netfd, SIOCSIFFLAGS, &ifr) != 0)
		die("bringing the device up");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lguest-tap IPADDR|bridge:BR\n");
		return 1;
	}
	int tap = open("/dev/net/tun", O_RDWR);
	if (tap < 0)
		die("opening /dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strcpy(ifr.ifr_name, "tap%d");
	if (ioctl(tap, TUNSETIFF, &ifr) != 0) {
		if (errno == EPERM) {
			fprintf(stderr, "lguest-tap: creating a TAP device needs CAP_NET_ADMIN\n");
			return 3;
		}
		die("TUNSETIFF");
	}
	char name[IFNAMSIZ];
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	int netfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (netfd < 0)
		die("socket");
	configure(netfd, name, argv[1]);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(netfd, SIOCGIFHWADDR, &ifr) != 0)
		die("SIOCGIFHWADDR");
	unsigned char *mac = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %02x:%02x:%02x:%02x:%02x:%02x\n", name, mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
	if (write_all(1, (unsigned char *)line, (size_t)n) != 0)
		return 1;

	static unsigned char in[2 + MAX_FRAME], out[2 + MAX_FRAME];
	size_t have = 0; /* bytes of the current stdin record */
	struct pollfd fds[2] = { { .fd = tap, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (fds[0].revents & POLLIN) {
			ssize_t r = read(tap, out + 2, MAX_FRAME);
			if (r > 0) {
				out[0] = (unsigned char)(r >> 8);
				out[1] = (unsigned char)r;
				if (write_all(1, out, (size_t)r + 2) != 0)
					return 0;
			}
		}
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			size_t want = have < 2 ? 2 : 2 + (size_t)(in[0] << 8 | in[1]);
			if (want > sizeof(in)) {
				fprintf(stderr, "lguest-tap: a frame of %zu bytes from the launcher\n", want - 2);
				return 1;
			}
			ssize_t r = read(0, in + have, want - have);
			if (r <= 0)
				return 0;
			have += (size_t)r;
			if (have >= 2 && have == 2 + (size_t)(in[0] << 8 | in[1])) {
				if (write(tap, in + 2, have - 2) < 0 && errno != EIO)
					die("writing to the device");
				have = 0;
			}
		}
	}
}
