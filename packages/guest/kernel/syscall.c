/*
 * System calls: int $0x80 from ring 3, with the Linux i386 conventions — the number in eax,
 * arguments in ebx, ecx, edx, and the result (or -errno) back in eax. What is here is what
 * the shell and its programs use. One call is ours, not Linux's: spawn (500), which runs a
 * program from /bin as a child and waits for it, returning a waitpid-style status.
 */
#include <irq.h>
#include <task.h>
#include <tty.h>

#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_getpid 20
#define SYS_brk 45
#define SYS_reboot 88
#define SYS_uname 122
#define SYS_nanosleep 162
#define SYS_spawn 500

#define ENOENT 2
#define EINTR 4
#define EBADF 9
#define EAGAIN 11
#define ENOEXEC 8
#define EFAULT 14
#define EINVAL 22
#define EMFILE 24
#define ENOSYS 38

#define REBOOT_MAGIC1 0xfee1deadU
#define REBOOT_MAGIC2 0x28121969U
#define REBOOT_CMD_POWER_OFF 0x4321fedcU

/* Copies len bytes from user address src, which must lie wholly below PAGE_OFFSET. */
static int copy_from_user(void *dst, unsigned long src, unsigned long len)
{
	if (src + len < src || src + len > PAGE_OFFSET)
		return -1;
	memcpy(dst, (const void *)src, len);
	return 0;
}

/* Copies len bytes to user address dst, which must lie wholly below PAGE_OFFSET. */
static int copy_to_user(unsigned long dst, const void *src, unsigned long len)
{
	if (dst + len < dst || dst + len > PAGE_OFFSET)
		return -1;
	memcpy((void *)dst, src, len);
	return 0;
}

/* A NUL-terminated string from user space into buf; -1 if it faults or does not fit. */
static int copy_string_from_user(char *buf, unsigned long size, unsigned long src)
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
	for (int fd = 0; fd < MAX_FDS; fd++) {
		struct file *f = &t->files[fd];
		if (f->open && f->page)
			free_page(f->page);
		memset(f, 0, sizeof(*f));
	}
}

static char io_buf[256];

static long sys_read(struct task *t, u32 fd, unsigned long buf, unsigned long len)
{
	int n;

	if (fd >= 3 && fd < MAX_FDS && t->files[fd].open) {
		struct file *f = &t->files[fd];
		unsigned long left = f->len - f->pos;
		if (len > left)
			len = left;
		if (copy_to_user(buf, f->data + f->pos, len))
			return -EFAULT;
		f->pos += len;
		return len;
	}
	if (fd != 0)
		return -EBADF;
	/* fd 0 is the console: one line per read, through the line discipline. */
	n = tty_read_line(io_buf, sizeof(io_buf) - 1);
	if (n == TTY_INTERRUPTED) {
		tty_interrupted = 0;
		if (t->catches_interrupt)
			return -EINTR;
		kill_current(-2);
	}
	if (n < 0)
		return 0; /* end of file */
	io_buf[n++] = '\n';
	if ((unsigned long)n > len)
		n = len;
	return copy_to_user(buf, io_buf, n) ? -EFAULT : n;
}

static long sys_write(u32 fd, unsigned long buf, unsigned long len)
{
	unsigned long done = 0;

	if (fd != 1 && fd != 2)
		return -EBADF;
	while (done < len) {
		unsigned long n = len - done < sizeof(io_buf) ? len - done : sizeof(io_buf);
		if (copy_from_user(io_buf, buf + done, n))
			return done ? (long)done : -EFAULT;
		pv_ops.console_write(io_buf, n);
		done += n;
	}
	return done;
}

static long sys_open(struct task *t, unsigned long upath)
{
	char path[64];
	int fd;

	if (copy_string_from_user(path, sizeof(path), upath))
		return -EFAULT;
	for (fd = 3; fd < MAX_FDS && t->files[fd].open; fd++)
		;
	if (fd == MAX_FDS)
		return -EMFILE;
	if (file_open(&t->files[fd], path))
		return -ENOENT;
	return fd;
}

static long sys_close(struct task *t, u32 fd)
{
	if (fd < 3 || fd >= MAX_FDS || !t->files[fd].open)
		return fd < 3 ? 0 : -EBADF;
	if (t->files[fd].page)
		free_page(t->files[fd].page);
	memset(&t->files[fd], 0, sizeof(t->files[fd]));
	return 0;
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

/* nanosleep(req, rem): sleeps whole ticks, rounding up; Ctrl-C ends it early. */
static long sys_nanosleep(unsigned long req)
{
	u32 ts[2];
	unsigned long ticks, until;

	if (copy_from_user(ts, req, sizeof(ts)) || ts[1] >= 1000000000U)
		return -EINVAL;
	ticks = ts[0] * HZ + (ts[1] + (1000000000U / HZ) - 1) / (1000000000U / HZ);
	until = jiffies + ticks;
	while (jiffies < until) {
		local_irq_disable();
		if (tty_interrupted) {
			local_irq_enable();
			return -EINTR;
		}
		if (jiffies < until)
			pv_ops.safe_halt();
		local_irq_enable();
	}
	return 0;
}

/* brk(addr): moves the heap's end to addr if it is in [heap start, heap start + 16 MiB];
 * returns the end either way, as Linux does. Pages come on first touch; shrinking keeps them. */
static long sys_brk(struct task *t, unsigned long addr)
{
	if (t->heap.start && addr >= t->heap.start && addr <= t->heap.start + (16UL << 20))
		t->heap.end = addr;
	return t->heap.end;
}

static long sys_spawn(unsigned long upath)
{
	char path[64];
	int status, err;

	if (copy_string_from_user(path, sizeof(path), upath))
		return -EFAULT;
	err = task_spawn(path, &status);
	if (err == -1)
		return -ENOENT;
	if (err == -2)
		return -ENOEXEC;
	if (err)
		return -EAGAIN;
	/* waitpid's status: exit code << 8, or the signal number. */
	return status >= 0 ? (status & 0xFF) << 8 : (-status & 0x7F);
}

void do_syscall(struct trapframe *tf)
{
	struct task *t = task_current();
	long ret;

	if (!t)
		panic("system call %u from the kernel at eip %08x", tf->eax, tf->eip);
	t->syscalls++;
	switch (tf->eax) {
	case SYS_exit:
		leave_user(&t->ctx, (int)(tf->ebx & 0xFF));
	case SYS_read:
		ret = sys_read(t, tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_write:
		ret = sys_write(tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_open:
		ret = sys_open(t, tf->ebx);
		break;
	case SYS_close:
		ret = sys_close(t, tf->ebx);
		break;
	case SYS_getpid:
		ret = t->pid;
		break;
	case SYS_brk:
		ret = sys_brk(t, tf->ebx);
		break;
	case SYS_reboot:
		if (tf->ebx != REBOOT_MAGIC1 || tf->ecx != REBOOT_MAGIC2 || tf->edx != REBOOT_CMD_POWER_OFF) {
			ret = -EINVAL; /* only power-off: lguest has no reboot */
			break;
		}
		printk("power: %u pages allocated, %u page faults filled; powering off\n",
		       (unsigned int)pages_allocated, (unsigned int)page_faults_filled);
		pv_ops.power_off();
	case SYS_uname:
		ret = sys_uname(tf->ebx);
		break;
	case SYS_nanosleep:
		ret = sys_nanosleep(tf->ebx);
		break;
	case SYS_spawn:
		ret = sys_spawn(tf->ebx);
		break;
	default:
		ret = -ENOSYS;
	}
	tf->eax = (u32)ret;
}
