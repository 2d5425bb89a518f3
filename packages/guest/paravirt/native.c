/*
 * The native paravirt_ops: what the ops mean on bare hardware — the emulated PC of
 * packages/pc, QEMU, or a real 486. Each op is the privileged instruction itself (cli, sti,
 * lgdt, lidt, ltr, mov to %cr3, invlpg, hlt), and the platform devices are the PC's own: two
 * 8259A PICs remapped to vectors 32-47, the 8254 PIT on IRQ 0, the 16550 UART at 0x3F8 for
 * the console, and the ACPI PM1a control port 0x604 to power off (QEMU's i440FX and our PC).
 *
 * native_init is where a multiboot boot lands after head.S turned paging on: it checks the
 * loader's magic, takes the memory size from mem_upper and the initrd from the first boot
 * module, picks these ops and starts the kernel.
 */
#include <desc.h>
#include <irq.h>
#include <tty.h>
#include <mm.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_MEMORY (1 << 0)
#define MBI_CMDLINE (1 << 2)
#define MBI_MODS (1 << 3)
/* head.S maps the first 16 MiB until paging_init: all the loader's structures we read here
 * must lie in it (the modules themselves are read later, through the kernel's own map). */
#define EARLY_MAP_BYTES (16UL << 20)

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182
#define COM1 0x3F8
#define PM1A_CNT 0x604
#define PM1A_SLP_EN 0x2000

struct multiboot_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
};

/* An entry of the module list: [mod_start, mod_end) and the module's string. */
struct multiboot_module {
	u32 mod_start, mod_end;
	u32 string;
	u32 reserved;
};

static inline void outb(u16 port, u8 v) { __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- Interrupt flag: the real one. ---- */
static unsigned long native_save_fl(void)
{
	unsigned long f;
	__asm__ __volatile__("pushfl; popl %0" : "=r"(f) : : "memory");
	return f;
}
static void native_restore_fl(unsigned long f) { __asm__ __volatile__("pushl %0; popfl" : : "r"(f) : "memory", "cc"); }
static void native_irq_disable(void) { __asm__ __volatile__("cli" : : : "memory"); }
static void native_irq_enable(void) { __asm__ __volatile__("sti" : : : "memory"); }
/* sti's one-instruction shadow makes "sti; hlt" atomic: no interrupt slips in between. */
static void native_safe_halt(void) { __asm__ __volatile__("sti; hlt" : : : "memory"); }

/* ---- Descriptor tables. ---- */
static void native_load_gdt(const struct desc_ptr *dtr) { __asm__ __volatile__("lgdt %0" : : "m"(*dtr)); }
static void native_load_idt(const struct desc_ptr *dtr) { __asm__ __volatile__("lidt %0" : : "m"(*dtr)); }
static void native_write_entry(struct desc_struct *table, int entry, u32 a, u32 b)
{
	table[entry].a = a;
	table[entry].b = b;
}
static void native_load_tls(const struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES])
{
	int i;
	for (i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++)
		gdt_table[GDT_ENTRY_TLS_MIN + i] = tls[i];
}
static void native_load_tr_desc(void) { __asm__ __volatile__("ltr %w0" : : "r"(TSS_SELECTOR)); }
static void native_load_esp0(unsigned long esp0) { native_tss.esp0 = esp0; }

/* ---- The CPU. ---- */
static void native_cpuid(u32 *eax, u32 *ebx, u32 *ecx, u32 *edx)
{
	__asm__ __volatile__("cpuid" : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx) : "0"(*eax), "2"(*ecx));
}
#define READ_CR(n)                                                                \
	static unsigned long native_read_cr##n(void)                              \
	{                                                                         \
		unsigned long v;                                                  \
		__asm__ __volatile__("movl %%cr" #n ", %0" : "=r"(v));            \
		return v;                                                         \
	}
#define WRITE_CR(n)                                                                       \
	static void native_write_cr##n(unsigned long v)                                   \
	{                                                                                 \
		__asm__ __volatile__("movl %0, %%cr" #n : : "r"(v) : "memory");           \
	}
READ_CR(0)
WRITE_CR(0)
READ_CR(2)
READ_CR(3)
WRITE_CR(3)
READ_CR(4)
WRITE_CR(4)
static void native_clts(void) { __asm__ __volatile__("clts"); }

/* ---- Page tables: plain stores; the TLB needs telling only when a present entry changes. ---- */
static void native_set_pte(pte_t *ptep, pte_t pte) { *ptep = pte; }
static void native_set_pte_at(pgd_t *pgdir, unsigned long addr, pte_t *ptep, pte_t pte)
{
	(void)pgdir;
	(void)addr;
	*ptep = pte;
}
static void native_set_pmd(pgd_t *pmdp, pgd_t pmd) { *pmdp = pmd; }
static void native_flush_tlb_single(unsigned long addr)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(addr) : "memory");
}
/* Without global pages, reloading cr3 flushes user and kernel entries alike. */
static void native_flush_tlb(void) { native_write_cr3(native_read_cr3()); }
static void native_set_lazy_mode(enum paravirt_lazy_mode mode) { (void)mode; }

/* ---- The 8259A pair, remapped to vectors 32..47. ---- */
static u16 pic_mask = 0xFFFB; /* everything masked but the cascade (IRQ 2) */

static void pic_write_mask(void)
{
	outb(PIC1_DATA, pic_mask & 0xFF);
	outb(PIC2_DATA, pic_mask >> 8);
}

static void native_init_IRQ(void)
{
	int irq;
	outb(PIC1_CMD, 0x11); /* ICW1: edge triggered, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, FIRST_EXTERNAL_VECTOR);     /* ICW2: vector base */
	outb(PIC2_DATA, FIRST_EXTERNAL_VECTOR + 8);
	outb(PIC1_DATA, 1 << 2); /* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 2);      /*       slave identity */
	outb(PIC1_DATA, 0x01);   /* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	pic_write_mask();
	for (irq = 0; irq < 16; irq++) {
		int vector = FIRST_EXTERNAL_VECTOR + irq;
		struct desc_struct gate = make_gate(trap_entry_table[vector], kernel_cs(), GATE_INTERRUPT);
		pv_ops.write_idt_entry(idt_table, vector, gate.a, gate.b);
	}
}
static void native_mask_irq(unsigned int irq)
{
	pic_mask |= 1 << irq;
	pic_write_mask();
}
static void native_unmask_irq(unsigned int irq)
{
	pic_mask &= ~(1 << irq);
	pic_write_mask();
}
static void native_eoi_irq(unsigned int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

/* ---- The 8254 as a clock event device: mode 2 for periodic, mode 0 for one shot. ---- */
static void pit_set_mode(enum clock_event_mode mode)
{
	unsigned int divisor = (PIT_HZ + HZ / 2) / HZ;
	switch (mode) {
	case CLOCK_EVT_PERIODIC:
		outb(PIT_CMD, 0x34); /* channel 0, low then high byte, mode 2 */
		outb(PIT_CH0, divisor & 0xFF);
		outb(PIT_CH0, divisor >> 8);
		break;
	case CLOCK_EVT_ONESHOT:
	case CLOCK_EVT_SHUTDOWN:
		outb(PIT_CMD, 0x30); /* mode 0, and no count: the counter waits */
		break;
	}
}
static int pit_next_event(unsigned long delta_ns)
{
	/* PIT clocks = ns * 1.193182e-3, without 64-bit division: ns / 1000 * 1193 / 1000. */
	unsigned long clocks = (delta_ns / 1000) * 1193 / 1000;
	if (clocks < 1 || clocks > 0xFFFF)
		return -1;
	outb(PIT_CH0, clocks & 0xFF);
	outb(PIT_CH0, clocks >> 8);
	return 0;
}
static struct clock_event_device pit_clockevent = {
	.name = "pit",
	.features = CLOCK_EVT_FEAT_PERIODIC | CLOCK_EVT_FEAT_ONESHOT,
	.set_mode = pit_set_mode,
	.set_next_event = pit_next_event,
};
static struct clock_event_device *native_time_init(void) { return &pit_clockevent; }

/* ---- COM1, polled. ---- */
static void uart_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xC7); /* FIFOs on and cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}
static void native_console_write(const char *s, unsigned int len)
{
	while (len--) {
		while (!(inb(COM1 + 5) & 0x20))
			; /* wait for THR empty */
		outb(COM1, (u8)*s++);
	}
}

/* Receiving: the UART raises IRQ 4 when a byte is in RBR (IER bit 0; OUT2 gates the line to
 * the PIC on a PC). The handler drains RBR while LSR says data ready and the terminal has
 * room; when it has none, the receive interrupt goes off and the bytes wait in the UART
 * until the reader has taken a line (native_serial_input_resume). */
static void uart_rx_interrupt(unsigned int irq, struct trapframe *tf)
{
	(void)irq;
	(void)tf;
	while (!tty_full() && (inb(COM1 + 5) & 0x01))
		tty_receive((char)inb(COM1));
	if (tty_full())
		outb(COM1 + 1, 0x00);
}

void native_serial_input_resume(void)
{
	outb(COM1 + 1, 0x01); /* interrupt on received data (at once, if some is waiting) */
}

void native_serial_input_init(void)
{
	request_irq(4, uart_rx_interrupt);
	outb(COM1 + 4, 0x0B); /* DTR, RTS, OUT2 */
	native_serial_input_resume();
}

