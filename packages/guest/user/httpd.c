/*
 * httpd [PORT [COUNT]]: a small web server (default port 80). One connection at a time: it
 * reads the request up to its blank line (CRLF CRLF, or LF LF as typed), answers any GET with a page that carries a visit
 * counter, and closes; anything else gets 400. With COUNT it exits after that many requests.
 */
#include "netlib.h"

static long read_request(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		long r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			return n ? (long)n : r;
		n += (size_t)r;
		buf[n] = 0;
		/* The blank line that ends the header: CRLF CRLF, or a bare LF LF from a terminal. */
		for (size_t i = 1; i < n; i++)
			if (buf[i] == '\n' && (buf[i - 1] == '\n' || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
				return (long)n;
	}
	return (long)n;
}

int main(int argc, char **argv)
{
	long port = argc > 1 ? parse_uint(argv[1]) : 80;
	long limit = argc > 2 ? parse_uint(argv[2]) : 0;
	struct sockaddr_in sa;
	unsigned long visits = 0;
	int one = 1, fd, err;

	if (port <= 0 || port > 65535 || limit < 0) {
		say(2, "usage: httpd [PORT [COUNT]]\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		say(2, "httpd: socket: %s\n", errstr(fd));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	make_addr(&sa, INADDR_ANY, (unsigned short)port);
	if ((err = bind(fd, &sa)) < 0 || (err = listen(fd, 4)) < 0) {
		say(2, "httpd: port %d: %s\n", port, errstr(err));
		return 1;
	}
	say(1, "httpd: serving port %d\n", port);
	while (!limit || (long)visits < limit) {
		static char req[2048], page[512], head[256];
		struct sockaddr_in from;
		int c = accept(fd, &from);
		long n;
		if (c == -EINTR)
			break;
		if (c < 0) {
			say(2, "httpd: accept: %s\n", errstr(c));
			continue;
		}
		n = read_request(c, req, sizeof(req));
		if (n > 4 && req[0] == 'G' && req[1] == 'E' && req[2] == 'T' && req[3] == ' ') {
			int plen, hlen;
			visits++;
			plen = fmt(page, sizeof(page),
				   "<html><body><h1>hello from the lguest.ts guest</h1>\n"
				   "<p>visit %u</p></body></html>\n", visits);
			hlen = fmt(head, sizeof(head),
				   "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
				   "Connection: close\r\n\r\n", plen);
			write_all(c, head, (size_t)hlen);
			write_all(c, page, (size_t)plen);
			say(1, "httpd: visit %u from %I\n", visits, ntohl(from.addr));
		} else if (n > 0) {
			static const char bad[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			write_all(c, bad, sizeof(bad) - 1);
		}
		close(c);
	}
	close(fd);
	return 0;
}
