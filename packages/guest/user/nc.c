/*
 * nc HOST PORT, nc -l PORT: a TCP connection between the terminal and a peer.
 * nc -u HOST PORT: UDP instead: each line of standard input goes as a datagram, and the
 * answers that come within a second are printed. It connects
 * (or listens and accepts one caller), then a child copies standard input to the socket —
 * at end of input it shuts the sending side — while the parent copies the socket to
 * standard output; when the peer closes, the parent ends the child and exits. Status lines
 * go to standard error. Exit 1 on a network error, 2 on a usage error.
 */
#include "netlib.h"

static void usage(void)
{
	say(2, "usage: nc HOST PORT | nc -l PORT | nc -u HOST PORT\n");
	exit(2);
}

static long port_arg(const char *s)
{
	long p = parse_uint(s);
	if (p <= 0 || p > 65535)
		usage();
	return p;
}

/* nc -u: a datagram per line, and what comes back within a second. */
static int udp_client(const char *host, const char *port)
{
	struct sockaddr_in sa;
	struct timeval timeout = { 1, 0 };
	static char line[1024], reply[1500];
	unsigned int addr;
	long n, r;
	int fd;

	if (parse_ip(host, &addr)) {
		say(2, "nc: %s: not an address (dotted, like 10.0.2.2)\n", host);
		return 2;
	}
	make_addr(&sa, addr, (unsigned short)port_arg(port));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || (r = connect(fd, &sa)) < 0) {
		say(2, "nc: %s\n", errstr(fd < 0 ? fd : r));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	while ((n = read(0, line, sizeof(line))) > 0) {
		if ((r = sendto(fd, line, (size_t)n, 0, NULL)) < 0) {
			say(2, "nc: send: %s\n", errstr(r));
			return 1;
		}
		while ((r = recvfrom(fd, reply, sizeof(reply), 0, NULL)) >= 0)
			write_all(1, reply, (size_t)r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int fd, err, child, status;
	static char buf[1024];
	long n;

	if (argc == 4 && strcmp(argv[1], "-u") == 0)
		return udp_client(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "-l") == 0) {
		int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
		if (l < 0) {
			say(2, "nc: socket: %s\n", errstr(l));
			return 1;
		}
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		make_addr(&sa, INADDR_ANY, (unsigned short)port_arg(argv[2]));
		if ((err = bind(l, &sa)) < 0 || (err = listen(l, 1)) < 0) {
			say(2, "nc: port %s: %s\n", argv[2], errstr(err));
			return 1;
		}
		say(2, "nc: listening on port %s\n", argv[2]);
		fd = accept(l, &sa);
		close(l);
		if (fd < 0) {
			say(2, "nc: accept: %s\n", errstr(fd));
			return 1;
		}
		say(2, "nc: connection from %I:%u\n", ntohl(sa.addr), ntohs(sa.port));
	} else if (argc == 3) {
		unsigned int addr;
		if (parse_ip(argv[1], &addr)) {
			say(2, "nc: %s: not an address (dotted, like 10.0.2.2)\n", argv[1]);
			return 2;
		}
		make_addr(&sa, addr, (unsigned short)port_arg(argv[2]));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			say(2, "nc: socket: %s\n", errstr(fd));
			return 1;
		}
		if ((err = connect(fd, &sa)) < 0) {
			say(2, "nc: %s port %s: %s\n", argv[1], argv[2], errstr(err));
			return 1;
		}
		say(2, "nc: connected to %s port %s\n", argv[1], argv[2]);
	} else {
		usage();
	}
	child = fork();
	if (child < 0) {
		say(2, "nc: fork: %s\n", errstr(child));
		return 1;
	}
	if (child == 0) {
		/* Standard input to the socket; at its end, our half of the connection closes. */
		while ((n = read(0, buf, sizeof(buf))) > 0)
			if (write_all(fd, buf, (size_t)n) < 0)
				exit(1);
		shutdown(fd, SHUT_WR);
		exit(0);
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -EINTR)
			continue;
		if (n < 0) {
			say(2, "nc: %s\n", errstr(n));
			break;
		}
		write_all(1, buf, (size_t)n);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(fd);
	say(2, "nc: connection closed\n");
	return n < 0 ? 1 : 0;
}
