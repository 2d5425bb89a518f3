/*
 * /bin/sh: the shell init starts, in ring 3. It reads a line from the console (the kernel's
 * line discipline has already echoed and edited it), splits it into words, and either does
 * the command itself or spawns /bin/NAME and reports how it ended. Everything it knows about
 * the system it reads from files: ls reads a directory, and ps, uptime, free, dmesg and
 * lguest read /proc. Ctrl-C at the prompt just gives a fresh prompt (read returns -EINTR);
 * Ctrl-D on an empty line ends the shell, and with it the machine.
 */
#include "libc.h"

#define MAX_ARGS 8

static char line[256];
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
	    "  ps                the tasks\n"
	    "  uptime            time since boot\n"
	    "  free, mem         memory\n"
	    "  dmesg             the kernel log\n"
	    "  uname [-a]        the system's name\n"
	    "  lguest            what the paravirt layer reports\n"
	    "  sleep N           wait N seconds\n"
	    "  poweroff          turn the machine off\n"
	    "  reboot            (not supported by this host)\n"
	    "  exit              end the shell (init powers off)\n"
	    "  hello, fault, spin, greet, upper   programs in /bin (spin runs until Ctrl-C)\n");
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

static void run_program(char *name)
{
	int status = spawn(name);

	if (status == -ENOENT) {
		say(name);
		say(": command not found\n");
	} else if (status < 0) {
		say(name);
		say(": cannot run it\n");
	} else if ((status & 0x7F) == 2) {
		say(name);
		say(": interrupted\n");
	} else if (status & 0x7F) {
		say(name);
		say(": killed (signal ");
		put_uint((unsigned long)(status & 0x7F));
		say(")\n");
	} else if (status >> 8) {
		say(name);
		say(": exit status ");
		put_uint((unsigned long)(status >> 8));
		say("\n");
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

static void command(int argc, char **argv)
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
	else
		run_program(argv[0]);
}

int main(void)
{
	char *argv[MAX_ARGS];
	long n;

	cat_file("/etc/motd");
	for (;;) {
		say("# ");
		n = read(0, line, sizeof(line) - 1);
		if (n == -EINTR)
			continue; /* Ctrl-C at the prompt */
		if (n <= 0) {
			say("exit\n");
			return 0;
		}
		line[n] = '\0';
		int argc = split(line, argv);
		if (argc)
			command(argc, argv);
	}
}
