/*
 * /bin/sh: the shell init starts, in ring 3. It reads a line from the console (the kernel's
 * line discipline has already echoed and edited it), splits it into words, and either does
 * the command itself or runs a program the Unix way: fork, and in the child execve
 * (/bin/NAME, or the path given); the parent waits with waitpid and says how it ended.
 * Each job gets a process group of its own, made the terminal's foreground group while it
 * runs, so Ctrl-C goes to the job and not to the shell. A line holds several commands, as in
 * sh: ';' between them runs one after the other, and a command followed by '&' runs in the
 * background (the shell carries on at once and reports the job when it ends), so
 * `hog & hog &` starts two jobs and `echo a; echo b` says two things.
 *
 * Everything it knows about the system it reads from files: ls reads a directory, and ps,
 * uptime, free, dmesg and lguest read /proc. Ctrl-C at the prompt just gives a fresh prompt
 * (its SIGINT handler does nothing, and the interrupted read returns -EINTR); Ctrl-D on an
 * empty line ends the shell, and with it the machine.
 */
#include "libc.h"

#define MAX_ARGS 16

/* A whole terminal line (up to 4095 bytes, the kernel's limit) and its newline. */
static char line[4097];
static char buf[4096];

/* Where the built-in commands write: standard output, or the file of a '>' or '>>'. */
static int out = 1;

static void say(const char *s)
{
	write(out, s, strlen(s));
}

static void say_uint(unsigned long v)
{
	char b[12];
	int i = sizeof(b);
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	write(out, b + i, sizeof(b) - i);
}

/* An error, always on the terminal. */
static void complain(const char *s)
{
	write(2, s, strlen(s));
}

static const char *errstr(int err)
{
	switch (-err) {
	case ENOENT: return "no such file or directory";
	case EEXIST: return "file exists";
	case ENOTDIR: return "not a directory";
	case EISDIR: return "is a directory";
	case ENOSPC: return "no space left on device";
	case EROFS: return "read-only file system";
	case ENOTEMPTY: return "directory not empty";
	case EBUSY: return "device or resource busy";
	case EXDEV: return "cross-device link";
	case EIO: return "input/output error";
	case ENXIO: return "no such device";
	case ENODEV: return "unknown filesystem type";
	case EFBIG: return "file too large";
	case ENAMETOOLONG: return "file name too long";
	case EMFILE: return "too many open files";
	case EMLINK: return "too many links";
	case ENOMEM: return "out of memory";
	case EFAULT: return "bad address";
	case EBADF: return "bad file descriptor";
	default: return "invalid argument";
	}
}

/* "CMD: WHAT: reason" on the terminal. */
static void fail(const char *cmd, const char *what, int err)
{
	complain(cmd);
	complain(": ");
	if (what) {
		complain(what);
		complain(": ");
	}
	complain(errstr(err));
	complain("\n");
}

/* Copies the file at path to the output; returns 0 or -errno. */
static int cat_file(const char *path)
{
	long n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fd;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(out, buf, (size_t)n);
	close(fd);
	return n < 0 ? (int)n : 0;
}

/* ls: a disk's directory through getdents (directories get a '/'), the kernel's own
 * directories by reading them, a file by its name. */
static void do_ls(const char *path)
{
	struct stat st;
	int fd, err;
	long n;

	if ((err = stat(path, &st)) < 0) {
		fail("ls", path, err);
		return;
	}
	if ((st.st_mode & S_IFMT) != S_IFDIR) {
		say(path);
		say("\n");
		return;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) < 0) {
		fail("ls", path, fd);
		return;
	}
	n = getdents(fd, buf, sizeof(buf));
	if (n == -ENOTDIR) {
		close(fd);
		cat_file(path); /* one of the kernel's own: reading it lists it */
		return;
	}
	for (; n > 0; n = getdents(fd, buf, sizeof(buf))) {
		for (long off = 0; off < n;) {
			struct linux_dirent *d = (struct linux_dirent *)(buf + off);
			char type = buf[off + d->d_reclen - 1];
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			say(d->d_name);
			say(type == DT_DIR ? "/\n" : "\n");
		}
	}
	if (n < 0)
		fail("ls", path, (int)n);
	close(fd);
}

