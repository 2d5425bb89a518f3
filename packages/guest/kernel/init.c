/*
 * init: what the kernel does when it boots without `selftest`. It turns on console input
 * and starts /bin/sh as the first task. If the shell is killed (a fault), init says so and
 * starts another; when the shell ends of its own accord (exit, or Ctrl-D at the prompt), the
 * machine powers off, as there is no one left to talk to.
 */
#include <task.h>
#include <tty.h>

noreturn void init_main(void)
{
	int status, err;

	tty_init();
	printk("init: starting /bin/sh\n");
	for (;;) {
		err = task_spawn("sh", &status);
		if (err)
			panic("init: cannot start /bin/sh (%d)", err);
		if (status >= 0)
			break;
		printk("init: /bin/sh was killed (signal %d); starting another\n", -status);
	}
	printk("power: %u pages allocated, %u page faults filled; powering off\n", (unsigned int)pages_allocated,
	       (unsigned int)page_faults_filled);
	pv_ops.power_off();
}
