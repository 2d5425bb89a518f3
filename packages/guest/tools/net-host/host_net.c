/*
 * The host side of the network check (src/net-host.test.ts): kernel/net.c compiled for this
 * machine, fed frames from standard input. This file is everything that is not the kernel's:
 * printk and panic, pages from the C library, and main. Each input line is a command:
 *   init CMDLINE NOCSUM   register eth0 with that kernel command line (ip=…)
 *   rx HEX                hand a frame to the stack (any length, zero included)
 *   tick N                N clock ticks (the TCP and ARP timers)
 *   listen PORT           a TCP socket listening on PORT
 *   proc                  print /proc/net
 * Every frame the stack sends is printed as "tx HEX".
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void glue_init(const char *cmdline, int nocsum);
void glue_tick(void);
long glue_listen(unsigned int port);
void net_rx(const unsigned char *frame, unsigned int len);
void net_proc(void);

static int vout(const char *fmt, va_list ap)
{
	return vprintf(fmt, ap);
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vout(fmt, ap);
	va_end(ap);
	return r;
}

int cprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vout(fmt, ap);
	va_end(ap);
	return r;
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("Kernel panic: ");
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	abort();
}

void *try_alloc_page(void)
{
	void *p = aligned_alloc(4096, 4096);
	if (p)
		memset(p, 0, 4096);
	return p;
}

void free_page(void *p)
{
	free(p);
}

void *host_low_page(void)
{
	static void *page;
	if (!page) {
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (page == MAP_FAILED)
			abort();
	}
	return page;
}

void host_tx(const unsigned char *frame, unsigned int len)
{
	printf("tx ");
	for (unsigned int i = 0; i < len; i++)
		printf("%02x", frame[i]);
	printf("\n");
}

int main(void)
{
	static char line[8192];
	static char cmdline[8192];
	static unsigned char frame[4096];

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "init ", 5) == 0) {
			char *sp = strrchr(line, ' ');
			int nocsum = atoi(sp + 1);
			*sp = 0;
			snprintf(cmdline, sizeof(cmdline), "%s", line + 5);
			glue_init(cmdline, nocsum);
		} else if (strncmp(line, "rx", 2) == 0) {
			const char *h = line[2] == ' ' ? line + 3 : line + 2;
			unsigned int n = 0;
			while (h[0] && h[1] && n < sizeof(frame)) {
				unsigned int b;
				sscanf(h, "%2x", &b);
				frame[n++] = (unsigned char)b;
				h += 2;
			}
			net_rx(frame, n);
		} else if (strncmp(line, "tick ", 5) == 0) {
			for (int i = atoi(line + 5); i > 0; i--)
				glue_tick();
		} else if (strncmp(line, "listen ", 7) == 0) {
			printf("listen: %ld\n", glue_listen((unsigned int)atoi(line + 7)));
		} else if (strcmp(line, "proc") == 0) {
			net_proc();
		}
		fflush(stdout);
	}
	return 0;
}
