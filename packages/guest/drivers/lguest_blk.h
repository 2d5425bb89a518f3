/*
 * The lguest disk driver (drivers/lguest_blk.c): the bus driver for LGUEST_DEVICE_T_BLOCK.
 */
#ifndef GUEST_LGUEST_BLK_H
#define GUEST_LGUEST_BLK_H

#include <lguest_bus.h>

/* A descriptor feature bit the Launcher sets for a disk it serves read-only (--block=FILE,ro):
 * the guest refuses writes itself instead of learning from failed requests. */
#ifndef LGUEST_BLOCK_F_READONLY
#define LGUEST_BLOCK_F_READONLY 0x0001
#endif

extern const struct lguest_driver lguest_blk_driver;

#endif /* GUEST_LGUEST_BLK_H */
