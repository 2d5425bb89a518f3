/*
 * Block devices, as the rest of the kernel sees them. A driver (the lguest disk, drivers/
 * lguest_blk.c) registers each disk it finds under a name (lgba, lgbb, …) with its size and
 * whether it may be written; the buffer cache (kernel/buffer.c) is its only client. A
 * request moves whole 512-byte sectors between the disk and one physically contiguous
 * kernel buffer that does not cross a page, and the caller sleeps until the disk is done.
 */
#ifndef GUEST_BLKDEV_H
#define GUEST_BLKDEV_H

#include <kernel.h>

#define SECTOR_SIZE 512
#define MAX_BLKDEVS 8

struct blkdev;

/* One transfer: queued by blk_rw, started by the driver, completed from its interrupt. */
#define BLK_READ 0
#define BLK_WRITE 1
#define BLK_FLUSH 2 /* everything written so far is on stable storage when it completes */

struct blk_request {
	struct blkdev *dev;
	int write;          /* BLK_READ, BLK_WRITE or BLK_FLUSH */
	u32 sector;
	u32 bytes;
	void *buf;
	volatile int done;  /* set by the completion, which also wakes the sleeper */
	int error;          /* 0 or -EIO */
	struct blk_request *next;
};

struct blkdev {
	char name[8];
	u32 sectors;        /* capacity in 512-byte sectors */
	int readonly;       /* writes are refused with -EROFS before they reach the disk */
	/* Starts req on the hardware (the queue has made sure it is the only one in flight).
	 * The driver calls blk_complete(dev, error) when it is done, usually from its IRQ. */
	void (*start)(struct blkdev *dev, struct blk_request *req);
	void *driver_data;
	/* The request queue: head is in flight, the rest wait in order. */
	struct blk_request *head, *tail;
	unsigned long reads, writes, errors;
};

/* Adds dev to the table (its name must be set); returns 0, or -1 when the table is full. */
int blkdev_register(struct blkdev *dev);
/* The disk called name ("lgba", or "/dev/lgba"), or NULL. */
struct blkdev *blkdev_find(const char *name);
/* Disk i in registration order, or NULL past the last. */
struct blkdev *blkdev_get(unsigned int i);

/* Reads or writes bytes (a multiple of 512, at most a page, not crossing one) at sector,
 * sleeping until the disk has finished. Returns 0, -EIO (the disk said so, or the range
 * is past its end) or -EROFS. Must not be called from an interrupt handler. */
int blk_rw(struct blkdev *dev, int write, u32 sector, void *buf, u32 bytes);
/* Asks the disk to put every completed write on stable storage; 0 or -EIO. */
int blk_flush(struct blkdev *dev);
/* The driver's completion of the request in flight: records error, wakes its sleeper,
 * starts the next one. Called with interrupts off (from the driver's IRQ handler). */
void blk_complete(struct blkdev *dev, int error);

#endif /* GUEST_BLKDEV_H */
