/*
 * The PC's disks: the primary ATA (IDE) channel, driven in PIO mode — the other half of our
 * disk support, for the same kernel booted natively (packages/pc emulates the controller).
 * Under lguest the disks are on the lguest bus instead (lguest_blk.c), and this does nothing.
 *
 * At boot we select each drive, master and slave, and ask it IDENTIFY DEVICE with its
 * interrupt switched off, polling; a drive that answers is registered as hda or hdb with the
 * capacity it reports (LBA28). Requests then go through the block layer's queue: the driver
 * programs the sector count and LBA and writes the command; the drive raises IRQ 14 once per
 * sector (a read's sector is ready, a write's was taken) and the handler moves 256 words
 * through the data port, completing the request after its last sector. A flush is FLUSH
 * CACHE, complete at its interrupt. ERR in the status fails the request with -EIO.
 */
#include <blkdev.h>
#include <irq.h>
#include <uapi.h>
#include "ata.h"

#define ATA_DATA 0x1F0
#define ATA_ERROR 0x1F1
#define ATA_COUNT 0x1F2
#define ATA_LBA0 0x1F3
#define ATA_LBA1 0x1F4
#define ATA_LBA2 0x1F5
#define ATA_DRIVE 0x1F6
#define ATA_STATUS 0x1F7
#define ATA_COMMAND 0x1F7
#define ATA_CONTROL 0x3F6
#define ATA_IRQ 14

#define ST_BSY 0x80
#define ST_DRDY 0x40
#define ST_DRQ 0x08
#define ST_ERR 0x01
#define CTL_NIEN 0x02

#define CMD_READ 0x20
#define CMD_WRITE 0x30
#define CMD_FLUSH 0xE7
#define CMD_IDENTIFY 0xEC

static inline void outb(u16 port, u8 v) { __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void insw(u16 port, void *buf, unsigned long words)
{
	__asm__ __volatile__("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}
static inline void outsw(u16 port, const void *buf, unsigned long words)
{
	__asm__ __volatile__("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

struct ata_drive {
	struct blkdev dev;
	unsigned int slave;
	/* The request in flight: where its next sector goes or comes from, and how many remain. */
	char *pos;
	u32 left;
	int type;
};

static struct ata_drive drives[2];
static struct ata_drive *active; /* the drive whose request is in flight (one channel, one at a time) */

/* Waits for BSY to clear; returns the status, or 0xFF if the drive never came back. */
static u8 ata_wait(void)
{
	for (unsigned int i = 0; i < 1000000; i++) {
		u8 st = inb(ATA_STATUS);
		if (!(st & ST_BSY))
			return st;
	}
	return 0xFF;
}

static void ata_start(struct blkdev *dev, struct blk_request *req)
{
	struct ata_drive *d = dev->driver_data;
	u32 lba = req->sector, count = req->bytes / SECTOR_SIZE;

	active = d;
	d->type = req->write;
	d->pos = req->buf;
	d->left = count;
	outb(ATA_DRIVE, 0xE0 | (d->slave << 4) | ((lba >> 24) & 0x0F));
	if (req->write == BLK_FLUSH) {
		outb(ATA_COMMAND, CMD_FLUSH);
		return;
	}
	outb(ATA_COUNT, (u8)count);
	outb(ATA_LBA0, lba & 0xFF);
	outb(ATA_LBA1, (lba >> 8) & 0xFF);
	outb(ATA_LBA2, (lba >> 16) & 0xFF);
	outb(ATA_COMMAND, req->write == BLK_WRITE ? CMD_WRITE : CMD_READ);
	if (req->write == BLK_WRITE) {
		/* The first sector is asked for without an interrupt: DRQ, then the data. */
		u8 st = ata_wait();
		if ((st & ST_ERR) || !(st & ST_DRQ)) {
			active = NULL;
			blk_complete(dev, -EIO);
			return;
		}
		outsw(ATA_DATA, d->pos, SECTOR_SIZE / 2);
		d->pos += SECTOR_SIZE;
		d->left--;
	}
}

static void ata_interrupt(unsigned int irq, struct trapframe *tf)
{
	struct ata_drive *d = active;
	u8 st = inb(ATA_STATUS); /* also lowers the drive's interrupt */

	(void)irq;
	(void)tf;
	if (!d)
		return; /* nothing in flight: a stray interrupt */
	if (st & ST_ERR) {
		printk("ata: %s: error %x (status %x)\n", d->dev.name, inb(ATA_ERROR), st);
		active = NULL;
		blk_complete(&d->dev, -EIO);
		return;
	}
	if (d->type == BLK_READ) {
		if (!(st & ST_DRQ))
			return;
		insw(ATA_DATA, d->pos, SECTOR_SIZE / 2);
		d->pos += SECTOR_SIZE;
		d->left--;
	} else if (d->type == BLK_WRITE && d->left) {
		if (!(st & ST_DRQ))
			return;
		outsw(ATA_DATA, d->pos, SECTOR_SIZE / 2);
		d->pos += SECTOR_SIZE;
		d->left--;
		return; /* its interrupt comes when the drive has taken it */
	}
	if (d->type != BLK_READ || d->left == 0) {
		active = NULL;
		blk_complete(&d->dev, 0);
	}
}

/* IDENTIFY DEVICE on one drive, polled; registers it if it answers. */
static void ata_probe(unsigned int slave)
{
	static u16 id[256];
	struct ata_drive *d = &drives[slave];
	u8 st;
	u32 sectors;

	outb(ATA_DRIVE, 0xA0 | (slave << 4));
	st = inb(ATA_STATUS);
	if (st == 0 || st == 0xFF)
		return; /* nothing there */
	outb(ATA_COMMAND, CMD_IDENTIFY);
	st = ata_wait();
	if (st == 0 || st == 0xFF || (st & ST_ERR) || !(st & ST_DRQ))
		return;
	insw(ATA_DATA, id, 256);
	if (!(id[49] & 0x0200)) {
		printk("ata: drive %u has no LBA addressing; not used\n", slave);
		return;
	}
	sectors = id[60] | (u32)id[61] << 16;
	d->slave = slave;
	d->dev.name[0] = 'h';
	d->dev.name[1] = 'd';
	d->dev.name[2] = (char)('a' + slave);
	d->dev.name[3] = '\0';
	d->dev.sectors = sectors;
	d->dev.start = ata_start;
	d->dev.driver_data = d;
	if (blkdev_register(&d->dev))
		return;
	printk("ata: %s: %u sectors (%u MiB), %s\n", d->dev.name, sectors, sectors >> 11,
	       slave ? "slave" : "master");
}

void ata_init(void)
{
	if (strcmp(pv_ops.name, "native") != 0)
		return;
	outb(ATA_CONTROL, CTL_NIEN); /* probe with the interrupt off */
	ata_probe(0);
	ata_probe(1);
	if (!drives[0].dev.sectors && !drives[1].dev.sectors)
		return;
	request_irq(ATA_IRQ, ata_interrupt);
	outb(ATA_CONTROL, 0);
}
