/*
 * The host side of the ext2 check (src/ext2-host.test.ts): kernel/ext2.c and kernel/buffer.c
 * compiled for this machine, over a disk image file instead of a disk driver. This file is
 * everything that is not the kernel's: the block layer as pread/pwrite on the image, the
 * kernel's printk and panic, pages from the C library, the clock, and main, which hands
 * each line of standard input to the command interpreter in ext2_cmds.c.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The leading fields of struct blkdev (include/blkdev.h), as far as this file uses them. */
struct host_blkdev {
	char name[8];
	unsigned int sectors;
	int readonly;
};

int run_commands(void *dev, const char *image, int (*next_line)(char *buf, int size));

static int image_fd = -1;

int blk_rw(struct host_blkdev *dev, int write, unsigned int sector, void *buf, unsigned int bytes)
{
	if ((unsigned long long)sector + bytes / 512 > dev->sectors)
		return -5;
	if (write ? pwrite(image_fd, buf, bytes, (off_t)sector * 512) != (ssize_t)bytes
		  : pread(image_fd, buf, bytes, (off_t)sector * 512) != (ssize_t)bytes)
		return -5;
	return 0;
}

int blk_flush(struct host_blkdev *dev)
{
	return fdatasync(image_fd) ? -5 : 0;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vprintf(fmt, ap);
	va_end(ap);
	return r;
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	abort();
}

void *try_alloc_page(void)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, 4096))
		return NULL;
	return memset(p, 0, 4096);
}

unsigned int wall_clock(void)
{
	return (unsigned int)time(NULL);
}

static int next_line(char *buf, int size)
{
	if (!fgets(buf, size, stdin))
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

int main(int argc, char **argv)
{
	static struct host_blkdev dev = { "lgba", 0, 0 };
	struct stat st;

	if (argc != 2 || (image_fd = open(argv[1], O_RDWR)) < 0 || fstat(image_fd, &st)) {
		fprintf(stderr, "usage: ext2-host IMAGE < COMMANDS\n");
		return 2;
	}
	dev.sectors = (unsigned int)(st.st_size / 512);
	setvbuf(stdout, NULL, _IONBF, 0);
	return run_commands(&dev, argv[1], next_line);
}
