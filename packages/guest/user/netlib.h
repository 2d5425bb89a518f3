/*
 * What the network programs (ping, ifconfig, httpd, nc) share: the socket calls through
 * socketcall (Linux i386's call 102, so the same binaries run under Linux), the interface
 * ioctls, addresses in dotted form, and a little formatted output. Addresses and ports are
 * in host order here; sockaddr_in holds them in network order, as the kernel wants.
 */
#ifndef USER_NETLIB_H
#define USER_NETLIB_H

#include "libc.h"

struct sockaddr_in {
	unsigned short family;
	unsigned short port;  /* network order */
	unsigned int addr;    /* network order */
	unsigned char zero[8];
};

struct timeval {
	long sec, usec;
};

unsigned short htons(unsigned short v);
unsigned int htonl(unsigned int v);
#define ntohs htons
#define ntohl htonl

int socket(int family, int type, int proto);
int bind(int fd, const struct sockaddr_in *sa);
int connect(int fd, const struct sockaddr_in *sa);
int listen(int fd, int backlog);
int accept(int fd, struct sockaddr_in *sa);
long sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr_in *sa);
long recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr_in *sa);
int shutdown(int fd, int how);
int setsockopt(int fd, int level, int name, const void *val, int len);
int ioctl(int fd, unsigned long request, void *arg);
int gettimeofday(struct timeval *tv);
int sleep_usec(unsigned long us);

/* Fills sa with addr:port (host order). */
void make_addr(struct sockaddr_in *sa, unsigned int addr, unsigned short port);
/* "a.b.c.d" into a host-order address; 0 on success, -1 if it is not one. */
int parse_ip(const char *s, unsigned int *addr);
/* A host-order address as "a.b.c.d" into buf (16 bytes). */
char *format_ip(char *buf, unsigned int addr);
/* Writes every byte of buf to fd (short writes continued); -errno on failure. */
long write_all(int fd, const void *buf, size_t len);
/* Formats into buf (size > 0) from pieces: %s, %u, %d, %I (a host-order address), %x,
 * with an optional zero-padded width (%02x, %03u). Returns the length. */
int fmt(char *buf, size_t size, const char *f, ...);
/* fmt to a file descriptor. */
void say(int fd, const char *f, ...);
/* The message for an -errno, for "prog: what: message". */
const char *errstr(long err);

#endif /* USER_NETLIB_H */
