/*
 * System calls: int $0x80 from ring 3, with the Linux i386 conventions — the number in eax,
 * arguments in ebx, ecx, edx, and the result (or -errno) back in eax. What is here is what
 * the shell, init and their programs use: processes (fork, execve, waitpid, exit, getpid,
 * getppid, setpgid, getpgid, kill, sigaction, sigreturn, sched_yield), the terminal (a line
 * per read of fd 0, its foreground group through ioctl), files and disks (vfs.c: open, read,
 * write, close, lseek, getdents, stat, mkdir, rename, mount, sync, …), memory (brk), time
 * (nanosleep) and the machine (uname, reboot — which unmounts the disks first).
 *
 * Every user pointer is checked page by page against the task's own page tables before it
 * is touched, through the kernel's linear map: a bad pointer is -EFAULT, never a kernel fault.
 */
#include <irq.h>
#include <task.h>
#include <tty.h>
#include <vfs.h>
#include <net.h>
#include <lguest_hcall.h>

/* The kernel address of user address va in the current task, if ring 3 could read it (or
 * write it, with write); demand-fills a stack or heap page the way a fault would. */
static char *user_address(unsigned long va, int write)
{
	pte_t *pte;

	if (va >= PAGE_OFFSET)
		return NULL;
	pte = lookup_pte(current->pgdir, va, 0, 0);
	if (!pte || !(*pte & _PAGE_PRESENT)) {
		u32 err = 4 | (write ? 2 : 0);
		if (demand_fill(&current->stack, current->pgdir, va, err) <= 0 &&
		    demand_fill(&current->heap, current->pgdir, va, err) <= 0)
			return NULL;
		pte = lookup_pte(current->pgdir, va, 0, 0);
	}
	if (!(*pte & _PAGE_USER) || (write && !(*pte & _PAGE_RW)))
		return NULL;
	return (char *)__va(*pte & PAGE_MASK) + (va & ~PAGE_MASK);
}

/* Copies len bytes between kernel and user space a page-piece at a time. */
static int copy_user(void *kbuf, unsigned long uaddr, unsigned long len, int to_user)
{
	char *k = kbuf;

	if (uaddr + len < uaddr)
		return -1;
	while (len) {
		unsigned long n = PAGE_SIZE - (uaddr & ~PAGE_MASK);
		char *u = user_address(uaddr, to_user);
		if (!u)
			return -1;
		if (n > len)
			n = len;
		if (to_user)
			memcpy(u, k, n);
		else
			memcpy(k, u, n);
		k += n;
		uaddr += n;
		len -= n;
	}
	return 0;
}

int copy_from_user(void *dst, unsigned long src, unsigned long len)
{
	return copy_user(dst, src, len, 0);
}

int copy_to_user(unsigned long dst, const void *src, unsigned long len)
{
	return copy_user((void *)src, dst, len, 1);
}

int copy_string_from_user(char *buf, unsigned long size, unsigned long src)
{
	for (unsigned long i = 0; i < size; i++) {
		if (copy_from_user(&buf[i], src + i, 1))
			return -1;
		if (!buf[i])
			return 0;
	}
	return -1;
}

void close_files(struct task *t)
{
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (t->files[fd].open)
			file_close(&t->files[fd]);
}

/* fd 0 is the terminal: one line per read, through the line discipline, for the foreground
 * process group only (a background job would steal the shell's lines). */
static long read_terminal(struct task *t, unsigned long buf, unsigned long len)
{
	/* A whole terminal line and its newline: too big for a kernel stack, and safe to share,
	 * since nothing between filling it and copying it out can sleep. */
	static char line[TTY_LINE_MAX + 1];
	int n;

	if (tty_fg_pgrp && t->pgid != tty_fg_pgrp)
		return -EIO;
	n = tty_read_line(line, sizeof(line) - 1);
	if (n == TTY_INTERRUPTED)
		return -EINTR; /* a signal: it acts on the way out */
	if (n < 0)
		return 0; /* end of file */
	line[n++] = '\n';
	if ((unsigned long)n > len)
		n = len;
	return copy_to_user(buf, line, n) ? -EFAULT : n;
}

/* struct utsname: six 65-byte strings. */
static long sys_uname(unsigned long buf)
{
	static const char *const fields[6] = { "lguest.ts", "lguest", "0.1.0", "#1", "i386", "(none)" };
	char u[6 * 65];

	memset(u, 0, sizeof(u));
	for (int i = 0; i < 6; i++)
		memcpy(u + i * 65, fields[i], strlen(fields[i]));
	snprintf(u + 3 * 65, 65, "#1 %s", boot_info.platform); /* version: which platform */
	return copy_to_user(buf, u, sizeof(u)) ? -EFAULT : 0;
}

