/*
 * Where a guest's journey begins: two doors into the same kernel.
 *
 * Under lguest, the Launcher scans our image for the 13 bytes "GenuineLguest" and starts us
 * at the byte after them, at its virtual address: ring 1 (CS 0x61, DS/ES/SS 0x69), paging on
 * with the Launcher's tables (physical 0.. mapped at PAGE_OFFSET, nothing else), ESP 0, and
 * ESI 0 = the physical address of the Linux zero page (boot_params). No stack yet, and the
 * BSS may hold leftovers of the file, so we clear it, take our boot stack, and call
 * lguest_init(boot_params) — which fills paravirt_ops and makes the first hypercall.
 *
 * On a PC (or QEMU), a multiboot loader jumps to the ELF entry with paging off, flat ring-0
 * segments, EAX = 0x2BADB002 and EBX = the multiboot info. We are linked at 0xC0100000 but
 * sit at 0x100000, so until paging is on this code uses physical addresses only (symbol -
 * PAGE_OFFSET). It clears the BSS, maps the first 16 MiB both at 0 and at PAGE_OFFSET, turns
 * paging on, jumps up to the linked addresses and calls native_init(magic, info).
 */
#include <lguest/abi.h>

#define PAGE_OFFSET 0xC0000000
#define PA(sym) ((sym) - PAGE_OFFSET)
#define MULTIBOOT_MAGIC 0x1BADB002
#define MULTIBOOT_FLAGS 0x00000003 /* page-align modules, give us memory info */
#define EARLY_TABLES 4             /* 4 page tables: 16 MiB mapped until paging_init */
#define CR0_PG 0x80000000

	.section .head.text, "ax"
	.align 4
multiboot_header:
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

/* Clear [__bss_start, __bss_end) at the addresses given: %edi start, %ecx end. No stack. */
#define CLEAR_BSS(start, end) \
	movl $(start), %edi;  \
	movl $(end), %ecx;    \
	subl %edi, %ecx;      \
	xorl %eax, %eax;      \
	cld;                  \
	rep stosb

/* ---- The lguest door. The signature must appear nowhere else in the image. ---- */
	.ascii LGUEST_SIGNATURE
	.globl lguest_entry
lguest_entry:
	CLEAR_BSS(__bss_start, __bss_end)
	movl $boot_stack_top, %esp
	leal PAGE_OFFSET(%esi), %eax /* boot_params, virtual */
	pushl %eax
	call lguest_init
	jmp halt_forever

/* ---- The multiboot door (running at physical addresses, paging off). ---- */
	.globl native_entry
native_entry:
	cli
	movl %eax, %ebp /* keep magic and info across the BSS clear */
	movl %ebx, %esi
	CLEAR_BSS(PA(__bss_start), PA(__bss_end))

	/* Four page tables mapping physical 0..16 MiB, present and writable. */
	movl $PA(early_page_tables), %edi
	movl $(_PAGE_PRESENT | _PAGE_RW), %eax
	movl $(EARLY_TABLES * 1024), %ecx
1:	movl %eax, (%edi)
	addl $4096, %eax
	addl $4, %edi
	decl %ecx
	jnz 1b

	/* The same tables at directory slots 0.. (identity) and 768.. (PAGE_OFFSET). */
	movl $PA(early_page_tables) + (_PAGE_PRESENT | _PAGE_RW), %eax
	movl $PA(early_page_dir), %edi
	movl $EARLY_TABLES, %ecx
2:	movl %eax, (%edi)
	movl %eax, (PAGE_OFFSET >> 20)(%edi)
	addl $4096, %eax
	addl $4, %edi
	decl %ecx
	jnz 2b

	movl $PA(early_page_dir), %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	/* Paging is on and we still run from the identity map; jump to where we are linked. */
	movl $native_higher_half, %eax
	jmp *%eax

native_higher_half:
	movl $boot_stack_top, %esp
	pushl %esi /* multiboot info (physical) */
	pushl %ebp /* magic */
	call native_init

	.globl halt_forever
halt_forever:
	cli
	hlt
	jmp halt_forever

	.bss
	.align 4096
	.globl early_page_dir
early_page_dir:
	.space 4096
early_page_tables:
	.space EARLY_TABLES * 4096
	.align 16
boot_stack:
	.space 16384
	.globl boot_stack_top
boot_stack_top:
