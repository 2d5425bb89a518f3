/*
 * Memory. Boot hands us RAM with someone else's page tables: the Launcher's (all of RAM at
 * PAGE_OFFSET) or our own 16 MiB early map. paging_init builds the kernel's own page
 * directory — all of RAM (up to LOWMEM_MAX) at PAGE_OFFSET, nothing below — and switches
 * to it with the write_cr3 op. Under lguest every page-table write goes through the
 * set_pte/set_pmd ops, batched in lazy MMU mode into the async hypercall ring; natively they
 * are plain stores.
 *
 * After that, pages come from a simple allocator over the RAM past the kernel image, and
 * "demand regions" get theirs on first touch: the page-fault handler asks
 * handle_demand_fault, which allocates a zeroed page and installs it with set_pte_at.
 */
#include <mm.h>

pgd_t *kernel_pgdir;
unsigned long pages_allocated;
unsigned long page_faults_filled;

static phys_addr_t next_free, free_limit;
static void *free_list;
static unsigned long ioremap_next = IOREMAP_BASE;

#define MAX_DEMAND_REGIONS 16
static struct demand_region *demand_regions[MAX_DEMAND_REGIONS];

void page_alloc_init(void)
{
	unsigned long top = boot_info.ram_bytes;
	if (top > LOWMEM_MAX)
		top = LOWMEM_MAX;
	next_free = PAGE_ALIGN(__pa(_end));
	free_limit = (top - boot_info.reserved_top) & PAGE_MASK;
	/* Keep off the initrd, which is read in place for as long as the kernel runs. The
	 * Launcher puts it at the top of RAM, inside reserved_top already; a multiboot loader
	 * puts its modules just past the kernel (GRUB, QEMU and our PC do), which is exactly
	 * where next_free starts. The allocator has one range, so it keeps the bigger side of
	 * the initrd and gives up the other (nothing, for either of those placements). */
	if (boot_info.initrd_size) {
		phys_addr_t start = boot_info.initrd_phys & PAGE_MASK;
		phys_addr_t end = PAGE_ALIGN(boot_info.initrd_phys + boot_info.initrd_size);
		if (start < free_limit && end > next_free) {
			unsigned long below = start > next_free ? start - next_free : 0;
			unsigned long above = end < free_limit ? free_limit - end : 0;
			if (!below && !above)
				panic("no RAM left for pages beside the initrd at %08x-%08x", start, end);
			if (below >= above)
				free_limit = start;
			else
				next_free = end;
		}
	}
	BUG_ON(next_free >= free_limit);
}

void *try_alloc_page(void)
{
	void *page;
	unsigned long flags = local_irq_save();

	if (free_list) {
		page = free_list;
		free_list = *(void **)page;
	} else if (next_free < free_limit) {
		page = __va(next_free);
		next_free += PAGE_SIZE;
	} else {
		local_irq_restore(flags);
		return NULL;
	}
	pages_allocated++;
	local_irq_restore(flags);
	memset(page, 0, PAGE_SIZE);
	return page;
}

void *alloc_page(void)
{
	void *page = try_alloc_page();
	if (!page)
		panic("out of memory after %u pages", (unsigned int)pages_allocated);
	return page;
}

unsigned long pages_free(void)
{
	unsigned long n = (free_limit - next_free) / PAGE_SIZE;
	for (void *p = free_list; p; p = *(void **)p)
		n++;
	return n;
}

void free_page(void *page)
{
	unsigned long flags = local_irq_save();
	*(void **)page = free_list;
	free_list = page;
	pages_allocated--;
	local_irq_restore(flags);
}

/* The PTE slot for addr in pgdir; with alloc, a missing page table is allocated and hooked
 * in through set_pmd with pgd_flags. Returns NULL if absent and !alloc, or out of memory. */
