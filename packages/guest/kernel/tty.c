/*
 * The line discipline. Every typed byte arrives here, in interrupt context. Printable bytes
 * are echoed and kept in the line being edited; backspace or DEL rubs one out ("\b \b");
 * Enter finishes the line and hands it to the reader; Ctrl-C throws the line away and raises
 * tty_interrupted for the foreground program; Ctrl-D on an empty line is end of file.
 *
 * Under lguest the bytes wait in the console driver's bound buffer: its IRQ wakes us from
 * safe_halt, and tty_poll (from the reader and from every tick) takes them out.
 */
#include <irq.h>
#include <tty.h>
#include "lguest_console.h"

#define LINE_MAX 128
#define READY_LINES 8

static char edit[LINE_MAX];
static int edit_len;
/* Finished lines wait here for the reader, oldest first, so a line typed (or pasted) ahead
 * of the program is kept: lines [ready_tail, ready_head) modulo READY_LINES. A length of -1
 * is end of file. */
static char ready[READY_LINES][LINE_MAX];
static int ready_len[READY_LINES];
static volatile unsigned int ready_head, ready_tail;
volatile int tty_interrupted;
static int on_lguest;

static void echo(const char *s, unsigned int n)
{
	pv_ops.console_write(s, n);
}

/* Queue the edited line (or end of file, len -1) for the reader; a full queue drops it, as a
 * terminal whose input buffer is full does. */
static void finish_line(int len)
{
	unsigned int slot;

	if (ready_head - ready_tail >= READY_LINES)
		return;
	slot = ready_head % READY_LINES;
	if (len > 0)
		memcpy(ready[slot], edit, len);
	ready[slot][len > 0 ? len : 0] = '\0';
	ready_len[slot] = len;
	ready_head++;
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
		tty_interrupted = 1;
	} else if (c == 0x04) {
		if (edit_len == 0)
			finish_line(-1);
	} else if (c >= 0x20 && c < 0x7F && edit_len < LINE_MAX - 1) {
		edit[edit_len++] = c;
		echo(&c, 1);
	}
}

void tty_poll(void)
{
	char buf[32];
	int n, i;

	if (!on_lguest)
		return;
	while ((n = lgcons_get_chars(buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			tty_receive(buf[i]);
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

	for (;;) {
		local_irq_disable();
		tty_poll();
		if (ready_head != ready_tail)
			break;
		if (tty_interrupted) {
			local_irq_enable();
			return TTY_INTERRUPTED;
		}
		pv_ops.safe_halt();
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
	local_irq_enable();
	return n < 0 ? -1 : n;
}
