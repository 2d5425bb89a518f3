/*
 * Where a static i386 Linux program starts (the i386 System V process start): execve leaves
 * argc at esp, then argv[] and a NULL, then envp[] and a NULL. Call main(argc, argv) with the
 * stack 16-byte aligned at the call, and hand its value to exit: system call 1 (eax = 1,
 * ebx = status). The guest kernel's programs (packages/guest/user) and lgnet
 * (packages/net/user) start here; they run under the real Linux guest and ours alike.
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
