/*
 * The lguest network driver (drivers/lguest_net.c): the bus driver for LGUEST_DEVICE_T_NET.
 */
#ifndef GUEST_LGUEST_NET_H
#define GUEST_LGUEST_NET_H

#include <lguest_bus.h>

extern const struct lguest_driver lguest_net_driver;

#endif /* GUEST_LGUEST_NET_H */
