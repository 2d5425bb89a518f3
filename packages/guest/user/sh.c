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
static char buf[512];

static void say(const char *s)
{
	puts_raw(s);
}

/* Copies the file at path to standard output; returns 0, or -1 if it cannot be opened. */
static int cat_file(const char *path)
{
	long n;
	int fd = open(path, 0);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(1, buf, (size_t)n);
	close(fd);
	return 0;
}

static void help(void)
{
	say("commands:\n"
	    "  help              this list\n"
	    "  echo WORDS...     print the words\n"
	    "  ls [DIR]          list /, /bin or /proc\n"
	    "  cat FILE...       print files\n"
	    "  ps                the processes\n"
	    "  kill [-N] PID     send signal N (default 15, SIGTERM) to a process\n"
	    "  wait              wait for the background jobs\n"
	    "  uptime            time since boot\n"
	    "  free, mem         memory\n"
	    "  dmesg             the kernel log\n"
	    "  uname [-a]        the system's name\n"
	    "  lguest            what the paravirt layer reports\n"
	    "  sleep N           wait N seconds\n"
	    "  poweroff          turn the machine off\n"
	    "  reboot            (not supported by this host)\n"
	    "  exit              end the shell (init powers off)\n"
	    "programs (ls /bin), run in the foreground, or in the background with '&';\n"
	    "';' separates commands on one line:\n"
	    "  hello, greet      say hello from ring 3\n"
	    "  upper             read lines, print them in capitals (Ctrl-D ends it)\n"
	    "  fault             dereference NULL (and be killed for it)\n"
	    "  spin              loop until Ctrl-C\n"
	    "  hog [N]           count primes below N, to keep the CPU busy (try: hog & hog &)\n"
	    "  syscheck          ask the kernel bad questions, check its answers\n");
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
			put_uint((unsigned long)WTERMSIG(status));
			say(")\n");
		}
	} else if (WEXITSTATUS(status) && WEXITSTATUS(status) != 127) {
		/* 127 is "command not found", which the child has said already */
		say(name);
		say(": exit status ");
		put_uint((unsigned long)WEXITSTATUS(status));
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
		put_uint((unsigned long)pid);
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
		put_uint((unsigned long)pid);
		say("] ");
		if (WIFSIGNALED(status)) {
			say(WTERMSIG(status) == SIGINT ? "interrupted" : "killed (signal ");
			if (WTERMSIG(status) != SIGINT) {
				put_uint((unsigned long)WTERMSIG(status));
				say(")");
			}
		} else {
			say("done");
			if (WEXITSTATUS(status)) {
				say(", exit status ");
				put_uint((unsigned long)WEXITSTATUS(status));
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
		const char *dir = argc > 1 ? argv[1] : "/";
		if (cat_file(dir)) {
			say("ls: ");
			say(dir);
			say(": no such directory\n");
		}
	} else if (strcmp(cmd, "cat") == 0) {
		for (int i = 1; i < argc; i++) {
			if (cat_file(argv[i])) {
				say("cat: ");
				say(argv[i]);
				say(": no such file\n");
			}
		}
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
		if (argc)
			command(argc, argv, sep == '&');
		else if (sep) {
			say("sh: syntax error: a ';' or '&' with no command before it\n");
			return;
		}
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