static noreturn void native_power_off(void)
{
	outw(PM1A_CNT, PM1A_SLP_EN);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}
static noreturn void native_panic_notify(const char *msg)
{
	(void)msg;
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

void native_iret(void);

const struct paravirt_ops native_ops = {
	.iret = native_iret,
	.name = "native",
	.kernel_rpl = 0,
	.paravirt_enabled = 0,
	.save_fl = native_save_fl,
	.restore_fl = native_restore_fl,
	.irq_disable = native_irq_disable,
	.irq_enable = native_irq_enable,
	.safe_halt = native_safe_halt,
	.load_gdt = native_load_gdt,
	.write_gdt_entry = native_write_entry,
	.load_tls = native_load_tls,
	.load_idt = native_load_idt,
	.write_idt_entry = native_write_entry,
	.load_tr_desc = native_load_tr_desc,
	.load_esp0 = native_load_esp0,
	.cpuid = native_cpuid,
	.read_cr0 = native_read_cr0,
	.write_cr0 = native_write_cr0,
	.clts = native_clts,
	.read_cr2 = native_read_cr2,
	.read_cr3 = native_read_cr3,
	.write_cr3 = native_write_cr3,
	.read_cr4 = native_read_cr4,
	.write_cr4 = native_write_cr4,
	.set_pte = native_set_pte,
	.set_pte_at = native_set_pte_at,
	.set_pmd = native_set_pmd,
	.flush_tlb_single = native_flush_tlb_single,
	.flush_tlb_user = native_flush_tlb,
	.flush_tlb_kernel = native_flush_tlb,
	.set_lazy_mode = native_set_lazy_mode,
	.init_IRQ = native_init_IRQ,
	.mask_irq = native_mask_irq,
	.unmask_irq = native_unmask_irq,
	.eoi_irq = native_eoi_irq,
	.time_init = native_time_init,
	.console_write = native_console_write,
	.power_off = native_power_off,
	.panic_notify = native_panic_notify,
};

static char native_mem_source[64];
/* The command line, copied out of the loader's memory: wherever the loader put it (QEMU puts
 * it past the kernel image) is free RAM to our page allocator. */
static char native_command_line[256];

/* The first boot module is the initrd (as with GRUB's `module /initrd.cpio`). The kernel reads
 * it in place through its linear map, so it must lie in RAM below LOWMEM_MAX; page_alloc_init
 * keeps the page allocator off it, wherever the loader put it. */
static void native_find_initrd(const struct multiboot_info *mbi)
{
	const struct multiboot_module *mod;
	unsigned long reachable = boot_info.ram_bytes < LOWMEM_MAX ? boot_info.ram_bytes : LOWMEM_MAX;

	if (!(mbi->flags & MBI_MODS) || mbi->mods_count == 0)
		return;
	if (mbi->mods_addr > EARLY_MAP_BYTES - sizeof(*mod))
		panic("the boot loader put its module list at %08x, beyond the first %u MiB mapped at boot",
		      mbi->mods_addr, (unsigned int)(EARLY_MAP_BYTES >> 20));
	mod = __va(mbi->mods_addr);
	if (mod->mod_end < mod->mod_start)
		panic("boot module 1 ends (%08x) before it starts (%08x)", mod->mod_end, mod->mod_start);
	if (mod->mod_end > reachable)
		panic("the initrd (boot module 1) at %08x-%08x lies beyond the %u MiB of RAM this kernel maps",
		      mod->mod_start, mod->mod_end, (unsigned int)(reachable >> 20));
	boot_info.initrd_phys = mod->mod_start;
	boot_info.initrd_size = mod->mod_end - mod->mod_start;
}

/* From head.S, paging on, running at our linked address; info is a physical address. */
noreturn void native_init(u32 magic, u32 info_phys)
{
	const struct multiboot_info *mbi = __va(info_phys);

	pv_ops = native_ops;
	uart_init();
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("not booted by a multiboot loader (eax %08x)", magic);
	if (!(mbi->flags & MBI_MEMORY))
		panic("the boot loader gave no memory size");
	boot_info.platform = "native hardware";
	/* mem_upper counts KiB above 1 MiB, up to the first hole. */
	boot_info.ram_bytes = (mbi->mem_upper + 1024) << 10;
	snprintf(native_mem_source, sizeof(native_mem_source), "multiboot mem_upper %u KiB", mbi->mem_upper);
	boot_info.mem_source = native_mem_source;
	if (mbi->flags & MBI_CMDLINE)
		memcpy(native_command_line, __va(mbi->cmdline), sizeof(native_command_line) - 1);
	boot_info.cmdline = native_command_line;
	boot_info.reserved_top = 0;
	native_find_initrd(mbi);
	start_kernel();
}
