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

long syscall5(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	__asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
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

int open(const char *path, int flags, ...)
{
	__builtin_va_list ap;
	int mode = 0;

	if (flags & O_CREAT) {
		__builtin_va_start(ap, flags);
		mode = __builtin_va_arg(ap, int);
		__builtin_va_end(ap);
	}
	return (int)syscall3(SYS_open, (long)path, flags, mode);
}

long lseek(int fd, long off, int whence)
{
	return syscall3(SYS_lseek, fd, off, whence);
}

int stat(const char *path, struct stat *st)
{
	return (int)syscall3(SYS_stat, (long)path, (long)st, 0);
}

int fstat(int fd, struct stat *st)
{
	return (int)syscall3(SYS_fstat, fd, (long)st, 0);
}

int statfs(const char *path, struct statfs *st)
{
	return (int)syscall3(SYS_statfs, (long)path, (long)st, 0);
}

long getdents(int fd, void *buf, size_t len)
{
	return syscall3(SYS_getdents, fd, (long)buf, (long)len);
}

int mkdir(const char *path, int mode)
{
	return (int)syscall3(SYS_mkdir, (long)path, mode, 0);
}

int rmdir(const char *path)
{
	return (int)syscall3(SYS_rmdir, (long)path, 0, 0);
}

int unlink(const char *path)
{
	return (int)syscall3(SYS_unlink, (long)path, 0, 0);
}

int rename(const char *from, const char *to)
{
	return (int)syscall3(SYS_rename, (long)from, (long)to, 0);
}

int truncate(const char *path, long len)
{
	return (int)syscall3(SYS_truncate, (long)path, len, 0);
}

int ftruncate(int fd, long len)
{
	return (int)syscall3(SYS_ftruncate, fd, len, 0);
}

int fsync(int fd)
{
	return (int)syscall3(SYS_fsync, fd, 0, 0);
}

int sync(void)
{
	return (int)syscall3(SYS_sync, 0, 0, 0);
}

int mount(const char *source, const char *target, const char *type, unsigned long flags)
{
	return (int)syscall5(SYS_mount, (long)source, (long)target, (long)type, (long)flags, 0);
}

int umount(const char *target)
{
	return (int)syscall3(SYS_umount, (long)target, 0, 0);
}

int dup2(int oldfd, int newfd)
{
	return (int)syscall3(SYS_dup2, oldfd, newfd, 0);
}

int close(int fd)
{
	return (int)syscall3(SYS_close, fd, 0, 0);
}

int fork(void)
{
	return (int)syscall3(SYS_fork, 0, 0, 0);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall3(SYS_execve, (long)path, (long)argv, (long)envp);
}

int waitpid(int pid, int *status, int options)
{
	return (int)syscall3(SYS_waitpid, pid, (long)status, options);
}

int kill(int pid, int sig)
{
	return (int)syscall3(SYS_kill, pid, sig, 0);
}

int getpid(void)
{
	return (int)syscall3(SYS_getpid, 0, 0, 0);
}

int getppid(void)
{
	return (int)syscall3(SYS_getppid, 0, 0, 0);
}

int setpgid(int pid, int pgid)
{
	return (int)syscall3(SYS_setpgid, pid, pgid, 0);
}

int getpgid(int pid)
{
	return (int)syscall3(SYS_getpgid, pid, 0, 0);
}

int tcgetpgrp(int fd)
{
	int pgid;
	long r = syscall3(SYS_ioctl, fd, TIOCGPGRP, (long)&pgid);
	return r < 0 ? (int)r : pgid;
}

int tcsetpgrp(int fd, int pgid)
{
	return (int)syscall3(SYS_ioctl, fd, TIOCSPGRP, (long)&pgid);
}

/* Where a handler returns to: straight into sigreturn, which restores what it interrupted. */
void signal_restorer(void);
__asm__(".text\n"
	".globl signal_restorer\n"
	"signal_restorer:\n\t"
	"movl $119, %eax\n\t"
	"int $0x80\n\t"
	"ud2\n");

int signal(int sig, void (*handler)(int))
{
	unsigned long act[4] = { (unsigned long)handler, 0, SA_RESTORER, (unsigned long)signal_restorer };
	return (int)syscall3(SYS_sigaction, sig, (long)act, 0);
}

int sched_yield(void)
{
	return (int)syscall3(SYS_sched_yield, 0, 0, 0);
}

void *sbrk(long n)
{
	long old = syscall3(SYS_brk, 0, 0, 0);
	if (syscall3(SYS_brk, old + n, 0, 0) != old + n)
		return (void *)-1;
	return (void *)old;
}

int uname(struct utsname *u)
{
	return (int)syscall3(SYS_uname, (long)u, 0, 0);
}

int poweroff(void)
{
	return (int)syscall3(SYS_reboot, (long)REBOOT_MAGIC1, (long)REBOOT_MAGIC2, (long)REBOOT_CMD_POWER_OFF);
}

int sleep_seconds(unsigned long s)
{
	unsigned long ts[2] = { s, 0 };
	return (int)syscall3(SYS_nanosleep, (long)ts, 0, 0);
}

void exit(int status)
{
	syscall3(SYS_exit, status, 0, 0);
	for (;;)
		;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c ? NULL : (char *)s;
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

long parse_uint(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}
