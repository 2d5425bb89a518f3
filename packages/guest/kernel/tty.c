/*
 * The line discipline. Every typed byte arrives here, in interrupt context. Printable bytes
 * are echoed and kept in the line being edited; backspace or DEL rubs one out ("\b \b");
 * Enter finishes the line and wakes the reader; Ctrl-C throws the line (and any typed ahead)
 * away and sends SIGINT to the terminal's foreground process group; Ctrl-D on an empty line
 * is end of file. A reader sleeps until a line is ready or a signal arrives.
 *
 * Under lguest the bytes wait in the console driver's bound buffer; its IRQ handler calls
 * tty_poll, which takes them out (and the reader calls it again when a line frees room).
 *
 * A line holds up to TTY_LINE_MAX - 1 (4095) bytes, as Linux's tty does. A byte beyond that
 * is dropped and the terminal rings its bell instead of echoing it; Enter still ends the line.
 */
#include <irq.h>
#include <task.h>
#include <tty.h>
#include "lguest_console.h"

#define LINE_MAX TTY_LINE_MAX
#define READY_LINES 16

static char edit[LINE_MAX];
static int edit_len;
/* Finished lines wait here for the reader, oldest first, so a line typed (or pasted) ahead
 * of the program is kept: lines [ready_tail, ready_head) modulo READY_LINES. A length of -1
 * is end of file. When it is full the terminal is throttled instead of dropping input: the
 * drivers stop taking bytes (under lguest they stay in the console's buffer, and the
 * Launcher stops reading its input; natively the UART's receive interrupt is turned off and
 * they wait in its FIFO) until the reader takes a line. */
static char ready[READY_LINES][LINE_MAX];
static int ready_len[READY_LINES];
static volatile unsigned int ready_head, ready_tail;
int tty_fg_pgrp;
static int on_lguest;

static void echo(const char *s, unsigned int n)
{
	pv_ops.console_write(s, n);
}

/* Queue the edited line (or end of file, len -1) for the reader. There is room: the drivers
 * hand us no byte while tty_full(). */
static void finish_line(int len)
{
	unsigned int slot;

	BUG_ON(tty_full());
	slot = ready_head % READY_LINES;
	if (len > 0)
		memcpy(ready[slot], edit, len);
	ready[slot][len > 0 ? len : 0] = '\0';
	ready_len[slot] = len;
	ready_head++;
	wakeup(&ready_head);
}

void tty_receive(char c)
{
	if (c == '\r' || c == '\n') {
		echo("\n", 1);
		finish_line(edit_len);
		edit_len = 0;
	} else if (c == 0x7F || c == '\b') {
		if (edit_len > 0) {
			edit_len--;
			echo("\b \b", 3);
		}
	} else if (c == 0x03) {
		echo("^C\n", 3);
		edit_len = 0;
		ready_tail = ready_head; /* an interrupt flushes what was typed ahead */
		if (tty_fg_pgrp)
			signal_pgrp(tty_fg_pgrp, SIGINT);
	} else if (c == 0x04) {
		if (edit_len == 0)
			finish_line(-1);
	} else if (c >= 0x20 && c < 0x7F) {
		if (edit_len < LINE_MAX - 1) {
			edit[edit_len++] = c;
			echo(&c, 1);
		} else {
			echo("\a", 1); /* the line is full: the bell, and the byte is dropped */
		}
	}
}

int tty_full(void)
{
	return ready_head - ready_tail >= READY_LINES;
}

void tty_poll(void)
{
	unsigned long flags;
	char c;

	if (!on_lguest)
		return;
	flags = local_irq_save();
	while (!tty_full() && lgcons_get_chars(&c, 1) == 1)
		tty_receive(c);
	local_irq_restore(flags);
}

void tty_init(void)
{
	on_lguest = strcmp(boot_info.platform, "lguest") == 0;
	if (!on_lguest)
		native_serial_input_init();
}

int tty_read_line(char *buf, int size)
{
	unsigned int slot;
	int n;

	local_irq_disable();
	for (;;) {
		tty_poll();
		if (ready_head != ready_tail)
			break;
		if (signal_pending()) {
			local_irq_enable();
			return TTY_INTERRUPTED;
		}
		sleep_on(&ready_head);
	}
	slot = ready_tail % READY_LINES;
	n = ready_len[slot];
	if (n >= size)
		n = size - 1;
	if (n >= 0) {
		memcpy(buf, ready[slot], n);
		buf[n] = '\0';
	}
	ready_tail++;
	/* Room again: take what waited while we were throttled. */
	if (on_lguest)
		tty_poll();
	else
		native_serial_input_resume();
	local_irq_enable();
	return n < 0 ? -1 : n;
}
