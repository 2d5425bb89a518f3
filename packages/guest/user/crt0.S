/*
 * Where a user program starts: the kernel's ELF loader jumps here in ring 3 with the stack
 * at the top of user space. Call main and hand its value to exit: Linux i386 system call 1,
 * eax = 1, ebx = status.
 */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	call main
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	ud2
