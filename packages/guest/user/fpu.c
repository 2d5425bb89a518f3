/*
 * /bin/fpu [N]: floating point on the x87 — arithmetic, a conversion, the four rounding
 * modes, a masked divide by zero (infinity) and an unmasked one (SIGFPE, in a child) — and
 * a value held in an FPU register across N yields (default 200) while other programs run:
 * `fpu & fpu` shows that each process keeps its own FPU.
 */
#include "libc.h"

static void put_hex8(unsigned long v)
{
	char buf[9];
	for (int i = 7; i >= 0; i--, v >>= 4)
		buf[i] = "0123456789abcdef"[v & 15];
	buf[8] = 0;
	puts_raw(buf);
}

/* x with `decimals` digits after the point (truncated), by the FPU's own conversions. */
static void put_fixed(double x, int decimals)
{
	if (x < 0) {
		puts_raw("-");
		x = -x;
	}
	long whole = (long)x;
	put_uint((unsigned long)whole);
	puts_raw(".");
	x -= (double)whole;
	for (int i = 0; i < decimals; i++) {
		x *= 10;
		int d = (int)x;
		char c[2] = { (char)('0' + d), 0 };
		puts_raw(c);
		x -= d;
	}
}

static void put_int(long v)
{
	if (v < 0) {
		puts_raw("-");
		v = -v;
	}
	put_uint((unsigned long)v);
}

/* FRNDINT of x under rounding control rc (0 nearest, 1 down, 2 up, 3 chop), as an int. */
static long rint_rc(double x, int rc)
{
	unsigned short cw, ncw;
	long r;
	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	ncw = (unsigned short)((cw & ~0xc00) | (rc << 10));
	__asm__ __volatile__("fldcw %2\n\t"
			     "fldl %1\n\t"
			     "frndint\n\t"
			     "fistpl %0\n\t"
			     "fldcw %3"
			     : "=m"(r)
			     : "m"(x), "m"(ncw), "m"(cw));
	return r;
}

static void rounding(double x)
{
	static const char *const names[4] = { "nearest", "down", "up", "chop" };
	puts_raw("fpu: rint(");
	put_int((long)x);
	puts_raw(x - (long)x ? ".5)" : ")");
	for (int rc = 0; rc < 4; rc++) {
		puts_raw(" ");
		puts_raw(names[rc]);
		puts_raw(" ");
		put_int(rint_rc(x, rc));
	}
	puts_raw("\n");
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? parse_uint(argv[1]) : 200;
	volatile double three = 3, two = 2, zero = 0, tenth = 0.1, fifth = 0.2;
	double r;
	unsigned int bits[2];
	unsigned short sw;

	puts_raw("fpu: 1/3 = ");
	put_fixed(1 / three, 12);
	puts_raw("\nfpu: sqrt(2) = ");
	__asm__ __volatile__("fsqrt" : "=t"(r) : "0"((double)two));
	put_fixed(r, 12);
	r = tenth + fifth;
	__builtin_memcpy(bits, &r, 8);
	puts_raw("\nfpu: 0.1 + 0.2 = 0x");
	put_hex8(bits[1]);
	put_hex8(bits[0]);
	puts_raw("\nfpu: (long)-7.9 = ");
	put_int((long)(-7.9 * (three / 3)));
	puts_raw("\n");
	rounding(2.5);
	rounding(-2.5);

	/* Masked: 1/0 is +infinity and sets ZE in the status word. */
	__asm__ __volatile__("fnclex");
	r = 1 / zero;
	__asm__ __volatile__("fnstsw %0" : "=am"(sw));
	__builtin_memcpy(bits, &r, 8);
	puts_raw("fpu: 1/0 masked = ");
	puts_raw(bits[1] == 0x7ff00000 && bits[0] == 0 ? "inf" : "?");
	puts_raw(sw & 4 ? " (ZE)\n" : " (no ZE)\n");

	/* Unmasked, in a child: the next FPU instruction raises #MF, delivered as SIGFPE. */
	int pid = fork();
	if (pid == 0) {
		unsigned short cw = 0x037b; /* ZE unmasked */
		__asm__ __volatile__("fldcw %0" : : "m"(cw));
		r = 1 / zero;
		__asm__ __volatile__("fwait");
		puts_raw("fpu: unmasked 1/0 did not trap\n");
		return 1;
	}
	int status = 0;
	waitpid(pid, &status, 0);
	puts_raw("fpu: 1/0 unmasked: ");
	puts_raw(WIFSIGNALED(status) && WTERMSIG(status) == SIGFPE ? "SIGFPE\n" : "no SIGFPE\n");

	/* A value kept in ST(0) across yields (the FPU is this process's own meanwhile). */
	double keep = 1234.5 + getpid(), got;
	long left = n;
	__asm__ __volatile__("fldl %2\n"
			     "1:\n\t"
			     "movl %3, %%eax\n\t"
			     "int $0x80\n\t"
			     "decl %1\n\t"
			     "jnz 1b\n\t"
			     "fstpl %0"
			     : "=m"(got), "+r"(left)
			     : "m"(keep), "i"(SYS_sched_yield)
			     : "eax", "memory");
	puts_raw("fpu[");
	put_uint((unsigned long)getpid());
	puts_raw("]: kept ");
	put_fixed(got, 1);
	puts_raw(got == keep ? " across yields: ok\n" : " across yields: WRONG\n");
	return 0;
}
