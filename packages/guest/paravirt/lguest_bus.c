/*
 * The lguest bus. The Launcher describes our devices in the page just above RAM; the
 * console is always there (last), disks and network cards come first in command-line order.
 * We map that page, acknowledge each device, hand it to the driver for its type, and write
 * back how it went in the descriptor's status — the Launcher can read it there.
 */
#include <lguest_bus.h>
#include <mm.h>
#include "lguest_console.h"
#include "lguest_blk.h"
#include "lguest_net.h"

static const struct lguest_driver *const lguest_drivers[] = {
	&lguest_console_driver,
	&lguest_blk_driver,
	&lguest_net_driver,
};

static struct lguest_device devices[LGUEST_MAX_DEVICES];

int lguest_bind_dma(unsigned long key, struct lguest_dma *dmas, unsigned int num, unsigned int irq)
{
	return hcall(LHCALL_BIND_DMA, key, __pa(dmas), (num << 8) | irq) ? 0 : -1;
}

void lguest_send_dma(unsigned long key, struct lguest_dma *dma)
{
	dma->used_len = 0;
	hcall(LHCALL_SEND_DMA, key, __pa(dma), 0);
}

static void set_status(struct lguest_device *dev, u16 bits)
{
	volatile u16 *status = &dev->desc->status;
	*status |= bits;
}

void lguest_bus_init(void)
{
	struct lguest_device_desc *descs;
	unsigned int i, j, found = 0;

	if (strcmp(pv_ops.name, "lguest") != 0)
		return;
	printk("lguest: guest id %u, host reserves %u MiB at the top, tsc %u kHz\n", lguest_data.guestid,
	       (unsigned int)(lguest_data.reserve_mem >> 20), (unsigned int)lguest_data.tsc_khz);
	descs = ioremap(boot_info.ram_bytes, 1);
	for (i = 0; i < LGUEST_MAX_DEVICES; i++) {
		struct lguest_device *dev = &devices[i];
		const struct lguest_driver *drv = NULL;

		if (descs[i].type == 0)
			continue;
		found++;
		dev->index = i;
		dev->desc = &descs[i];
		set_status(dev, LGUEST_DEVICE_S_ACKNOWLEDGE);
		for (j = 0; j < ARRAY_SIZE(lguest_drivers); j++)
			if (lguest_drivers[j]->device_type == descs[i].type)
				drv = lguest_drivers[j];
		if (!drv) {
			printk("lguest: device %u (type %u) has no driver\n", i, descs[i].type);
			continue;
		}
		set_status(dev, LGUEST_DEVICE_S_DRIVER);
		dev->mem = descs[i].num_pages ? ioremap(descs[i].pfn << PAGE_SHIFT, descs[i].num_pages) : NULL;
		if (drv->probe(dev) == 0) {
			set_status(dev, LGUEST_DEVICE_S_DRIVER_OK);
		} else {
			set_status(dev, LGUEST_DEVICE_S_FAILED);
			printk("lguest: %s driver failed for device %u\n", drv->name, i);
		}
	}
	printk("lguest: %u device%s on the bus\n", found, found == 1 ? "" : "s");
}
