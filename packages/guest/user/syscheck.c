/*
 * /bin/syscheck: asks the kernel things a careless or hostile program would, and checks the
 * answers — bad pointers get -EFAULT (never a kernel fault), unknown calls -ENOSYS, signals
 * to nobody -ESRCH, init refuses them (-EPERM); fork, exit and waitpid agree on statuses; a
 * signal handler runs and the interrupted code carries on; and a handler that rewrites its
 * signal frame to raise its I/O privilege, turn interrupts off or load a kernel selector gets
 * none of it back from sigreturn. Prints each failure and a count; exits with the number of
 * failures.
 */
#include "libc.h"

static int checks, failures;

static void put_long(long v)
{
	if (v < 0)
		puts_raw("-");
	put_uint(v < 0 ? (unsigned long)-v : (unsigned long)v);
}

static void check(const char *what, long got, long want)
{
	checks++;
	if (got == want)
		return;
	failures++;
	puts_raw("syscheck: FAILED ");
	puts_raw(what);
	puts_raw(": got ");
	put_long(got);
	puts_raw(", want ");
	put_long(want);
	puts_raw("\n");
}

static volatile int handled;

static void on_term(int sig)
{
	handled = sig;
}

/* Reaches into its own signal frame (just above its argument: gs fs es ds, the general
 * registers, eip, eflags, esp) and asks for things ring 3 may not have. */
static void greedy(int sig)
{
	/* The frame lies past the end of sig as far as C knows: hide where the pointer came from,
	 * and make the stores volatile, or the compiler drops them. */
	unsigned long at = (unsigned long)&sig;
	__asm__("" : "+r"(at));
	volatile unsigned long *frame = (volatile unsigned long *)at;
	frame[4] = 0x68;              /* ds: the kernel's data selector */
	frame[13] |= 0x3000;          /* eflags: IOPL 3 */
	frame[13] &= ~0x200UL;        /* eflags: interrupts off */
	frame[13] |= 0x400;           /* eflags: DF, which ring 3 may set */
	handled = sig;
}

static unsigned long eflags_now(void)
{
	unsigned long f;
	__asm__ __volatile__("pushfl; popl %0; cld" : "=r"(f));
	return f;
}

static unsigned long ds_now(void)
{
	unsigned long ds;
	__asm__ __volatile__("movl %%ds, %0" : "=r"(ds));
	return ds;
}

int main(void)
{
	char buf[16];
	int status, pid, fd;
	unsigned long ts[2];

	check("write from a kernel address", write(1, (void *)0xC0000000UL, 4), -EFAULT);
	check("write from an unmapped address", write(1, (void *)0x1000, 4), -EFAULT);
	check("write running into the kernel", write(1, (void *)(0xC0000000UL - 2), 4), -EFAULT);
	check("open of a kernel address", open((const char *)0xC0000000UL, 0), -EFAULT);
	fd = open("/etc/hostname", 0);
	check("open /etc/hostname", fd >= 3, 1);
	check("read into a kernel address", read(fd, (void *)0xC0001000UL, 4), -EFAULT);
	check("read into read-only code", read(fd, (void *)main, 4), -EFAULT);
	check("read", read(fd, buf, 6), 6);
	close(fd);
	check("read from a closed file", read(fd, buf, 1), -EBADF);
	/* The file system calls: bad pointers, the kernel's read-only files, bad descriptors. */
	struct stat st;
	struct statfs sfs;
	check("stat into a kernel address", stat("/etc/hostname", (struct stat *)0xC0000000UL), -EFAULT);
	check("stat of a kernel address", stat((const char *)0xC0000000UL, &st), -EFAULT);
	check("stat /etc/hostname", stat("/etc/hostname", &st), 0);
	check("its size", st.st_size, 7);
	check("stat of a directory", stat("/bin", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR, 1);
	check("stat of nothing", stat("/nosuch", &st), -ENOENT);
	check("statfs into a kernel address", statfs("/", (struct statfs *)0xC0000000UL), -EFAULT);
	check("statfs /", statfs("/", &sfs), 0);
	check("create in the kernel's files", open("/new", O_WRONLY | O_CREAT, 0644), -EROFS);
	check("write to /etc/hostname", open("/etc/hostname", O_RDWR), -EROFS);
	check("mkdir in the kernel's files", mkdir("/newdir", 0755), -EROFS);
	check("unlink of nothing", unlink("/nosuch"), -ENOENT);
	check("rename of a kernel file", rename("/etc/motd", "/motd"), -EROFS);
	check("mount of no disk", mount("/dev/nosuch", "/mnt", "ext2", 0), -ENXIO);
	check("mount of another type", mount("/dev/lgba", "/mnt", "vfat", 0), -ENODEV);
	check("umount of what is not mounted", umount("/mnt"), -EINVAL);
	check("getdents on the terminal", getdents(0, buf, sizeof(buf)), -EBADF);
	check("lseek on the terminal", lseek(0, 0, SEEK_SET), -ESPIPE);
	check("dup2 of a closed file", dup2(7, 1), -EBADF);
	static char longpath[300];
	for (unsigned int i = 0; i < sizeof(longpath) - 1; i++)
		longpath[i] = i ? 'a' : '/';
	check("a path longer than PATH_MAX", open(longpath, O_RDONLY), -ENAMETOOLONG);
	check("execve of nothing", execve("/bin/nosuch", NULL, NULL), -ENOENT);
	check("execve with a kernel argv", execve("/bin/hello", (char *const *)0xC0000000UL, NULL), -EFAULT);
	check("waitpid with no children", waitpid(-1, &status, 0), -ECHILD);
	check("kill of no one", kill(99999, SIGTERM), -ESRCH);
	check("kill of init", kill(1, SIGKILL), -EPERM);
	check("kill with a bad signal", kill(getpid(), 99), -EINVAL);
	check("an unknown system call", syscall3(999, 0, 0, 0), -ENOSYS);
	check("ioctl the terminal does not know", syscall3(SYS_ioctl, 0, 0x1234, 0), -ENOTTY);
	check("sigaction for SIGKILL", signal(SIGKILL, on_term), -EINVAL);
	unsigned long no_restorer[4] = { (unsigned long)on_term, 0, 0, 0 };
	check("a handler without a restorer", syscall3(SYS_sigaction, SIGTERM, (long)no_restorer, 0), -EINVAL);
	check("nanosleep from a kernel address", syscall3(SYS_nanosleep, (long)0xC0000000UL, 0, 0), -EFAULT);
	ts[0] = 0;
	ts[1] = 1000000000UL;
	check("nanosleep of a bad time", syscall3(SYS_nanosleep, (long)ts, 0, 0), -EINVAL);

	/* fork, exit and waitpid: a child's exit code and a killed child's signal. */
	pid = fork();
	if (pid == 0)
		exit(7);
	check("waitpid for an exit", waitpid(pid, &status, 0), pid);
	check("exit status", status, 7 << 8);
	pid = fork();
	if (pid == 0)
		exit(3);
	check("waitpid into a kernel address", waitpid(pid, (int *)0xC0000000UL, 0), -EFAULT);
	check("waitpid again, into our own", waitpid(pid, &status, 0), pid);
	check("exit status kept", status, 3 << 8);
	pid = fork();
	if (pid == 0)
		for (;;)
			sched_yield();
	check("kill of a child", kill(pid, SIGKILL), 0);
	check("waitpid for a kill", waitpid(pid, &status, 0), pid);
	check("killed status", status, SIGKILL);

	/* A handler runs, and the code it interrupted carries on. */
	check("sigaction", signal(SIGTERM, on_term), 0);
	check("kill of itself", kill(getpid(), SIGTERM), 0);
	check("the handler ran", handled, SIGTERM);
	handled = 0;
	check("sigaction of the greedy handler", signal(SIGTERM, greedy), 0);
	kill(getpid(), SIGTERM);
	unsigned long f = eflags_now(), ds = ds_now();
	check("the greedy handler ran", handled, SIGTERM);
	check("IOPL after sigreturn", (f >> 12) & 3, 0);
	check("IF after sigreturn", (f >> 9) & 1, 1);
	check("DF after sigreturn (ring 3 may set it)", (f >> 10) & 1, 1);
	check("ds after sigreturn", ds & 0xFFFF, 0x7B);

	puts_raw("syscheck: ");
	put_uint((unsigned long)(checks - failures));
	puts_raw(" of ");
	put_uint((unsigned long)checks);
	puts_raw(" checks passed\n");
	return failures;
}