/* nanosleep(req, rem): sleeps whole ticks, rounding up; a signal ends it early (-EINTR). */
static long sys_nanosleep(unsigned long req)
{
	u32 ts[2];
	long ret = 0;

	if (copy_from_user(ts, req, sizeof(ts)))
		return -EFAULT;
	if (ts[1] >= 1000000000U || ts[0] > 86400U * 365)
		return -EINVAL;
	local_irq_disable();
	current->wake_at = jiffies + ts[0] * HZ + (ts[1] + (1000000000U / HZ) - 1) / (1000000000U / HZ);
	while (jiffies < current->wake_at) {
		if (signal_pending()) {
			ret = -EINTR;
			break;
		}
		sleep_on(&jiffies); /* sched_tick wakes us at wake_at */
	}
	current->wake_at = 0;
	local_irq_enable();
	return ret;
}

/* brk(addr): moves the heap's end to addr if it is in [heap start, heap start + 16 MiB];
 * returns the end either way, as Linux does. Pages come on first touch; shrinking keeps them. */
static long sys_brk(struct task *t, unsigned long addr)
{
	if (t->heap.start && addr >= t->heap.start && addr <= t->heap.start + (16UL << 20))
		t->heap.end = addr;
	return t->heap.end;
}

static long sys_execve(struct trapframe *tf, unsigned long upath, unsigned long uargv)
{
	char path[64];

	if (copy_string_from_user(path, sizeof(path), upath))
		return -EFAULT;
	return do_execve(tf, path, uargv);
}

/* setpgid(pid, pgid): for itself or a child; 0 means "the caller" and "the same as pid". */
static long sys_setpgid(int pid, int pgid)
{
	struct task *t = pid ? find_task(pid) : current;

	if (!t || t->state == TASK_ZOMBIE)
		return -ESRCH;
	if (t != current && t->parent != current)
		return -ESRCH;
	if (pgid < 0)
		return -EINVAL;
	t->pgid = pgid ? pgid : t->pid;
	return 0;
}

struct socket *file_socket(struct task *t, u32 fd)
{
	return fd < MAX_FDS && t->files[fd].open ? t->files[fd].sock : NULL;
}

/* gettimeofday(tv, tz): under lguest the host's clock in lguest_data (to the nanosecond, as
 * the host last wrote it), natively the tick. No time zone: tz is left alone. */
static long sys_gettimeofday(unsigned long utv)
{
	u32 tv[2];

	if (!utv)
		return 0;
	if (strcmp(pv_ops.name, "lguest") == 0) {
		tv[0] = (u32)lguest_data.time.tv_sec;
		tv[1] = (u32)lguest_data.time.tv_nsec / 1000;
	} else {
		unsigned long j = jiffies;
		tv[0] = j / HZ;
		tv[1] = (j % HZ) * (1000000 / HZ);
	}
	return copy_to_user(utv, tv, sizeof(tv)) ? -EFAULT : 0;
}

/* The terminal's two requests we know (get and set its foreground process group), and a
 * socket's interface requests (net.c). */
static long sys_ioctl(u32 fd, u32 request, unsigned long arg)
{
	int pgid;
	struct socket *s = file_socket(current, fd);

	if (s)
		return sock_ioctl(s, request, arg);
	if (fd != 0 && fd != 1 && fd != 2)
		return fd < MAX_FDS && current->files[fd].open ? -ENOTTY : -EBADF;
	switch (request) {
	case TIOCGPGRP:
		pgid = tty_fg_pgrp;
		return copy_to_user(arg, &pgid, 4) ? -EFAULT : 0;
	case TIOCSPGRP:
		if (copy_from_user(&pgid, arg, 4))
			return -EFAULT;
		if (pgid <= 0)
			return -EINVAL;
		tty_fg_pgrp = pgid;
		return 0;
	default:
		return -ENOTTY;
	}
}

void do_syscall(struct trapframe *tf)
{
	struct task *t = current;
	long ret;

	if (!t->pid)
		panic("system call %u from the kernel at eip %08x", tf->eax, tf->eip);
	t->syscalls++;
	switch (tf->eax) {
	case SYS_exit:
		do_exit(W_EXITCODE(tf->ebx));
	case SYS_fork:
		ret = do_fork(tf);
		break;
	case SYS_read:
		ret = tf->ebx == 0 ? read_terminal(t, tf->ecx, tf->edx) : sys_read(t, tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_write:
		ret = sys_write(t, tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_open:
		ret = sys_open(t, tf->ebx, (int)tf->ecx, tf->edx);
		break;
	case SYS_close:
		ret = sys_close(t, tf->ebx);
		break;
	case SYS_waitpid:
		ret = do_waitpid((int)tf->ebx, tf->ecx, (int)tf->edx);
		break;
	case SYS_execve:
		ret = sys_execve(tf, tf->ebx, tf->ecx);
		if (ret == 0)
			return; /* tf is the new program's start; eax stays 0 */
		break;
	case SYS_getpid:
		ret = t->pid;
		break;
	case SYS_kill:
		ret = sys_kill((int)tf->ebx, (int)tf->ecx);
		break;
	case SYS_brk:
		ret = sys_brk(t, tf->ebx);
		break;
	case SYS_ioctl:
		ret = sys_ioctl(tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_setpgid:
		ret = sys_setpgid((int)tf->ebx, (int)tf->ecx);
		break;
	case SYS_getppid:
		ret = t->parent ? t->parent->pid : 0;
		break;
	case SYS_getpgid:
		if (tf->ebx == 0)
			ret = t->pgid;
		else {
			struct task *p = find_task((int)tf->ebx);
			ret = p ? p->pgid : -ESRCH;
		}
		break;
	case SYS_sigaction:
		ret = sys_sigaction((int)tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_sigreturn:
		ret = sys_sigreturn(tf);
		break;
	case SYS_sched_yield:
		need_resched = 1;
		ret = 0;
		break;
	case SYS_reboot:
		if (tf->ebx != REBOOT_MAGIC1 || tf->ecx != REBOOT_MAGIC2 || tf->edx != REBOOT_CMD_POWER_OFF) {
			ret = -EINVAL; /* only power-off: lguest has no reboot */
			break;
		}
		vfs_shutdown(); /* every disk written back and marked clean */
		printk("power: %u pages allocated, %u page faults filled; powering off\n",
		       (unsigned int)pages_allocated, (unsigned int)page_faults_filled);
		pv_ops.power_off();
	case SYS_unlink:
		ret = sys_unlink(tf->ebx);
		break;
	case SYS_lseek:
		ret = sys_lseek(t, tf->ebx, (long)tf->ecx, (int)tf->edx);
		break;
	case SYS_mount:
		ret = sys_mount(tf->ebx, tf->ecx, tf->edx, tf->esi);
		break;
	case SYS_umount:
	case SYS_umount2:
		ret = sys_umount(tf->ebx);
		break;
	case SYS_sync:
		ret = sys_sync();
		break;
	case SYS_rename:
		ret = sys_rename(tf->ebx, tf->ecx);
		break;
	case SYS_mkdir:
		ret = sys_mkdir(tf->ebx, tf->ecx);
		break;
	case SYS_rmdir:
		ret = sys_rmdir(tf->ebx);
		break;
	case SYS_truncate:
		ret = sys_truncate(tf->ebx, (long)tf->ecx);
		break;
	case SYS_ftruncate:
		ret = sys_ftruncate(t, tf->ebx, (long)tf->ecx);
		break;
	case SYS_statfs:
		ret = sys_statfs(tf->ebx, tf->ecx);
		break;
	case SYS_fstatfs:
		ret = sys_fstatfs(t, tf->ebx, tf->ecx);
		break;
	case SYS_stat:
	case SYS_lstat:
		ret = sys_stat(tf->ebx, tf->ecx);
		break;
	case SYS_fstat:
		ret = sys_fstat(t, tf->ebx, tf->ecx);
		break;
	case SYS_fsync:
	case SYS_fdatasync:
		ret = sys_fsync(t, tf->ebx);
		break;
	case SYS_dup2:
		ret = sys_dup2(t, tf->ebx, tf->ecx);
		break;
	case SYS_getdents:
		ret = sys_getdents(t, tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_uname:
		ret = sys_uname(tf->ebx);
		break;
	case SYS_socketcall:
		ret = sys_socketcall((int)tf->ebx, tf->ecx);
		break;
	case SYS_gettimeofday:
		ret = sys_gettimeofday(tf->ebx);
		break;
	case SYS_nanosleep:
		ret = sys_nanosleep(tf->ebx);
		break;
	default:
		ret = -ENOSYS;
	}
	tf->eax = (u32)ret;
}
