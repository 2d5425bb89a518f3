/*
 * Adversarial variants of the guest. An image built with -DGUEST_ATTACK=<one of the names
 * below> boots like the normal guest and then, once the kernel is fully up, turns on the host
 * instead of running its user program (kernel/attacks.c). The host must kill it with a
 * clear reason and carry on running every other guest; if an attack is not stopped, the guest
 * says so in its own death reason ("ATTACK SUCCEEDED: ..."), so a test can never mistake a
 * silently ignored attack for a stopped one.
 *
 * The VARIANT_* images are not attacks: they use the same hook to time hypercall round trips
 * and to panic on purpose.
 * This header is also included from assembler (boot/user.S), so it holds only #defines.
 */
#ifndef GUEST_ATTACK_H
#define GUEST_ATTACK_H

/* Write the switcher page at SWITCHER_ADDR through the kernel's own flat data segment. */
#define ATTACK_SWITCHER_WRITE 1
/* Load a GDT whose code and data descriptors have DPL 0, far-jump into the code one (still
 * ring 0 afterwards would be a win), then write the switcher through the data one. */
#define ATTACK_GDT_DPL0 2
/* Load a data descriptor whose limit reaches past 0xFFC00000 and write the switcher through it. */
#define ATTACK_GDT_LIMIT 3
/* SET_PTE a mapping of a page frame beyond the guest's memory, then read through it. */
#define ATTACK_SET_PTE_BEYOND 4
/* LHCALL_LOAD_GDT with a table pointer into the Launcher's memory, far above the guest's. */
#define ATTACK_HCALL_BAD_POINTER 5
/* A hypercall number the ABI does not have. */
#define ATTACK_HCALL_UNKNOWN 6
/* A hypercall before LHCALL_LGUEST_INIT (from lguest_init, before any output). */
#define ATTACK_HCALL_BEFORE_INIT 7
/* int $0x1f from the ring-3 program: only ring 1 may make hypercalls. */
#define ATTACK_RING3_HCALL 8
/* Disable (virtual) interrupts and spin forever: the host must still preempt us. */
#define ATTACK_IRQS_OFF_LOOP 9

/* Malformed block requests to the first --block disk: a length that overflows (an error
 * status), then a write far past the end of the disk (the host must kill us). */
#define ATTACK_BLOCK_REQUESTS 12
/* Malformed traffic on the first network device, to peer 0's key (the launcher with
 * --net=user or --tunnet, another guest with --sharenet): a zero-length frame, an oversized
 * one, a flood of frames, then a DMA buffer outside guest memory, which must kill us. */
#define ATTACK_NET_FRAMES 13

/* Not an attack: BENCH_HCALLS x LHCALL_FLUSH_ASYNC between two console markers. */
#define VARIANT_HCALL_BENCH 10
/* Not an attack: the kernel panics on purpose (how a guest's own death reads on the host). */
#define VARIANT_PANIC 11

#ifndef __ASSEMBLER__
/* Called by start_kernel once the kernel is up, before the user program. */
void guest_attack(int which);
/* Called by lguest_init before LHCALL_LGUEST_INIT (nothing may be printed yet). */
void guest_attack_early(int which);
#endif

#endif /* GUEST_ATTACK_H */
