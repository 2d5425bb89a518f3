/*
 * The console, the first device a guest meets. Writing is one DMA descriptor with one
 * section: the host sees key 0 is not shared with any other guest, returns the descriptor
 * from the Launcher's read() of /dev/lguest, and the Launcher writev()s the bytes and puts
 * the count in used_len. Our bytes are copied into a buffer of our own first, so callers
 * may pass any kernel address (a DMA section must be guest-physical and contiguous).
 *
 * Reading: probe binds a one-entry array at key 0 with our IRQ. When the user types, the
 * Launcher asks the host for our buffer (LHREQ_GETDMA), reads into it, sets used_len and
 * raises the IRQ. We hand the bytes out (to the terminal, as it has room for them) and, when
 * all are taken, set used_len back to 0: that is how the Launcher knows it may fill the
 * buffer again, so a terminal that is full holds the Launcher's input back.
 */
#include <paravirt.h>
#include <tty.h>
#include "lguest_console.h"

static struct lguest_dma out_dma;
static char out_buf[256];

static struct lguest_dma in_dma;
static char in_buf[LGUEST_CONSOLE_INBUF_SIZE];
static unsigned int in_taken;
unsigned long lgcons_input_irqs;

void lgcons_write(const char *buf, unsigned int len)
{
	unsigned long flags = local_irq_save();
	while (len) {
		unsigned int n = len < sizeof(out_buf) ? len : sizeof(out_buf);
		memcpy(out_buf, buf, n);
		out_dma.addr[0] = __pa(out_buf);
		out_dma.len[0] = n;
		out_dma.len[1] = 0;
		lguest_send_dma(LGUEST_CONSOLE_DMA_KEY, &out_dma);
		buf += n;
		len -= n;
	}
	local_irq_restore(flags);
}

int lgcons_get_chars(char *buf, int count)
{
	volatile u32 *used = &in_dma.used_len;
	int n = 0;

	while (n < count && in_taken < *used)
		buf[n++] = in_buf[in_taken++];
	if (*used && in_taken >= *used) {
		in_taken = 0;
		barrier();
		*used = 0; /* the buffer is the Launcher's to fill again */
	}
	return n;
}

static void lgcons_interrupt(unsigned int irq, struct trapframe *tf)
{
	(void)irq;
	(void)tf;
	lgcons_input_irqs++;
	tty_poll(); /* the terminal takes what it has room for; the rest waits in the buffer */
}

static int lgcons_probe(struct lguest_device *dev)
{
	unsigned int irq = lgdev_irq(dev);

	in_dma.used_len = 0;
	in_dma.addr[0] = __pa(in_buf);
	in_dma.len[0] = sizeof(in_buf);
	in_dma.len[1] = 0;
	if (lguest_bind_dma(LGUEST_CONSOLE_DMA_KEY, &in_dma, 1, irq) != 0)
		return -1;
	request_irq(irq, lgcons_interrupt);
	printk("console: lguest console (device %u), input buffer of %u bytes bound on IRQ %u\n", dev->index,
	       (unsigned int)sizeof(in_buf), irq);
	return 0;
}

const struct lguest_driver lguest_console_driver = {
	.name = "console",
	.device_type = LGUEST_DEVICE_T_CONSOLE,
	.probe = lgcons_probe,
};
