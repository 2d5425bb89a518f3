/*
 * Segments, gates and the trap frame. The kernel's GDT follows Linux's i386 layout (kernel
 * code/data in entries 12/13, user in 14/15, the TSS in 16, TLS in 6-8) because that is the
 * layout the lguest host expects: it owns entries 10, 11, 16 and 31 and raises DPL 0 to 1 in
 * the rest, so the very same table serves ring 0 natively and ring 1 under lguest.
 */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#include <lguest/abi.h>

/* Access bytes (P, DPL, S, type) and the flags nibble for 4 KiB-granular 32-bit segments. */
#define DESC_CODE 0x9A
#define DESC_DATA 0x92
#define DESC_DPL3 0x60
#define DESC_TSS 0x89
#define DESC_FLAT_FLAGS 0xC

/* Gate types in the high word: present interrupt gate (IF cleared) and trap gate. */
#define GATE_INTERRUPT 0x8E00
#define GATE_TRAP 0x8F00
#define GATE_DPL3 0x6000

/* The first TLS selector a user program loads (entry 6, RPL 3). */
#define TLS_SELECTOR ((GDT_ENTRY_TLS_MIN << 3) | 3)

/* Vectors. */
#define TRAP_PAGE_FAULT 14
#define IRQ_VECTORS 32 /* IRQ 0..31 at vectors 32..63 */

#ifndef __ASSEMBLER__
#include <paravirt.h>

/* A segment descriptor's two words from base, byte limit and access/flags. */
static inline struct desc_struct make_segment(u32 base, u32 limit, u32 access, u32 flags)
{
	struct desc_struct d;
	d.a = (limit & 0xFFFF) | (base << 16);
	d.b = ((base >> 16) & 0xFF) | (access << 8) | (limit & 0xF0000) | (flags << 20) | (base & 0xFF000000);
	return d;
}

/* An IDT gate's two words: handler offset, code selector, type/DPL bits. */
static inline struct desc_struct make_gate(u32 offset, u32 selector, u32 type)
{
	struct desc_struct d;
	d.a = (offset & 0xFFFF) | (selector << 16);
	d.b = (offset & 0xFFFF0000) | type;
	return d;
}

/* What entry.S pushes on every trap, interrupt and system call, lowest address first. */
struct trapframe {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
	u32 trapno, err;
	u32 eip, cs, eflags;
	u32 esp, ss; /* only present when the trap came from user mode */
};

/* The entry stubs, one per vector 0..63 and 0x80 (entry.S). */
extern const u32 trap_entry_table[64];
void syscall_entry(void);

/* The hardware task-state segment a native kernel uses for ring 3 -> 0 stack switches. */
extern struct i386_hw_tss native_tss;

/* The kernel's tables (traps.c). */
extern struct desc_struct gdt_table[GDT_ENTRIES];
extern struct desc_struct idt_table[IDT_ENTRIES];
void gdt_init(void);
void trap_init(void);
/* The common C trap handler entry.S calls. */
void trap(struct trapframe *tf);

#endif /* __ASSEMBLER__ */
#endif /* GUEST_DESC_H */
