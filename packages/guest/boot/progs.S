/*
 * Two tiny ring-3 programs the shell runs by name, position-independent like user.S and
 * copied by the kernel into a user page at USER_CODE:
 *   fault - loads from address 0, which nothing maps: the kernel kills it with
 *           "segmentation fault at 0x00000000" and the shell carries on.
 *   spin  - loops forever in ring 3 until Ctrl-C; the tick keeps preempting it, so the
 *           kernel sees the interrupt and kills it.
 */
	.section .rodata
	.globl fault_program_start, fault_program_end
fault_program_start:
	xorl %eax, %eax
	movl (%eax), %eax
	ud2
fault_program_end:

	.globl spin_program_start, spin_program_end
spin_program_start:
1:	incl %eax
	jmp 1b
spin_program_end:
