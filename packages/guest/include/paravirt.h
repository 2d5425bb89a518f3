/*
 * paravirt_ops: the one table through which this kernel does everything privileged. Boot
 * fills it once — with the lguest ops if the Launcher entered us through the GenuineLguest
 * signature, with the native ops if a multiboot loader did — and from then on the kernel
 * calls pv_ops.op(...) without knowing which it is. Native ops are the real instructions
 * (cli, lgdt, mov %cr3, hlt, the PIC, PIT and UART); lguest ops are hypercalls or stores into
 * the lguest_data page the host reads.
 */
#ifndef GUEST_PARAVIRT_H
#define GUEST_PARAVIRT_H

/* Offsets the entry assembler needs; checked against the struct in paravirt.c. */
#define PV_OPS_iret 0

#ifndef __ASSEMBLER__
#include <kernel.h>

typedef u32 pte_t;
typedef u32 pgd_t; /* two-level paging: a pmd is the pgd entry */

/* Batching of page-table and CPU-state updates (lguest queues them in the async ring). */
enum paravirt_lazy_mode {
	PARAVIRT_LAZY_NONE = 0,
	PARAVIRT_LAZY_MMU = 1,
	PARAVIRT_LAZY_CPU = 2,
	PARAVIRT_LAZY_FLUSH = 3,
};

/* A timer that interrupts on IRQ 0: periodically, or once after a delay. */
enum clock_event_mode { CLOCK_EVT_SHUTDOWN, CLOCK_EVT_PERIODIC, CLOCK_EVT_ONESHOT };
#define CLOCK_EVT_FEAT_PERIODIC 1
#define CLOCK_EVT_FEAT_ONESHOT 2
struct clock_event_device {
	const char *name;
	unsigned int features;
	/* Switch mode; PERIODIC means HZ interrupts a second. */
	void (*set_mode)(enum clock_event_mode mode);
	/* ONESHOT: interrupt once, delta_ns from now. Returns 0, or -1 if delta is too small. */
	int (*set_next_event)(unsigned long delta_ns);
};

struct paravirt_ops {
	/* Return from an interrupt or trap: entry.S jumps here with the iret frame on the
	 * stack. Must stay first (PV_OPS_iret). */
	void (*iret)(void);

	const char *name;
	unsigned int kernel_rpl; /* privilege the kernel runs at: 0 native, 1 lguest */
	int paravirt_enabled;

	/* The interrupt flag: flags values carry IF (0x200) like EFLAGS. */
	unsigned long (*save_fl)(void);
	void (*restore_fl)(unsigned long flags);
	void (*irq_disable)(void);
	void (*irq_enable)(void);
	/* Enable interrupts and sleep until one arrives, atomically. */
	void (*safe_halt)(void);

	/* Descriptor tables. The table pointers are kernel virtual addresses. */
	void (*load_gdt)(const struct desc_ptr *dtr);
	void (*write_gdt_entry)(struct desc_struct *gdt, int entry, u32 a, u32 b);
	void (*load_tls)(const struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES]);
	void (*load_idt)(const struct desc_ptr *dtr);
	void (*write_idt_entry)(struct desc_struct *idt, int entry, u32 a, u32 b);
	void (*load_tr_desc)(void);
	/* The kernel stack a trap from user mode lands on (top of stack, virtual). */
	void (*load_esp0)(unsigned long esp0);

	/* The CPU. */
	void (*cpuid)(u32 *eax, u32 *ebx, u32 *ecx, u32 *edx);
	unsigned long (*read_cr0)(void);
	void (*write_cr0)(unsigned long cr0);
	void (*clts)(void);
	unsigned long (*read_cr2)(void);
	unsigned long (*read_cr3)(void);
	void (*write_cr3)(unsigned long cr3);
	unsigned long (*read_cr4)(void);
	void (*write_cr4)(unsigned long cr4);

	/* Page tables. set_pte: an entry of no known address space; set_pte_at: an entry of
	 * the page directory pgdir, mapping addr. */
	void (*set_pte)(pte_t *ptep, pte_t pte);
	void (*set_pte_at)(pgd_t *pgdir, unsigned long addr, pte_t *ptep, pte_t pte);
	void (*set_pmd)(pgd_t *pmdp, pgd_t pmd);
	void (*flush_tlb_single)(unsigned long addr);
	void (*flush_tlb_user)(void);
	void (*flush_tlb_kernel)(void);
	void (*set_lazy_mode)(enum paravirt_lazy_mode mode);

	/* Interrupts: install the IRQ gates and set up the controller; mask/unmask/end one. */
	void (*init_IRQ)(void);
	void (*mask_irq)(unsigned int irq);
	void (*unmask_irq)(unsigned int irq);
	void (*eoi_irq)(unsigned int irq);
	/* Time: returns the clock event device that drives IRQ 0. */
	struct clock_event_device *(*time_init)(void);

	/* The console, and the way out. */
	void (*console_write)(const char *s, unsigned int len);
	noreturn void (*power_off)(void);
	/* Called by panic() with the message after printing it; must not return. */
	noreturn void (*panic_notify)(const char *msg);
};

extern struct paravirt_ops pv_ops;
extern const struct paravirt_ops native_ops;
extern const struct paravirt_ops lguest_ops;

/* Interrupt-flag helpers in the style of the kernel's local_irq_*. */
static inline unsigned long local_irq_save(void)
{
	unsigned long flags = pv_ops.save_fl();
	pv_ops.irq_disable();
	return flags;
}
static inline void local_irq_restore(unsigned long flags) { pv_ops.restore_fl(flags); }
static inline void local_irq_disable(void) { pv_ops.irq_disable(); }
static inline void local_irq_enable(void) { pv_ops.irq_enable(); }

/* Selectors as this kernel uses them: kernel ones carry the kernel's RPL. */
static inline unsigned int kernel_cs(void) { return __KERNEL_CS | pv_ops.kernel_rpl; }
static inline unsigned int kernel_ds(void) { return __KERNEL_DS | pv_ops.kernel_rpl; }

/* The privilege level we are running at right now (CS & 3). */
static inline unsigned int current_ring(void)
{
	unsigned int cs;
	__asm__ __volatile__("movl %%cs, %0" : "=r"(cs));
	return cs & 3;
}

#endif /* __ASSEMBLER__ */
#endif /* GUEST_PARAVIRT_H */
