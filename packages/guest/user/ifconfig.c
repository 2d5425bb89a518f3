/*
 * ifconfig [eth0 [ADDRESS] [netmask MASK] [up|down]]: shows the interface (hardware
 * address, IPv4 address and mask, flags) or changes it, through the socket ioctls
 * SIOCGIF* / SIOCSIF* with Linux's numbers and struct ifreq. Exit 2 on a usage error.
 */
#include "netlib.h"

struct ifreq {
	char name[IFNAMSIZ];
	union {
		struct sockaddr_in addr;
		struct {
			unsigned short family;
			unsigned char data[14];
		} hw;
		short flags;
	} u;
};

static void set_name(struct ifreq *r, const char *name)
{
	char *p = (char *)r;
	for (unsigned int i = 0; i < sizeof(*r); i++)
		p[i] = 0;
	for (int i = 0; name[i] && i < IFNAMSIZ - 1; i++)
		r->name[i] = name[i];
}

static int show(int fd, const char *name)
{
	struct ifreq r;
	unsigned int addr = 0, mask = 0;
	short flags;
	int err;

	set_name(&r, name);
	if ((err = ioctl(fd, SIOCGIFFLAGS, &r)) < 0) {
		say(2, "ifconfig: %s: %s\n", name, errstr(err));
		return 1;
	}
	flags = r.u.flags;
	set_name(&r, name);
	ioctl(fd, SIOCGIFHWADDR, &r);
	say(1, "%s      Link encap:Ethernet  HWaddr %02x:%02x:%02x:%02x:%02x:%02x\n", name, r.u.hw.data[0],
	    r.u.hw.data[1], r.u.hw.data[2], r.u.hw.data[3], r.u.hw.data[4], r.u.hw.data[5]);
	set_name(&r, name);
	if (ioctl(fd, SIOCGIFADDR, &r) == 0)
		addr = ntohl(r.u.addr.addr);
	set_name(&r, name);
	if (ioctl(fd, SIOCGIFNETMASK, &r) == 0)
		mask = ntohl(r.u.addr.addr);
	if (addr)
		say(1, "          inet addr:%I  Bcast:%I  Mask:%I\n", addr, addr | ~mask, mask);
	say(1, "          %s%s%s\n", flags & IFF_UP ? "UP " : "", flags & IFF_BROADCAST ? "BROADCAST " : "",
	    flags & IFF_RUNNING ? "RUNNING" : "");
	return 0;
}

static int set_addr(int fd, const char *name, unsigned long req, const char *text)
{
	struct ifreq r;
	unsigned int a;
	int err;

	if (parse_ip(text, &a)) {
		say(2, "ifconfig: %s: not an address (dotted, like 10.0.2.15)\n", text);
		return 2;
	}
	set_name(&r, name);
	make_addr(&r.u.addr, a, 0);
	if ((err = ioctl(fd, req, &r)) < 0) {
		say(2, "ifconfig: %s: %s\n", name, errstr(err));
		return 1;
	}
	return 0;
}

static int set_up(int fd, const char *name, int up)
{
	struct ifreq r;
	int err;

	set_name(&r, name);
	if ((err = ioctl(fd, SIOCGIFFLAGS, &r)) < 0) {
		say(2, "ifconfig: %s: %s\n", name, errstr(err));
		return 1;
	}
	r.u.flags = (short)(up ? r.u.flags | IFF_UP : r.u.flags & ~IFF_UP);
	if ((err = ioctl(fd, SIOCSIFFLAGS, &r)) < 0) {
		say(2, "ifconfig: %s: %s\n", name, errstr(err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "eth0";
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0) {
		say(2, "ifconfig: socket: %s\n", errstr(fd));
		return 1;
	}
	for (int i = 2; i < argc && !err; i++) {
		if (strcmp(argv[i], "up") == 0 || strcmp(argv[i], "down") == 0)
			err = set_up(fd, name, argv[i][0] == 'u');
		else if (strcmp(argv[i], "netmask") == 0 && i + 1 < argc)
			err = set_addr(fd, name, SIOCSIFNETMASK, argv[++i]);
		else if (argv[i][0] >= '0' && argv[i][0] <= '9')
			err = set_addr(fd, name, SIOCSIFADDR, argv[i]);
		else {
			say(2, "usage: ifconfig [INTERFACE [ADDRESS] [netmask MASK] [up|down]]\n");
			return 2;
		}
	}
	if (err)
		return err;
	return argc <= 2 ? show(fd, name) : 0;
}
