/*
 * Interrupts and time, platform-free: IRQ handlers are registered by number, the platform's
 * init_IRQ op decides how they reach us (PIC vectors natively, injected virtual IRQs under
 * lguest), and the tick counts jiffies off whatever clock event device time_init gave us.
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <desc.h>

#define NR_IRQS 32
typedef void (*irq_handler_t)(unsigned int irq, struct trapframe *tf);

/* Installs handler for irq and unmasks it. */
void request_irq(unsigned int irq, irq_handler_t handler);
/* Called by trap() for vectors 32..63. */
void do_IRQ(unsigned int irq, struct trapframe *tf);

/* Interrupts taken, per IRQ. */
extern unsigned long irq_counts[NR_IRQS];
/* Ticks since the clock started. */
extern volatile unsigned long jiffies;
/* Starts the tick (HZ a second); prints a line for each of the first `loud` ticks. */
void clock_start(unsigned int loud);
void clock_stop(void);
/* Sleeps until jiffies reaches `until`. */
void wait_for_jiffies(unsigned long until);
extern struct clock_event_device *clockevent;

#endif /* GUEST_IRQ_H */
