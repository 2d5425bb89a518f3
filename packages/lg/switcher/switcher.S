/*
 * The Switcher: the only code that runs in both the host and every guest. It is linked at
 * SWITCHER_ADDR (0xFFC00000), the top 4 MiB slot that the host keeps free in every address
 * space, and mapped there read-only and supervisor-only in each guest's shadow page tables.
 * Next to its text sit this CPU's two pages of struct lguest_pages: page A, whose top 72
 * bytes are the guest's registers (struct lguest_regs, saved and restored right here), and
 * page B, the read-only state: the host's CR3, GDT, IDT and stack pointer, and the guest's
 * GDT, IDT and TSS.
 *
 * The journey: the host's run_guest_once pushes its flags and far-calls switch_to_guest
 * (%eax = this CPU's lguest_pages, %ebx = the physical address of the guest's shadow page
 * directory). We save what the host needs, load the guest's GDT, IDT and TSS, switch to the
 * shadow page tables, pop the guest's registers and IRET into ring 1 (or 3). The guest then
 * runs until a trap or an interrupt: every vector enters one of the stubs below through the
 * guest IDT the host built, which lands on the TSS's ring 0 stack — the top of page A — so
 * the processor's frame and our pushes fill struct lguest_regs exactly. SWITCH_TO_HOST then
 * restores the host, and either IRETs back into run_guest_once (traps: the host decides what
 * they mean) or jumps to the host's own handler for the vector (real interrupts, which the
 * host services and which then return into run_guest_once through their own IRET).
 */
#include <lguest/abi.h>


	.text
	.code32
	.globl start_switcher_text
start_switcher_text:

/*
 * switch_to_guest: reached by `lcall` through {switch_to_guest, LGUEST_CS} with interrupts
 * off. %eax: this CPU's struct lguest_pages; %ebx: the shadow page directory (physical).
 */
	.globl switch_to_guest
switch_to_guest:
	/* The host's segment registers and frame pointer go on the host stack... */
	pushl	%es
	pushl	%ds
	pushl	%gs
	pushl	%fs
	pushl	%ebp
	/* ...and the host stack pointer into page B, where SWITCH_TO_HOST finds it again. */
	movl	%esp, LGUEST_PAGES_host_sp(%eax)

	/* From here the stack is the guest's register page: it is always mapped, in the host and
	 * in the guest, so an interrupt or a fault during the switch still has a stack. */
	movl	%eax, %edx
	addl	$LGUEST_PAGES_regs, %edx
	movl	%edx, %esp

	/* The guest's descriptor tables. The GDT keeps LGUEST_CS and LGUEST_DS (entries 10 and
	 * 11) exactly as the host's, so %cs and %ds stay valid across the switch. */
	lgdt	LGUEST_PAGES_guest_gdt_desc(%eax)
	lidt	LGUEST_PAGES_guest_idt_desc(%eax)

	/* The guest's TSS (whose esp0 is the top of page A) becomes the task: LTR marks its
	 * descriptor busy. The host's TSS descriptor was marked busy by the host's own LTR;
	 * clear that, or the host's LTR on the way back would fault. */
	movl	$TSS_SELECTOR, %edx
	ltr	%dx
	movl	(LGUEST_PAGES_host_gdt_desc + 2)(%eax), %edx
	andb	$0xFD, (TSS_SELECTOR + 5)(%edx)

	/* The guest's shadow page tables. This page, page A and page B stay mapped: the host
	 * put the switcher's page table into the top slot of every shadow directory. */
	movl	%ebx, %cr3

	/* The guest's registers, in struct lguest_regs order. */
	popl	%ebx
	popl	%ecx
	popl	%edx
	popl	%esi
	popl	%edi
	popl	%ebp
	popl	%gs
	popl	%eax
	popl	%fs
	popl	%ds
	popl	%es
	/* Skip trapnum and errcode: what remains is the frame IRET wants. */
	addl	$8, %esp
	iret

/*
 * SWITCH_TO_HOST: the stack is the top of page A, holding the processor's frame (eip, cs,
 * eflags, and esp, ss when the guest was not in ring 0), the error code and the vector. Push
 * the rest of struct lguest_regs, then put the host back exactly as switch_to_guest found it.
 * Leaves %eax = this CPU's lguest_pages and %ebx = the vector.
 */
