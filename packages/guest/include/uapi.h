/*
 * The system-call interface, as both sides see it: the kernel (kernel/syscall.c and its
 * helpers) and the ring-3 programs (user/libc.h, boot/user.S) include this one file, so the
 * numbers cannot drift apart. They are Linux i386's: call numbers, errno values, signal
 * numbers, waitpid statuses, the terminal's ioctls, sigaction's SA_RESTORER and reboot's
 * magic. Only #defines: assembler includes it too.
 */
#ifndef GUEST_UAPI_H
#define GUEST_UAPI_H

#define SYS_exit 1
#define SYS_fork 2
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_waitpid 7
#define SYS_unlink 10
#define SYS_execve 11
#define SYS_lseek 19
#define SYS_getpid 20
#define SYS_mount 21
#define SYS_umount 22
#define SYS_sync 36
#define SYS_kill 37
#define SYS_rename 38
#define SYS_mkdir 39
#define SYS_rmdir 40
#define SYS_brk 45
#define SYS_umount2 52
#define SYS_ioctl 54
#define SYS_setpgid 57
#define SYS_dup2 63
#define SYS_getppid 64
#define SYS_sigaction 67
#define SYS_reboot 88
#define SYS_truncate 92
#define SYS_ftruncate 93
#define SYS_gettimeofday 78
#define SYS_statfs 99
#define SYS_fstatfs 100
#define SYS_stat 106
#define SYS_lstat 107
#define SYS_fstat 108
#define SYS_fsync 118
#define SYS_sigreturn 119
#define SYS_socketcall 102
#define SYS_uname 122
#define SYS_getpgid 132
#define SYS_getdents 141
#define SYS_fdatasync 148
#define SYS_sched_yield 158
#define SYS_nanosleep 162

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define ENXIO 6
#define E2BIG 7
#define ENOEXEC 8
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EXDEV 18
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ENOTTY 25
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define EROFS 30
#define EMLINK 31
#define EPIPE 32
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define ENOTSOCK 88
#define EDESTADDRREQ 89
#define EMSGSIZE 90
#define EPROTOTYPE 91
#define ENOPROTOOPT 92
#define EPROTONOSUPPORT 93
#define EOPNOTSUPP 95
#define EAFNOSUPPORT 97
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define ENETDOWN 100
#define ENETUNREACH 101
#define ECONNABORTED 103
#define ECONNRESET 104
#define ENOBUFS 105
#define EISCONN 106
#define ENOTCONN 107
#define ETIMEDOUT 110
#define ECONNREFUSED 111
#define EHOSTUNREACH 113
#define EALREADY 114
#define EINPROGRESS 115
#define EUCLEAN 117

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define NSIG 32
/* sigaction's flag: sa_restorer is where a handler returns (to call sigreturn). */
#define SA_RESTORER 0x04000000UL

/* waitpid: options, and the status word (exit code << 8, or the signal that ended it). */
#define WNOHANG 1
#define W_EXITCODE(code) (((code)&0xFF) << 8)
#define W_SIGNALED(sig) ((sig)&0x7F)
#define WIFEXITED(s) (((s)&0x7F) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xFF)
#define WIFSIGNALED(s) (((s)&0x7F) != 0)
#define WTERMSIG(s) ((s)&0x7F)

/* ioctl on the terminal: get and set its foreground process group. */
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410

/* open's flags, lseek's whence, the file-type bits of a mode, mount's read-only flag. */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_ACCMODE 3
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_DIRECTORY 0200000
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define MS_RDONLY 1

/* socketcall(call, args): args points at the call's arguments, one 32-bit word each. */
#define SOCKOP_socket 1
#define SOCKOP_bind 2
#define SOCKOP_connect 3
#define SOCKOP_listen 4
#define SOCKOP_accept 5
#define SOCKOP_getsockname 6
#define SOCKOP_getpeername 7
#define SOCKOP_send 9
#define SOCKOP_recv 10
#define SOCKOP_sendto 11
#define SOCKOP_recvfrom 12
#define SOCKOP_shutdown 13
#define SOCKOP_setsockopt 14
#define SOCKOP_getsockopt 15

/* Sockets: the one address family, the types, the protocols, the options, shutdown's how.
 * struct sockaddr_in is 16 bytes: u16 family, u16 port and u32 address in network order,
 * 8 zero bytes. */
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define IPPROTO_IP 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_BROADCAST 6
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2
#define INADDR_ANY 0UL
#define MSG_PEEK 2
#define MSG_DONTWAIT 0x40

/* The interface ioctls on a socket (struct ifreq: a 16-byte name, then a struct sockaddr
 * or a short of flags, 32 bytes in all), and the flags. */
#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define SIOCGIFADDR 0x8915
#define SIOCSIFADDR 0x8916
#define SIOCGIFNETMASK 0x891b
#define SIOCSIFNETMASK 0x891c
#define SIOCGIFHWADDR 0x8927
#define IFNAMSIZ 16
#define IFF_UP 0x1
#define IFF_BROADCAST 0x2
#define IFF_RUNNING 0x40
#define IFF_PROMISC 0x100
#define IFF_MULTICAST 0x1000
#define ARPHRD_ETHER 1

/* reboot(magic1, magic2, cmd): only power-off (lguest has no reboot). */
#define REBOOT_MAGIC1 0xfee1deadU
#define REBOOT_MAGIC2 0x28121969U
#define REBOOT_CMD_POWER_OFF 0x4321fedcU

#endif /* GUEST_UAPI_H */
