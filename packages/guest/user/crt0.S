/*
 * Where a user program starts: execve leaves the stack as the i386 System V ABI says — argc
 * at esp, then argv[] and a NULL, then envp[] and a NULL. Call main(argc, argv) and hand its
 * value to exit: Linux i386 system call 1, eax = 1, ebx = status.
 */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	movl (%esp), %eax  /* argc */
	leal 4(%esp), %ecx /* argv */
	andl $-16, %esp
	subl $8, %esp
	pushl %ecx
	pushl %eax
	call main
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	ud2
