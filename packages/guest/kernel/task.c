/*
 * Processes and the scheduler.
 *
 * Switching tasks is two halves. The address-space half is the classic pair, batched in lazy
 * CPU mode: load_esp0 (the kernel stack a trap from ring 3 lands on — under lguest
 * LHCALL_SET_STACK, which the host needs because it delivers traps to our ring 1 itself) and
 * write_cr3 (LHCALL_NEW_PGTABLE: the host finds or builds a shadow of the new directory);
 * then load_tls. The CPU half is switch_context (entry.S): push the callee-saved registers,
 * swap kernel stack pointers, pop the other task's. A task that is not running is therefore
 * always stopped inside schedule(), except a newborn, whose stack is built to "return" into
 * ret_from_fork and from there, through the trap frame fork copied, into ring 3.
 *
 * When nothing is runnable the scheduler halts in place with safe_halt (interrupts on and
 * halt as one step: natively sti;hlt, under lguest LHCALL_HALT) until an interrupt wakes
 * someone. The kernel's own thread, pid 0, boots the machine, starts init and then only
 * waits; its "time" in ps is the time the CPU spent halted.
 *
 * Preemption is on the tick: sched_tick counts down the running task's slice and asks for a
 * reschedule; the request is honoured on the way back to ring 3 (return_to_user), never in
 * the middle of kernel code — a kernel without kernel preemption, like Linux of the time.
 */
#include <irq.h>
#include <task.h>
#include <net.h>
#include <tty.h>

struct task tasks[MAX_TASKS];
struct task *current = &tasks[0];
struct task *init_task;
volatile int need_resched;
static int last_pid;
static unsigned long idle_ticks;
static int idling;
static char kstacks[MAX_TASKS][THREAD_SIZE] __attribute__((aligned(THREAD_SIZE)));

/* entry.S */
void switch_context(unsigned long *save_ksp, unsigned long ksp);
void ret_from_fork(void);

void sched_init(void)
{
	struct task *t = &tasks[0];

	t->state = TASK_RUNNING;
	t->pid = 0;
	memcpy(t->comm, "[idle]", 7);
	t->pgdir = kernel_pgdir;
	t->start_jiffies = jiffies;
}

struct task *find_task(int pid)
{
	for (unsigned int i = 0; i < MAX_TASKS; i++)
		if (tasks[i].state != TASK_UNUSED && tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

/* The address-space half of a switch to t (also used to come back to t's own directory). */
static void load_task_mm(struct task *t)
{
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_CPU);
	if (t->pid)
		pv_ops.load_esp0(t->kstack_top);
	if (pv_ops.read_cr3() != __pa(t->pgdir))
		pv_ops.write_cr3(__pa(t->pgdir));
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
	if (t->pid)
		pv_ops.load_tls(t->tls);
}

/* ---------------------------------------------------------------- the FPU, lazily */

#define CR0_TS 0x8

struct task *fpu_owner;

void fpu_switch_to(struct task *next)
{
	unsigned long cr0 = pv_ops.read_cr0();

	if (next == fpu_owner) {
		if (cr0 & CR0_TS)
			pv_ops.clts();
	} else if (!(cr0 & CR0_TS)) {
		pv_ops.write_cr0(cr0 | CR0_TS);
	}
}

void fpu_device_not_available(void)
{
	pv_ops.clts();
	if (fpu_owner == current)
		return;
	if (fpu_owner)
		__asm__ __volatile__("fnsave %0" : "=m"(fpu_owner->fpu));
	else
		/* A task that died with an x87 exception pending leaves it behind: FRSTOR waits. */
		__asm__ __volatile__("fnclex");
	if (current->fpu_used) {
		__asm__ __volatile__("frstor %0" : : "m"(current->fpu));
	} else {
		__asm__ __volatile__("fninit");
		current->fpu_used = 1;
	}
	fpu_owner = current;
}

/* Round robin: the first runnable task after prev in slot order; prev itself if it is the
 * only one; NULL if none is. */
static struct task *pick_next(struct task *prev)
{
	unsigned int start = prev - tasks;

