/*
 * The lguest console, guest side (the hvc_lguest of 2.6.23). Output is a SEND_DMA of the
 * bytes to key 0, which the host hands to the Launcher, which writes them to its stdout; it
 * needs no setup, so the kernel can print from its very first line. Input arrives in one
 * 256-byte buffer bound at key 0 with the console's IRQ (slot + 1) once the bus found us.
 */
#ifndef LGUEST_CONSOLE_GUEST_H
#define LGUEST_CONSOLE_GUEST_H

#include <lguest_bus.h>

/* Sends len bytes to the console. Any kernel address; safe from interrupt handlers. */
void lgcons_write(const char *buf, unsigned int len);

/* Copies up to count received bytes into buf; returns how many (0 if none). Re-arms the
 * input buffer once it has been read out completely. */
int lgcons_get_chars(char *buf, int count);

/* Input interrupts taken so far. */
extern unsigned long lgcons_input_irqs;

/* The bus driver for LGUEST_DEVICE_T_CONSOLE. */
extern const struct lguest_driver lguest_console_driver;

#endif /* LGUEST_CONSOLE_GUEST_H */
