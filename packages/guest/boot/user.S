/*
 * The first (and only) user program, carried inside the kernel image and copied by the
 * kernel into a user page at USER_CODE. It runs in ring 3 and can do only two things: ask the
 * kernel through int $0x80 (Linux numbers: eax = 4 write(ebx fd, ecx buf, edx len), eax = 1
 * exit(ebx code)), and touch its own pages. Where to find its message it learns from its TLS
 * segment, which the kernel installed with the load_tls op; its stack starts unmapped, so
 * the first push page-faults from ring 3 into the kernel. It exits with CS & 3: its ring.
 * Position-independent: it never names its own addresses.
 */
#include <lguest/abi.h>
#include <desc.h>
#include <uapi.h>
#ifdef GUEST_ATTACK
#include <attack.h>
#endif


	.section .rodata
	.align 16
	.globl user_program_start, user_program_end
user_program_start:
#if defined(GUEST_ATTACK) && GUEST_ATTACK == ATTACK_RING3_HCALL
	/* The ring-3 attack (kernel/attacks.c): a hypercall from user mode. The gate is the
	 * guest kernel's privilege only, so this must fault; if it ran, the program would just
	 * go on and the guest would power off cleanly, which a test counts as a failure. */
	movl $LHCALL_FLUSH_ASYNC, %eax
	int $LGUEST_TRAP_ENTRY
#endif
	movl $TLS_SELECTOR, %eax
	movl %eax, %gs
	movl %gs:0, %ecx /* message address */
	movl %gs:4, %edx /* message length */
	pushl %edx       /* the first touch of the stack */
	movl $SYS_write, %eax
	movl $1, %ebx
	int $SYSCALL_VECTOR
	popl %edx
	movl %cs, %ebx
	andl $3, %ebx
	movl $SYS_exit, %eax
	int $SYSCALL_VECTOR
1:	jmp 1b
user_program_end:
