/*
 * Signals, the part a small Unix needs: kill(2), Ctrl-C from the terminal to the foreground
 * process group, default actions, SIG_IGN, and handlers in ring 3 through the Linux i386
 * sigaction call (67) with SA_RESTORER and sigreturn (119).
 *
 * A signal is a bit in the target's sigpending; a sleeping target is woken (every sleep
 * here is interruptible) so that its system call can end with -EINTR. Signals act on the way
 * back to ring 3: the default action of every signal sent here ends the process (SIGCHLD's
 * is to ignore it, and it is not sent), and a handler gets a frame on the user stack. The
 * frame holds the registers of the interrupted code; the handler returns into the restorer
 * the program gave (its libc's "mov $119, %eax; int $0x80"), and sigreturn puts them back.
 * What a program can change in that frame before sigreturn is checked like an iret from
 * user mode would be: ring 3 selectors only, and only the EFLAGS bits ring 3 may set.
 *
 * Not here: signal masks (sa_mask and sigprocmask; a handler can be interrupted by the next
 * signal), stopping and continuing, and queued real-time signals.
 */
#include <task.h>

/* EFLAGS bits a user program may set: CF PF AF ZF SF TF DF OF AC. */
#define USER_EFLAGS 0x40DD5U

struct sigframe {
	u32 retaddr; /* the restorer: where the handler's ret goes */
	u32 sig;     /* the handler's argument */
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, ebx, edx, ecx, eax;
	u32 eip, eflags, esp;
};

/* Would sig do nothing to t? SIG_IGN, or SIGCHLD without a handler (its default). */
static int ignores(const struct task *t, int sig)
{
	unsigned long h = t->sigactions[sig].handler;
	if (sig == SIGCHLD)
		return h == SIG_DFL || h == SIG_IGN;
	return h == SIG_IGN;
}

void send_signal(struct task *t, int sig)
{
	unsigned long flags = local_irq_save();

	if (sig > 0 && sig < NSIG && (t->state == TASK_RUNNING || t->state == TASK_SLEEPING) &&
	    (sig == SIGKILL || !ignores(t, sig))) {
		t->sigpending |= 1UL << sig;
		if (t->state == TASK_SLEEPING) {
			t->state = TASK_RUNNING;
			need_resched = 1;
		}
	}
	local_irq_restore(flags);
}

void signal_pgrp(int pgid, int sig)
{
	for (unsigned int i = 1; i < MAX_TASKS; i++)
		if (tasks[i].state != TASK_UNUSED && tasks[i].pgid == pgid)
			send_signal(&tasks[i], sig);
}

int signal_pending(void)
{
	return current->sigpending != 0;
}

/* Is t among kill(pid)'s targets: pid itself; 0, the caller's group; -1, everyone but init;
 * below -1, the group -pid? */
static int kill_targets(const struct task *t, int pid)
{
	if (pid > 0)
		return t->pid == pid;
	if (pid == 0)
		return t->pgid == current->pgid;
	if (pid == -1)
		return t != init_task;
	return t->pgid == -pid;
}

long sys_kill(int pid, int sig)
{
	int sent = 0;

	if (sig < 0 || sig >= NSIG)
		return -EINVAL;
	for (unsigned int i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == TASK_UNUSED || t->state == TASK_ZOMBIE || !kill_targets(t, pid))
			continue;
		if (t == init_task && current != init_task)
			return -EPERM; /* init takes no signals from others */
		if (sig)
			send_signal(t, sig);
		sent++;
	}
	return sent ? 0 : -ESRCH;
}

long sys_sigaction(int sig, unsigned long act, unsigned long oldact)
{
	struct sigaction_k k;

	if (sig <= 0 || sig >= NSIG)
		return -EINVAL;
	if (oldact && copy_to_user(oldact, &current->sigactions[sig], sizeof(k)))
		return -EFAULT;
	if (!act)
		return 0;
	if (copy_from_user(&k, act, sizeof(k)))
		return -EFAULT;
	if (sig == SIGKILL)
		return -EINVAL;
	/* A handler needs a way back: we have no trampoline of our own to lend. */
	if (k.handler != SIG_DFL && k.handler != SIG_IGN && (!(k.flags & SA_RESTORER) || k.handler >= PAGE_OFFSET))
		return -EINVAL;
	current->sigactions[sig] = k;
	if (ignores(current, sig))
		current->sigpending &= ~(1UL << sig);
	return 0;
}

