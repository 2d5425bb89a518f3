/*
 * The workload as a static Linux program, the "native" engine of the benchmark: built for
 * i386, and for x86-64 for hosts whose kernel runs no i386 programs.
 * Usage: workload-native.elf ITERATIONS
 * It times the workload call itself with clock_gettime(CLOCK_PROCESS_CPUTIME_ID) (CPU time, as
 * the emulated engines are timed), so process start and exit are not measured, and prints one line: "CHECKSUM SECONDS NANOSECONDS" with the
 * checksum in hex and the elapsed time split into whole seconds and nanoseconds.
 * No libc: system calls go through int $0x80 on i386 and syscall on x86-64.
 */
#include "workload.h"

typedef unsigned long word;

#define CLOCK_PROCESS_CPUTIME_ID 2

#ifdef __x86_64__
#define SYS_write 1
#define SYS_exit 60
#define SYS_clock_gettime 228
#else
#define SYS_exit 1
#define SYS_write 4
#define SYS_clock_gettime 265
#endif

/* struct timespec of the kernel's native ABI: two words. */
struct timespec_word {
	word sec;
	word nsec;
};

static long syscall3(word nr, word a, word b, word c)
{
	long ret;

#ifdef __x86_64__
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
#else
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
#endif
	return ret;
}

static void __attribute__((noreturn)) sys_exit(int code)
{
	for (;;)
		syscall3(SYS_exit, (word)code, 0, 0);
}

static u32 length(const char *s)
{
	u32 n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	syscall3(SYS_write, 1, (word)s, length(s));
}

static void die(const char *why)
{
	syscall3(SYS_write, 2, (word)why, length(why));
	sys_exit(2);
}

/* Appends the decimal digits of v to *p. */
static void put_decimal(char **p, u32 v)
{
	char digits[10];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*(*p)++ = digits[--n];
}

static void put_hex(char **p, u32 v)
{
	int shift;

	*(*p)++ = '0';
	*(*p)++ = 'x';
	for (shift = 28; shift >= 0; shift -= 4)
		*(*p)++ = "0123456789abcdef"[(v >> shift) & 15];
}

/* Parses a decimal count; dies on anything else, rather than benchmark a wrong size. */
static u32 parse_count(const char *s)
{
	u32 v = 0;

	if (!*s)
		die("workload-native: empty iteration count\n");
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 429496728u)
			die("workload-native: the iteration count must be a decimal number below 2^32\n");
		v = v * 10 + (u32)(*s - '0');
	}
	return v;
}

void __attribute__((noreturn)) native_main(word *initial_stack)
{
	word argc = initial_stack[0];
	char **argv = (char **)(initial_stack + 1);
	struct timespec_word start, end;
	u32 iterations, checksum, sec, nsec;
	char line[64], *p = line;

	if (argc != 2)
		die("usage: workload-native.elf ITERATIONS\n");
	iterations = parse_count(argv[1]);
	if (syscall3(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, (word)&start, 0) != 0)
		die("workload-native: clock_gettime failed\n");
	checksum = workload_run(iterations);
	syscall3(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, (word)&end, 0);
	sec = (u32)(end.sec - start.sec);
	if (end.nsec >= start.nsec) {
		nsec = (u32)(end.nsec - start.nsec);
	} else {
		nsec = (u32)(end.nsec + 1000000000u - start.nsec);
		sec--;
	}
	put_hex(&p, checksum);
	*p++ = ' ';
	put_decimal(&p, sec);
	*p++ = ' ';
	put_decimal(&p, nsec);
	*p++ = '\n';
	*p = 0;
	say(line);
	sys_exit(0);
}
