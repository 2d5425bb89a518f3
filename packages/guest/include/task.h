/*
 * User programs: each task has its own page directory (sharing the kernel's half), a kernel
 * stack for traps from ring 3, TLS descriptors, its open files, and the kernel context to come
 * back to when it ends. A task that spawns another waits for it inside its system call.
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
/* How deep spawns nest: init's shell, its child, a grandchild... each has its own slot. */
#define MAX_TASKS 4
#define MAX_FDS 8

/* Callee-saved registers and where to resume: enter_user saves, leave_user restores. */
struct kcontext {
	u32 ebx, esi, edi, ebp, eip, esp;
};

/* An open file: a snapshot of bytes (a built-in file, or a /proc file generated into page). */
struct file {
	int open;
	const char *data;
	unsigned long len, pos;
	void *page; /* freed at close, if set */
};

struct task {
	const char *name;
	int pid;
	int live;              /* in ring 3 now, or waiting in a system call */
	int catches_interrupt; /* Ctrl-C makes its read return -EINTR instead of killing it */
	struct task *parent;   /* who spawned it and waits for it; NULL for the kernel */
	pgd_t *pgdir;
	unsigned long kstack_top;
	unsigned long entry; /* where ring 3 starts */
	struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES];
	struct kcontext ctx;
	int exit_code;
	unsigned long syscalls;
	unsigned long pages_freed; /* user pages given back when it ended */
	unsigned long start_jiffies;
	struct demand_region stack;
	struct demand_region heap; /* [end of the image, brk): filled on demand */
	struct file files[MAX_FDS];
};

/* The task slots, for ps. */
extern struct task tasks[MAX_TASKS];

/* entry.S: enter ring 3 at eip with esp; returns the code leave_user passes. */
int enter_user(struct kcontext *ctx, u32 eip, u32 esp);
noreturn void leave_user(struct kcontext *ctx, int code);

/* The bytes of the ring-3 program (user.S) and its entry offset. */
extern const char user_program_start[], user_program_end[];
extern const char fault_program_start[], fault_program_end[];
extern const char spin_program_start[], spin_program_end[];
/* The ELF programs in the image (boot/ramfs.S). */
extern const char sh_elf_start[], sh_elf_end[], greet_elf_start[], greet_elf_end[], upper_elf_start[],
	upper_elf_end[];

/* The boot story's user program, run to completion; returns its exit code. */
int run_user_program(void);
/* Runs program `name` (a name in /bin, with or without the "/bin/") as a child of the current
 * task (or of the kernel) and waits for it. Stores its end in *status: the exit code (>= 0),
 * or -signal if it was killed (-11 a fault, -2 Ctrl-C, -4 another trap). Returns 0, or -1 if
 * there is no such program, -2 if its ELF image would not load, -3 if spawns nest too deep. */
int task_spawn(const char *name, int *status);
/* The name of program i in /bin, or NULL past the last. */
const char *user_program_name(unsigned int i);
/* The task in ring 3 now (NULL in the kernel's own time). */
struct task *task_current(void);
/* Ends the current task: its enter_user returns code. Only from a trap taken in ring 3 or a
 * system call. */
noreturn void kill_current(int code);

/* kernel/elf.c: maps and fills image's PT_LOAD segments in pgdir and returns its entry and
 * the end of its highest segment (where the heap starts).
 * Returns -1 (having perhaps mapped some pages) if it is not an i386 executable that fits
 * below the user stack. */
int elf_load(pgd_t *pgdir, const char *image, unsigned long size, unsigned long *entry, unsigned long *end);

/* kernel/syscall.c: system calls, from trap(). */
void do_syscall(struct trapframe *tf);
/* Closes every open file of t. */
void close_files(struct task *t);

/* kernel/files.c: opens path into f (the built-in files, the directories "/" and "/bin", and
 * the /proc files, generated now). Returns 0, or -2 (ENOENT). */
int file_open(struct file *f, const char *path);
/* The kernel's shell-facing reports, printed with cprintf (files.c). */
void report_lguest(void);

/* kernel/init.c: the first task's keeper; starts /bin/sh and powers off when it ends. */
noreturn void init_main(void);

#endif /* GUEST_TASK_H */
