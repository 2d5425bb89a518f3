/*
 * Ring 3. A task gets its own page directory whose kernel half is the kernel's (the same
 * page tables, so a kernel mapping made later shows up in both), its program (a flat code
 * page with a data page holding its TLS block and message, or an ELF image's segments), and a
 * stack region that is filled on demand. Switching to it is the classic pair, batched in lazy
 * CPU mode: load_esp0 (the kernel stack a trap from ring 3 lands on — under lguest,
 * LHCALL_SET_STACK, which the host needs because it delivers traps to our ring 1 itself) and
 * write_cr3; then load_tls, and an iret to ring 3.
 *
 * Spawning is synchronous, like vfork + execve + waitpid in one: the parent's system call
 * sets up the child in the next slot and enters it; the child's end (exit, or a kill from a
 * fault or Ctrl-C) comes back out of enter_user on the parent's kernel stack, which switches
 * back to the parent and returns its status. Each slot keeps its page directory and page
 * tables between programs; the user pages are unmapped (telling the host) and freed.
 */
#include <irq.h>
#include <task.h>
#include <tty.h>

struct task tasks[MAX_TASKS];
static struct task *current;
static int last_pid;
static pgd_t *slot_pgdir[MAX_TASKS];
static char kstacks[MAX_TASKS][THREAD_SIZE] __attribute__((aligned(THREAD_SIZE)));

static const char user_message[] = "hello from ring 3\n";

/* The TLS block at the start of the user data page: what the program reads via %gs. */
struct user_tls {
	u32 message;
	u32 length;
};

/* The programs in /bin: flat code pages, or ELF images (is_elf). */
static const struct program {
	const char *name;
	const char *start, *end;
	int is_elf;
} programs[] = {
	{ "sh", sh_elf_start, sh_elf_end, 1 },
	{ "hello", user_program_start, user_program_end, 0 },
	{ "fault", fault_program_start, fault_program_end, 0 },
	{ "spin", spin_program_start, spin_program_end, 0 },
	{ "greet", greet_elf_start, greet_elf_end, 1 },
	{ "upper", upper_elf_start, upper_elf_end, 1 },
};

static void switch_to(struct task *t)
{
	current = t;
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_CPU);
	pv_ops.load_esp0(t->kstack_top);
	pv_ops.write_cr3(__pa(t->pgdir));
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
	pv_ops.load_tls(t->tls);
}

/* A fresh task in slot, named name, with a new pid, on the slot's address space. */
static void init_task(struct task *t, unsigned int slot, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->pid = ++last_pid;
	t->parent = current;
	t->start_jiffies = jiffies;
	t->kstack_top = (unsigned long)kstacks[slot] + THREAD_SIZE;
	if (!slot_pgdir[slot]) {
		slot_pgdir[slot] = alloc_page();
		/* Share the kernel's page tables for everything above PAGE_OFFSET. */
		memcpy(&slot_pgdir[slot][PAGE_OFFSET >> PGDIR_SHIFT], &kernel_pgdir[PAGE_OFFSET >> PGDIR_SHIFT],
		       (PTRS_PER_PGD - (PAGE_OFFSET >> PGDIR_SHIFT)) * sizeof(pgd_t));
	}
	t->pgdir = slot_pgdir[slot];
	t->stack.name = "user stack";
	t->stack.start = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
	t->stack.end = USER_STACK_TOP;
	t->stack.pte_flags = PTE_USER_RW;
	add_demand_region(&t->stack);
}

/* Unmaps and frees every user page of pgdir; returns how many. Must not be the live cr3. */
static unsigned long release_user_pages(pgd_t *pgdir)
{
	unsigned long freed = 0;

	pv_ops.set_lazy_mode(PARAVIRT_LAZY_MMU);
	for (unsigned long i = 0; i < (PAGE_OFFSET >> PGDIR_SHIFT); i++) {
		if (!(pgdir[i] & _PAGE_PRESENT))
			continue;
		pte_t *table = __va(pgdir[i] & PAGE_MASK);
		for (unsigned long j = 0; j < PTRS_PER_PTE; j++) {
			pte_t pte = table[j];
			if (!(pte & _PAGE_PRESENT))
				continue;
			pv_ops.set_pte_at(pgdir, (i << PGDIR_SHIFT) | (j << PAGE_SHIFT), &table[j], 0);
			free_page(__va(pte & PAGE_MASK));
			freed++;
		}
	}
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
	return freed;
}

/* Loads a flat program: its code page at USER_CODE, and a data page with TLS and message. */
static void load_flat(struct task *t, const char *start, const char *end)
{
	unsigned long code_len = end - start;
	void *code = alloc_page();
	char *data = alloc_page();
	struct user_tls *tls = (struct user_tls *)data;

	BUG_ON(code_len > PAGE_SIZE);
	memcpy(code, start, code_len);
	map_page(t->pgdir, USER_CODE, __pa(code), PTE_USER_RO);
	tls->message = USER_DATA + 16;
	tls->length = sizeof(user_message) - 1;
	memcpy(data + 16, user_message, sizeof(user_message) - 1);
	map_page(t->pgdir, USER_DATA, __pa(data), PTE_USER_RW);
	t->tls[0] = make_segment(USER_DATA, 0xFFF, DESC_DATA | DESC_DPL3, 0x4);
	t->entry = USER_CODE;
}

/* Runs t in ring 3 until it ends, then goes back to its parent (or the kernel's own address
 * space) and frees what it held. Returns its end: exit code, or -signal. */
static int run_task(struct task *t)
{
	int code;

	t->live = 1;
	switch_to(t);
	code = enter_user(&t->ctx, t->entry, USER_STACK_TOP);
	/* Back on the parent's kernel stack. A kill from a fault or an interrupt arrives with
	 * interrupts off: turn them back on. */
	t->live = 0;
	if (t->parent)
		switch_to(t->parent);
	else {
		pv_ops.write_cr3(__pa(kernel_pgdir));
		current = NULL;
	}
	local_irq_enable();
	t->exit_code = code;
	close_files(t);
	t->pages_freed = release_user_pages(t->pgdir);
	return code;
}

int run_user_program(void)
{
	struct task *t = &tasks[0];
	int code;

	init_task(t, 0, "hello");
	load_flat(t, user_program_start, user_program_end);
	printk("user: starting %u-byte program at %p in ring 3\n",
	       (unsigned int)(user_program_end - user_program_start), (void *)USER_CODE);
	code = run_task(t);
	printk("user: program exited with status %d after %u system calls, %u stack page faults\n", code,
	       (unsigned int)t->syscalls, (unsigned int)t->stack.faults);
	return code;
}

const char *user_program_name(unsigned int i)
{
	return i < ARRAY_SIZE(programs) ? programs[i].name : NULL;
}

int task_spawn(const char *name, int *status)
{
	unsigned int slot = 0, i;
	unsigned long top = 0;
	struct task *t;

	if (memcmp(name, "/bin/", 5) == 0)
		name += 5;
	for (i = 0; i < ARRAY_SIZE(programs); i++)
		if (strcmp(programs[i].name, name) == 0)
			break;
	if (i == ARRAY_SIZE(programs))
		return -1;
	if (current)
		slot = (current - tasks) + 1;
	if (slot >= MAX_TASKS)
		return -3;
	t = &tasks[slot];
	init_task(t, slot, programs[i].name);
	t->catches_interrupt = strcmp(programs[i].name, "sh") == 0;
	if (!programs[i].is_elf)
		load_flat(t, programs[i].start, programs[i].end);
	else if (elf_load(t->pgdir, programs[i].start, programs[i].end - programs[i].start, &t->entry, &top)) {
		release_user_pages(t->pgdir);
		return -2;
	}
	/* The heap starts empty at the page after the image; brk moves its end. */
	t->heap.name = "user heap";
	t->heap.start = t->heap.end = PAGE_ALIGN(top ? top : USER_DATA + PAGE_SIZE);
	t->heap.pte_flags = PTE_USER_RW;
	add_demand_region(&t->heap);
	*status = run_task(t);
	return 0;
}

struct task *task_current(void)
{
	return current;
}

noreturn void kill_current(int code)
{
	struct task *t = current;

	BUG_ON(!t);
	leave_user(&t->ctx, code);
}
