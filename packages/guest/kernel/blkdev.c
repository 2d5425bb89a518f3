/*
 * The block layer between the buffer cache and a disk driver: a table of disks and, for
 * each, a request queue. A request is queued with interrupts off; if the disk is idle it is
 * started at once. The caller sleeps on its request until the driver's completion (from
 * its interrupt) marks it done and starts the next one in line: one request in flight per
 * disk, which is all the lguest block protocol allows.
 */
#include <blkdev.h>
#include <task.h>

static struct blkdev *blkdevs[MAX_BLKDEVS];

int blkdev_register(struct blkdev *dev)
{
	for (unsigned int i = 0; i < MAX_BLKDEVS; i++) {
		if (!blkdevs[i]) {
			blkdevs[i] = dev;
			return 0;
		}
	}
	return -1;
}

struct blkdev *blkdev_find(const char *name)
{
	if (memcmp(name, "/dev/", 5) == 0)
		name += 5;
	for (unsigned int i = 0; i < MAX_BLKDEVS; i++)
		if (blkdevs[i] && strcmp(blkdevs[i]->name, name) == 0)
			return blkdevs[i];
	return NULL;
}

struct blkdev *blkdev_get(unsigned int i)
{
	return i < MAX_BLKDEVS ? blkdevs[i] : NULL;
}

/* Queues req, starts it if the disk is idle, and sleeps until it is done. */
static int blk_submit(struct blkdev *dev, int type, u32 sector, void *buf, u32 bytes)
{
	struct blk_request req;
	unsigned long flags;

	req.dev = dev;
	req.write = type;
	req.sector = sector;
	req.bytes = bytes;
	req.buf = buf;
	req.done = 0;
	req.error = 0;
	req.next = NULL;

	flags = local_irq_save();
	if (dev->tail)
		dev->tail->next = &req;
	else
		dev->head = &req;
	dev->tail = &req;
	if (dev->head == &req)
		dev->start(dev, &req);
	/* Sleep until the completion; a signal may wake us early, but the disk is still using
	 * our buffer and our request is still on the queue, so we wait for it regardless. */
	while (!req.done)
		sleep_on(&req);
	local_irq_restore(flags);
	if (type == BLK_WRITE)
		dev->writes++;
	else if (type == BLK_READ)
		dev->reads++;
	if (req.error)
		dev->errors++;
	return req.error;
}

int blk_rw(struct blkdev *dev, int write, u32 sector, void *buf, u32 bytes)
{
	if (write && dev->readonly)
		return -EROFS;
	if (!bytes || bytes % SECTOR_SIZE || bytes > PAGE_SIZE ||
	    ((unsigned long)buf & ~PAGE_MASK) + bytes > PAGE_SIZE ||
	    (u64)sector + bytes / SECTOR_SIZE > dev->sectors)
		return -EIO;
	return blk_submit(dev, write ? BLK_WRITE : BLK_READ, sector, buf, bytes);
}

int blk_flush(struct blkdev *dev)
{
	return dev->readonly ? 0 : blk_submit(dev, BLK_FLUSH, 0, NULL, 0);
}

void blk_complete(struct blkdev *dev, int error)
{
	struct blk_request *req = dev->head;

	if (!req)
		return; /* a spurious interrupt: nothing in flight */
	dev->head = req->next;
	if (!dev->head)
		dev->tail = NULL;
	req->error = error;
	req->done = 1;
	wakeup(req);
	if (dev->head)
		dev->start(dev, dev->head);
}
