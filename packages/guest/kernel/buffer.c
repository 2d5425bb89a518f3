/*
 * The buffer cache (buffer.h): BUF_COUNT headers on one LRU list, each with a page of its
 * own allocated the first time it is used. A lookup walks the list; a miss takes the least
 * recently used buffer nobody holds, writing it back first if it is dirty. A write-back
 * that fails leaves the buffer dirty and cached, so the data is not silently dropped: the
 * error comes back from bsync (and so from sync, fsync and umount).
 */
#include <buffer.h>
#include <mm.h>
#include <uapi.h>

static struct buf bufs[BUF_COUNT];
static struct buf lru; /* list head: lru.next is the most recent */
static int initialised;

static void lru_unlink(struct buf *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
}

static void lru_push_front(struct buf *b)
{
	b->next = lru.next;
	b->prev = &lru;
	lru.next->prev = b;
	lru.next = b;
}

static void buffer_init(void)
{
	lru.next = lru.prev = &lru;
	for (unsigned int i = 0; i < BUF_COUNT; i++)
		lru_push_front(&bufs[i]);
	initialised = 1;
}

static int bwrite(struct buf *b)
{
	int err = blk_rw(b->dev, 1, b->blockno * (b->size / SECTOR_SIZE), b->data, b->size);
	if (!err)
		b->dirty = 0;
	return err;
}

/* A buffer for (dev, blockno, size): the cached one, or a recycled one marked invalid.
 * NULL if every buffer is held or a dirty victim cannot be written. */
static struct buf *bget(struct blkdev *dev, u32 blockno, u32 size)
{
	struct buf *b;

	if (!initialised)
		buffer_init();
	for (b = lru.next; b != &lru; b = b->next) {
		if (b->dev == dev && b->blockno == blockno && b->size == size && b->valid) {
			b->refcnt++;
			return b;
		}
	}
	for (b = lru.prev; b != &lru; b = b->prev) {
		if (b->refcnt)
			continue;
		if (b->valid && b->dirty && bwrite(b))
			continue; /* keep it: its data is not on the disk yet */
		if (!b->data && !(b->data = try_alloc_page()))
			return NULL;
		b->dev = dev;
		b->blockno = blockno;
		b->size = size;
		b->valid = 0;
		b->dirty = 0;
		b->refcnt = 1;
		return b;
	}
	printk("buffer: all %u buffers are in use\n", BUF_COUNT);
	return NULL;
}

static int size_ok(struct blkdev *dev, u32 blockno, u32 size)
{
	if (size < SECTOR_SIZE || size > PAGE_SIZE || (size & (size - 1)))
		return 0;
	return ((u64)blockno + 1) * (size / SECTOR_SIZE) <= dev->sectors;
}

struct buf *bread(struct blkdev *dev, u32 blockno, u32 size)
{
	struct buf *b;

	if (!size_ok(dev, blockno, size))
		return NULL;
	b = bget(dev, blockno, size);
	if (!b || b->valid)
		return b;
	if (blk_rw(dev, 0, blockno * (size / SECTOR_SIZE), b->data, size)) {
		b->refcnt--;
		return NULL;
	}
	b->valid = 1;
	return b;
}

struct buf *bget_zero(struct blkdev *dev, u32 blockno, u32 size)
{
	struct buf *b;

	if (!size_ok(dev, blockno, size))
		return NULL;
	b = bget(dev, blockno, size);
	if (b && !b->valid) {
		memset(b->data, 0, size);
		b->valid = 1;
	}
	return b;
}

void bdirty(struct buf *b)
{
	b->dirty = 1;
}

void brelse(struct buf *b)
{
	BUG_ON(b->refcnt <= 0);
	b->refcnt--;
	lru_unlink(b);
	lru_push_front(b);
}

int bsync(struct blkdev *dev)
{
	int first = 0, wrote = 0;

	if (!initialised || !dev)
		return 0;
	for (unsigned int i = 0; i < BUF_COUNT; i++) {
		struct buf *b = &bufs[i];
		if (b->valid && b->dirty && b->dev == dev) {
			int err = bwrite(b);
			if (err && !first)
				first = err;
			wrote = 1;
		}
	}
	/* Then the disk puts what it was given on stable storage. */
	if (wrote && !first)
		first = blk_flush(dev);
	return first;
}

void binval(struct blkdev *dev)
{
	for (unsigned int i = 0; initialised && i < BUF_COUNT; i++)
		if (bufs[i].dev == dev && !bufs[i].refcnt)
			bufs[i].valid = bufs[i].dirty = 0, bufs[i].dev = NULL;
}

void buffer_stats(unsigned int *cached, unsigned int *dirty)
{
	*cached = *dirty = 0;
	for (unsigned int i = 0; initialised && i < BUF_COUNT; i++) {
		*cached += bufs[i].valid;
		*dirty += bufs[i].valid && bufs[i].dirty;
	}
}
