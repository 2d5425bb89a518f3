/*
 * The lguest disk driver (drivers/lguest_blk.c): the bus driver for LGUEST_DEVICE_T_BLOCK.
 */
#ifndef GUEST_LGUEST_BLK_H
#define GUEST_LGUEST_BLK_H

#include <lguest_bus.h>

extern const struct lguest_driver lguest_blk_driver;

#endif /* GUEST_LGUEST_BLK_H */
