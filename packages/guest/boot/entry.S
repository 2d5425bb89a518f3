/*
 * The kernel's doors for traps, interrupts and system calls, and the way back out.
 *
 * Every vector 0..63 has a stub that makes the stack look the same (an error code, real or
 * 0, then the vector number), and all of them share common_trap, which saves the registers
 * as a struct trapframe and calls trap(). Going back goes through the paravirt iret op: a
 * plain iret natively; under lguest, lguest_iret, which first copies the IF bit of the
 * frame being returned to into lguest_data.irq_enabled — because in ring 1 the real iret
 * cannot change IF, and the host only knows our interrupt flag from that word.
 *
 * enter_user/leave_user are a setjmp/longjmp around a user program: enter_user saves the
 * kernel's callee-saved registers and iret's to ring 3; the exit system call, running on the
 * task's own kernel stack, calls leave_user, which picks the kernel context back up.
 */
#include <lguest/abi.h>
#include <paravirt.h>

/* Stubs for vectors 0..63; their addresses go into trap_entry_table. */
	.pushsection .rodata
	.align 4
	.globl trap_entry_table
trap_entry_table:
	.popsection

	.text
	.set vec, 0
	.rept 64
	.align 8
1:
	/* These CPU exceptions push an error code themselves. */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
	.else
	pushl $0
	.endif
	pushl $vec
	jmp common_trap
	.pushsection .rodata
	.long 1b
	.popsection
	.set vec, vec + 1
	.endr

/* int $0x80 from ring 3: a trap gate with DPL 3 (and a direct trap under lguest). */
	.globl syscall_entry
	.align 8
syscall_entry:
	pushl $0
	pushl $SYSCALL_VECTOR
	jmp common_trap

common_trap:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	/* The kernel uses the flat user data segment for ds/es, valid at any ring we run in. */
	movl $__USER_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	pushl %esp
	call trap
	addl $4, %esp
	.globl ret_from_trap
ret_from_trap:
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp /* vector number and error code */
	jmp *pv_ops + PV_OPS_iret

/* The native iret op. */
	.globl native_iret
native_iret:
	iret

/*
 * The lguest iret op. Between the store to irq_enabled and the iret the host must not
 * inject an interrupt (it would run with the wrong flag on a stack about to be popped), so
 * that window is published to the host as [lguest_noirq_start, lguest_noirq_end). The store
 * goes through %ss: %ds may already be the user's.
 */
	.globl lguest_iret, lguest_noirq_start, lguest_noirq_end
lguest_iret:
	pushl %eax
	movl 12(%esp), %eax /* eflags of the frame: above our %eax, eip and cs */
lguest_noirq_start:
	movl %eax, %ss:lguest_data + LGUEST_DATA_irq_enabled
	popl %eax
	iret
lguest_noirq_end:

/* int enter_user(struct kcontext *ctx, u32 eip, u32 esp) */
	.globl enter_user
enter_user:
	movl 4(%esp), %eax
	movl %ebx, 0(%eax)
	movl %esi, 4(%eax)
	movl %edi, 8(%eax)
	movl %ebp, 12(%eax)
	movl (%esp), %ecx
	movl %ecx, 16(%eax) /* resume at our return address */
	leal 4(%esp), %ecx
	movl %ecx, 20(%eax) /* with the stack as after our ret */
	movl 8(%esp), %ecx
	movl 12(%esp), %edx
	/* An iret frame to ring 3: ss, esp, eflags (IF on), cs, eip. */
	pushl $__USER_DS
	pushl %edx
	pushl $(X86_EFLAGS_IF | 2)
	pushl $__USER_CS
	pushl %ecx
	movl $__USER_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	jmp *pv_ops + PV_OPS_iret

/* void leave_user(struct kcontext *ctx, int code): return from enter_user with code. */
	.globl leave_user
leave_user:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	movl 0(%eax), %ebx
	movl 4(%eax), %esi
	movl 8(%eax), %edi
	movl 12(%eax), %ebp
	movl 20(%eax), %esp
	movl 16(%eax), %ecx
	movl %edx, %eax
	jmp *%ecx
