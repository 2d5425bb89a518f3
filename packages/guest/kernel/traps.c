/*
 * The kernel's descriptor tables and its one trap handler. gdt_init builds the Linux-layout
 * GDT and loads it through the load_gdt op (natively lgdt; under lguest LHCALL_LOAD_GDT, with
 * the host keeping its own entries 10, 11, 16 and 31 and raising our DPL 0 to ring 1).
 * trap_init fills the IDT with the exception gates and the system-call gate and loads it
 * (natively lidt; under lguest one LHCALL_LOAD_IDT_ENTRY per vector). The IRQ gates come
 * later, from the init_IRQ op. Every trap then arrives in trap(), whichever door it took:
 * the CPU directly, or the host reflecting it (a page fault under lguest comes with its
 * address in lguest_data.cr2, which the read_cr2 op returns).
 */
#include <desc.h>
#include <irq.h>
#include <mm.h>
#include <task.h>
#include <tty.h>

struct desc_struct gdt_table[GDT_ENTRIES] __attribute__((aligned(8)));
struct desc_struct idt_table[IDT_ENTRIES] __attribute__((aligned(8)));
struct i386_hw_tss native_tss __attribute__((aligned(128)));

/* Reload every segment register from the new GDT: CS through a far return. */
static void reload_segments(void)
{
	unsigned int ds = kernel_ds();
	__asm__ __volatile__("pushl %0\n\t"
			     "pushl $1f\n\t"
			     "lret\n"
			     "1:\n\t"
			     "movl %1, %%ss\n\t"
			     "movl %2, %%ds\n\t"
			     "movl %2, %%es\n\t"
			     "movl %3, %%fs\n\t"
			     "movl %3, %%gs"
			     :
			     : "r"(kernel_cs()), "r"(ds), "r"(__USER_DS), "r"(0)
			     : "memory");
}

/* Builds the GDT (flat kernel and user segments, the native TSS) and loads it. */
void gdt_init(void)
{
	struct desc_ptr dtr;

	memset(gdt_table, 0, sizeof(gdt_table));
	gdt_table[GDT_ENTRY_KERNEL_CS] = make_segment(0, 0xFFFFF, DESC_CODE, DESC_FLAT_FLAGS);
	gdt_table[GDT_ENTRY_KERNEL_DS] = make_segment(0, 0xFFFFF, DESC_DATA, DESC_FLAT_FLAGS);
	gdt_table[GDT_ENTRY_DEFAULT_USER_CS] = make_segment(0, 0xFFFFF, DESC_CODE | DESC_DPL3, DESC_FLAT_FLAGS);
	gdt_table[GDT_ENTRY_DEFAULT_USER_DS] = make_segment(0, 0xFFFFF, DESC_DATA | DESC_DPL3, DESC_FLAT_FLAGS);
	/* The TSS: used natively; the lguest host ignores entry 16 and supplies its own. */
	native_tss.ss0 = __KERNEL_DS;
	native_tss.io_bitmap_base = sizeof(native_tss);
	gdt_table[GDT_ENTRY_TSS] = make_segment((u32)&native_tss, sizeof(native_tss) - 1, DESC_TSS, 0);

	dtr.size = sizeof(gdt_table) - 1;
	dtr.address = (u32)gdt_table;
	dtr.pad = 0;
	pv_ops.load_gdt(&dtr);
	reload_segments();
	pv_ops.load_tr_desc();
}

/* Fills the exception gates 0..31 and the system-call gate, and loads the IDT. */
void trap_init(void)
{
	struct desc_ptr dtr;
	int v;

	memset(idt_table, 0, sizeof(idt_table));
	for (v = 0; v < 32; v++) {
		/* 0x1F is the hypercall vector under lguest and reserved natively: leave it. */
		if (v == LGUEST_TRAP_ENTRY)
			continue;
		idt_table[v] = make_gate(trap_entry_table[v], kernel_cs(), GATE_INTERRUPT);
	}
	/* A trap gate, reachable from ring 3: under lguest it becomes a direct trap, taken by
	 * the CPU straight into our ring 1 without a trip through the host. */
	idt_table[SYSCALL_VECTOR] = make_gate((u32)syscall_entry, kernel_cs(), GATE_TRAP | GATE_DPL3);

	dtr.size = sizeof(idt_table) - 1;
	dtr.address = (u32)idt_table;
	dtr.pad = 0;
	pv_ops.load_idt(&dtr);
}

