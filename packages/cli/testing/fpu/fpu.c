/*
 * fpu: floating point on the x87, printed so that two machines can be compared byte for byte.
 *
 * One C source, two builds: a static i386 Linux program (no libc: system calls through
 * int $0x80) that runs inside the Linux 2.6.23 guest, and a static x86-64 Linux program (no
 * libc: the syscall instruction) built with -mfpmath=387, which is how the same x87
 * arithmetic runs natively on a machine that cannot execute i386 code. Everything printed is
 * independent of the ABI: results as the hex of their IEEE bytes (the 10 bytes of an 80-bit
 * long double, not its padding), integers in hex, the status and control words. Both builds
 * use -fexcess-precision=standard, so every float and double expression is evaluated in long
 * double and rounded where C says (on assignment and cast), never where a register spills.
 * A float or double becomes an integer through long double, because x86-64 code would
 * otherwise convert it with SSE's CVTTSD2SI: this way both builds convert with FIST, and the
 * x86-64 build executes no SSE instruction at all.
 *
 * It prints: arithmetic in the three precisions; conversions between float, double, long
 * double and 16/32/64-bit integers (C casts, and FIST/FISTP under each rounding mode,
 * overflow included); C arithmetic under each rounding and precision control set through the
 * control word; a masked divide by zero (an infinity and ZE) and an unmasked one (SIGFPE with
 * si_code FPE_FLTDIV, the handler printing the control and status words the kernel saved);
 * and a long loop that changes the rounding mode on every step, so that two copies running at
 * once would disturb each other's results if their FPU states were not kept apart. On stderr,
 * not compared, it says how often the kernel preempted it.
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#if defined(__i386__)
#define NR_exit 1
#define NR_write 4
#define NR_getrusage 77
#define NR_rt_sigreturn 173
#define NR_rt_sigaction 174

static long syscall4(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return ret;
}

/* execve leaves argc at the stack pointer, argv[] above it; main(argc, argv) is called with
 * the stack 16-byte aligned. */
__asm__(".text\n.globl _start\n_start:\n"
	"xorl %ebp, %ebp\n movl (%esp), %eax\n leal 4(%esp), %ecx\n andl $-16, %esp\n"
	"subl $8, %esp\n pushl %ecx\n pushl %eax\n call main\n"
	"movl %eax, %ebx\n movl $1, %eax\n int $0x80\n hlt\n"
	".globl restore_rt\nrestore_rt:\n movl $173, %eax\n int $0x80\n hlt\n");

/* The FPU state in the signal frame: the ucontext's sigcontext holds a pointer to it; the
 * i386 layout is FSAVE's, 32-bit words with the control word first, then the status word. */
static u16 *saved_fpu_words(void *uc, int *sw_index)
{
	u8 *mcontext = (u8 *)uc + 20;
	*sw_index = 2;
	return *(u16 **)(mcontext + 19 * 4);
}
#elif defined(__x86_64__)
#define NR_write 1
#define NR_rt_sigreturn 15
#define NR_rt_sigaction 13
#define NR_exit 60
#define NR_getrusage 98