/* cp SRC DST: DST is created or truncated. */
static void do_cp(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), o;
	long n = 0;

	if (in < 0) {
		fail("cp", from, in);
		return;
	}
	if ((o = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		fail("cp", to, o);
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		long w = write(o, buf, (size_t)n);
		if (w != n) {
			fail("cp", to, w < 0 ? (int)w : -ENOSPC);
			break;
		}
	}
	if (n < 0)
		fail("cp", from, (int)n);
	close(in);
	close(o);
}

/* mount [-r] DEVICE DIR, or the table with no arguments. A disk that cannot be written is
 * mounted read-only, as mount(8) does. */
static void do_mount(int argc, char **argv)
{
	unsigned long flags = 0;
	int i = 1, err;

	if (argc > 1 && strcmp(argv[1], "-r") == 0) {
		flags = MS_RDONLY;
		i = 2;
	}
	if (argc == 1) {
		cat_file("/proc/mounts");
		return;
	}
	if (argc != i + 2) {
		complain("usage: mount [-r] DEVICE DIR (e.g. mount /dev/lgba /mnt)\n");
		return;
	}
	err = mount(argv[i], argv[i + 1], "ext2", flags);
	if (err == -EROFS && !flags) {
		complain("mount: ");
		complain(argv[i]);
		complain(" is write-protected, mounting read-only\n");
		err = mount(argv[i], argv[i + 1], "ext2", MS_RDONLY);
	}
	if (err)
		fail("mount", argv[i], err);
}

/* df: every mounted disk's size and use, in KiB. */
static void do_df(void)
{
	char table[512], *p = table, *next;
	long n;
	int fd = open("/proc/mounts", O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, table, sizeof(table) - 1);
	close(fd);
	table[n > 0 ? n : 0] = '\0';
	say("Filesystem     1K-blocks       Used  Available Use% Mounted on\n");
	for (; *p; p = next) {
		char *dev = p, *dir, *sp;
		struct statfs st;
		unsigned long total, used, avail, k;
		next = strchr(p, '\n');
		if (!next)
			break;
		*next++ = '\0';
		if (!(sp = strchr(dev, ' ')))
			continue;
		*sp = '\0';
		dir = sp + 1;
		if ((sp = strchr(dir, ' ')))
			*sp = '\0';
		if (statfs(dir, &st) < 0)
			continue;
		k = (unsigned long)st.f_bsize / 1024;
		total = (unsigned long)st.f_blocks * k;
		used = (unsigned long)(st.f_blocks - st.f_bfree) * k;
		avail = (unsigned long)st.f_bavail * k;
		say(dev);
		for (size_t w = strlen(dev); w < 14; w++)
			say(" ");
		for (int c = 0; c < 3; c++) {
			unsigned long v = c == 0 ? total : c == 1 ? used : avail;
			char num[12];
			int d = sizeof(num);
			num[--d] = '\0';
			do {
				num[--d] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			for (int w = 11 - (int)(sizeof(num) - 1 - d); w > 0; w--)
				say(" ");
			say(num + d);
		}
		say("  ");
		say_uint(used + avail ? (used * 100 + used + avail - 1) / (used + avail) : 0);
		say("% ");
		say(dir);
		say("\n");
	}
}

/* The commands that change names and files: each argument in turn. */
static void each(const char *cmd, int argc, char **argv, int (*op)(const char *))
{
	if (argc < 2) {
		complain("usage: ");
		complain(cmd);
		complain(" PATH...\n");
	}
	for (int i = 1; i < argc; i++) {
		int err = op(argv[i]);
		if (err < 0)
			fail(cmd, argv[i], err);
	}
}

static int make_dir(const char *path)
{
	return mkdir(path, 0755);
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static void help(void)
{
	say("commands:\n"
	    "  help              this list\n"
	    "  echo WORDS...     print the words\n"
	    "  ls [DIR]          list a directory (/, /bin, /proc, /dev, a disk's)\n"
	    "  cat FILE...       print files\n"
	    "  CMD ... > FILE    write a command's output to FILE ('>>' appends)\n"
	    "  mount [-r] DEV DIR  mount a disk's ext2 on DIR (mount /dev/lgba /mnt)\n"
	    "  umount DIR        write it back and unmount it\n"
	    "  df                the mounted disks' space\n"
	    "  sync              write every changed block to the disks\n"
	    "  mkdir, rmdir, rm, touch PATH...   make and remove directories and files\n"
	    "  mv FROM TO, cp FROM TO            rename, copy\n"
	    "  truncate SIZE FILE                cut or extend a file to SIZE bytes\n"
	    "  ps                the processes\n"
	    "  kill [-N] PID     send signal N (default 15, SIGTERM) to a process\n"
	    "  wait              wait for the background jobs\n"
	    "  uptime            time since boot\n"
	    "  free, mem         memory\n"
	    "  dmesg             the kernel log\n"
	    "  uname [-a]        the system's name\n"
	    "  lguest            what the paravirt layer reports\n"
	    "  sleep N           wait N seconds\n"
	    "  poweroff          write the disks back, unmount them, turn the machine off\n"
	    "  reboot            (not supported by this host)\n"
	    "  exit              end the shell (init powers off)\n"
	    "programs (ls /bin), run in the foreground, or in the background with '&';\n"
	    "';' separates commands on one line:\n"
	    "  hello, greet      say hello from ring 3\n"
	    "  upper             read lines, print them in capitals (Ctrl-D ends it)\n"
	    "  fault             dereference NULL (and be killed for it)\n"
	    "  spin              loop until Ctrl-C\n"
	    "  hog [N]           count primes below N, to keep the CPU busy (try: hog & hog &)\n"
	    "  syscheck          ask the kernel bad questions, check its answers\n"
	    "  fpu [N]           floating point on the x87; try fpu & fpu\n");
}

static void do_uname(int argc, char **argv)
{
	struct utsname u;

	uname(&u);
	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		say(u.sysname);
		say(" ");
		say(u.nodename);
		say(" ");
		say(u.release);
		say(" ");
		say(u.version);
		say(" ");
		say(u.machine);
		say("\n");
	} else {
		say(u.sysname);
		say("\n");
	}
}

/* How a job ended, in words; nothing for a plain exit 0. */
static void report(const char *name, int status)
{
	if (WIFSIGNALED(status)) {
		say(name);
		if (WTERMSIG(status) == SIGINT)
			say(": interrupted\n");
		else {
			say(": killed (signal ");
			say_uint((unsigned long)WTERMSIG(status));
			say(")\n");
		}
	} else if (WEXITSTATUS(status) && WEXITSTATUS(status) != 127) {
		/* 127 is "command not found", which the child has said already */
		say(name);
		say(": exit status ");
		say_uint((unsigned long)WEXITSTATUS(status));
		say("\n");
	}
}

/* The child's half: its own process group, the terminal if it is in the foreground, and the
 * program. It does not return: execve replaces it, or it says why not and exits 127. */
static __attribute__((noreturn)) void child(char **argv, int background)
{
	char path[64] = "/bin/";
	const char *file = argv[0];
	size_t n = strlen(argv[0]);
	int err;

	setpgid(0, 0);
	if (!background)
		tcsetpgrp(0, getpid());
	if (out != 1) {
		dup2(out, 1); /* the program's standard output is the file */
		close(out);
	}
	/* Restore what the shell changed for itself: Ctrl-C must stop the program. */
	signal(SIGINT, SIG_DFL);
	if (!strchr(argv[0], '/') && n < sizeof(path) - 5) {
		for (size_t i = 0; i <= n; i++)
			path[5 + i] = argv[0][i];
		file = path;
	}
	err = execve(file, argv, NULL);
	say(argv[0]);
	say(err == -ENOENT ? ": command not found\n" : err == -ENOEXEC ? ": not an executable this kernel can run\n"
		: err == -ENOMEM ? ": not enough memory to run it\n"
				 : ": cannot run it\n");
	exit(127);
}

static void run_program(char **argv, int background)
{
	int status, pid = fork(), w;

	if (pid < 0) {
		say(pid == -EAGAIN ? "sh: too many processes\n" : "sh: not enough memory to fork\n");
		return;
	}
	if (pid == 0)
		child(argv, background);
	setpgid(pid, pid);
	if (background) {
		say("[");
		say_uint((unsigned long)pid);
		say("] ");
		say(argv[0]);
		say("\n");
		return;
	}
	tcsetpgrp(0, pid);
	while ((w = waitpid(pid, &status, 0)) == -EINTR)
		;
	tcsetpgrp(0, getpgid(0));
	if (w == pid)
		report(argv[0], status);
}

/* Background jobs that have ended since the last prompt (wait: until none is left). */
static void collect_jobs(int options)
{
	int status, pid;

	while ((pid = waitpid(-1, &status, options)) > 0 || pid == -EINTR) {
		if (pid < 0)
			continue;
		say("[");
		say_uint((unsigned long)pid);
		say("] ");
		if (WIFSIGNALED(status)) {
			say(WTERMSIG(status) == SIGINT ? "interrupted" : "killed (signal ");
			if (WTERMSIG(status) != SIGINT) {
				say_uint((unsigned long)WTERMSIG(status));
				say(")");
			}
		} else {
			say("done");
			if (WEXITSTATUS(status)) {
				say(", exit status ");
				say_uint((unsigned long)WEXITSTATUS(status));
			}
		}
		say("\n");
	}
}

static void do_kill(int argc, char **argv)
{
	int sig = SIGTERM, i = 1;
	long pid;

	if (argc > 1 && argv[1][0] == '-') {
		long n = parse_uint(argv[1] + 1);
		if (n <= 0 || n >= 32) {
			say("kill: bad signal number\n");
			return;
		}
		sig = (int)n;
		i = 2;
	}
	if (i >= argc) {
		say("usage: kill [-N] PID...\n");
		return;
	}
	for (; i < argc; i++) {
		int err = (pid = parse_uint(argv[i])) > 0 ? kill((int)pid, sig) : -ESRCH;
		if (err < 0) {
			say("kill: ");
			say(argv[i]);
			say(err == -EPERM ? ": not permitted\n" : ": no such process\n");
		}
	}
}

/* Splits line in place into at most MAX_ARGS words; returns how many. */
static int split(char *p, char **argv)
{
	int argc = 0;

	while (*p && argc < MAX_ARGS) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = '\0';
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
	return argc;
}

static void command(int argc, char **argv, int background)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "help") == 0)
		help();
	else if (strcmp(cmd, "echo") == 0) {
		for (int i = 1; i < argc; i++) {
			if (i > 1)
				say(" ");
			say(argv[i]);
		}
		say("\n");
	} else if (strcmp(cmd, "ls") == 0) {
		if (argc < 2)
			do_ls("/");
		for (int i = 1; i < argc; i++)
			do_ls(argv[i]);
	} else if (strcmp(cmd, "cat") == 0) {
		for (int i = 1; i < argc; i++) {
			int err = cat_file(argv[i]);
			if (err)
				fail("cat", argv[i], err);
		}
	} else if (strcmp(cmd, "mount") == 0)
		do_mount(argc, argv);
	else if (strcmp(cmd, "umount") == 0)
		each("umount", argc, argv, umount);
	else if (strcmp(cmd, "sync") == 0)
		sync();
	else if (strcmp(cmd, "df") == 0)
		do_df();
	else if (strcmp(cmd, "mkdir") == 0)
		each("mkdir", argc, argv, make_dir);
	else if (strcmp(cmd, "rmdir") == 0)
		each("rmdir", argc, argv, rmdir);
	else if (strcmp(cmd, "rm") == 0)
		each("rm", argc, argv, unlink);
	else if (strcmp(cmd, "touch") == 0)
		each("touch", argc, argv, touch);
	else if (strcmp(cmd, "mv") == 0 || strcmp(cmd, "cp") == 0) {
		if (argc != 3)
			complain(cmd[0] == 'm' ? "usage: mv FROM TO\n" : "usage: cp FROM TO\n");
		else if (cmd[0] == 'c')
			do_cp(argv[1], argv[2]);
		else {
			int err = rename(argv[1], argv[2]);
			if (err)
				fail("mv", argv[1], err);
		}
	} else if (strcmp(cmd, "truncate") == 0) {
		long size = argc == 3 ? parse_uint(argv[1]) : -1;
		int err;
		if (size < 0)
			complain("usage: truncate SIZE FILE\n");
		else if ((err = truncate(argv[2], size)))
			fail("truncate", argv[2], err);
	} else if (strcmp(cmd, "ps") == 0)
		cat_file("/proc/ps");
	else if (strcmp(cmd, "uptime") == 0)
		cat_file("/proc/uptime");
	else if (strcmp(cmd, "free") == 0 || strcmp(cmd, "mem") == 0)
		cat_file("/proc/meminfo");
	else if (strcmp(cmd, "dmesg") == 0)
		cat_file("/proc/kmsg");
	else if (strcmp(cmd, "lguest") == 0)
		cat_file("/proc/lguest");
	else if (strcmp(cmd, "uname") == 0)
		do_uname(argc, argv);
	else if (strcmp(cmd, "sleep") == 0) {
		unsigned long n = 0;
		for (const char *p = argc > 1 ? argv[1] : "1"; *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (unsigned long)(*p - '0');
		if (sleep_seconds(n) == -EINTR)
			say("sleep: interrupted\n");
	} else if (strcmp(cmd, "poweroff") == 0)
		poweroff();
	else if (strcmp(cmd, "reboot") == 0)
		say("reboot: not supported by this host (lguest has no reboot); use poweroff\n");
	else if (strcmp(cmd, "exit") == 0)
		exit(0);
	else if (strcmp(cmd, "kill") == 0)
		do_kill(argc, argv);
	else if (strcmp(cmd, "wait") == 0)
		collect_jobs(0);
	else
		run_program(argv, background);
}

