/*
 * Talking to the lguest host. A hypercall is "int $0x1f" with the call number in %eax and up
 * to three arguments in %edx, %ebx and %ecx; only BIND_DMA answers, in %eax. Calls that may
 * wait (page-table and CPU-state updates) can instead be queued in the 64-slot ring inside
 * lguest_data while a lazy mode is on; the host drains the ring, in order, at the next exit.
 */
#ifndef GUEST_LGUEST_HCALL_H
#define GUEST_LGUEST_HCALL_H

#include <kernel.h>

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

/* The page we share with the host (registered by LHCALL_LGUEST_INIT). */
extern struct lguest_data lguest_data;

/* Hypercalls made synchronously (int $0x1f) and queued in the ring, for the shell's `lguest`. */
extern unsigned long lguest_sync_hcalls, lguest_async_hcalls;

/* A synchronous hypercall. The host may read or write any of our memory meanwhile. */
static inline unsigned long hcall(unsigned long call, unsigned long arg1, unsigned long arg2,
				  unsigned long arg3)
{
	lguest_sync_hcalls++;
	__asm__ __volatile__("int $" __stringify(LGUEST_TRAP_ENTRY)
			     : "=a"(call)
			     : "a"(call), "d"(arg1), "b"(arg2), "c"(arg3)
			     : "memory");
	return call;
}

/* A hypercall that may be queued while a lazy mode is on (lguest.c). */
void lazy_hcall(unsigned long call, unsigned long arg1, unsigned long arg2, unsigned long arg3);

#endif /* GUEST_LGUEST_HCALL_H */