static const char *const trap_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bounds", "invalid opcode",
	"device not available", "double fault", "coprocessor overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection", "page fault", "reserved",
	"x87 error", "alignment check",
};

static noreturn void bad_trap(struct trapframe *tf, const char *what)
{
	const char *name = tf->trapno < 32 && trap_names[tf->trapno] ? trap_names[tf->trapno] : "trap";
	panic("%s: %s (%u) at eip %08x cs %x err %x", what, name, tf->trapno, tf->eip, tf->cs, tf->err);
}

/* A fatal trap in ring 3: say what happened and end the task with the signal a Unix sends. */
static noreturn void user_fault(struct trapframe *tf, int sig, const char *what, unsigned long addr)
{
	if (tf->trapno == TRAP_PAGE_FAULT)
		printk("%s[%d]: %s at %p (eip %08x)\n", current->comm, current->pid, what, (void *)addr, tf->eip);
	else
		printk("%s[%d]: killed by %s (trap %u) at eip %08x\n", current->comm, current->pid, what, tf->trapno,
		       tf->eip);
	do_exit(W_SIGNALED(sig));
}

/* Page faults: the task's stack and heap (or a kernel region) get pages on first touch;
 * anything else from ring 3 ends the program; anything else from the kernel is a bug. */
static void do_page_fault(struct trapframe *tf)
{
	unsigned long addr = pv_ops.read_cr2();
	int user = (tf->cs & 3) == 3;
	int r;

	if (addr < PAGE_OFFSET && current->pid) {
		r = demand_fill(&current->stack, current->pgdir, addr, tf->err);
		if (!r)
			r = demand_fill(&current->heap, current->pgdir, addr, tf->err);
	} else
		r = handle_demand_fault(kernel_pgdir, addr, tf->err);
	if (r > 0)
		return;
	if (user && r < 0)
		user_fault(tf, SIGKILL, "out of memory for a page", addr);
	if (user)
		user_fault(tf, SIGSEGV, "segmentation fault", addr);
	panic("unhandled page fault at %08x (err %x) eip %08x", (u32)addr, tf->err, tf->eip);
}

/* The signal a Unix sends for each CPU exception from ring 3. */
static int trap_signal(unsigned int trapno)
{
	switch (trapno) {
	case 0:
	case 16:
		return SIGFPE;
	case 1:
	case 3:
		return SIGTRAP;
	case 6:
		return SIGILL;
	case 17:
		return SIGBUS;
	default:
		return SIGSEGV;
	}
}

void trap(struct trapframe *tf)
{
	int user = (tf->cs & 3) == 3;

	if (tf->trapno == TRAP_PAGE_FAULT)
		do_page_fault(tf);
	else if (tf->trapno >= FIRST_EXTERNAL_VECTOR && tf->trapno < FIRST_EXTERNAL_VECTOR + NR_IRQS)
		do_IRQ(tf->trapno - FIRST_EXTERNAL_VECTOR, tf);
	else if (tf->trapno == SYSCALL_VECTOR)
		do_syscall(tf);
	else if (tf->trapno == 7 && user)
		fpu_device_not_available();
	else if (user && tf->trapno < 32)
		user_fault(tf, trap_signal(tf->trapno), trap_names[tf->trapno] ? trap_names[tf->trapno] : "trap", 0);
	else
		bad_trap(tf, user ? "user trap" : "kernel trap");
	/* Back to ring 3: the place to switch tasks and to act on signals. */
	if (user)
		return_to_user(tf);
}