/* Takes '> FILE' and '>> FILE' (or '>FILE') out of argv and opens FILE as the output of
 * the command; returns the words left, or -1 if FILE cannot be opened. */
static int redirect(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *w = argv[i], *file;
		int append, used = 1, fd;
		if (w[0] != '>')
			continue;
		append = w[1] == '>';
		file = w + 1 + append;
		if (!*file) {
			if (i + 1 >= argc) {
				complain("sh: '>' needs a file name\n");
				return -1;
			}
			file = argv[i + 1];
			used = 2;
		}
		fd = open(file, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
		if (fd < 0) {
			fail("sh", file, fd);
			return -1;
		}
		if (out != 1)
			close(out);
		out = fd;
		for (int j = i; j + used <= argc; j++)
			argv[j] = argv[j + used];
		argc -= used;
		i--;
	}
	return argc;
}

/* Runs each command of the line in turn: ';' ends a command, '&' ends one that runs in the
 * background. A separator with no command before it is an error, and ends the line. */
static void run_line(char *p)
{
	char *argv[MAX_ARGS + 1];

	while (*p) {
		char *start = p;
		char sep;
		int argc;

		while (*p && *p != ';' && *p != '&')
			p++;
		sep = *p;
		if (sep)
			*p++ = '\0';
		argc = split(start, argv);
		argv[argc] = NULL;
		if (!argc) {
			if (sep) {
				say("sh: syntax error: a ';' or '&' with no command before it\n");
				return;
			}
			continue;
		}
		argc = redirect(argc, argv);
		if (argc > 0)
			command(argc, argv, sep == '&');
		if (out != 1)
			close(out);
		out = 1;
	}
}

/* Ctrl-C at the prompt: nothing to do; the read it interrupted returns -EINTR. */
static void on_interrupt(int sig)
{
	(void)sig;
}

int main(void)
{
	long n;

	/* An interactive shell leads its own process group and holds the terminal. */
	setpgid(0, 0);
	tcsetpgrp(0, getpid());
	signal(SIGINT, on_interrupt);
	cat_file("/etc/motd");
	for (;;) {
		collect_jobs(WNOHANG);
		say("# ");
		n = read(0, line, sizeof(line) - 1);
		if (n == -EINTR)
			continue; /* Ctrl-C at the prompt */
		if (n <= 0) {
			say("exit\n");
			return 0;
		}
		line[n] = '\0';
		run_line(line);
	}
}
