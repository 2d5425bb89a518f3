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
 * switch_context and ret_from_fork are the CPU's side of switching tasks (kernel/task.c).
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

/*
 * void switch_context(unsigned long *save_ksp, unsigned long ksp): the CPU half of a task
 * switch. Pushes the callee-saved registers on this task's kernel stack, stores the stack
 * pointer in *save_ksp, takes ksp, and pops the other task's — which then returns from its
 * own call to switch_context (inside schedule), or, a newborn, into ret_from_fork.
 */
	.globl switch_context
switch_context:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* A new task's first return: its stack holds the trap frame fork (or execve of a kernel-made
 * process) built; leave through the ordinary way out of a trap. Interrupts are off, as
 * schedule left them; the iret turns them on from the frame's EFLAGS. */
	.globl ret_from_fork
ret_from_fork:
	jmp ret_from_trap
