/*
 * The bare-metal wrapper around the workload, for the emulated engines (our cores, v86).
 * It is a multiboot kernel, so v86 can boot it without a BIOS; our harness loads the same
 * ELF and starts it at _start in flat 32-bit protected mode, as a multiboot loader would.
 *
 * The harness patches two words before the start: bench_iterations (how many rounds) and
 * bench_paging (nonzero: build identity page tables with 4 KiB pages and turn paging on
 * first — for engines whose state the harness cannot set directly). At the end the checksum
 * is in bench_result, bench_done holds BENCH_DONE_MAGIC, and the CPU halts with interrupts
 * off, so an emulator stops for good.
 */
#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0
#define BENCH_DONE_MAGIC 0x600df00d
#define PTE_PRESENT_RW 0x003
#define CR0_PG 0x80000000

	.text
	.align 4
multiboot_header:
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.globl _start
_start:
	cli
	movl $stack_top, %esp
	cmpl $0, bench_paging
	je 1f
	call enable_paging
1:	pushl bench_iterations
	call workload_run
	addl $4, %esp
	movl %eax, bench_result
	movl $BENCH_DONE_MAGIC, bench_done
	.globl bench_halt
bench_halt:
	hlt
	jmp bench_halt

/* Identity-map the first 4 MiB (the image, its table and stack live there) with one page
 * table of 4 KiB pages, load CR3 and set CR0.PG. */
enable_paging:
	movl $guest_page_table, %edi
	movl $PTE_PRESENT_RW, %eax
	movl $1024, %ecx
2:	movl %eax, (%edi)
	addl $4096, %eax
	addl $4, %edi
	decl %ecx
	jnz 2b
	movl $guest_page_table + PTE_PRESENT_RW, guest_page_directory
	movl $guest_page_directory, %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	jmp 3f
3:	ret

	.data
	.align 4
	.globl bench_iterations, bench_paging
bench_iterations:
	.long 0
bench_paging:
	.long 0

	.bss
	.align 4
	.globl bench_result, bench_done
bench_result:
	.long 0
bench_done:
	.long 0
	.align 4096
guest_page_directory:
	.space 4096
guest_page_table:
	.space 4096
	.align 16
stack:
	.space 16384
	.globl stack_top
stack_top:
