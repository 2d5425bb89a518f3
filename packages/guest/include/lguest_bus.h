/*
 * The lguest bus, as a driver sees it. The Launcher leaves a page of device descriptors just
 * above our RAM (guest-physical `mem`): sixteen slots of {type, features, status, num_pages,
 * pfn}. The bus maps it, and for every non-empty slot whose type a driver claims it sets
 * ACKNOWLEDGE, then DRIVER, calls the driver's probe, and sets DRIVER_OK (or FAILED).
 * A device in slot i interrupts on IRQ i + 1.
 */
#ifndef GUEST_LGUEST_BUS_H
#define GUEST_LGUEST_BUS_H

#include <lguest_hcall.h>
#include <irq.h>

struct lguest_device {
	unsigned int index;                /* slot in the descriptor page */
	struct lguest_device_desc *desc;   /* mapped descriptor (status is ours to write) */
	void *mem;                         /* the device's pages, mapped, or NULL */
};

struct lguest_driver {
	const char *name;
	u16 device_type;
	/* Returns 0 on success; anything else marks the device FAILED. */
	int (*probe)(struct lguest_device *dev);
};

static inline unsigned int lgdev_irq(const struct lguest_device *dev) { return dev->index + 1; }

/* Wrappers for the DMA hypercalls. bind returns 0, or -1 if the host had no free slot. */
int lguest_bind_dma(unsigned long key, struct lguest_dma *dmas, unsigned int num, unsigned int irq);
void lguest_send_dma(unsigned long key, struct lguest_dma *dma);

/* Under lguest (pv_ops.name is "lguest"), maps the descriptor page just above RAM and probes
 * a driver for every device in it; on any other platform does nothing. */
void lguest_bus_init(void);

#endif /* GUEST_LGUEST_BUS_H */