	for (unsigned int i = 1; i <= MAX_TASKS; i++) {
		struct task *t = &tasks[(start + i) % MAX_TASKS];
		if (t->state == TASK_RUNNING)
			return t;
	}
	return NULL;
}

void schedule(void)
{
	unsigned long flags = local_irq_save();
	struct task *prev = current, *next;

	for (;;) {
		need_resched = 0;
		next = pick_next(prev);
		if (next)
			break;
		/* Nothing to run: wait here, on prev's stack, for an interrupt to wake someone. */
		idling = 1;
		pv_ops.safe_halt();
		local_irq_disable();
		idling = 0;
	}
	next->slice = TIME_SLICE;
	if (next != prev) {
		load_task_mm(next);
		current = next;
		fpu_switch_to(next);
		switch_context(&prev->ksp, next->ksp);
		/* prev again: someone switched back to us. */
	}
	local_irq_restore(flags);
}

void sleep_on(const volatile void *chan)
{
	current->wchan = chan;
	current->state = TASK_SLEEPING;
	schedule();
	current->wchan = NULL;
}

void wakeup(const volatile void *chan)
{
	unsigned long flags = local_irq_save();

	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == TASK_SLEEPING && t->wchan == chan) {
			t->state = TASK_RUNNING;
			need_resched = 1;
		}
	}
	local_irq_restore(flags);
}

void sched_tick(void)
{
	if (idling)
		idle_ticks++;
	else {
		current->ticks++;
		if (current->pid && --current->slice <= 0)
			need_resched = 1;
	}
	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == TASK_SLEEPING && t->wake_at && jiffies >= t->wake_at) {
			t->state = TASK_RUNNING;
			need_resched = 1;
		}
	}
}

unsigned long task_cpu_ticks(const struct task *t)
{
	return t->pid ? t->ticks : idle_ticks;
}

void return_to_user(struct trapframe *tf)
{
	for (;;) {
		local_irq_disable();
		if (need_resched)
			schedule();
		else if (current->sigpending)
			deliver_signals(tf);
		else
			break;
	}
	/* The iret that follows restores the interrupt flag of the frame. */
}

/* ---------------------------------------------------------------- address spaces */

/* A page directory for a new task: empty below PAGE_OFFSET, the kernel's tables above. */
static pgd_t *new_pgdir(void)
{
	pgd_t *pgdir = try_alloc_page();

	if (pgdir)
		memcpy(&pgdir[PAGE_OFFSET >> PGDIR_SHIFT], &kernel_pgdir[PAGE_OFFSET >> PGDIR_SHIFT],
		       (PTRS_PER_PGD - (PAGE_OFFSET >> PGDIR_SHIFT)) * sizeof(pgd_t));
	return pgdir;
}

/* Unmaps and frees every user page and user page table of pgdir, telling the host about each
 * entry (set_pte_at, set_pmd): under lguest the shadow of this directory, if the host still
 * caches one, must not keep a translation to a page we are giving away. */
static void release_user_space(pgd_t *pgdir)
{
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
		}
		pv_ops.set_pmd(&pgdir[i], 0);
		free_page(table);
	}
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
}

/* fork's copy: every user page of src duplicated into dst with the same flags. There is no
 * copy-on-write; programs here are a few pages. Returns 0, or -1 when memory ran out (dst
 * then holds a partial copy, which the caller releases). */
