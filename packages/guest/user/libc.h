/*
 * The user programs' whole C library: system calls by Linux i386 number through int $0x80
 * (eax the number, ebx/ecx/edx the arguments, a negative errno back in eax), and a few
 * string helpers. Freestanding: nothing here comes from a host libc.
 */
#ifndef USER_LIBC_H
#define USER_LIBC_H

typedef unsigned long size_t;
#define NULL ((void *)0)

#define SYS_exit 1
#define SYS_fork 2
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_waitpid 7
#define SYS_execve 11
#define SYS_getpid 20
#define SYS_kill 37
#define SYS_brk 45
#define SYS_ioctl 54
#define SYS_setpgid 57
#define SYS_getppid 64
#define SYS_sigaction 67
#define SYS_reboot 88
#define SYS_sigreturn 119
#define SYS_uname 122
#define SYS_getpgid 132
#define SYS_sched_yield 158
#define SYS_nanosleep 162

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define ENOEXEC 8
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12

#define SIGINT 2
#define SIGKILL 9
#define SIGTERM 15
#define SIG_DFL ((void (*)(int))0)
#define SIG_IGN ((void (*)(int))1)

#define WNOHANG 1
#define WIFEXITED(s) (((s)&0x7F) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xFF)
#define WIFSIGNALED(s) (((s)&0x7F) != 0)
#define WTERMSIG(s) ((s)&0x7F)

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

long syscall3(long nr, long a, long b, long c);
/* Each returns what the kernel returned: a count, a pid, 0, or -errno. */
long read(int fd, void *buf, size_t len);
long write(int fd, const void *buf, size_t len);
int open(const char *path, int flags);
int close(int fd);
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