pte_t *lookup_pte(pgd_t *pgdir, unsigned long addr, int alloc, u32 pgd_flags)
{
	pgd_t *pgd = &pgdir[addr >> PGDIR_SHIFT];
	pte_t *table;

	if (!(*pgd & _PAGE_PRESENT)) {
		if (!alloc || !(table = try_alloc_page()))
			return NULL;
		pv_ops.set_pmd(pgd, __pa(table) | pgd_flags);
	}
	table = __va(*pgd & PAGE_MASK);
	return &table[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)];
}

void map_page(pgd_t *pgdir, unsigned long addr, phys_addr_t phys, u32 flags)
{
	u32 pgd_flags = addr < PAGE_OFFSET ? PGD_USER : PGD_KERNEL;
	pte_t *pte = lookup_pte(pgdir, addr, 1, pgd_flags);
	if (!pte)
		panic("out of memory for a page table after %u pages", (unsigned int)pages_allocated);
	pv_ops.set_pte_at(pgdir, addr, pte, (phys & PAGE_MASK) | flags);
}

/* The kernel page directory: RAM at PAGE_OFFSET. Built before it is live, so (as in Linux)
 * the PTEs go through set_pte, which under lguest costs nothing until a cr3 is set. */
void paging_init(void)
{
	unsigned long ram = boot_info.ram_bytes < LOWMEM_MAX ? boot_info.ram_bytes : LOWMEM_MAX;
	unsigned long addr;

	pv_ops.set_lazy_mode(PARAVIRT_LAZY_MMU);
	kernel_pgdir = alloc_page();
	for (addr = 0; addr < ram; addr += PAGE_SIZE) {
		unsigned long va = PAGE_OFFSET + addr;
		pte_t *pte = lookup_pte(kernel_pgdir, va, 1, PGD_KERNEL);
		pv_ops.set_pte(pte, addr | PTE_KERNEL);
	}
	pv_ops.write_cr3(__pa(kernel_pgdir));
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
	printk("paging: kernel page directory at %p, %u MiB mapped at %p\n", (void *)__pa(kernel_pgdir),
	       (unsigned int)(ram >> 20), (void *)PAGE_OFFSET);
}

void *ioremap(phys_addr_t phys, unsigned long pages)
{
	unsigned long va = ioremap_next, i;
	BUG_ON(va + pages * PAGE_SIZE > RESERVED_TOP);
	for (i = 0; i < pages; i++)
		map_page(kernel_pgdir, va + i * PAGE_SIZE, phys + i * PAGE_SIZE, PTE_KERNEL);
	ioremap_next += pages * PAGE_SIZE;
	return (void *)va;
}

void add_demand_region(struct demand_region *r)
{
	unsigned int i;
	for (i = 0; i < MAX_DEMAND_REGIONS; i++) {
		if (!demand_regions[i]) {
			demand_regions[i] = r;
			return;
		}
	}
	panic("too many demand regions");
}

int demand_fill(struct demand_region *r, pgd_t *pgdir, unsigned long addr, u32 err)
{
	pte_t *pte;
	void *page;

	if (addr < r->start || addr >= r->end)
		return 0;
	if (err & 1)
		return 0; /* a protection fault, not a missing page */
	if ((err & 4) && !(r->pte_flags & _PAGE_USER))
		return 0;
	pte = lookup_pte(pgdir, addr, 0, 0);
	if (pte && (*pte & _PAGE_PRESENT))
		return 1; /* already there (a copy to user space touching it twice) */
	page = try_alloc_page();
	pte = page ? lookup_pte(pgdir, addr, 1, addr < PAGE_OFFSET ? PGD_USER : PGD_KERNEL) : NULL;
	if (!pte) {
		if (page)
			free_page(page);
		return -1;
	}
	pv_ops.set_pte_at(pgdir, addr & PAGE_MASK, pte, __pa(page) | r->pte_flags);
	r->faults++;
	page_faults_filled++;
	return 1;
}

int handle_demand_fault(pgd_t *pgdir, unsigned long addr, u32 err)
{
	for (unsigned int i = 0; i < MAX_DEMAND_REGIONS; i++) {
		int r = demand_regions[i] ? demand_fill(demand_regions[i], pgdir, addr, err) : 0;
		if (r)
			return r;
	}
	return 0;
}
