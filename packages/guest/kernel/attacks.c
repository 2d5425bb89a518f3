/*
 * The guest turns on its host. An attack variant (GUEST_ATTACK, names in attack.h) boots
 * exactly like the normal guest — banner, ticks, page faults — so we know the host treated it
 * as an ordinary guest up to here; then start_kernel calls guest_attack() instead of going on
 * quietly, and the guest tries one thing a guest must never get away with.
 *
 * First the attack takes away its own exception handlers (empty IDT gates, through the same
 * LOAD_IDT_ENTRY hypercall the kernel used to set them). A fault the host would otherwise
 * reflect back to us now has nowhere to go, so the verdict is the host's own kill reason
 * ("unhandled trap 13 at ..."), not our kernel's panic. If the host lets an attack through,
 * the attack itself dies loudly with "ATTACK SUCCEEDED: ...": a test can tell a stopped
 * attack from one that was ignored.
 */
#include <desc.h>
#include <irq.h>
#include <lguest_bus.h>
#include <lguest_hcall.h>
#include <mm.h>
#include <task.h>

#define SWITCHER_PROBE 0xFFC00000UL
#define ATTACK_MARK 0x0BADC0DEUL

/* GDT slots the DPL/limit attacks write: unused by the kernel, not host-owned. */
#define GDT_ENTRY_ATTACK_CS 5
#define GDT_ENTRY_ATTACK_DS 9

static noreturn void attack_succeeded(const char *what)
{
	panic("ATTACK SUCCEEDED: %s", what);
}

/* Empty every exception gate (the host ignores 2, 8, 15 and 0x1F, which it owns). */
static void unhook_exception_gates(void)
{
	for (int v = 0; v < FIRST_EXTERNAL_VECTOR; v++)
		if (v != 2 && v != 8 && v != 15 && v != LGUEST_TRAP_ENTRY)
			pv_ops.write_idt_entry(idt_table, v, 0, 0);
}

/* A 32-bit write through segment register %fs to offset off, read back. */
static u32 poke_fs(unsigned long off, u32 value)
{
	u32 back;
	__asm__ __volatile__("movl %1, %%fs:(%2)\n\t"
			     "movl %%fs:(%2), %0"
			     : "=&r"(back)
			     : "r"(value), "r"(off)
			     : "memory");
	return back;
}

static void load_fs(unsigned int selector)
{
	__asm__ __volatile__("movl %0, %%fs" : : "r"(selector) : "memory");
}

static noreturn void switcher_write(void)
{
	volatile u32 *switcher = (volatile u32 *)SWITCHER_PROBE;

	printk("attack: writing the switcher at %p through the kernel's flat data segment\n", (void *)SWITCHER_PROBE);
	unhook_exception_gates();
	/* %ss is our kernel data segment (0x69): flat as far as we are concerned. */
	__asm__ __volatile__("movl %1, %%ss:(%0)" : : "r"(switcher), "r"(ATTACK_MARK) : "memory");
	if (*switcher == ATTACK_MARK)
		attack_succeeded("wrote the switcher page through a flat segment");
	attack_succeeded("a write to the switcher page did not fault");
}

