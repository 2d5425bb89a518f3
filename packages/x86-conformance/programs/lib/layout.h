/* The fixed machine layout every conformance program shares: GDT selectors, the I/O ports of
 * the test machine, and the reserved interrupt vector. Included by C and by assembler, so it
 * holds #defines only. README.md in programs/ documents the same numbers for the harness. */
#ifndef LAYOUT_H
#define LAYOUT_H

/* Test-machine I/O ports, chosen to match QEMU's debugcon and isa-debug-exit devices. */
#define PORT_DEBUGCON 0xE9 /* each byte written is one character of output */
#define PORT_EXIT 0xF4     /* a 32-bit write ends the program with that status */

#define EXIT_PASS 0  /* every test passed (or was skipped) */
#define EXIT_FAIL 1  /* at least one test failed */
#define EXIT_PANIC 2 /* the program itself could not run (bad boot state, fault outside a test) */

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_BOOT_MAGIC 0x2BADB002

/* GDT layout (index << 3 | RPL). Indexes 10..63 are scratch: each test writes its own. */
#define SEL_KCODE 0x08  /* ring-0 flat 32-bit code */
#define SEL_KDATA 0x10  /* ring-0 flat data */
#define SEL_UCODE 0x1B  /* ring-3 flat 32-bit code */
#define SEL_UDATA 0x23  /* ring-3 flat data */
#define SEL_R1CODE 0x29 /* ring-1 flat 32-bit code */
#define SEL_R1DATA 0x31 /* ring-1 flat data */
#define SEL_TSS 0x38    /* the main task's TSS, loaded in TR */
#define SEL_R2CODE 0x42 /* ring-2 flat 32-bit code */
#define SEL_R2DATA 0x4A /* ring-2 flat data */
#define GDT_ENTRIES 64
#define GDT_FIRST_SCRATCH 10
#define SCRATCH_SEL(n) ((GDT_FIRST_SCRATCH + (n)) << 3)

/* A DPL-3 interrupt gate every program keeps: code running in an outer ring (or V86) executes
 * `int $VEC_EXIT` to end its excursion and return to the ring-0 test that started it. */
#define VEC_EXIT 0x7F

#endif
