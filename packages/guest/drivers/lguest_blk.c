/*
 * The lguest disk, guest side (2.6.23's lguest_blk; lguest-abi.md §6.8). Each block device
 * on the bus has one page of device memory that starts with struct lguest_block_page, and
 * that page's address is the DMA key. At probe we bind a one-entry reply array there on
 * the device's IRQ and register the disk as lgba, lgbb, … in bus order.
 *
 * A request is written into the page (type, sector, bytes, result = 0) and announced with
 * SEND_DMA to the key. A write's DMA carries the data; a read's is an empty "ping", and the
 * Launcher puts the sectors into the reply buffer, which we point at the destination first.
 * The Launcher sets result (1 done, 2 failed) and raises our IRQ, where the block layer's
 * request in flight is completed and the next one started: one request at a time, as the
 * protocol has it. A flush (our own request type, LGUEST_BLOCK_FLUSH) is a ping too: the
 * Launcher answers once the host file is on stable storage. A disk the Launcher serves read-only is marked so in its features
 * (LGUEST_BLOCK_F_READONLY), and the block layer refuses writes to it with -EROFS.
 */
#include <blkdev.h>
#include <lguest_bus.h>
#include <mm.h>
#include <uapi.h>
#include "lguest_blk.h"

struct lgblk {
	struct blkdev dev;
	unsigned int irq;
	unsigned long key;                   /* the device page's guest-physical address */
	volatile struct lguest_block_page *page;
	struct lguest_dma reply;             /* bound at key: where reads land */
	struct lguest_dma out;               /* sent: a write's data, or the empty ping */
	int busy;
};

static struct lgblk disks[MAX_BLKDEVS];
static unsigned int ndisks;

static void lgblk_start(struct blkdev *dev, struct blk_request *req)
{
	struct lgblk *d = dev->driver_data;

	d->busy = 1;
	d->page->type = req->write == BLK_WRITE ? LGUEST_BLOCK_WRITE
			: req->write == BLK_FLUSH ? LGUEST_BLOCK_FLUSH : LGUEST_BLOCK_READ;
	d->page->sector = req->sector;
	d->page->bytes = req->bytes;
	d->page->result = LGUEST_BLOCK_RESULT_PENDING;
	/* The reply buffer must be free (used_len 0) for the Launcher to take it, read or write. */
	d->reply.addr[0] = req->buf ? __pa(req->buf) : 0;
	d->reply.len[0] = (u16)req->bytes;
	d->reply.len[1] = 0;
	d->reply.used_len = 0;
	if (req->write == BLK_WRITE) {
		d->out.addr[0] = __pa(req->buf);
		d->out.len[0] = (u16)req->bytes;
		d->out.len[1] = 0;
	} else {
		d->out.len[0] = 0; /* a ping: the data comes back in the reply */
	}
	barrier();
	lguest_send_dma(d->key, &d->out);
}

static void lgblk_interrupt(unsigned int irq, struct trapframe *tf)
{
	(void)tf;
	for (unsigned int i = 0; i < ndisks; i++) {
		struct lgblk *d = &disks[i];
		int result;
		if (d->irq != irq || !d->busy)
			continue;
		result = d->page->result;
		if (result == LGUEST_BLOCK_RESULT_PENDING)
			continue; /* not this one's answer yet */
		d->busy = 0;
		blk_complete(&d->dev, result == LGUEST_BLOCK_RESULT_OK ? 0 : -EIO);
	}
}

static int lgblk_probe(struct lguest_device *lgdev)
{
	struct lgblk *d;

	if (ndisks == MAX_BLKDEVS || !lgdev->mem || !lgdev->desc->pfn) {
		printk("lgblk: device %u: no device page, or too many disks\n", lgdev->index);
		return -1;
	}
	d = &disks[ndisks];
	d->irq = lgdev_irq(lgdev);
	d->key = (unsigned long)lgdev->desc->pfn << PAGE_SHIFT;
	d->page = lgdev->mem;
	d->dev.name[0] = 'l';
	d->dev.name[1] = 'g';
	d->dev.name[2] = 'b';
	d->dev.name[3] = (char)('a' + ndisks);
	d->dev.name[4] = '\0';
	d->dev.sectors = d->page->num_sectors;
	d->dev.readonly = !!(lgdev->desc->features & LGUEST_BLOCK_F_READONLY);
	d->dev.start = lgblk_start;
	d->dev.driver_data = d;
	d->reply.used_len = 0;
	d->reply.len[0] = 0;
	if (lguest_bind_dma(d->key, &d->reply, 1, d->irq) != 0) {
		printk("lgblk: device %u: the host has no DMA slot left\n", lgdev->index);
		return -1;
	}
	request_irq(d->irq, lgblk_interrupt);
	if (blkdev_register(&d->dev))
		return -1;
	ndisks++;
	printk("lgblk: %s: %u sectors (%u MiB)%s, device %u, IRQ %u\n", d->dev.name, d->dev.sectors,
	       d->dev.sectors >> 11, d->dev.readonly ? ", read-only" : "", lgdev->index, d->irq);
	return 0;
}

const struct lguest_driver lguest_blk_driver = {
	.name = "block",
	.device_type = LGUEST_DEVICE_T_BLOCK,
	.probe = lgblk_probe,
};