.macro SWITCH_TO_HOST
	pushl	%es
	pushl	%ds
	pushl	%fs
	pushl	%eax
	pushl	%gs
	pushl	%ebp
	pushl	%edi
	pushl	%esi
	pushl	%edx
	pushl	%ecx
	pushl	%ebx
	/* The guest may have left anything in %ds; the switcher's own data segment is flat. */
	movl	$LGUEST_DS, %eax
	movl	%eax, %ds
	/* struct lguest_pages starts at the page our stack is in (page A). */
	movl	%esp, %eax
	andl	$0xFFFFF000, %eax
	/* A trap from the guest always leaves %esp exactly at struct lguest_regs. Anywhere else
	 * means the fault came from inside switch_to_guest itself: a segment register or the IRET
	 * refused the state it was given, and that frame landed lower in page A (over part of the
	 * registers, and for a faulting IRET over trapnum too). Call it trap 256, a number no
	 * vector has, so the host kills the guest rather than misread that frame. */
	leal	LGUEST_PAGES_regs(%eax), %edx
	cmpl	%edx, %esp
	je	9f
	movl	$256, LGUEST_PAGES_regs_trapnum(%eax)
9:
	movl	LGUEST_PAGES_regs_trapnum(%eax), %ebx
	/* The host's page tables first: page B is writable there, read-only in the guest. */
	movl	LGUEST_PAGES_host_cr3(%eax), %edx
	movl	%edx, %cr3
	/* Clear the busy bit of the guest's TSS descriptor so the next entry can LTR it. */
	movl	(LGUEST_PAGES_guest_gdt_desc + 2)(%eax), %edx
	andb	$0xFD, (TSS_SELECTOR + 5)(%edx)
	lgdt	LGUEST_PAGES_host_gdt_desc(%eax)
	lidt	LGUEST_PAGES_host_idt_desc(%eax)
	movl	LGUEST_PAGES_host_sp(%eax), %esp
	movl	$TSS_SELECTOR, %edx
	ltr	%dx
	popl	%ebp
	popl	%fs
	popl	%gs
	popl	%ds
	popl	%es
.endm

/* A trap the host must look at: back into run_guest_once, through the frame its lcall and
 * pushf left on the host stack. */
return_to_host:
	SWITCH_TO_HOST
	iret

/* A real interrupt arrived while the guest ran: switch back, then enter the host's handler
 * for the vector as if the interrupt had come in the host. Its IRET returns into
 * run_guest_once. The handler's address is split across the two halves of its gate. */
deliver_to_host:
	SWITCH_TO_HOST
	movl	(LGUEST_PAGES_host_idt_desc + 2)(%eax), %edx
	leal	(%edx, %ebx, 8), %edx
	movzwl	(%edx), %eax
	movl	4(%edx), %edx
	xorw	%dx, %dx
	orl	%eax, %edx
	jmp	*%edx

/* An NMI inside the guest is dropped: discard the vector and error code words and return. */
handle_nmi:
	addl	$8, %esp
	iret

/*
 * One stub per vector. Vectors whose exception pushes an error code (8, 10-14, 17) push only
 * the vector; every other pushes a zero error code first, so struct lguest_regs always has
 * both. 0-31 and 128 go back to the host as traps; 2 is the NMI; 32-127 and 129-255 are real
 * interrupts for the host's handlers.
 */
.macro IRQ_STUB vector, target
	.data
	.long	1f
	.text
1:
	.if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17)
	.else
	pushl	$0
	.endif
	pushl	$\vector
	jmp	\target
.endm

.macro IRQ_STUBS first, last, target
	.altmacro
	.set vec, \first
	.rept (\last - \first + 1)
	IRQ_STUB %vec, \target
	.set vec, vec + 1
	.endr
.endm

	.data
	.globl default_idt_entries
default_idt_entries:
	.text
	IRQ_STUBS 0, 1, return_to_host
	IRQ_STUB 2, handle_nmi
	IRQ_STUBS 3, 31, return_to_host
	IRQ_STUBS 32, 127, deliver_to_host
	IRQ_STUB 128, return_to_host
	IRQ_STUBS 129, 255, deliver_to_host

	.globl end_switcher_text
end_switcher_text:
