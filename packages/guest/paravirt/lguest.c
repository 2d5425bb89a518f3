/*
 * The lguest paravirt_ops: the guest's half of the hypervisor. Everything a kernel would do
 * with a privileged instruction, a guest in ring 1 cannot do — so it asks. Interrupt
 * enabling is a store into lguest_data.irq_enabled, which the host reads before it injects
 * anything; descriptor tables, page tables, the stack for traps and the timer are
 * hypercalls (int $0x1f). The ones that can wait are queued in the async ring while a lazy
 * mode is on, and the host runs them in order on our next exit.
 *
 * lguest_init is the first C the Launcher's guest runs (from head.S): it copies the boot
 * parameters, installs these ops, and registers lguest_data with LHCALL_LGUEST_INIT — the
 * first hypercall, as the host insists — before it starts the kernel.
 */
#include <desc.h>
#include <irq.h>
#include <lguest_bus.h>
#include <mm.h>
#include <task.h>

/* entry.S */
void lguest_iret(void);
extern char lguest_noirq_start[], lguest_noirq_end[];

/* Shared with the host. Every ring slot starts free (0xFF), and the timer IRQ starts blocked
 * until time_init wants it. It lives in .data: the BSS is cleared at entry. */
struct lguest_data lguest_data = {
	.blocked_interrupts = { 1 },
	.hcall_status = { [0 ... LHCALL_RING_SIZE - 1] = LHCALL_STATUS_FREE },
};

static struct boot_params boot_params;
static char command_line[COMMAND_LINE_SIZE];
static enum paravirt_lazy_mode lazy_mode;
static unsigned int next_call;
/* Cached control registers: the host keeps the real ones. */
static unsigned long current_cr0, current_cr3;

#define irq_enabled (*(volatile u32 *)&lguest_data.irq_enabled)

/* ---- The async ring. ---- */

/* Queue a call for the host; if the ring is full, make it synchronously, which makes the
 * host drain the ring first, so the order of calls is kept either way. */
unsigned long lguest_sync_hcalls, lguest_async_hcalls;

static void async_hcall(unsigned long call, unsigned long arg1, unsigned long arg2, unsigned long arg3)
{
	volatile u8 *status = &lguest_data.hcall_status[next_call];
	unsigned long flags = irq_enabled;

	irq_enabled = 0;
	barrier();
	if (*status != LHCALL_STATUS_FREE) {
		hcall(call, arg1, arg2, arg3);
	} else {
		lguest_async_hcalls++;
		lguest_data.hcalls[next_call].eax = call;
		lguest_data.hcalls[next_call].edx = arg1;
		lguest_data.hcalls[next_call].ebx = arg2;
		lguest_data.hcalls[next_call].ecx = arg3;
		barrier(); /* the arguments before the status: x86 keeps stores in order */
		*status = LHCALL_STATUS_PENDING;
		next_call = (next_call + 1) % LHCALL_RING_SIZE;
	}
	barrier();
	irq_enabled = flags;
}

void lazy_hcall(unsigned long call, unsigned long arg1, unsigned long arg2, unsigned long arg3)
{
	if (lazy_mode == PARAVIRT_LAZY_NONE)
		hcall(call, arg1, arg2, arg3);
	else
		async_hcall(call, arg1, arg2, arg3);
}

/* Leaving a lazy mode (or a flush inside one) pushes the queue to the host now. */
static void lguest_set_lazy_mode(enum paravirt_lazy_mode mode)
{
	if (mode == PARAVIRT_LAZY_FLUSH) {
		if (lazy_mode != PARAVIRT_LAZY_NONE)
			hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
		return;
	}
	lazy_mode = mode;
	if (mode == PARAVIRT_LAZY_NONE)
		hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
}

/* ---- The interrupt flag is a word in lguest_data. ---- */
static unsigned long lguest_save_fl(void) { return irq_enabled; }
static void lguest_restore_fl(unsigned long flags)
{
	barrier();
	irq_enabled = flags;
	barrier();
}
static void lguest_irq_disable(void)
{
	irq_enabled = 0;
	barrier();
}
/* No check for pending interrupts: the host delivers them at our next exit. */
static void lguest_irq_enable(void)
{
	barrier();
	irq_enabled = X86_EFLAGS_IF;
}
/* The host wakes us (with irq_enabled set) when an interrupt is pending. */
static void lguest_safe_halt(void) { hcall(LHCALL_HALT, 0, 0, 0); }

/* ---- Descriptor tables. ---- */
static void lguest_load_gdt(const struct desc_ptr *dtr)
{
	BUG_ON((dtr->size + 1) / 8 != GDT_ENTRIES);
	hcall(LHCALL_LOAD_GDT, __pa(dtr->address), GDT_ENTRIES, 0);
}
static void lguest_write_gdt_entry(struct desc_struct *gdt, int entry, u32 a, u32 b)
{
	gdt[entry].a = a;
	gdt[entry].b = b;
	hcall(LHCALL_LOAD_GDT, __pa(gdt), GDT_ENTRIES, 0);
}
/* %gs first: the host can't reload a segment whose descriptor vanishes under it. */
static void lguest_load_tls(const struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES])
{
	__asm__ __volatile__("movl %0, %%gs" : : "r"(0));
	lazy_hcall(LHCALL_LOAD_TLS, __pa(tls), 0, 0);
}
static void lguest_load_idt(const struct desc_ptr *dtr)
{
	const struct desc_struct *idt = (const struct desc_struct *)dtr->address;
	unsigned int i;
	for (i = 0; i < (dtr->size + 1U) / 8; i++)
		hcall(LHCALL_LOAD_IDT_ENTRY, i, idt[i].a, idt[i].b);
}
static void lguest_write_idt_entry(struct desc_struct *idt, int entry, u32 a, u32 b)
{
	idt[entry].a = a;
	idt[entry].b = b;
	hcall(LHCALL_LOAD_IDT_ENTRY, entry, a, b);
}
static void lguest_load_tr_desc(void) {} /* the host owns the TSS; ltr would fault */
static void lguest_load_esp0(unsigned long esp0)
{
	lazy_hcall(LHCALL_SET_STACK, __KERNEL_DS | GUEST_PL, esp0, THREAD_SIZE / PAGE_SIZE);
}

/* ---- The CPU: cpuid is real but filtered; control registers are cached. ---- */
static void lguest_cpuid(u32 *eax, u32 *ebx, u32 *ecx, u32 *edx)
{
	u32 leaf = *eax;
	__asm__ __volatile__("cpuid" : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx) : "0"(*eax), "2"(*ecx));
	switch (leaf) {
	case 1:
		*ecx &= 0x00002201; /* SSE3, SSSE3, CX16 */
		*edx &= 0x07808101; /* FPU, CX8, CMOV, MMX, FXSR, SSE, SSE2 */
		*edx |= 0x00002000; /* claim PGE: user and kernel flushes differ */
		break;
	case 0x80000000:
		if (*eax > 0x80000008)
			*eax = 0x80000008;
		break;
	}
}
static unsigned long lguest_read_cr0(void) { return current_cr0; }
static void lguest_write_cr0(unsigned long cr0)
{
	lazy_hcall(LHCALL_TS, cr0 & X86_CR0_TS, 0, 0);
	current_cr0 = cr0;
}
static void lguest_clts(void)
{
	lazy_hcall(LHCALL_TS, 0, 0, 0);
	current_cr0 &= ~X86_CR0_TS;
}
static unsigned long lguest_read_cr2(void) { return lguest_data.cr2; }
static unsigned long lguest_read_cr3(void) { return current_cr3; }
static void lguest_write_cr3(unsigned long cr3)
{
	lazy_hcall(LHCALL_NEW_PGTABLE, cr3, 0, 0);
	current_cr3 = cr3;
}
static unsigned long lguest_read_cr4(void) { return 0; }
static void lguest_write_cr4(unsigned long cr4) { (void)cr4; }

/* ---- Page tables: we write ours, then tell the host which shadow entry went stale. ---- */
static void lguest_set_pte_at(pgd_t *pgdir, unsigned long addr, pte_t *ptep, pte_t pte)
{
	*ptep = pte;
	lazy_hcall(LHCALL_SET_PTE, __pa(pgdir), addr, pte);
}
static void lguest_set_pmd(pgd_t *pmdp, pgd_t pmd)
{
	*pmdp = pmd;
	lazy_hcall(LHCALL_SET_PMD, __pa(pmdp) & PAGE_MASK, (__pa(pmdp) & (PAGE_SIZE - 1)) / 4, 0);
}
/* An entry of no known page directory: flush everything, but not before the first cr3
 * (boot builds its tables before loading them, and nothing is shadowed yet). */
static void lguest_set_pte(pte_t *ptep, pte_t pte)
{
	*ptep = pte;
	if (current_cr3)
		lazy_hcall(LHCALL_FLUSH_TLB, 1, 0, 0);
}
static void lguest_flush_tlb_single(unsigned long addr) { lazy_hcall(LHCALL_SET_PTE, current_cr3, addr, 0); }
static void lguest_flush_tlb_user(void) { lazy_hcall(LHCALL_FLUSH_TLB, 0, 0, 0); }
static void lguest_flush_tlb_kernel(void) { lazy_hcall(LHCALL_FLUSH_TLB, 1, 0, 0); }

/* ---- Interrupts: gates the host reads to inject, and a mask it honours. ---- */
static void lguest_init_IRQ(void)
{
	unsigned int i;
	for (i = 0; i < LGUEST_IRQS; i++) {
		unsigned int vector = FIRST_EXTERNAL_VECTOR + i;
		struct desc_struct gate;
		if (vector == SYSCALL_VECTOR)
			continue;
		gate = make_gate(trap_entry_table[vector], kernel_cs(), GATE_INTERRUPT);
		pv_ops.write_idt_entry(idt_table, vector, gate.a, gate.b);
	}
}
/* Single bit instructions, so an interrupt can't split the read-modify-write. */
static void lguest_mask_irq(unsigned int irq)
{
	__asm__ __volatile__("btsl %1, %0" : "+m"(lguest_data.blocked_interrupts[0]) : "r"(irq) : "memory");
}
static void lguest_unmask_irq(unsigned int irq)
{
	__asm__ __volatile__("btrl %1, %0" : "+m"(lguest_data.blocked_interrupts[0]) : "r"(irq) : "memory");
}
static void lguest_eoi_irq(unsigned int irq) { (void)irq; }

/* ---- Time: a one-shot host timer (LHCALL_SET_CLOCKEVENT, in ns) that raises IRQ 0. ---- */
static void lguest_clockevent_set_mode(enum clock_event_mode mode)
{
	switch (mode) {
	case CLOCK_EVT_SHUTDOWN:
		hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0); /* cancel */
		break;
	case CLOCK_EVT_ONESHOT:
		break;
	case CLOCK_EVT_PERIODIC:
		panic("the lguest clock has no periodic mode");
	}
}
static int lguest_clockevent_set_next_event(unsigned long delta_ns)
{
	if (delta_ns < LG_CLOCK_MIN_DELTA)
		return -1;
	hcall(LHCALL_SET_CLOCKEVENT, delta_ns, 0, 0);
	return 0;
}
static struct clock_event_device lguest_clockevent = {
	.name = "lguest",
	.features = CLOCK_EVT_FEAT_ONESHOT,
	.set_mode = lguest_clockevent_set_mode,
	.set_next_event = lguest_clockevent_set_next_event,
};
static struct clock_event_device *lguest_time_init(void) { return &lguest_clockevent; }

/* ---- Console and the way out. ---- */
#include "lguest_console.h"

static const char power_down[] = "Power down";

/* There is no power-off in the 2.6.23 ABI: a CRASH with this message is the clean exit. */
static noreturn void lguest_power_off(void)
{
	for (;;)
		hcall(LHCALL_CRASH, __pa(power_down), 0, 0);
}
static noreturn void lguest_panic_notify(const char *msg)
{
	for (;;)
		hcall(LHCALL_CRASH, __pa(msg), 0, 0);
}

const struct paravirt_ops lguest_ops = {
	.iret = lguest_iret,
	.name = "lguest",
	.kernel_rpl = GUEST_PL,
	.paravirt_enabled = 1,
	.save_fl = lguest_save_fl,
	.restore_fl = lguest_restore_fl,
	.irq_disable = lguest_irq_disable,
	.irq_enable = lguest_irq_enable,
	.safe_halt = lguest_safe_halt,
	.load_gdt = lguest_load_gdt,
	.write_gdt_entry = lguest_write_gdt_entry,
	.load_tls = lguest_load_tls,
	.load_idt = lguest_load_idt,
	.write_idt_entry = lguest_write_idt_entry,
	.load_tr_desc = lguest_load_tr_desc,
	.load_esp0 = lguest_load_esp0,
	.cpuid = lguest_cpuid,
	.read_cr0 = lguest_read_cr0,
	.write_cr0 = lguest_write_cr0,
	.clts = lguest_clts,
	.read_cr2 = lguest_read_cr2,
	.read_cr3 = lguest_read_cr3,
	.write_cr3 = lguest_write_cr3,
	.read_cr4 = lguest_read_cr4,
	.write_cr4 = lguest_write_cr4,
	.set_pte = lguest_set_pte,
	.set_pte_at = lguest_set_pte_at,
	.set_pmd = lguest_set_pmd,
	.flush_tlb_single = lguest_flush_tlb_single,
	.flush_tlb_user = lguest_flush_tlb_user,
	.flush_tlb_kernel = lguest_flush_tlb_kernel,
	.set_lazy_mode = lguest_set_lazy_mode,
	.init_IRQ = lguest_init_IRQ,
	.mask_irq = lguest_mask_irq,
	.unmask_irq = lguest_unmask_irq,
	.eoi_irq = lguest_eoi_irq,
	.time_init = lguest_time_init,
	.console_write = lgcons_write,
	.power_off = lguest_power_off,
	.panic_notify = lguest_panic_notify,
};

static char lguest_mem_source[64];

/* RAM is what the zero page's e820 map says: the end of the highest RAM entry. */
static unsigned long e820_ram_end(void)
{
	unsigned long end = 0;
	unsigned int i;
	for (i = 0; i < boot_params.e820_entries && i < E820MAX; i++) {
		const struct e820entry *e = &boot_params.e820_map[i];
		if (e->type == E820_RAM && (unsigned long)(e->addr + e->size) > end)
			end = (unsigned long)(e->addr + e->size);
	}
	return end;
}

/* From head.S: ring 1, the Launcher's page tables, our boot stack. */
noreturn void lguest_init(void *boot)
{
	unsigned long pages;

	/* Copy the zero page and command line while the Launcher's copies are certainly there. */
	memcpy(&boot_params, boot, sizeof(boot_params));
	if (boot_params.cmd_line_ptr) {
		memcpy(command_line, __va(boot_params.cmd_line_ptr), COMMAND_LINE_SIZE - 1);
		command_line[COMMAND_LINE_SIZE - 1] = '\0';
	}

	pv_ops = lguest_ops;
	/* The host reads the no-interrupt window once, at LGUEST_INIT. */
	lguest_data.noirq_start = (u32)lguest_noirq_start;
	lguest_data.noirq_end = (u32)lguest_noirq_end;
#ifdef GUEST_ATTACK
	guest_attack_early(GUEST_ATTACK); /* the one attack that must come before LGUEST_INIT */
#endif
	hcall(LHCALL_LGUEST_INIT, __pa(&lguest_data), 0, 0);

	boot_info.platform = "lguest";
	boot_info.ram_bytes = e820_ram_end();
	snprintf(lguest_mem_source, sizeof(lguest_mem_source), "boot_params e820: %u entr%s",
		 boot_params.e820_entries, boot_params.e820_entries == 1 ? "y" : "ies");
	boot_info.mem_source = lguest_mem_source;
	boot_info.cmdline = command_line;
	/* The Launcher's page tables sit at the top of RAM, below the initrd if there is one:
	 * one PTE page per 4 MiB, then the directory. Keep off both (and one page of slack). */
	pages = boot_info.ram_bytes / PAGE_SIZE;
	boot_info.reserved_top = ((pages + PTRS_PER_PTE - 1) / PTRS_PER_PTE + 2) * PAGE_SIZE;
	if (boot_params.ramdisk_size && boot_params.ramdisk_image + boot_params.ramdisk_size <= boot_info.ram_bytes) {
		boot_info.initrd_phys = boot_params.ramdisk_image;
		boot_info.initrd_size = boot_params.ramdisk_size;
		boot_info.reserved_top += boot_info.ram_bytes - boot_params.ramdisk_image;
	}
	if (lguest_data.reserve_mem > (0xFFFFFFFFUL - RESERVED_TOP + 1))
		panic("the host reserves %u bytes at the top, more than the %u we leave",
		      lguest_data.reserve_mem, (unsigned int)(0xFFFFFFFFUL - RESERVED_TOP + 1));
	start_kernel();
}
