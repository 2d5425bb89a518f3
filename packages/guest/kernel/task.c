/*
 * Ring 3. A task gets its own page directory whose kernel half is the kernel's (the same
 * page tables, so a kernel mapping made later shows up in both), a user code page, a data
 * page holding its TLS block and message, and a stack region that is filled on demand.
 * Switching to it is the classic pair, batched in lazy CPU mode: load_esp0 (the kernel stack
 * a trap from ring 3 lands on — under lguest, LHCALL_SET_STACK, which the host needs because
 * it delivers traps to our ring 1 itself) and write_cr3; then load_tls, and an iret to ring 3.
 * The program talks back through int $0x80: write(1, buf, len) and exit(code).
 */
#include <task.h>

#define SYS_exit 1
#define SYS_write 4

static struct task user_task;
static struct task *current;
static char task_kstack[THREAD_SIZE] __attribute__((aligned(THREAD_SIZE)));

static const char user_message[] = "hello from ring 3\n";

/* The TLS block at the start of the user data page: what the program reads via %gs. */
struct user_tls {
	u32 message;
	u32 length;
};

/* Copies len bytes from user address src, which must lie wholly below PAGE_OFFSET. */
static int copy_from_user(void *dst, unsigned long src, unsigned long len)
{
	if (src + len < src || src + len > PAGE_OFFSET)
		return -1;
	memcpy(dst, (const void *)src, len);
	return 0;
}

static void switch_to(struct task *t)
{
	current = t;
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_CPU);
	pv_ops.load_esp0(t->kstack_top);
	pv_ops.write_cr3(__pa(t->pgdir));
	pv_ops.set_lazy_mode(PARAVIRT_LAZY_NONE);
	pv_ops.load_tls(t->tls);
}

/* Sets up the task's address space: code, data with TLS, demand-filled stack. */
static void setup_task(struct task *t)
{
	unsigned long code_len = user_program_end - user_program_start;
	void *code = alloc_page();
	char *data = alloc_page();
	struct user_tls *tls = (struct user_tls *)data;

	BUG_ON(code_len > PAGE_SIZE);
	t->pgdir = alloc_page();
	/* Share the kernel's page tables for everything above PAGE_OFFSET. */
	memcpy(&t->pgdir[PAGE_OFFSET >> PGDIR_SHIFT], &kernel_pgdir[PAGE_OFFSET >> PGDIR_SHIFT],
	       (PTRS_PER_PGD - (PAGE_OFFSET >> PGDIR_SHIFT)) * sizeof(pgd_t));
	t->kstack_top = (unsigned long)task_kstack + sizeof(task_kstack);

	memcpy(code, user_program_start, code_len);
	map_page(t->pgdir, USER_CODE, __pa(code), PTE_USER_RO);
	tls->message = USER_DATA + 16;
	tls->length = sizeof(user_message) - 1;
	memcpy(data + 16, user_message, sizeof(user_message) - 1);
	map_page(t->pgdir, USER_DATA, __pa(data), PTE_USER_RW);
	t->tls[0] = make_segment(USER_DATA, 0xFFF, DESC_DATA | DESC_DPL3, 0x4);

	t->stack.name = "user stack";
	t->stack.start = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
	t->stack.end = USER_STACK_TOP;
	t->stack.pte_flags = PTE_USER_RW;
	add_demand_region(&t->stack);
}

int run_user_program(void)
{
	struct task *t = &user_task;
	int code;

	setup_task(t);
	printk("user: starting %u-byte program at %p in ring 3\n",
	       (unsigned int)(user_program_end - user_program_start), (void *)USER_CODE);
	switch_to(t);
	code = enter_user(&t->ctx, USER_CODE, USER_STACK_TOP);
	/* Back on the boot stack, in the kernel's address space. */
	pv_ops.write_cr3(__pa(kernel_pgdir));
	current = NULL;
	t->exit_code = code;
	printk("user: program exited with status %d after %u system calls, %u stack page faults\n", code,
	       (unsigned int)t->syscalls, (unsigned int)t->stack.faults);
	return code;
}

static char write_buf[256];

void do_syscall(struct trapframe *tf)
{
	struct task *t = current;

	if (!t)
		panic("system call %u from the kernel at eip %08x", tf->eax, tf->eip);
	t->syscalls++;
	switch (tf->eax) {
	case SYS_write: {
		unsigned long len = tf->edx < sizeof(write_buf) ? tf->edx : sizeof(write_buf);
		if (tf->ebx != 1 && tf->ebx != 2) {
			tf->eax = (u32)-9; /* EBADF */
			break;
		}
		if (copy_from_user(write_buf, tf->ecx, len)) {
			tf->eax = (u32)-14; /* EFAULT */
			break;
		}
		pv_ops.console_write(write_buf, len);
		tf->eax = len;
		break;
	}
	case SYS_exit:
		leave_user(&t->ctx, (int)tf->ebx);
	default:
		tf->eax = (u32)-38; /* ENOSYS */
	}
}
