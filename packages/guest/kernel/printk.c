/*
 * printk: how the kernel speaks. It formats into a buffer and hands the bytes to the console
 * op, which is a UART on a PC and a DMA to the Launcher under lguest. panic() is printk's
 * last word: the message, then the platform's panic hook (lguest: LHCALL_CRASH, so the
 * Launcher prints why the guest died).
 */
#include <paravirt.h>
#include <stdarg.h>

struct outbuf {
	char *buf;
	size_t size, len;
};

static void put(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/* Unsigned number in base 10 or 16, padded to width with pad. */
static void put_number(struct outbuf *o, unsigned long v, unsigned int base, int width, char pad)
{
	char digits[12];
	int n = 0;
	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		put(o, pad);
	while (n)
		put(o, digits[--n]);
}

/* Formats into buf (always NUL-terminated if size > 0); returns the untruncated length. */
static int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == 'l')
			fmt++; /* long is int-sized here */
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = 0;
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			while (width-- > n)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long v = va_arg(ap, long);
			if (v < 0) {
				put(&o, '-');
				v = -v;
			}
			put_number(&o, (unsigned long)v, 10, width, pad);
			break;
		}
		case 'u':
			put_number(&o, va_arg(ap, unsigned long), 10, width, pad);
			break;
		case 'x':
			put_number(&o, va_arg(ap, unsigned long), 16, width, pad);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (unsigned long)va_arg(ap, void *), 16, 8, '0');
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* One line at a time; interrupts off so an interrupt handler's printk can't interleave. */
static char printk_buf[512];
/* The kernel log: the last LOG_BUF_SIZE bytes printk wrote, for dmesg. */
#define LOG_BUF_SIZE 8192
static char log_buf[LOG_BUF_SIZE];
static unsigned long log_end;

static int vprintk(int log, const char *fmt, va_list ap)
{
	unsigned long flags = local_irq_save();
	int n = vsnprintf(printk_buf, sizeof(printk_buf), fmt, ap);
	unsigned int len = n < (int)sizeof(printk_buf) ? (unsigned int)n : sizeof(printk_buf) - 1;
	pv_ops.console_write(printk_buf, len);
	for (unsigned int i = 0; log && i < len; i++)
		log_buf[log_end++ % LOG_BUF_SIZE] = printk_buf[i];
	local_irq_restore(flags);
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(1, fmt, ap);
	va_end(ap);
	return n;
}

/* Where cprintf goes while a /proc file is being generated (cprintf_to). */
static char *sink;
static unsigned long sink_len, sink_size;

int cprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (sink) {
		n = vsnprintf(sink + sink_len, sink_size - sink_len, fmt, ap);
		sink_len += (unsigned long)n < sink_size - sink_len ? (unsigned long)n : sink_size - sink_len - 1;
	} else {
		n = vprintk(0, fmt, ap);
	}
	va_end(ap);
	return n;
}

unsigned long cprintf_to(char *buf, unsigned long size, void (*fn)(void))
{
	sink = buf;
	sink_len = 0;
	sink_size = size;
	buf[0] = '\0';
	fn();
	sink = NULL;
	return sink_len;
}

int log_read(char *buf, unsigned long size)
{
	unsigned long kept = log_end < LOG_BUF_SIZE ? log_end : LOG_BUF_SIZE;
	unsigned long start = log_end - (kept < size ? kept : size), n = 0;
	while (start + n < log_end && n < size) {
		buf[n] = log_buf[(start + n) % LOG_BUF_SIZE];
		n++;
	}
	return (int)n;
}

static char panic_buf[LGUEST_CRASH_MSG_SIZE];

noreturn void panic(const char *fmt, ...)
{
	local_irq_disable();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(panic_buf, sizeof(panic_buf), fmt, ap);
	va_end(ap);
	printk("Kernel panic: %s\n", panic_buf);
	pv_ops.panic_notify(panic_buf);
}
