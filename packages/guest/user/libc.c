/*
 * System call wrappers and string helpers for ring-3 programs (see libc.h).
 */
#include "libc.h"

long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

long read(int fd, void *buf, size_t len)
{
	return syscall3(SYS_read, fd, (long)buf, (long)len);
}

long write(int fd, const void *buf, size_t len)
{
	return syscall3(SYS_write, fd, (long)buf, (long)len);
}

int getpid(void)
{
	return (int)syscall3(SYS_getpid, 0, 0, 0);
}

void *sbrk(long n)
{
	long old = syscall3(SYS_brk, 0, 0, 0);
	if (syscall3(SYS_brk, old + n, 0, 0) != old + n)
		return (void *)-1;
	return (void *)old;
}

int open(const char *path, int flags)
{
	return (int)syscall3(SYS_open, (long)path, flags, 0);
}

int close(int fd)
{
	return (int)syscall3(SYS_close, fd, 0, 0);
}

int uname(struct utsname *u)
{
	return (int)syscall3(SYS_uname, (long)u, 0, 0);
}

int poweroff(void)
{
	return (int)syscall3(SYS_reboot, (long)0xfee1deadU, 0x28121969, (long)0x4321fedcU);
}

int sleep_seconds(unsigned long s)
{
	unsigned long ts[2] = { s, 0 };
	return (int)syscall3(SYS_nanosleep, (long)ts, 0, 0);
}

int spawn(const char *path)
{
	return (int)syscall3(SYS_spawn, (long)path, 0, 0);
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

void exit(int status)
{
	syscall3(SYS_exit, status, 0, 0);
	for (;;)
		;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

long puts_raw(const char *s)
{
	return write(1, s, strlen(s));
}

void put_uint(unsigned long v)
{
	char buf[12];
	int i = sizeof(buf);
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	write(1, buf + i, sizeof(buf) - i);
}
