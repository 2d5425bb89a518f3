/*
 * The user programs' whole C library: system calls by Linux i386 number through int $0x80
 * (eax the number, ebx/ecx/edx the arguments, a negative errno back in eax), and a few
 * string helpers. Freestanding: nothing here comes from a host libc.
 */
#ifndef USER_LIBC_H
#define USER_LIBC_H

typedef unsigned long size_t;

#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_getpid 20
#define SYS_brk 45
#define SYS_reboot 88
#define SYS_uname 122
#define SYS_nanosleep 162
#define SYS_spawn 500 /* ours: run /bin/NAME as a child and wait; a waitpid status back */

#define EINTR 4
#define ENOENT 2

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

long syscall3(long nr, long a, long b, long c);
/* Each returns what the kernel returned: a count, or -errno. */
long read(int fd, void *buf, size_t len);
long write(int fd, const void *buf, size_t len);
int getpid(void);
/* Grows the heap by n bytes; returns the old end, or (void *)-1 if the kernel said no. */
void *sbrk(long n);
int open(const char *path, int flags);
int close(int fd);
int uname(struct utsname *u);
/* Only power-off is supported (lguest has no reboot). */
int poweroff(void);
int sleep_seconds(unsigned long s);
/* Runs program path and waits: (exit code << 8) or the signal number, or -errno. */
int spawn(const char *path);
__attribute__((noreturn)) void exit(int status);

size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
/* Writes s to standard output; returns the bytes written. */
long puts_raw(const char *s);
/* Writes v in decimal to standard output. */
void put_uint(unsigned long v);

#endif /* USER_LIBC_H */
