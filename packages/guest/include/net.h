/*
 * The network: one Ethernet interface (eth0, the lguest network device, drivers/lguest_net.c)
 * under a small IPv4 stack (kernel/net.c: ARP, IPv4, ICMP echo, UDP, TCP) and the socket
 * system calls (socketcall, Linux i386's call 102). Everything in the stack runs with
 * interrupts off: the receive interrupt hands frames up, the tick drives the timers, and the
 * system calls disable interrupts while they touch it.
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <kernel.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_FRAME_MAX 1514 /* 14 + the 1500-byte MTU */
#define ETH_MTU 1500

/* What the stack needs from the interface's driver. */
struct net_device {
	char name[8];
	u8 mac[ETH_ALEN];
	/* The peers skip the L4 checksums (lguest's NOCSUM): neither check nor need them. */
	int nocsum;
	/* Sends one frame (destination MAC first); returns 0, or -1 if nobody took it. */
	int (*xmit)(const u8 *frame, unsigned int len);
	unsigned long rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* The driver registers its interface (there is one: eth0) and hands up every frame. */
void net_register(struct net_device *dev);
void net_rx(const u8 *frame, unsigned int len);

/* The stack's clock: every tick (kernel/irq.c). */
void net_tick(void);

/* The socket system calls and the socket files (kernel/syscall.c and kernel/vfs.c call these). */
struct socket;
long sys_socketcall(int call, unsigned long args);
long sock_read(struct socket *s, unsigned long buf, unsigned long len);
long sock_write(struct socket *s, unsigned long buf, unsigned long len);
long sock_ioctl(struct socket *s, u32 request, unsigned long arg);
void sock_get(struct socket *s);
void sock_put(struct socket *s);
/* /proc/net: the interface, its counters and every socket. */
void net_proc(void);

#endif /* GUEST_NET_H */
