/*
 * Entry of the x86-64 build of the native Linux program: hand the initial stack (argc,
 * argv…) to native_main, which never returns.
 */
	.section .note.GNU-stack,"",@progbits
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	movq %rsp, %rdi
	andq $-16, %rsp
	call native_main
	hlt