static noreturn void gdt_dpl0(void)
{
	unsigned int ring;

	printk("attack: GDT entries %u (code) and %u (data) with DPL 0\n", GDT_ENTRY_ATTACK_CS, GDT_ENTRY_ATTACK_DS);
	unhook_exception_gates();
	/* Two descriptors a ring-0 kernel would use; write_gdt_entry reloads the whole GDT. */
	struct desc_struct cs = make_segment(0, 0xFFFFF, DESC_CODE, DESC_FLAT_FLAGS);
	struct desc_struct ds = make_segment(0, 0xFFFFF, DESC_DATA, DESC_FLAT_FLAGS);
	pv_ops.write_gdt_entry(gdt_table, GDT_ENTRY_ATTACK_CS, cs.a, cs.b);
	pv_ops.write_gdt_entry(gdt_table, GDT_ENTRY_ATTACK_DS, ds.a, ds.b);

	/* Far-jump into the DPL 0 code segment with RPL 0, see which ring we land in, and go
	 * back to the kernel's code segment with a far return. */
	__asm__ __volatile__("ljmp %2, $1f\n"
			     "1:\tmovl %%cs, %0\n\t"
			     "andl $3, %0\n\t"
			     "pushl %1\n\t"
			     "pushl $2f\n\t"
			     "lret\n"
			     "2:"
			     : "=&r"(ring)
			     : "r"(kernel_cs()), "i"(GDT_ENTRY_ATTACK_CS << 3)
			     : "memory");
	if (ring == 0)
		attack_succeeded("ran in ring 0 through a DPL 0 code descriptor");
	printk("attack: the DPL 0 code descriptor ran us in ring %u; now its data twin\n", ring);
	load_fs(GDT_ENTRY_ATTACK_DS << 3);
	if (poke_fs(SWITCHER_PROBE, ATTACK_MARK) == ATTACK_MARK)
		attack_succeeded("wrote the switcher page through a DPL 0 data descriptor");
	attack_succeeded("a write to the switcher through a DPL 0 descriptor did not fault");
}

static noreturn void gdt_limit(void)
{
	/* Based at 0xFF000000 with 4 KiB granularity and a 16 MiB limit: the last 4 MiB of
	 * that are the switcher's. */
	struct desc_struct ds = make_segment(0xFF000000, 0xFFF, DESC_DATA, DESC_FLAT_FLAGS);
	unsigned long off = SWITCHER_PROBE - 0xFF000000UL;

	printk("attack: GDT entry %u based at ff000000 with a limit reaching ffffffff\n", GDT_ENTRY_ATTACK_DS);
	unhook_exception_gates();
	pv_ops.write_gdt_entry(gdt_table, GDT_ENTRY_ATTACK_DS, ds.a, ds.b);
	load_fs((GDT_ENTRY_ATTACK_DS << 3) | GUEST_PL);
	if (poke_fs(off, ATTACK_MARK) == ATTACK_MARK)
		attack_succeeded("wrote the switcher page through a segment whose limit reaches it");
	attack_succeeded("a write to the switcher through a long segment did not fault");
}

static noreturn void set_pte_beyond(void)
{
	unsigned long va = DEMAND_BASE + 0x400000; /* clear of the demand demo's region */
	phys_addr_t beyond = (boot_info.ram_bytes + 0x100000) & PAGE_MASK;
	pte_t *pte = lookup_pte(kernel_pgdir, va, 1, PGD_KERNEL);
	volatile u32 *p = (volatile u32 *)va;
	u32 seen;

	printk("attack: SET_PTE mapping %p to physical %p, past the end of our %u MiB\n", (void *)va, (void *)beyond,
	       (unsigned int)(boot_info.ram_bytes >> 20));
	unhook_exception_gates();
	/* Accessed and dirty: the host installs such a PTE at once, so it must check it now. */
	pv_ops.set_pte_at(kernel_pgdir, va, pte, beyond | PTE_KERNEL);
	seen = p[0];
	p[0] = ATTACK_MARK;
	(void)seen;
	attack_succeeded("read and wrote a page beyond guest memory through SET_PTE");
}

static noreturn void hcall_bad_pointer(void)
{
	/* Launcher memory: mmap() places its own mappings just below 0xB8000000. */
	unsigned long launcher = 0xB7FF0000UL;

	printk("attack: LOAD_GDT from %p, outside guest memory\n", (void *)launcher);
	hcall(LHCALL_LOAD_GDT, launcher, GDT_ENTRIES, 0);
	attack_succeeded("the host loaded a GDT from outside guest memory");
}

static noreturn void hcall_unknown(void)
{
	printk("attack: hypercall 99\n");
	hcall(99, 0, 0, 0);
	attack_succeeded("the host accepted hypercall 99");
}

static int early_hcall_survived;

void guest_attack_early(int which)
{
	if (which != ATTACK_HCALL_BEFORE_INIT)
		return;
	/* Harmless in itself: a clock event that is cancelled straight away. */
	hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0);
	early_hcall_survived = 1;
}

