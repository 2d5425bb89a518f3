/*
 * The user programs' whole C library: system calls by Linux i386 number through int $0x80
 * (eax the number, ebx/ecx/edx the arguments, a negative errno back in eax), and a few
 * string helpers. Freestanding: nothing here comes from a host libc.
 */
#ifndef USER_LIBC_H
#define USER_LIBC_H

#include <uapi.h>
#include <stat.h>

typedef unsigned long size_t;
#define NULL ((void *)0)

/* Handlers for signal(), as function pointers on this side. */
#define SIG_DFL ((void (*)(int))0)
#define SIG_IGN ((void (*)(int))1)

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

long syscall3(long nr, long a, long b, long c);
long syscall5(long nr, long a, long b, long c, long d, long e);
/* Each returns what the kernel returned: a count, a pid, 0, or -errno. */
long read(int fd, void *buf, size_t len);
long write(int fd, const void *buf, size_t len);
/* open(path, flags) or, with O_CREAT, open(path, flags, mode). */
int open(const char *path, int flags, ...);
int close(int fd);
long lseek(int fd, long off, int whence);
int stat(const char *path, struct stat *st);
int fstat(int fd, struct stat *st);
int statfs(const char *path, struct statfs *st);
/* Fills buf with struct linux_dirent records; returns the bytes used, 0 at the end. */
long getdents(int fd, void *buf, size_t len);
int mkdir(const char *path, int mode);
int rmdir(const char *path);
int unlink(const char *path);
int rename(const char *from, const char *to);
int truncate(const char *path, long len);
int ftruncate(int fd, long len);
int fsync(int fd);
int sync(void);
int mount(const char *source, const char *target, const char *type, unsigned long flags);
int umount(const char *target);
/* Makes newfd (1 or 2) a copy of oldfd. */
int dup2(int oldfd, int newfd);
int fork(void);
int execve(const char *path, char *const argv[], char *const envp[]);
int waitpid(int pid, int *status, int options);
int kill(int pid, int sig);
int getpid(void);
int getppid(void);
int setpgid(int pid, int pgid);
int getpgid(int pid);
/* The terminal's foreground process group (ioctl TIOCGPGRP / TIOCSPGRP on fd). */
int tcgetpgrp(int fd);
int tcsetpgrp(int fd, int pgid);
/* Sets sig's handler: SIG_DFL, SIG_IGN or a function (through sigaction with our restorer). */
int signal(int sig, void (*handler)(int));
int sched_yield(void);
/* Grows the heap by n bytes; returns the old end, or (void *)-1 if the kernel said no. */
void *sbrk(long n);
int uname(struct utsname *u);
/* Only power-off is supported (lguest has no reboot). */
int poweroff(void);
int sleep_seconds(unsigned long s);
__attribute__((noreturn)) void exit(int status);

size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
char *strchr(const char *s, int c);
/* Writes s to standard output; returns the bytes written. */
long puts_raw(const char *s);
/* Writes v in decimal to standard output. */
void put_uint(unsigned long v);
/* The decimal number at s (digits only); -1 if s is not one. */
long parse_uint(const char *s);

#endif /* USER_LIBC_H */