static int copy_user_space(pgd_t *dst, pgd_t *src)
{
	for (unsigned long i = 0; i < (PAGE_OFFSET >> PGDIR_SHIFT); i++) {
		if (!(src[i] & _PAGE_PRESENT))
			continue;
		pte_t *table = __va(src[i] & PAGE_MASK);
		for (unsigned long j = 0; j < PTRS_PER_PTE; j++) {
			pte_t pte = table[j];
			void *page;
			if (!(pte & _PAGE_PRESENT))
				continue;
			page = try_alloc_page();
			if (!page || !lookup_pte(dst, (i << PGDIR_SHIFT) | (j << PAGE_SHIFT), 1, PGD_USER)) {
				if (page)
					free_page(page);
				return -1;
			}
			memcpy(page, __va(pte & PAGE_MASK), PAGE_SIZE);
			map_page(dst, (i << PGDIR_SHIFT) | (j << PAGE_SHIFT), __pa(page), pte & ~PAGE_MASK);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- birth */

/* A free slot, made a task with a new pid, a fresh address space and its kernel stack. */
static struct task *alloc_task(void)
{
	unsigned int slot;
	struct task *t;

	for (slot = 1; slot < MAX_TASKS; slot++)
		if (tasks[slot].state == TASK_UNUSED)
			break;
	if (slot == MAX_TASKS)
		return NULL;
	t = &tasks[slot];
	memset(t, 0, sizeof(*t));
	t->pgdir = new_pgdir();
	if (!t->pgdir)
		return NULL;
	t->pid = ++last_pid;
	t->pgid = current->pgid;
	t->parent = current;
	t->start_jiffies = jiffies;
	t->kstack_top = (unsigned long)kstacks[slot] + THREAD_SIZE;
	t->stack.name = "user stack";
	t->stack.start = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
	t->stack.end = USER_STACK_TOP;
	t->stack.pte_flags = PTE_USER_RW;
	return t;
}

/* Gives back what alloc_task took, for a task that never ran. */
static void abandon_task(struct task *t)
{
	release_user_space(t->pgdir);
	free_page(t->pgdir);
	close_files(t);
	t->state = TASK_UNUSED;
}

/* Builds t's kernel stack to leave through ret_from_fork with the user registers of tf:
 * the trap frame at the top, and under it what switch_context pops (edi, esi, ebx, ebp and
 * the return address). Returns the frame, for the caller to adjust. */
static struct trapframe *build_kernel_stack(struct task *t, const struct trapframe *tf)
{
	struct trapframe *frame = (struct trapframe *)(t->kstack_top - sizeof(struct trapframe));
	u32 *sp = (u32 *)frame;

	*frame = *tf;
	*--sp = (u32)ret_from_fork;
	*--sp = 0; /* ebp */
	*--sp = 0; /* ebx */
	*--sp = 0; /* esi */
	*--sp = 0; /* edi */
	t->ksp = (unsigned long)sp;
	return frame;
}

long do_fork(struct trapframe *tf)
{
	struct task *child = alloc_task();

	if (!child)
		return -EAGAIN;
	if (copy_user_space(child->pgdir, current->pgdir)) {
		abandon_task(child);
		return -ENOMEM;
	}
	memcpy(child->comm, current->comm, sizeof(child->comm));
	memcpy(child->tls, current->tls, sizeof(child->tls));
	memcpy(child->sigactions, current->sigactions, sizeof(child->sigactions));
	child->entry = current->entry;
	child->heap = current->heap;
	child->heap.faults = 0;
	for (int fd = 0; fd < MAX_FDS; fd++) {
		struct file *f = &current->files[fd];
		child->files[fd] = *f;
		if (f->open && f->sock)
			sock_get(f->sock);
		if (f->open && f->page) {
			child->files[fd].page = try_alloc_page();
			if (!child->files[fd].page) {
				child->files[fd].open = 0;
				abandon_task(child);
				return -ENOMEM;
			}
			memcpy(child->files[fd].page, f->page, PAGE_SIZE);
			child->files[fd].data = child->files[fd].page;
		}
	}
	/* The child's FPU state is the parent's: saved from the FPU if the parent has it there. */
	if (current->fpu_used) {
		if (fpu_owner == current)
			__asm__ __volatile__("fnsave %0\n\tfrstor %0" : "+m"(current->fpu));
		memcpy(child->fpu, current->fpu, sizeof(child->fpu));
		child->fpu_used = 1;
	}
	build_kernel_stack(child, tf)->eax = 0; /* fork returns 0 in the child */
	local_irq_disable();
	child->state = TASK_RUNNING;
	local_irq_enable();
	return child->pid;
}

/* ---------------------------------------------------------------- execve */

#define MAX_ARGS 32

/* Arguments gathered into one kernel page before the old program goes away: the strings
 * packed from the start, argc of them. */
struct args {
	char *page;
	unsigned long used;
	int argc;
};

static int add_arg(struct args *a, const char *s, unsigned long len)
{
	if (a->argc >= MAX_ARGS || a->used + len + 1 > PAGE_SIZE / 2)
		return -1;
	memcpy(a->page + a->used, s, len);
	a->page[a->used + len] = '\0';
	a->used += len + 1;
	a->argc++;
	return 0;
}

/* The i386 System V start of a process: at esp argc, then argv[] and a NULL, an empty envp
 * (NULL) and an empty auxiliary vector (AT_NULL), with the strings above them at the top of
 * the stack. Written through the kernel's map of the top stack page. Returns esp. */
static unsigned long build_user_stack(pgd_t *pgdir, const struct args *a)
{
	char *page = user_page(pgdir, USER_STACK_TOP - PAGE_SIZE);
	unsigned long strings = USER_STACK_TOP - ((a->used + 15) & ~15UL);
	unsigned long words = 1 + a->argc + 1 + 1 + 2;
	unsigned long sp = (strings - words * 4) & ~15UL;
	u32 *w = (u32 *)(page + (sp & ~PAGE_MASK));
	unsigned long off = 0;

	memcpy(page + (strings & ~PAGE_MASK), a->page, a->used);
	*w++ = a->argc;
	for (int i = 0; i < a->argc; i++) {
		*w++ = strings + off;
		off += strlen(a->page + off) + 1;
	}
	*w++ = 0; /* end of argv */
	*w++ = 0; /* envp: empty */
	*w++ = 0; /* auxv: AT_NULL */
	*w = 0;
	return sp;
}

/* The TLS block at the start of a flat program's data page: what it reads via %gs. */
struct user_tls {
	u32 message;
	u32 length;
};
static const char user_message[] = "hello from ring 3\n";

/* A flat program: its code page at USER_CODE, and a data page with TLS and message. */
static void load_flat(struct task *t, const char *start, unsigned long len)
{
	void *code = alloc_page();
	char *data = alloc_page();
	struct user_tls *tls = (struct user_tls *)data;

	BUG_ON(len > PAGE_SIZE);
	memcpy(code, start, len);
	map_page(t->pgdir, USER_CODE, __pa(code), PTE_USER_RO);
	tls->message = USER_DATA + 16;
	tls->length = sizeof(user_message) - 1;
	memcpy(data + 16, user_message, sizeof(user_message) - 1);
	map_page(t->pgdir, USER_DATA, __pa(data), PTE_USER_RW);
	t->tls[0] = make_segment(USER_DATA, 0xFFF, DESC_DATA | DESC_DPL3, 0x4);
	t->entry = USER_CODE;
}

/* Fills t's (empty) address space with the program and sets tf to start it. A flat program
 * starts with an untouched stack (its first push faults the top page in); an ELF one gets
 * its arguments. */
static void load_program(struct task *t, struct trapframe *tf, const char *image, unsigned long size, int is_elf,
			 const struct args *a)
{
	unsigned long top = 0, sp = USER_STACK_TOP;

	memset(t->tls, 0, sizeof(t->tls));
	if (is_elf) {
		elf_load(t->pgdir, image, size, &t->entry, &top);
		sp = build_user_stack(t->pgdir, a);
	} else
		load_flat(t, image, size);
	/* The heap starts empty at the page after the image; brk moves its end. */
	t->heap.name = "user heap";
	t->heap.start = t->heap.end = PAGE_ALIGN(top ? top : USER_DATA + PAGE_SIZE);
	t->heap.pte_flags = PTE_USER_RW;
	t->heap.faults = 0;
	t->stack.faults = 0;
	/* Handlers belong to the old program; what was ignored stays ignored (POSIX). */
	for (int s = 0; s < NSIG; s++)
		if (t->sigactions[s].handler != SIG_IGN)
			memset(&t->sigactions[s], 0, sizeof(t->sigactions[s]));
	/* The name: the last part of the path. */
	const char *name = a->page, *p;
	for (p = name; *p; p++)
		if (*p == '/')
			name = p + 1;
	memset(t->comm, 0, sizeof(t->comm));
	for (int i = 0; i < TASK_COMM_LEN - 1 && name[i]; i++)
		t->comm[i] = name[i];

	memset(tf, 0, sizeof(*tf));
	tf->eip = t->entry;
	tf->cs = __USER_CS;
	tf->eflags = X86_EFLAGS_IF | 2;
	tf->esp = sp;
	tf->ss = tf->ds = tf->es = __USER_DS;
}

/* Looks path up and checks it can run, memory included: 0, -ENOENT, -ENOEXEC or -ENOMEM. */
static int find_program(const char *path, const char **image, unsigned long *size, int *is_elf)
{
	long pages;

	if (find_executable(path, image, size, is_elf))
		return -ENOENT;
	pages = *is_elf ? elf_check(*image, *size) : *size > PAGE_SIZE ? -1 : 2;
	if (pages < 0)
		return -ENOEXEC;
	/* The image, the first stack page and its page table: all there before we commit. */
	if ((unsigned long)pages + 2 > pages_free())
		return -ENOMEM;
	return 0;
}

long do_execve(struct trapframe *tf, const char *path, unsigned long uargv)
{
	struct args a = { try_alloc_page(), 0, 0 };
	const char *image;
	unsigned long size;
	int is_elf;
	long err;

	if (!a.page)
		return -ENOMEM;
	err = find_program(path, &image, &size, &is_elf);
	/* argv: NULL-terminated array of user pointers; argv[0] is the name, by convention. */
	for (unsigned long i = 0; !err && uargv; i++) {
		u32 uarg;
		char buf[128];
		if (copy_from_user(&uarg, uargv + i * 4, 4))
			err = -EFAULT;
		else if (!uarg)
			break;
		else if (copy_string_from_user(buf, sizeof(buf), uarg))
			err = -EFAULT;
		else if (add_arg(&a, buf, strlen(buf)))
			err = -E2BIG;
	}
	if (!err && a.argc == 0)
		add_arg(&a, path, strlen(path));
	if (err) {
		free_page(a.page);
		return err;
	}
	/* The point of no return: the old program goes. Its directory is not the live one while
	 * we empty and refill it. */
	pv_ops.write_cr3(__pa(kernel_pgdir));
	release_user_space(current->pgdir);
	load_program(current, tf, image, size, is_elf, &a);
	/* A new program starts with a fresh FPU on its first FPU instruction. */
	current->fpu_used = 0;
	if (fpu_owner == current) {
		fpu_owner = NULL;
		fpu_switch_to(current);
	}
	/* argv[0] named the program; the name shown by ps is the file's. */
	free_page(a.page);
	load_task_mm(current);
	return 0;
}

struct task *start_user_process(const char *path)
{
	struct args a = { try_alloc_page(), 0, 0 };
	struct trapframe tf;
	const char *image;
	unsigned long size;
	int is_elf;
	struct task *t;

	if (!a.page)
		return NULL;
	if (find_program(path, &image, &size, &is_elf) || !(t = alloc_task())) {
		free_page(a.page);
		return NULL;
	}
	t->pgid = t->pid; /* a process group of its own */
	add_arg(&a, path, strlen(path));
	load_program(t, &tf, image, size, is_elf, &a);
	free_page(a.page);
	build_kernel_stack(t, &tf);
	local_irq_disable();
	t->state = TASK_RUNNING;
	local_irq_enable();
	return t;
}

/* ---------------------------------------------------------------- death */

noreturn void do_exit(int status)
{
	struct task *t = current, *init = init_task ? init_task : &tasks[0];
	int orphaned_zombie = 0;

	BUG_ON(t->pid == 0);
	if (t == init_task)
		panic("init ended (waitpid status %x): nothing is left to run", (unsigned int)status);
	close_files(t);
	if (fpu_owner == t)
		fpu_owner = NULL;
	pv_ops.write_cr3(__pa(kernel_pgdir));
	release_user_space(t->pgdir);
	free_page(t->pgdir);
	t->pgdir = kernel_pgdir;

	local_irq_disable();
	/* Children outlive us as init's; init collects them. (Before init, in the boot story,
	 * the kernel's thread adopts them.) */
	for (unsigned int i = 0; i < MAX_TASKS; i++) {
		struct task *c = &tasks[i];
		if (c->state != TASK_UNUSED && c->parent == t) {
			c->parent = init;
			orphaned_zombie |= c->state == TASK_ZOMBIE;
		}
	}
	if (orphaned_zombie)
		wakeup(init);
	t->exit_status = status;
	t->state = TASK_ZOMBIE;
	t->sigpending = 0;
	wakeup(t->parent);
	schedule();
	panic("a zombie ran again");
}

/* Frees a zombie's slot. Its address space went at exit; the kernel stack is static. */
static void reap(struct task *t)
{
	t->state = TASK_UNUSED;
	t->parent = NULL;
}

long do_waitpid(int pid, unsigned long ustatus, int options)
{
	for (;;) {
		struct task *zombie = NULL;
		int children = 0;

		local_irq_disable();
		for (unsigned int i = 0; i < MAX_TASKS; i++) {
			struct task *c = &tasks[i];
			if (c->state == TASK_UNUSED || c->parent != current)
				continue;
			if ((pid > 0 && c->pid != pid) || (pid == 0 && c->pgid != current->pgid) ||
			    (pid < -1 && c->pgid != -pid))
				continue;
			children++;
			if (c->state == TASK_ZOMBIE) {
				zombie = c;
				break;
			}
		}
		if (zombie) {
			int status = zombie->exit_status, cpid = zombie->pid;
			local_irq_enable();
			if (ustatus && copy_to_user(ustatus, &status, 4))
				return -EFAULT;
			reap(zombie);
			return cpid;
		}
		if (!children || (options & WNOHANG) || signal_pending()) {
			local_irq_enable();
			return !children ? -ECHILD : (options & WNOHANG) ? 0 : -EINTR;
		}
		sleep_on(current); /* do_exit wakes its parent */
		local_irq_enable();
	}
}

int kernel_wait(struct task *t)
{
	int status;

	local_irq_disable();
	while (t->state != TASK_ZOMBIE)
		sleep_on(current);
	local_irq_enable();
	status = t->exit_status;
	reap(t);
	return status;
}

/* ---------------------------------------------------------------- the boot story */

int run_user_program(void)
{
	struct task *t = start_user_process("/bin/hello");
	int status;

	BUG_ON(!t);
	printk("user: starting %u-byte program at %p in ring 3\n",
	       (unsigned int)(user_program_end - user_program_start), (void *)USER_CODE);
	status = kernel_wait(t);
	if (status & 0x7F)
		panic("user: the program was killed by signal %d", status & 0x7F);
	printk("user: program exited with status %d after %u system calls, %u stack page faults\n", status >> 8,
	       (unsigned int)t->syscalls, (unsigned int)t->stack.faults);
	return status >> 8;
}
