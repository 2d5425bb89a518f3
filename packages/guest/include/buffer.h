/*
 * The buffer cache: blocks of a disk kept in memory, so a filesystem reads a bitmap or an
 * inode table block once and writes it back later. It is write-back — bdirty marks a
 * block, and it reaches the disk when it is evicted, at sync, or at unmount — and it lives
 * in a fixed budget of BUF_COUNT buffers, the least recently used unreferenced one being
 * reused when a new block is needed. Each buffer is one page, so any block size up to
 * 4 KiB is one physically contiguous request.
 *
 * Callers hold the filesystem lock (vfs.c), so no two of them use the cache at once; the
 * only sleeps are the disk's.
 */
#ifndef GUEST_BUFFER_H
#define GUEST_BUFFER_H

#include <blkdev.h>

#define BUF_COUNT 128 /* 512 KiB at most */

struct buf {
	struct blkdev *dev;
	u32 blockno;      /* in units of size */
	u32 size;         /* 1024, 2048 or 4096 (or 512) */
	int valid;        /* data holds the block */
	int dirty;        /* data is newer than the disk */
	int refcnt;
	char *data;       /* one page */
	struct buf *prev, *next; /* LRU list: most recently released at the head */
};

/* The block, read from the disk if it is not cached; NULL on an I/O error or when every
 * buffer is in use. The caller owns a reference until brelse. */
struct buf *bread(struct blkdev *dev, u32 blockno, u32 size);
/* The block without reading it (the caller will fill all of it): zeroed if not cached. */
struct buf *bget_zero(struct blkdev *dev, u32 blockno, u32 size);
/* Marks the buffer as changed; it is written back later. */
void bdirty(struct buf *b);
/* Drops a reference. */
void brelse(struct buf *b);
/* Writes every dirty buffer of dev, then has the disk flush them to stable storage.
 * Returns 0 or the first error. */
int bsync(struct blkdev *dev);
/* Forgets every buffer of dev (after a sync, at unmount). */
void binval(struct blkdev *dev);
/* Buffers in use, and dirty, for reports. */
void buffer_stats(unsigned int *cached, unsigned int *dirty);

#endif /* GUEST_BUFFER_H */
