/*
 * Processes. Each task has its own page directory (sharing the kernel's half), its own
 * kernel stack (traps from ring 3 land at its top; a task that is not running keeps its
 * saved kernel context there), TLS descriptors, open files, signal state and a place in the
 * process tree. Tasks are made by fork, given a new program by execve, end by exit or a
 * signal, and are reaped by waitpid — the Unix way. The scheduler is round robin on the
 * tick: a task in ring 3 whose time slice ran out is preempted when its tick's interrupt
 * returns; a task that waits (for a line, a child, a time) sleeps until it is woken.
 */
#ifndef GUEST_TASK_H
#define GUEST_TASK_H

#include <desc.h>
#include <mm.h>
#include <uapi.h>

#define THREAD_SIZE 8192
#define USER_CODE 0x08048000UL
#define USER_DATA 0x08049000UL
#define USER_STACK_TOP 0xC0000000UL
#define USER_STACK_PAGES 16
/* Task slots, the kernel's own (pid 0) included. */
#define MAX_TASKS 16
#define MAX_FDS 8
#define TASK_COMM_LEN 16
/* Ticks a task runs in ring 3 before the next runnable one gets the CPU. */
#define TIME_SLICE 5

/* A signal's disposition: default, ignore, or a ring-3 handler's address (uapi.h has the
 * numbers). */
#define SIG_DFL 0UL
#define SIG_IGN 1UL

enum task_state {
	TASK_UNUSED,
	TASK_RUNNING,  /* running, or runnable: on the CPU when the scheduler picks it */
	TASK_SLEEPING, /* waiting on wchan; a signal wakes it too */
	TASK_ZOMBIE,   /* ended; its parent has not yet collected the status */
};

struct mount;

/* An open file: a snapshot of bytes (a built-in file, an initrd file, or a /proc file
 * generated into page when it was opened), or an inode of a mounted filesystem (mnt set). */
struct file {
	int open;
	const char *data;
	unsigned long len, pos;
	void *page; /* owned: freed at close, copied by fork */
	struct mount *mnt; /* a disk's file: its filesystem, inode and open flags */
	u32 ino;
	int flags;
	int is_dir;
	struct socket *sock; /* a socket (kernel/net.c): one reference per open file */
};

/* A signal's disposition (struct sigaction of Linux i386's sigaction, call 67). */
struct sigaction_k {
	unsigned long handler; /* SIG_DFL, SIG_IGN or a ring-3 address */
	unsigned long mask;
	unsigned long flags;
	unsigned long restorer; /* ring-3 code that makes the sigreturn call */
};

struct task {
	enum task_state state;
	int pid, pgid;
	struct task *parent;
	char comm[TASK_COMM_LEN];
	pgd_t *pgdir;
	unsigned long ksp;       /* saved kernel stack pointer while switched out */
	unsigned long kstack_top;
	const volatile void *wchan;        /* what it sleeps on */
	unsigned long wake_at;    /* nanosleep: the jiffy to wake at */
	int slice;                /* ticks left before preemption */
	int exit_status;          /* a waitpid status, once a zombie */
	unsigned long sigpending; /* bit n: signal n arrived */
	struct sigaction_k sigactions[NSIG];
	struct desc_struct tls[GDT_ENTRY_TLS_ENTRIES];
	unsigned long entry;      /* where the current program started */
	unsigned long syscalls;
	unsigned long ticks;      /* ticks it was on the CPU */
	unsigned long start_jiffies;
	struct demand_region stack;
	struct demand_region heap; /* [end of the image, brk): filled on demand */
	struct file files[MAX_FDS];
	/* The x87 state (an FNSAVE image) while another task has the FPU; fpu_used once the
	 * task has touched it (until then its first FPU instruction gets a fresh FNINIT). */
	u8 fpu[108] __attribute__((aligned(4)));
	int fpu_used;
};

/* The task whose state the FPU holds; CR0.TS is set while any other task runs (lazy FPU). */
extern struct task *fpu_owner;
/* #NM: the current task used the FPU while TS was set: give it the FPU. */
void fpu_device_not_available(void);
/* Set TS unless next owns the FPU (on every task switch and at boot). */
void fpu_switch_to(struct task *next);

/* The task slots: [0] is the kernel's own thread (pid 0), which boots and then idles. */
extern struct task tasks[MAX_TASKS];
/* The task on the CPU. */
extern struct task *current;
/* Set by the tick (or a wakeup) when the current task should give up the CPU. */
extern volatile int need_resched;
/* init (pid 1): orphans are given to it, and it cannot be killed. NULL in the boot story. */
extern struct task *init_task;
#define INIT_PID 1

/* The programs in /bin, built into the image: flat code pages or ELF images. */
extern const char user_program_start[], user_program_end[];
extern const char fault_program_start[], fault_program_end[];
extern const char spin_program_start[], spin_program_end[];
extern const char sh_elf_start[], sh_elf_end[], greet_elf_start[], greet_elf_end[], upper_elf_start[],
	upper_elf_end[], init_elf_start[], init_elf_end[], hog_elf_start[], hog_elf_end[],
	syscheck_elf_start[], syscheck_elf_end[], fpu_elf_start[], fpu_elf_end[], ping_elf_start[],
	ping_elf_end[], ifconfig_elf_start[], ifconfig_elf_end[], httpd_elf_start[], httpd_elf_end[], nc_elf_start[],
	nc_elf_end[];
