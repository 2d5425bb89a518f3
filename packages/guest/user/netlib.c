/* The network programs' library: see netlib.h. */
#include "netlib.h"

static long socketcall(int call, const long *args)
{
	return syscall3(SYS_socketcall, call, (long)args, 0);
}

unsigned short htons(unsigned short v)
{
	return (unsigned short)(v << 8 | v >> 8);
}

unsigned int htonl(unsigned int v)
{
	return v << 24 | (v & 0xFF00) << 8 | (v >> 8 & 0xFF00) | v >> 24;
}

int socket(int family, int type, int proto)
{
	long a[3] = { family, type, proto };
	return (int)socketcall(SOCKOP_socket, a);
}

int bind(int fd, const struct sockaddr_in *sa)
{
	long a[3] = { fd, (long)sa, sizeof(*sa) };
	return (int)socketcall(SOCKOP_bind, a);
}

int connect(int fd, const struct sockaddr_in *sa)
{
	long a[3] = { fd, (long)sa, sizeof(*sa) };
	return (int)socketcall(SOCKOP_connect, a);
}

int listen(int fd, int backlog)
{
	long a[2] = { fd, backlog };
	return (int)socketcall(SOCKOP_listen, a);
}

int accept(int fd, struct sockaddr_in *sa)
{
	int len = sizeof(*sa);
	long a[3] = { fd, (long)sa, (long)&len };
	return (int)socketcall(SOCKOP_accept, a);
}

long sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr_in *sa)
{
	long a[6] = { fd, (long)buf, (long)len, flags, (long)sa, sa ? (long)sizeof(*sa) : 0 };
	return socketcall(SOCKOP_sendto, a);
}

long recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr_in *sa)
{
	int alen = sizeof(*sa);
	long a[6] = { fd, (long)buf, (long)len, flags, (long)sa, sa ? (long)&alen : 0 };
	return socketcall(SOCKOP_recvfrom, a);
}

int shutdown(int fd, int how)
{
	long a[2] = { fd, how };
	return (int)socketcall(SOCKOP_shutdown, a);
}

int setsockopt(int fd, int level, int name, const void *val, int len)
{
	long a[5] = { fd, level, name, (long)val, len };
	return (int)socketcall(SOCKOP_setsockopt, a);
}

int ioctl(int fd, unsigned long request, void *arg)
{
	return (int)syscall3(SYS_ioctl, fd, (long)request, (long)arg);
}

int sleep_usec(unsigned long us)
{
	unsigned long ts[2] = { us / 1000000, us % 1000000 * 1000 };
	return (int)syscall3(SYS_nanosleep, (long)ts, 0, 0);
}

int gettimeofday(struct timeval *tv)
{
	return (int)syscall3(SYS_gettimeofday, (long)tv, 0, 0);
}

void make_addr(struct sockaddr_in *sa, unsigned int addr, unsigned short port)
{
	char *p = (char *)sa;
	for (unsigned int i = 0; i < sizeof(*sa); i++)
		p[i] = 0;
	sa->family = AF_INET;
	sa->port = htons(port);
	sa->addr = htonl(addr);
}

int parse_ip(const char *s, unsigned int *addr)
{
	unsigned int v = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int n = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			n = n * 10 + (unsigned int)(*s++ - '0');
			digits++;
		}
		if (!digits || n > 255)
			return -1;
		v = v << 8 | n;
		if (part < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*addr = v;
	return 0;
}

char *format_ip(char *buf, unsigned int a)
{
	fmt(buf, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
	return buf;
}

long write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		long n = write(fd, p + done, len - done);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n ? n : -EIO;
		done += (size_t)n;
	}
	return (long)done;
}

static int vfmt(char *buf, size_t size, const char *f, __builtin_va_list ap)
{
	size_t n = 0;

#define PUT(c)                                 \
	do {                                   \
		if (n + 1 < size)              \
			buf[n] = (c);          \
		n++;                           \
	} while (0)
	for (; *f; f++) {
		char tmp[16];
		int width = 0, len = 0;
		unsigned long v;
		int neg = 0;
		const char *s;
		if (*f != '%') {
			PUT(*f);
			continue;
		}
		f++;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		switch (*f) {
		case '%':
			PUT('%');
			continue;
		case 's':
			for (s = __builtin_va_arg(ap, const char *); *s; s++)
				PUT(*s);
			continue;
		case 'I': {
			char ip[16];
			format_ip(ip, __builtin_va_arg(ap, unsigned int));
			for (s = ip; *s; s++)
				PUT(*s);
			continue;
		}
		case 'd': {
			long d = __builtin_va_arg(ap, long);
			neg = d < 0;
			v = neg ? (unsigned long)-d : (unsigned long)d;
			break;
		}
		case 'u':
		case 'x':
			v = __builtin_va_arg(ap, unsigned long);
			break;
		default:
			PUT('%');
			PUT(*f);
			continue;
		}
		do {
			unsigned int digit = *f == 'x' ? v % 16 : v % 10;
			tmp[len++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
			v = *f == 'x' ? v / 16 : v / 10;
		} while (v);
		if (neg)
			PUT('-');
		while (width-- > len)
			PUT('0');
		while (len)
			PUT(tmp[--len]);
	}
	if (size)
		buf[n < size ? n : size - 1] = 0;
#undef PUT
	return (int)(n < size ? n : size - 1);
}

int fmt(char *buf, size_t size, const char *f, ...)
{
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, f);
	n = vfmt(buf, size, f, ap);
	__builtin_va_end(ap);
	return n;
}

void say(int fd, const char *f, ...)
{
	char buf[512];
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	__builtin_va_end(ap);
	write_all(fd, buf, (size_t)n);
}

const char *errstr(long err)
{
	switch (-err) {
	case ECONNREFUSED: return "connection refused";
	case ECONNRESET: return "connection reset by peer";
	case ETIMEDOUT: return "connection timed out";
	case ENETUNREACH: return "network is unreachable";
	case EHOSTUNREACH: return "no route to host";
	case EADDRINUSE: return "address already in use";
	case EADDRNOTAVAIL: return "cannot assign requested address";
	case EPERM: return "operation not permitted";
	case ENODEV: return "no such device";
	case EAGAIN: return "timed out";
	case EINTR: return "interrupted";
	case EPIPE: return "broken pipe";
	case ENOBUFS: return "no buffer space available";
	case EPROTONOSUPPORT: return "protocol not supported";
	case EAFNOSUPPORT: return "address family not supported";
	case ENOSYS: return "no such system call (no network in this kernel)";
	case EINVAL: return "invalid argument";
	default: return "error";
	}
}