/* The ring-3 half lives in boot/user.S (int $0x1f as the program's first instruction); here
 * we only take the handlers away so the host, not our kernel, gives the verdict. */
static void ring3_hcall(void)
{
	printk("attack: the ring-3 program will make a hypercall (int $0x%x)\n", LGUEST_TRAP_ENTRY);
	unhook_exception_gates();
}

static noreturn void irqs_off_loop(void)
{
	volatile unsigned long spins = 0;

	printk("attack: spinning forever with interrupts disabled and a tick pending\n");
	clock_start(0); /* arm the tick: it will fire, and must stay undelivered */
	local_irq_disable();
	for (;;)
		spins++;
}

/* A disk's launcher trusts nothing in the shared block page: a length that does not match
 * the buffers must come back as an error, and a write past the end of the disk must never
 * reach the file. The launcher answers before SEND_DMA returns, so result is final then. */
static noreturn void block_requests(void)
{
	static struct lguest_dma reply, data, ping;
	static char buf[512] __attribute__((aligned(512)));
	struct lguest_device_desc *descs = ioremap(boot_info.ram_bytes, 1);
	volatile struct lguest_block_page *page;
	unsigned long key;
	unsigned int i;

	for (i = 0; i < LGUEST_MAX_DEVICES && descs[i].type != LGUEST_DEVICE_T_BLOCK; i++)
		;
	if (i == LGUEST_MAX_DEVICES)
		panic("attack: no block device to attack (give the guest a --block disk)");
	key = (unsigned long)descs[i].pfn << PAGE_SHIFT;
	page = ioremap(key, 1);
	printk("attack: malformed requests to the block device in slot %u (%u sectors)\n", i,
	       (unsigned int)page->num_sectors);
	local_irq_disable(); /* the completion interrupts are not ours to handle */
	reply.addr[0] = __pa(buf);
	reply.len[0] = sizeof(buf);
	if (lguest_bind_dma(key, &reply, 1, i + 1) != 0)
		panic("attack: cannot bind the reply buffer");

	page->type = LGUEST_BLOCK_READ;
	page->sector = 0;
	page->bytes = 0xFFFFFFFFu;
	page->result = LGUEST_BLOCK_RESULT_PENDING;
	lguest_send_dma(key, &ping);
	if (page->result != LGUEST_BLOCK_RESULT_ERROR)
		attack_succeeded("a read whose length overflows was not refused");
	printk("attack: a read of 0xffffffff bytes into 512 was refused (result %d)\n", page->result);

	data.addr[0] = __pa(buf);
	data.len[0] = sizeof(buf);
	page->type = LGUEST_BLOCK_WRITE;
	page->sector = 0xFFFFFFF0u;
	page->bytes = sizeof(buf);
	page->result = LGUEST_BLOCK_RESULT_PENDING;
	lguest_send_dma(key, &data);
	attack_succeeded("a write past the end of the disk was not stopped");
}

/* ---- Not an attack: hypercall round trips for the benchmark. ---- */

#define BENCH_HCALLS_DEFAULT 20000

/* "hcalls=N" on the command line, else the default. */
static unsigned long bench_count(void)
{
	static const char key[] = "hcalls=";
	const char *s = boot_info.cmdline;
	unsigned long n = 0;

	for (; s && *s; s++) {
		if (memcmp(s, key, sizeof(key) - 1) != 0)
			continue;
		for (s += sizeof(key) - 1; *s >= '0' && *s <= '9'; s++)
			n = n * 10 + (unsigned long)(*s - '0');
		return n ? n : BENCH_HCALLS_DEFAULT;
	}
	return BENCH_HCALLS_DEFAULT;
}

/* The host times the gap between the two markers as they reach the console. */
static void hcall_bench(void)
{
	unsigned long n = bench_count(), i;

	printk("bench: %u hypercalls start\n", (unsigned int)n);
	for (i = 0; i < n; i++)
		hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
	printk("bench: %u hypercalls done\n", (unsigned int)n);
}

