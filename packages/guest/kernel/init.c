/*
 * What the kernel's own thread (pid 0) does when it boots without `selftest`: turn on console
 * input, start /bin/init as pid 1 — a ring-3 program like any other, which starts the shell
 * and collects orphans — and then wait. Its waiting is the scheduler's idle loop: with no task
 * runnable the CPU halts until an interrupt. If init ever ended, there would be nothing left
 * to run; Linux panics then, and so do we.
 */
#include <task.h>
#include <tty.h>

noreturn void init_main(void)
{
	struct task *init;

	tty_init();
	initrd_report();
	init = start_user_process("/bin/init");
	if (!init)
		panic("cannot start /bin/init");
	BUG_ON(init->pid != INIT_PID);
	init_task = init;
	kernel_wait(init);
	panic("init ended");
}
