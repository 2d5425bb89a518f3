/*
 * Where lgnet starts under Linux: execve leaves argc at esp, then argv[] and a NULL. Call
 * main(argc, argv) and hand its value to exit (i386 system call 1).
 */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	movl (%esp), %eax
	leal 4(%esp), %ecx
	andl $-16, %esp
	subl $8, %esp
	pushl %ecx
	pushl %eax
	call main
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	ud2