/* 3000 bytes of frame (two sections past the 1514-byte limit) and a page-sized payload. */
static char net_junk[3000] __attribute__((aligned(4096)));
static struct lguest_dma net_dma;

static void net_send(unsigned long key, unsigned long addr, unsigned int len)
{
	unsigned int i = 0;
	while (len && i < LGUEST_MAX_DMA_SECTIONS - 1) {
		unsigned int n = len < 1000 ? len : 1000;
		net_dma.addr[i] = addr;
		net_dma.len[i] = (u16)n;
		addr += n;
		len -= n;
		i++;
	}
	net_dma.len[i] = 0;
	lguest_send_dma(key, &net_dma);
}

static noreturn void net_frames(void)
{
	struct lguest_device_desc *descs = ioremap(boot_info.ram_bytes, 1);
	unsigned long page = 0, slot = 0;
	for (int i = 0; i < LGUEST_MAX_DEVICES; i++) {
		if (descs[i].type == LGUEST_DEVICE_T_NET) {
			page = (unsigned long)descs[i].pfn << PAGE_SHIFT;
			slot = descs[i].features & (descs[i].num_pages * PAGE_SIZE - 1);
			break;
		}
	}
	if (!page)
		panic("attack: no network device (give --net=user, --tunnet or --sharenet)");
	/* Peer 0 receives at the page itself; if we are peer 0, attack peer 1. Wait until that
	 * peer has published its MAC (a guest's driver does so when it binds its buffers), so
	 * there is someone to attack; give up after 60 s. */
	unsigned long target = slot == 0 ? 1 : 0;
	unsigned long key = page + 4 * target;
	volatile u8 *peer_mac = (volatile u8 *)ioremap(page, 1) + 6 * target;
	clock_start(0);
	for (unsigned long waited = 0; peer_mac[0] == 0; waited++) {
		if (waited == 60 * HZ)
			panic("attack: no peer on the network to attack");
		wait_for_jiffies(jiffies + 1);
	}
	clock_stop();
	memset(net_junk, 0xff, sizeof(net_junk)); /* a broadcast destination, then junk */

	printk("attack: a zero-length frame to key %p\n", (void *)key);
	net_send(key, __pa(net_junk), 0);
	printk("attack: a 3000-byte frame\n");
	net_send(key, __pa(net_junk), sizeof(net_junk));
	printk("attack: a flood of 5000 frames\n");
	for (int i = 0; i < 5000; i++)
		net_send(key, __pa(net_junk), 60);
	printk("attack: flood sent; now a frame outside guest memory\n");
	net_send(key, 0xF0000000UL, 64);
	attack_succeeded("a DMA buffer outside guest memory was accepted");
}

void guest_attack(int which)
{
	switch (which) {
	case ATTACK_SWITCHER_WRITE:
		switcher_write();
	case ATTACK_GDT_DPL0:
		gdt_dpl0();
	case ATTACK_GDT_LIMIT:
		gdt_limit();
	case ATTACK_SET_PTE_BEYOND:
		set_pte_beyond();
	case ATTACK_HCALL_BAD_POINTER:
		hcall_bad_pointer();
	case ATTACK_HCALL_UNKNOWN:
		hcall_unknown();
	case ATTACK_HCALL_BEFORE_INIT:
		if (early_hcall_survived)
			attack_succeeded("a hypercall before LGUEST_INIT was executed");
		panic("the early attack never ran");
	case ATTACK_RING3_HCALL:
		ring3_hcall();
		return;
	case ATTACK_IRQS_OFF_LOOP:
		irqs_off_loop();
	case ATTACK_BLOCK_REQUESTS:
		block_requests();
	case ATTACK_NET_FRAMES:
		net_frames();
	case VARIANT_HCALL_BENCH:
		hcall_bench();
		return;
	case VARIANT_PANIC:
		panic("the panic variant panics on purpose after %u ticks", (unsigned int)jiffies);
	default:
		panic("unknown GUEST_ATTACK %d", which);
	}
}