/* The name of program i in /bin, or NULL past the last. */
const char *user_program_name(unsigned int i);

/* Scheduling (task.c). Every one of these is called with interrupts in either state. */
void sched_init(void);
/* Gives the CPU to the next runnable task (or halts until one is); returns when current is
 * picked again. */
void schedule(void);
/* Puts current to sleep on chan until wakeup(chan) or a signal. The caller disables
 * interrupts, checks its condition, then sleeps: no wakeup is lost in between. */
void sleep_on(const volatile void *chan);
/* Makes every task sleeping on chan runnable. */
void wakeup(const volatile void *chan);
/* Called by the tick's interrupt: accounting, time slices, nanosleep wakeups. */
void sched_tick(void);
/* On the way back to ring 3 (traps.c): preemption and signal delivery. */
void return_to_user(struct trapframe *tf);
/* Ticks t was on the CPU (for pid 0: ticks the CPU spent halted). */
unsigned long task_cpu_ticks(const struct task *t);

/* Processes (task.c). */
/* fork: a copy of current whose system call returns 0. Returns the child's pid or -errno. */
long do_fork(struct trapframe *tf);
/* execve: replaces current's program with path, argv from user space. -errno on failure
 * (and then current is untouched). */
long do_execve(struct trapframe *tf, const char *path, unsigned long uargv);
/* waitpid(pid, &status, options). */
long do_waitpid(int pid, unsigned long ustatus, int options);
/* Ends current with a waitpid status (W_EXITCODE or W_SIGNALED); never returns. */
noreturn void do_exit(int status);
/* Starts a kernel-made user process running program path (pid 1's /bin/init, the boot
 * story's hello); returns it, or NULL. */
struct task *start_user_process(const char *path);
/* The kernel waits for its child t to end (pid 0 only); returns its waitpid status. */
int kernel_wait(struct task *t);
/* The task with this pid, or NULL. */
struct task *find_task(int pid);

/* Signals (signal.c). */
/* Sends sig to t: marks it pending and wakes t if it sleeps. */
void send_signal(struct task *t, int sig);
/* Sends sig to every task of process group pgid. */
void signal_pgrp(int pgid, int sig);
/* Does current have a signal that will do something (not ignored)? */
int signal_pending(void);
/* Acts on current's pending signals before it goes back to ring 3: default action (end
 * it), or a frame on its stack that calls its handler. */
void deliver_signals(struct trapframe *tf);
long sys_sigaction(int sig, unsigned long act, unsigned long oldact);
long sys_sigreturn(struct trapframe *tf);
long sys_kill(int pid, int sig);

/* kernel/elf.c: checks that image is an i386 executable whose PT_LOAD segments fit in it and
 * below the user stack; returns the pages loading it takes (page tables included, at most),
 * or -1. Touches nothing. */
long elf_check(const char *image, unsigned long size);
/* Maps and fills a checked image's segments in pgdir; returns its entry and the end of its
 * highest segment (where the heap starts). */
/* The page at user address va in pgdir (kernel virtual), mapped fresh if it is not there. */
char *user_page(pgd_t *pgdir, unsigned long va);
/* The same, mapped with flags (PTE_USER_RO or PTE_USER_RW) if it is new. */
char *user_page_flags(pgd_t *pgdir, unsigned long va, u32 flags);
void elf_load(pgd_t *pgdir, const char *image, unsigned long size, unsigned long *entry, unsigned long *end);

/* kernel/syscall.c: system calls, from trap(). */
void do_syscall(struct trapframe *tf);
/* Closes every open file of t. */
void close_files(struct task *t);
/* Copies between kernel and user space of the current task, page by page: each user page
 * must be mapped for ring 3 (writable, to write) or fillable on demand. Return 0 or -1. */
int copy_from_user(void *dst, unsigned long src, unsigned long len);
int copy_to_user(unsigned long dst, const void *src, unsigned long len);
/* A NUL-terminated string into buf; -1 if it faults or does not fit. */
int copy_string_from_user(char *buf, unsigned long size, unsigned long src);

/* kernel/files.c: opens path into f (the built-in files, the directories "/" and "/bin", the
 * initrd's files and the /proc files, generated now). Returns 0, or -2 (ENOENT). */
int file_open(struct file *f, const char *path);
/* An executable's bytes: a program in /bin, or an ELF file of the initrd. 0 or -2. */
int find_executable(const char *path, const char **start, unsigned long *size, int *is_elf);
/* The kernel's shell-facing reports, printed with cprintf (files.c). */
void report_lguest(void);
/* At boot: how many files the initrd holds, and what of it was skipped, and why. */
void initrd_report(void);

/* kernel/init.c: what pid 0 does after boot: start /bin/init, then idle. */
noreturn void init_main(void);
/* The boot story's ring-3 program, run to completion; returns its exit code. */
int run_user_program(void);

#endif /* GUEST_TASK_H */
