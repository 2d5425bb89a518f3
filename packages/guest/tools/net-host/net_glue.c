/*
 * The kernel side of the network check (src/net-host.test.ts): what kernel/net.c needs from
 * the rest of the kernel, for kernel/net.c compiled on this machine. One task (the caller of
 * the socket calls), interrupts that are only a flag, user memory that is this process's own,
 * and an interface whose transmit hands the frame to host_net.c. Only kernel headers here.
 */
#include <irq.h>
#include <net.h>
#include <task.h>

void host_tx(const u8 *frame, unsigned int len);
/* A page below 4 GiB: socketcall passes user pointers as 32-bit words. */
void *host_low_page(void);

static unsigned long irq_flag;
static unsigned long save_fl(void) { return irq_flag; }
static void restore_fl(unsigned long f) { irq_flag = f; }
static void irq_disable(void) { irq_flag = 0; }
static void irq_enable(void) { irq_flag = 0x200; }

struct paravirt_ops pv_ops = {
	.name = "host",
	.save_fl = save_fl,
	.restore_fl = restore_fl,
	.irq_disable = irq_disable,
	.irq_enable = irq_enable,
};
struct boot_info boot_info;
volatile unsigned long jiffies;
struct task tasks[MAX_TASKS];
struct task *current = &tasks[1];
volatile int need_resched;

void sleep_on(const volatile void *chan)
{
	panic("net-host: a socket call would sleep (on %p)", (void *)chan);
}

void wakeup(const volatile void *chan) { (void)chan; }
void send_signal(struct task *t, int sig) { (void)t; (void)sig; }
int signal_pending(void) { return 0; }

int copy_from_user(void *dst, unsigned long src, unsigned long len)
{
	memcpy(dst, (const void *)src, len);
	return 0;
}

int copy_to_user(unsigned long dst, const void *src, unsigned long len)
{
	memcpy((void *)dst, src, len);
	return 0;
}

static int glue_xmit(const u8 *frame, unsigned int len)
{
	host_tx(frame, len);
	return 0;
}

static struct net_device dev = {
	.name = "eth0",
	.mac = { 0x02, 0x00, 0x07, 0x00, 0x00, 0x00 },
	.xmit = glue_xmit,
};

void glue_init(const char *cmdline, int nocsum)
{
	current->pid = 1;
	boot_info.cmdline = cmdline;
	dev.nocsum = nocsum;
	net_register(&dev);
}

void glue_tick(void)
{
	jiffies++;
	net_tick();
}

/* socket, bind to port, listen: a TCP server the frames can reach. Returns the fd or -errno. */
long glue_listen(unsigned int port)
{
	u8 *sa = host_low_page();
	u32 args[3] = { AF_INET, SOCK_STREAM, 0 };
	long fd = sys_socketcall(SOCKOP_socket, (unsigned long)args), err;

	if (fd < 0)
		return fd;
	memset(sa, 0, 16);
	sa[0] = AF_INET;
	sa[2] = (u8)(port >> 8);
	sa[3] = (u8)port;
	args[0] = (u32)fd;
	args[1] = (u32)(unsigned long)sa;
	args[2] = 16;
	if ((err = sys_socketcall(SOCKOP_bind, (unsigned long)args)) < 0)
		return err;
	args[1] = 4;
	if ((err = sys_socketcall(SOCKOP_listen, (unsigned long)args)) < 0)
		return err;
	return fd;
}

struct socket *file_socket(struct task *t, u32 fd)
{
	return fd < MAX_FDS && t->files[fd].open ? t->files[fd].sock : NULL;
}
