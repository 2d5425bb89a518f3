/*
 * The ELF loader: how a program carried in the kernel image (boot/ramfs.S) becomes an
 * address space. Each PT_LOAD segment gets fresh zeroed user pages over [p_vaddr,
 * p_vaddr + p_memsz), and its p_filesz bytes are copied in through the kernel's linear map
 * of those pages; the rest stays zero, which is the program's .bss. A segment without PF_W (the
 * code) is mapped read-only for ring 3; the kernel fills it through its own map.
 *
 * elf_check looks at everything first — an image from the initrd is whatever the user put
 * there — so that execve can refuse a bad one (ENOEXEC) while the old program is intact.
 */
#include <task.h>

#define ELF_MAGIC 0x464C457FU /* "\x7fELF" read as a little-endian word */
#define ET_EXEC 2
#define EM_386 3
#define PT_LOAD 1
#define PF_W 2

struct elf32_ehdr {
	u32 e_magic;
	u8 e_class, e_data, e_version0, e_pad[9];
	u16 e_type, e_machine;
	u32 e_version, e_entry, e_phoff, e_shoff, e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
	u32 p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};

char *user_page(pgd_t *pgdir, unsigned long va)
{
	return user_page_flags(pgdir, va, PTE_USER_RW);
}

char *user_page_flags(pgd_t *pgdir, unsigned long va, u32 flags)
{
	pte_t *pte = lookup_pte(pgdir, va, 1, PGD_USER);
	if (!(*pte & _PAGE_PRESENT)) {
		void *page = alloc_page();
		map_page(pgdir, va & PAGE_MASK, __pa(page), flags);
	} else if ((flags & _PAGE_RW) && !(*pte & _PAGE_RW)) {
		/* A page two segments share is writable if either is. */
		map_page(pgdir, va & PAGE_MASK, *pte & PAGE_MASK, flags);
	}
	return __va(*pte & PAGE_MASK);
}

static const struct elf32_phdr *phdr(const char *image, unsigned int i)
{
	const struct elf32_ehdr *eh = (const struct elf32_ehdr *)image;
	return (const struct elf32_phdr *)(image + eh->e_phoff) + i;
}

long elf_check(const char *image, unsigned long size)
{
	const struct elf32_ehdr *eh = (const struct elf32_ehdr *)image;
	long pages = 0;

	if (size < sizeof(*eh) || eh->e_magic != ELF_MAGIC || eh->e_class != 1 || eh->e_type != ET_EXEC ||
	    eh->e_machine != EM_386 || eh->e_phentsize != sizeof(struct elf32_phdr) || eh->e_phoff > size ||
	    eh->e_phnum > (size - eh->e_phoff) / sizeof(struct elf32_phdr))
		return -1;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const struct elf32_phdr *ph = phdr(image, i);
		unsigned long end = ph->p_vaddr + ph->p_memsz;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz > ph->p_memsz || ph->p_offset > size || ph->p_filesz > size - ph->p_offset ||
		    end < ph->p_vaddr || end > USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE || ph->p_vaddr < PAGE_SIZE)
			return -1;
		/* Its pages, and a page table for each 4 MiB it touches, at most. */
		pages += (PAGE_ALIGN(end) - (ph->p_vaddr & PAGE_MASK)) / PAGE_SIZE;
		pages += ((end - 1) >> PGDIR_SHIFT) - (ph->p_vaddr >> PGDIR_SHIFT) + 1;
	}
	if (eh->e_entry < PAGE_SIZE || eh->e_entry >= PAGE_OFFSET)
		return -1;
	return pages;
}

void elf_load(pgd_t *pgdir, const char *image, unsigned long size, unsigned long *entry, unsigned long *top)
{
	const struct elf32_ehdr *eh = (const struct elf32_ehdr *)image;

	(void)size; /* elf_check saw every segment fits in it */
	*top = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const struct elf32_phdr *ph = phdr(image, i);
		unsigned long va, end = ph->p_vaddr + ph->p_memsz;

		if (ph->p_type != PT_LOAD)
			continue;
		if (end > *top)
			*top = end;
		for (va = ph->p_vaddr & PAGE_MASK; va < end; va += PAGE_SIZE)
			user_page_flags(pgdir, va, ph->p_flags & PF_W ? PTE_USER_RW : PTE_USER_RO);
		/* Copy the file's bytes a page-piece at a time: pages need not be contiguous. */
		for (unsigned long done = 0; done < ph->p_filesz;) {
			unsigned long at = ph->p_vaddr + done, off = at & (PAGE_SIZE - 1);
			unsigned long n = PAGE_SIZE - off;
			if (n > ph->p_filesz - done)
				n = ph->p_filesz - done;
			memcpy((char *)__va(*lookup_pte(pgdir, at, 0, 0) & PAGE_MASK) + off, image + ph->p_offset + done, n);
			done += n;
		}
	}
	*entry = eh->e_entry;
}
