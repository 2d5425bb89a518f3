/*
 * IRQs and the tick. An interrupt reaches do_IRQ with its number whichever way it came: a
 * PIC line remapped to vector 32+n on a PC, or a virtual IRQ the lguest host injected
 * through our IDT entry 32+n (only when lguest_data.irq_enabled said yes and the IRQ's bit
 * in blocked_interrupts was clear). The handler runs, then the eoi_irq op tells the
 * controller we are done (the PIC needs that; lguest does not).
 *
 * The tick is driven by the clock event device time_init returns: periodic if it can (the
 * PIT), else re-armed one shot at a time from the handler (lguest's SET_CLOCKEVENT timer).
 */
#include <irq.h>
#include <task.h>
#include <net.h>

static irq_handler_t irq_handlers[NR_IRQS];
volatile unsigned long jiffies;
struct clock_event_device *clockevent;
static unsigned int loud_ticks;

#define TICK_NS (1000000000UL / HZ)

void request_irq(unsigned int irq, irq_handler_t handler)
{
	BUG_ON(irq >= NR_IRQS);
	irq_handlers[irq] = handler;
	pv_ops.unmask_irq(irq);
}

unsigned long irq_counts[NR_IRQS];

void do_IRQ(unsigned int irq, struct trapframe *tf)
{
	irq_counts[irq]++;
	if (irq_handlers[irq])
		irq_handlers[irq](irq, tf);
	else
		printk("spurious IRQ %u\n", irq);
	pv_ops.eoi_irq(irq);
}

static void timer_interrupt(unsigned int irq, struct trapframe *tf)
{
	(void)irq;
	(void)tf;
	jiffies++;
	sched_tick();
	net_tick();
	if (jiffies <= loud_ticks)
		printk("timer: tick %u\n", (unsigned int)jiffies);
	if (!(clockevent->features & CLOCK_EVT_FEAT_PERIODIC))
		clockevent->set_next_event(TICK_NS);
}

/* Starts HZ ticks a second on IRQ 0. */
void clock_start(unsigned int loud)
{
	loud_ticks = loud;
	clockevent = pv_ops.time_init();
	printk("timer: %s clock event device, %s, HZ=%u\n", clockevent->name,
	       clockevent->features & CLOCK_EVT_FEAT_PERIODIC ? "periodic" : "one-shot", HZ);
	request_irq(0, timer_interrupt);
	if (clockevent->features & CLOCK_EVT_FEAT_PERIODIC) {
		clockevent->set_mode(CLOCK_EVT_PERIODIC);
	} else {
		clockevent->set_mode(CLOCK_EVT_ONESHOT);
		clockevent->set_next_event(TICK_NS);
	}
}

void clock_stop(void)
{
	clockevent->set_mode(CLOCK_EVT_SHUTDOWN);
	pv_ops.mask_irq(0);
}

/* The idle loop: disable interrupts, check, and sleep with safe_halt (which re-enables them
 * and halts as one step, so a tick between the check and the halt is not lost). */
void wait_for_jiffies(unsigned long until)
{
	for (;;) {
		local_irq_disable();
		if (jiffies >= until)
			break;
		pv_ops.safe_halt();
	}
	local_irq_enable();
}