static long syscall4(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

__asm__(".text\n.globl _start\n_start:\n"
	"xorl %ebp, %ebp\n movq (%rsp), %rdi\n leaq 8(%rsp), %rsi\n andq $-16, %rsp\n call main\n"
	"movl %eax, %edi\n movl $60, %eax\n syscall\n hlt\n"
	".globl restore_rt\nrestore_rt:\n movq $15, %rax\n syscall\n hlt\n");

/* x86-64: the sigcontext's FPU pointer leads to FXSAVE's layout: 16-bit control word,
 * then the 16-bit status word. */
static u16 *saved_fpu_words(void *uc, int *sw_index)
{
	u8 *mcontext = (u8 *)uc + 40;
	*sw_index = 1;
	return *(u16 **)(mcontext + 23 * 8);
}
#else
#error "fpu is built for i386 or x86-64"
#endif

int main(int argc, char **argv);
void restore_rt(void);

/* ---------------------------------------------------------------- output */

static char out[16384];
static unsigned out_len;

static void flush(int fd)
{
	unsigned done = 0;
	while (done < out_len) {
		long n = syscall4(NR_write, fd, (long)(out + done), out_len - done, 0);
		if (n <= 0)
			break;
		done += n;
	}
	out_len = 0;
}

static void put(const char *s)
{
	while (*s) {
		if (out_len == sizeof out)
			flush(1);
		out[out_len++] = *s++;
	}
}

static void put_hex(u64 v, int digits)
{
	char buf[17];
	for (int i = digits - 1; i >= 0; i--) {
		buf[i] = "0123456789abcdef"[(u32)v & 15];
		v >>= 4;
	}
	buf[digits] = 0;
	put(buf);
}

static void put_dec(u32 v)
{
	char buf[11];
	int i = 10;
	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put(buf + i);
}

/* The bytes of a value, most significant first: `n` bytes of the little-endian object at p. */
static void put_bytes(const void *p, int n)
{
	const u8 *b = p;
	char buf[3] = { 0, 0, 0 };
	while (n--) {
		buf[0] = "0123456789abcdef"[b[n] >> 4];
		buf[1] = "0123456789abcdef"[b[n] & 15];
		put(buf);
	}
}

static void put_ld(long double v) { volatile long double x = v; put_bytes((const void *)&x, 10); }
static void put_d(double v) { volatile double x = v; put_bytes((const void *)&x, 8); }
static void put_f(float v) { volatile float x = v; put_bytes((const void *)&x, 4); }

/* ---------------------------------------------------------------- the FPU's words */

static void set_cw(u16 cw) { __asm__ __volatile__("fldcw %0" : : "m"(cw)); }
static u16 get_cw(void) { u16 cw; __asm__ __volatile__("fnstcw %0" : "=m"(cw)); return cw; }
static u16 get_sw(void) { u16 sw; __asm__ __volatile__("fnstsw %0" : "=m"(sw)); return sw; }
static void clear_exceptions(void) { __asm__ __volatile__("fnclex"); }

/* The whole status word, where the instructions before it are this program's own asm. */
static void put_sw(void) { put(" sw="); put_hex(get_sw(), 4); }

/* The exception flags only, after code the compiler chose: the two builds' instruction
 * sequences differ (the condition codes and C1 reflect whichever instruction came last), but
 * the exceptions a computation raised do not. */
static void put_flags(void) { put(" flags="); put_hex(get_sw() & 0x3f, 2); }

/* ---------------------------------------------------------------- the tests */

static volatile long double zero_ld = 0.0L, one_ld = 1.0L, three_ld = 3.0L, tiny_ld = 1e-4940L;
static volatile double tenth = 0.1, fifth = 0.2, big_d = 1.7976931348623157e308, tiny_d = 4.9e-324;
static volatile float third_f = 1.0f / 3.0f, big_f = 3.4028234e38f;

static void arithmetic(void)
{
	put("arith ld 1/3 ");
	put_ld(one_ld / three_ld);
	put(" sqrt2 ");
	put_ld(__builtin_sqrtl(2.0L * one_ld));
	put(" tiny/3 ");
	put_ld(tiny_ld / three_ld);
	put_flags();
	put("\n");
	clear_exceptions();
	put("arith d 0.1+0.2 ");
	put_d(tenth + fifth);
	put(" big*2 ");
	put_d(big_d * 2.0);
	put(" tiny/2 ");
	put_d(tiny_d / 2.0);
	put(" 0.1*3 ");
	put_d(tenth * 3.0);
	put_flags();
	put("\n");
	clear_exceptions();
	put("arith f third*3 ");
	put_f(third_f * 3.0f);
	put(" big+big ");
	put_f(big_f + big_f);
	put(" 0.1f ");
	put_f((float)tenth);
	put_flags();
	put("\n");
	clear_exceptions();
	put("arith 0/0 ");
	put_ld(zero_ld / zero_ld);
	put(" sqrt(-1) ");
	put_ld(__builtin_sqrtl(-one_ld));
	put_flags();
	put("\n");
	clear_exceptions();
}

static volatile long double conv_ld[] = { 2.5L, -2.5L, 3.5L, -0.5L, 0.49999999999999999999L, 2147483647.5L,
					  -2147483648.5L, 32767.5L, 9.2233720368547758e18L, 1e10L, -1e30L };

/* FIST/FISTP of `v` into 16, 32 and 64 bits under rounding control `rc`; each store's status word. */
static void fist_all(long double v, int rc)
{
	short s16;
	int s32;
	long long s64;
	set_cw(0x37f | (rc << 10));
	clear_exceptions();
	__asm__ __volatile__("fists %0" : "=m"(s16) : "t"(v));
	u16 sw16 = get_sw();
	clear_exceptions();
	__asm__ __volatile__("fistl %0" : "=m"(s32) : "t"(v));
	u16 sw32 = get_sw();
	clear_exceptions();
	__asm__ __volatile__("fistpll %0" : "=m"(s64) : "t"(v) : "st");
	u16 sw64 = get_sw();
	clear_exceptions();
	set_cw(0x37f);
	put(" rc");
	put_dec(rc);
	put(" ");
	put_hex((u16)s16, 4);
	put("/");
	put_hex(sw16 & 0x3f, 2);
	put(" ");
	put_hex((u32)s32, 8);
	put("/");
	put_hex(sw32 & 0x3f, 2);
	put(" ");
	put_hex((u64)s64, 16);
	put("/");
	put_hex(sw64 & 0x3f, 2);
}

static volatile long long conv_i64[] = { 0, 1, -1, 0x7fffffffffffffffLL, -0x7fffffffffffffffLL - 1,
					 0x20000001LL, 0x1000000000000001LL, 16777217, -9007199254740993LL };

/* C's conversions to integers of a value held as long double (volatile, so that the compiler
 * cannot see that it came from a float or double and use SSE). */
static int int_of(long double v) { volatile long double x = v; return (int)x; }
static short short_of(long double v) { volatile long double x = v; return (short)x; }

static void conversions(void)
{
	for (unsigned i = 0; i < sizeof conv_ld / sizeof conv_ld[0]; i++) {
		long double v = conv_ld[i];
		put("fist ");
		put_ld(v);
		for (int rc = 0; rc < 4; rc++)
			fist_all(v, rc);
		put("\n");
	}
	for (unsigned i = 0; i < sizeof conv_ld / sizeof conv_ld[0]; i++) {
		long double v = conv_ld[i];
		put("cast ");
		put_ld(v);
		put(" int ");
		put_hex((u32)(int)(v / 1e2L), 8);
		put(" ll ");
		put_hex((u64)(long long)(v / 1e2L), 16);
		put(" d ");
		put_d((double)v);
		put(" f ");
		put_f((float)v);
		put(" d->int ");
		put_hex((u32)int_of((double)(v / 1e3L)), 8);
		put(" f->short ");
		put_hex((u16)short_of((float)(v / 1e6L)), 4);
		put_flags();
		put("\n");
		clear_exceptions();
	}
	for (unsigned i = 0; i < sizeof conv_i64 / sizeof conv_i64[0]; i++) {
		long long n = conv_i64[i];
		put("from ");
		put_hex((u64)n, 16);
		put(" ld ");
		put_ld((long double)n);
		put(" d ");
		put_d((double)n);
		put(" f ");
		put_f((float)n);
		put(" f(int) ");
		put_f((float)(int)n);
		put(" d(short) ");
		put_d((double)(short)n);
		put_flags();
		put("\n");
		clear_exceptions();
	}
}

/* C arithmetic under each rounding control, and under each precision control. */
static void modes(void)
{
	for (int rc = 0; rc < 4; rc++) {
		set_cw(0x37f | (rc << 10));
		put("rc");
		put_dec(rc);
		put(" cw=");
		put_hex(get_cw(), 4);
		put(" 1/3 ");
		put_ld(one_ld / three_ld);
		put(" -1/3 ");
		put_ld(-one_ld / three_ld);
		put(" d(2/3) ");
		put_d((double)(2.0L * one_ld / three_ld));
		put(" f(0.1) ");
		put_f((float)tenth);
		put(" sqrt3 ");
		put_ld(__builtin_sqrtl(three_ld));
		put(" rndint(-2.5) ");
		put_ld(__builtin_rintl(-2.5L * one_ld));
		put_flags();
		put("\n");
		clear_exceptions();
	}
	for (int pc = 0; pc < 4; pc++) {
		set_cw(0x07f | (pc << 8));
		put("pc");
		put_dec(pc);
		put(" cw=");
		put_hex(get_cw(), 4);
		put(" 1/3 ");
		put_ld(one_ld / three_ld);
		put(" 1+2^-30 ");
		put_ld(one_ld + one_ld / 1073741824.0L);
		put_flags();
		put("\n");
		clear_exceptions();
	}
	set_cw(0x37f);
}

static void masked_divide_by_zero(void)
{
	clear_exceptions();
	long double inf = one_ld / zero_ld;
	put("masked 1/0 ");
	put_ld(inf);
	put_flags();
	put(" -1/0 ");
	put_ld(-one_ld / zero_ld);
	put("\n");
	clear_exceptions();
}

/* ---------------------------------------------------------------- SIGFPE */

struct kernel_sigaction {
	void (*handler)(int, void *, void *);
	unsigned long flags;
	void (*restorer)(void);
	u32 mask[2];
};

#define SIGFPE 8
#define SA_SIGINFO 4
#define SA_RESTORER 0x04000000

static volatile int sigfpe_count;

/* Says what arrived, then clears the pending exception in the FPU state the kernel saved and
 * masks zero-divide there, so that returning does not raise it again. */
static void on_sigfpe(int sig, void *info, void *uc)
{
	int sw_index;
	u16 *fpu = saved_fpu_words(uc, &sw_index);
	sigfpe_count++;
	put("SIGFPE signo=");
	put_dec(sig);
	put(" si_signo=");
	put_dec(((int *)info)[0]);
	put(" si_code=");
	put_dec(((int *)info)[2]);
	put(" saved cw=");
	put_hex(fpu[0], 4);
	put(" sw=");
	put_hex(fpu[sw_index], 4);
	put("\n");
	fpu[sw_index] &= 0x7f00;
	fpu[0] |= 0x3f;
}

static void unmasked_divide_by_zero(void)
{
	struct kernel_sigaction sa = { on_sigfpe, SA_SIGINFO | SA_RESTORER, restore_rt, { 0, 0 } };
	long r = syscall4(NR_rt_sigaction, SIGFPE, (long)&sa, 0, 8);
	put("sigaction ");
	put_dec((u32)r);
	put("\n");
	u16 sw_after, env[14];
	u16 cw = 0x37b; /* ZM clear */
	/* The x87 stack is empty around this block, so the words the handler sees are the same
	 * whichever compiler and ABI built it. The FWAIT raises the pending exception. */
	__asm__ __volatile__("fnclex\n\tfldcw %2\n\tfld1\n\tfldz\n\tfdivrp\n\tfwait\n\tfnstsw %0\n\t"
			     "fnstenv %1\n\tfninit"
			     : "=m"(sw_after), "=m"(env)
			     : "m"(cw)
			     : "st", "st(1)", "memory");
	set_cw(0x37f);
	put("unmasked 1/0 signals=");
	put_dec(sigfpe_count);
	put(" after: sw=");
	put_hex(sw_after, 4);
	put(" cw=");
	put_hex(env[0], 4);
	put(" tag=");
	put_hex(env[4], 4);
	put("\n");
}

/* ---------------------------------------------------------------- the long run */

/* Many steps with live values on the x87 stack, each under the next rounding mode: a
 * preemption that lost this process's registers or control word would change the sums. */
static void long_run(int steps)
{
	long double sum = 0.0L, prod = one_ld;
	double dsum = 0.0;
	for (int i = 1; i <= steps; i++) {
		set_cw(0x37f | ((i & 3) << 10));
		sum += one_ld / (long double)i;
		prod *= 1.0L + one_ld / (long double)(i + 7);
		dsum += __builtin_sqrtl((long double)i) / three_ld;
		if (prod > 1e100L)
			prod /= 1e100L;
	}
	set_cw(0x37f);
	put("long run ");
	put_dec(steps);
	put(" sum ");
	put_ld(sum);
	put(" prod ");
	put_ld(prod);
	put(" dsum ");
	put_d(dsum);
	put_flags();
	put("\n");
	clear_exceptions();
}

/* How often the kernel switched away from us (getrusage's ru_nvcsw and ru_nivcsw). */
static void report_switches(void)
{
	long usage[18];
	syscall4(NR_getrusage, 0, (long)usage, 0, 0);
	put("fpu: ");
	put_dec((u32)usage[17]);
	put(" involuntary and ");
	put_dec((u32)usage[16]);
	put(" voluntary context switches\n");
}

/* fpu [STEPS]: the long run takes STEPS steps (default 1000). */
int main(int argc, char **argv)
{
	int steps = 0;
	if (argc > 1)
		for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++)
			steps = steps * 10 + (*p - '0');
	if (steps <= 0)
		steps = 1000;
	set_cw(0x37f);
	put("fpu: cw=");
	put_hex(get_cw(), 4);
	put_sw();
	put("\n");
	arithmetic();
	conversions();
	modes();
	masked_divide_by_zero();
	unmasked_divide_by_zero();
	long_run(steps);
	flush(1);
	report_switches();
	flush(2);
	return 0;
}
