/*
 * One user program: its own page directory (sharing the kernel's half), a kernel stack for
 * traps from ring 3, TLS descriptors, and the kernel context to come back to when it exits.
 */
#ifndef GUEST_TASK_H
#define GUEST_TASK_H

#include <desc.h>
#include <mm.h>

#define THREAD_SIZE 8192
#define USER_CODE 0x08048000UL
#define USER_DATA 0x08049000UL
#define USER_STACK_TOP 0xC0000000UL
#define USER_STACK_PAGES 16

/* Callee-saved registers and where to resume: enter_user saves, leave_user restores. */
struct kcontext {
	u32 ebx, esi, edi, ebp, eip, esp;
};

struct task {
	pgd_t *pgdir;
	unsigned long kstack_top;
	struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES];
	struct kcontext ctx;
	int exit_code;
	unsigned long syscalls;
	struct demand_region stack;
};

/* entry.S: enter ring 3 at eip with esp; returns the code leave_user passes. */
int enter_user(struct kcontext *ctx, u32 eip, u32 esp);
noreturn void leave_user(struct kcontext *ctx, int code);

/* The bytes of the ring-3 program (user.S) and its entry offset. */
extern const char user_program_start[], user_program_end[];

/* Runs the built-in user program to completion; returns its exit code. */
int run_user_program(void);
/* System calls, from trap(). */
void do_syscall(struct trapframe *tf);

#endif /* GUEST_TASK_H */