/* Builds the handler's frame below the interrupted stack and points tf at the handler. */
static int setup_frame(struct trapframe *tf, int sig, const struct sigaction_k *sa)
{
	struct sigframe f;
	unsigned long sp = ((tf->esp - sizeof(f)) & ~15UL) - 4; /* as after a call: aligned + 4 */

	f.retaddr = sa->restorer;
	f.sig = sig;
	f.gs = tf->gs, f.fs = tf->fs, f.es = tf->es, f.ds = tf->ds;
	f.edi = tf->edi, f.esi = tf->esi, f.ebp = tf->ebp, f.ebx = tf->ebx;
	f.edx = tf->edx, f.ecx = tf->ecx, f.eax = tf->eax;
	f.eip = tf->eip, f.eflags = tf->eflags, f.esp = tf->esp;
	if (copy_to_user(sp, &f, sizeof(f)))
		return -1;
	tf->esp = sp;
	tf->eip = sa->handler;
	tf->eax = sig;
	tf->eflags &= ~0x100U; /* no single-stepping into the handler */
	return 0;
}

void deliver_signals(struct trapframe *tf)
{
	struct task *t = current;

	for (int sig = 1; sig < NSIG; sig++) {
		if (!(t->sigpending & (1UL << sig)))
			continue;
		t->sigpending &= ~(1UL << sig);
		const struct sigaction_k *sa = &t->sigactions[sig];
		if (ignores(t, sig) && sig != SIGKILL)
			continue;
		if (sa->handler == SIG_DFL || sig == SIGKILL)
			do_exit(W_SIGNALED(sig));
		if (setup_frame(tf, sig, sa)) {
			printk("%s[%d]: no room on its stack for a signal frame; killed\n", t->comm, t->pid);
			do_exit(W_SIGNALED(SIGSEGV));
		}
		return; /* one frame at a time: the next signal comes after this handler starts */
	}
}

/* A data selector the kernel can pop on the way out without faulting: the user data segment
 * or one of the task's present TLS descriptors (RPL 3); anything else becomes fallback. */
static u32 user_selector(u32 sel, u32 fallback)
{
	u32 index = (sel & 0xFFFF) >> 3;

	if ((sel & 0xFFFF) == __USER_DS)
		return __USER_DS;
	if ((sel & 7) == 3 && index >= GDT_ENTRY_TLS_MIN && index < GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES &&
	    (current->tls[index - GDT_ENTRY_TLS_MIN].b & 0x8000))
		return sel & 0xFFFF;
	return fallback;
}

long sys_sigreturn(struct trapframe *tf)
{
	struct sigframe f;
	unsigned long at = tf->esp - 4; /* the handler's ret popped retaddr */

	if (copy_from_user(&f, at, sizeof(f))) {
		printk("%s[%d]: bad signal frame at %p; killed\n", current->comm, current->pid, (void *)at);
		do_exit(W_SIGNALED(SIGSEGV));
	}
	tf->gs = user_selector(f.gs, 0);
	tf->fs = user_selector(f.fs, 0);
	tf->es = user_selector(f.es, __USER_DS);
	tf->ds = user_selector(f.ds, __USER_DS);
	tf->edi = f.edi, tf->esi = f.esi, tf->ebp = f.ebp, tf->ebx = f.ebx;
	tf->edx = f.edx, tf->ecx = f.ecx;
	tf->eip = f.eip;
	tf->esp = f.esp;
	tf->cs = __USER_CS;
	tf->ss = __USER_DS;
	tf->eflags = (tf->eflags & ~USER_EFLAGS) | (f.eflags & USER_EFLAGS);
	return f.eax; /* do_syscall puts it back in eax */
}
