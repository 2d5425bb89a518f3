/*
 * Memory: a page allocator over the RAM boot found, the kernel's own page directory (all of
 * RAM mapped at PAGE_OFFSET, nothing below), and "demand regions": ranges of virtual
 * addresses that get zeroed pages when first touched, filled in by the page-fault handler.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <paravirt.h>

#define PTE_KERNEL (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_USER_RW (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_USER_RO (_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
#define PGD_KERNEL _PAGE_KERNEL /* 0x63 */
#define PGD_USER _PAGE_TABLE    /* 0x67 */

/* Most RAM the linear map covers; virtual space above it holds the regions below. */
#define LOWMEM_MAX 0x20000000UL
/* Where the demand-paging demo region and the device mappings live. */
#define DEMAND_BASE 0xE0000000UL
#define IOREMAP_BASE 0xF0000000UL
/* The top 4 MiB belong to the lguest Switcher (reserve_mem); never map there. */
#define RESERVED_TOP 0xFFC00000UL

/* The page directory the kernel runs on (after paging_init). */
extern pgd_t *kernel_pgdir;
/* Pages handed out and page faults resolved, for the boot report. */
extern unsigned long pages_allocated;
extern unsigned long page_faults_filled;

/* Page allocator over [end of kernel, end of RAM - reserved_top). try_alloc_page returns a
 * zeroed page (kernel virtual), or NULL when memory ran out; alloc_page panics instead, for
 * the kernel's own needs at boot. Safe from interrupt handlers. */
void *try_alloc_page(void);
void *alloc_page(void);
void free_page(void *page);
/* Pages the allocator could still hand out. */
unsigned long pages_free(void);
void page_alloc_init(void);

/* Builds the kernel page directory and switches to it (through write_cr3). */
void paging_init(void);
/* The PTE for addr in pgdir, allocating the page table (with pgd_flags) if alloc. */
pte_t *lookup_pte(pgd_t *pgdir, unsigned long addr, int alloc, u32 pgd_flags);
/* Maps one page through set_pte_at. */
void map_page(pgd_t *pgdir, unsigned long addr, phys_addr_t phys, u32 flags);
/* Maps device memory at IOREMAP_BASE and up; returns its virtual address. */
void *ioremap(phys_addr_t phys, unsigned long pages);

/* A range [start, end) whose pages are allocated zeroed on first touch, mapped with flags. */
struct demand_region {
	const char *name;
	unsigned long start, end;
	u32 pte_flags;
	unsigned long faults;
};
/* A kernel region (the user stack and heap are each task's own, in struct task). */
void add_demand_region(struct demand_region *r);
/* The page-fault handler's question for region r: fill addr in pgdir? Returns 1 if it did
 * (or the page is already there), 0 if r does not cover this fault, -1 if memory ran out.
 * err is the page-fault error code: bit 0 present, 1 write, 2 user. */
int demand_fill(struct demand_region *r, pgd_t *pgdir, unsigned long addr, u32 err);
/* The same over the kernel's regions. */
int handle_demand_fault(pgd_t *pgdir, unsigned long addr, u32 err);

#endif /* GUEST_MM_H */
