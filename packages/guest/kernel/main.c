/*
 * start_kernel: the part of the journey every guest shares. By the time we get here boot has
 * chosen the paravirt_ops (lguest or native), found out how much RAM there is, and made the
 * console work. From here on the code neither knows nor cares which: it sets up its GDT and
 * IDT, its interrupts and a ticking clock, its own page tables, fills a region of memory one
 * page fault at a time, runs a program in ring 3 — and then turns the machine off.
 */
#include <desc.h>
#include <irq.h>
#include <lguest_bus.h>
#include "ata.h"
#include <mm.h>
#include <task.h>
#include <tty.h>

struct boot_info boot_info;

#define DEMO_TICKS 5
#define DEMAND_PAGES 16

static struct demand_region demand_demo = {
	.name = "demand-zero demo",
	.start = DEMAND_BASE,
	.end = DEMAND_BASE + DEMAND_PAGES * PAGE_SIZE,
	.pte_flags = PTE_KERNEL,
};

/* The CPU's vendor string and family through the cpuid op (lguest filters the features). */
static void print_cpu(void)
{
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;
	char vendor[13];

	pv_ops.cpuid(&eax, &ebx, &ecx, &edx);
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (vendor[i] < 0x20 || vendor[i] > 0x7E)
			vendor[i] = '.'; /* a vendor string is 12 printable bytes; show it if not */
	eax = 1;
	pv_ops.cpuid(&eax, &ebx, &ecx, &edx);
	printk("cpu: %s family %u, features %08x\n", vendor, (eax >> 8) & 0xF, edx);
	/* No FPU context to protect yet: make sure TS is clear, as a kernel does at boot. */
	pv_ops.clts();
}

/* Touch every page of the demo region: each access to a fresh page faults it in. */
static void demand_paging_demo(void)
{
	volatile u32 *p;
	unsigned long sum = 0, expect = 0, i;

	add_demand_region(&demand_demo);
	for (i = 0; i < DEMAND_PAGES; i++) {
		p = (volatile u32 *)(DEMAND_BASE + i * PAGE_SIZE);
		BUG_ON(p[1] != 0); /* fresh pages are zeroed */
		p[0] = 0x1000 + i;
		p[PAGE_SIZE / 4 - 1] = i;
	}
	for (i = 0; i < DEMAND_PAGES; i++) {
		p = (volatile u32 *)(DEMAND_BASE + i * PAGE_SIZE);
		sum += p[0] + p[PAGE_SIZE / 4 - 1];
		expect += 0x1000 + 2 * i;
	}
	printk("page faults: %u pages faulted in at %p, pattern %s\n", (unsigned int)demand_demo.faults,
	       (void *)DEMAND_BASE, sum == expect ? "ok" : "BAD");
	if (sum != expect)
		panic("demand-paged memory lost its contents");

	/* Take the first page away again: clear its PTE and flush that one TLB entry. If the
	 * flush did not happen, the old page would still answer; instead it must fault back in
	 * as a fresh zeroed page. */
	p = (volatile u32 *)DEMAND_BASE;
	pte_t *pte = lookup_pte(kernel_pgdir, DEMAND_BASE, 0, 0);
	void *old = __va(*pte & PAGE_MASK);
	pv_ops.set_pte_at(kernel_pgdir, DEMAND_BASE, pte, 0);
	pv_ops.flush_tlb_single(DEMAND_BASE);
	free_page(old);
	if (p[0] != 0)
		panic("a stale TLB entry survived flush_tlb_single (read %x)", p[0]);
	printk("page faults: %p unmapped, flushed and faulted back in zeroed\n", (void *)DEMAND_BASE);
}

#ifndef GUEST_ATTACK
/* Is `word` one of the space-separated words of the kernel command line? */
static int cmdline_has(const char *word)
{
	const char *p = boot_info.cmdline;
	size_t n = strlen(word);

	while (p && *p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) == n && memcmp(w, word, n) == 0)
			return 1;
	}
	return 0;
}
#endif

/*
 * What to do after the banner. `selftest` runs the boot story (ticks, page faults, ring 3,
 * power off); `shell` starts the console shell. With neither word, a PC starts the shell.
 * Under lguest the story is still the default for now: the launcher's callers that cannot
 * pass kernel words (a run with no KERNEL) expect a boot that powers off by itself. The
 * adversarial variants always run the story, since their attacks hook into it.
 */
static int want_selftest(void)
{
#ifdef GUEST_ATTACK
	return 1;
#else
	/* The boot story of the first lguest.ts milestone is a self-test, asked for by name; a
	 * person who boots the guest gets the shell. */
	return cmdline_has("selftest");
#endif
}

noreturn void start_kernel(void)
{
	printk("Booting the lguest.ts guest kernel on %s (paravirt_ops \"%s\"), ring %u\n", boot_info.platform,
	       pv_ops.name, current_ring());
	printk("memory: %u MiB (%s)\n", (unsigned int)(boot_info.ram_bytes >> 20), boot_info.mem_source);
	if (boot_info.cmdline && boot_info.cmdline[0])
		printk("command line: %s\n", boot_info.cmdline);
	print_cpu();

	gdt_init();
	trap_init();
	/* The FPU: errors as #MF (NE), WAIT honours TS (MP), and TS set until a task uses it. */
	pv_ops.write_cr0(pv_ops.read_cr0() | 0x22);
	fpu_switch_to(current);
	printk("descriptors: GDT of %u entries, IDT of %u vectors loaded\n", GDT_ENTRIES, IDT_ENTRIES);

	page_alloc_init();
	paging_init();
	sched_init();

	pv_ops.init_IRQ();
	lguest_bus_init();
	ata_init();

	if (!want_selftest()) {
		clock_start(0);
		local_irq_enable();
		init_main(); /* never returns: init powers off when the shell ends */
	}

	clock_start(DEMO_TICKS);
	local_irq_enable();
	wait_for_jiffies(DEMO_TICKS);
	clock_stop();

	demand_paging_demo();

#ifdef GUEST_ATTACK
	/* Adversarial variants (built with -DGUEST_ATTACK=n) hook in here, once the kernel is
	 * fully up, and try to break the host instead of carrying on. */
	guest_attack(GUEST_ATTACK);
#endif

	run_user_program();

	printk("power: %u pages allocated, %u page faults filled; powering off\n", (unsigned int)pages_allocated,
	       (unsigned int)page_faults_filled);
	pv_ops.power_off();
}
