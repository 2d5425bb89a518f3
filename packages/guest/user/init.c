/*
 * /bin/init, pid 1: the first process, started by the kernel. It starts the shell and waits.
 * Like every init it is also the parent of last resort: a process whose parent ended is
 * given to init, and init's waitpid(-1) collects it. If the shell is killed by a signal
 * (a fault, kill -9), init starts another; when the shell ends of its own accord (exit, or
 * Ctrl-D at the prompt), there is no one left to talk to, and init powers the machine off.
 */
#include "libc.h"

static void say(const char *s)
{
	puts_raw(s);
}

int main(void)
{
	char *const argv[] = { "sh", NULL };
	int status, pid, w;

	/* Ctrl-C at the console is for the shell's jobs, never for init. */
	signal(SIGINT, SIG_IGN);
	say("init: starting /bin/sh\n");
	for (;;) {
		pid = fork();
		if (pid == 0) {
			execve("/bin/sh", argv, NULL);
			say("init: cannot run /bin/sh\n");
			exit(127);
		}
		if (pid < 0) {
			say("init: cannot fork\n");
			break;
		}
		while ((w = waitpid(-1, &status, 0)) != pid)
			if (w < 0 && w != -EINTR)
				break;
		if (w == pid && WIFSIGNALED(status)) {
			say("init: /bin/sh was killed (signal ");
			put_uint((unsigned long)WTERMSIG(status));
			say("); starting another\n");
			continue;
		}
		break;
	}
	poweroff();
	return 1;
}
