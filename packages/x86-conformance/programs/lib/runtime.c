/* The C half of the runtime: the debug console, the base machine state every test starts
 * from, the trap dispatcher, excursions, and the test runner with its checks. boot.S calls
 * kmain() with the boot magic; kmain runs the program and writes the exit port. */
#include <stdarg.h>
#include "conformance.h"

/* GCC may emit calls to these even in freestanding code (for struct copies and clearing
 * loops), so the runtime must provide them; their own loops must not become such calls. */
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
NO_LIBCALLS void *memset(void *d, int c, unsigned n)
{
    u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}
NO_LIBCALLS void *memcpy(void *d, const void *s, unsigned n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

/* ---- Output ---------------------------------------------------------------------------- */

static void dbg_putc(char c) { outb(PORT_DEBUGCON, (u8)c); }

static void put_str(const char *s)
{
    while (*s) dbg_putc(*s++);
}

/* Unsigned number in `base`, at least `width` digits wide, padded with `pad`. */
static void put_num(u32 v, u32 base, int width, char pad)
{
    char buf[12];
    int n = 0;
    do {
        u32 d = v % base;
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n < width--) dbg_putc(pad);
    while (n) dbg_putc(buf[--n]);
}

/* A printf for what the tests print: %s %c %d %u %x with an optional 0 flag and width. */
static void vkprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            dbg_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0;
        if (*++fmt == '0') pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 's': put_str(va_arg(ap, const char *)); break;
        case 'c': dbg_putc((char)va_arg(ap, int)); break;
        case 'u': put_num(va_arg(ap, u32), 10, width, pad); break;
        case 'x': put_num(va_arg(ap, u32), 16, width, pad); break;
        case 'd': {
            int v = va_arg(ap, int);
            if (v < 0) dbg_putc('-'), v = -v;
            put_num((u32)v, 10, width, pad);
            break;
        }
        case '%': dbg_putc('%'); break;
        default: dbg_putc('?'); break;
        }
    }
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

static void __attribute__((noreturn)) machine_exit(u32 status)
{
    outl(PORT_EXIT, status);
    /* Without an exit device the machine simply stops here. */
    for (;;) __asm__ volatile("cli; hlt");
}

/* ---- The base machine state ------------------------------------------------------------ */

u64 gdt[GDT_ENTRIES] __attribute__((aligned(8)));
u64 idt[256] __attribute__((aligned(8)));
struct tss_area main_tss __attribute__((aligned(128)));

static u8 ring0_stack[8192] __attribute__((aligned(16)));
static u8 ring1_stack[8192] __attribute__((aligned(16)));
static u8 ring2_stack[8192] __attribute__((aligned(16)));
static u8 outer_stack[8192] __attribute__((aligned(16)));
u32 ring0_stack_top, ring1_stack_top, ring2_stack_top, outer_stack_top;

static int cr4_touched;

void set_gdt(u32 index, u64 desc) { ((volatile u64 *)gdt)[index] = desc; }
void set_idt(u32 vector, u64 gate) { ((volatile u64 *)idt)[vector] = gate; }

void set_stub_gate(u32 vector, u32 type, u32 dpl)
{
    set_idt(vector, gate_desc(type, dpl, SEL_KCODE, trap_stub(vector), 0, 1));
}

void load_idt(u32 base, u32 limit)
{
    struct dtr d = { (u16)limit, base };
    __asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

void reload_main_tr(u32 limit)
{
    set_gdt_sel(SEL_TSS, seg_desc((u32)&main_tss, limit, ACC_P | SYS_TSS_AVAIL));
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

void set_cr4(u32 v)
{
    cr4_touched = 1;
    write_cr4(v);
}

/* Flat 4 GiB, 32-bit, accessed already (so base-state loads never write the GDT). */
static u64 flat(u32 type, u32 dpl) { return seg_desc(0, 0xFFFFF, ACC_P | ACC_DPL(dpl) | type | ACC_A | ACC_DB | ACC_G); }

static void load_base_gdt(void)
{
    for (u32 i = 0; i < GDT_ENTRIES; i++) set_gdt(i, 0);
    set_gdt_sel(SEL_KCODE, flat(ACC_CODE_XR, 0));
    set_gdt_sel(SEL_KDATA, flat(ACC_DATA_RW, 0));
    set_gdt_sel(SEL_UCODE, flat(ACC_CODE_XR, 3));
    set_gdt_sel(SEL_UDATA, flat(ACC_DATA_RW, 3));
    set_gdt_sel(SEL_R1CODE, flat(ACC_CODE_XR, 1));
    set_gdt_sel(SEL_R1DATA, flat(ACC_DATA_RW, 1));
    set_gdt_sel(SEL_R2CODE, flat(ACC_CODE_XR, 2));
    set_gdt_sel(SEL_R2DATA, flat(ACC_DATA_RW, 2));
    struct dtr d = { GDT_ENTRIES * 8 - 1, (u32)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\tmovw %w2, %%ds\n\t"
                     "movw %w2, %%es\n\t"
                     "movw %w2, %%fs\n\t"
                     "movw %w2, %%gs\n\t"
                     "movw %w2, %%ss"
                     : : "m"(d), "i"(SEL_KCODE), "r"(SEL_KDATA) : "memory");
}

static void load_base_idt(void)
{
    for (u32 v = 0; v < 256; v++) set_stub_gate(v, SYS_INT_GATE, 0);
    set_stub_gate(VEC_EXIT, SYS_INT_GATE, 3);
    load_idt((u32)idt, sizeof(idt) - 1);
}

/* The main TSS: inner-ring stacks for every ring, no I/O bitmap (its base lies past the
 * limit until a test extends the limit), and all-ones bitmap bytes so extending the limit
 * alone still denies every port. */
static void load_base_tss(void)
{
    u8 *p = (u8 *)&main_tss;
    for (u32 i = 0; i < sizeof(main_tss); i++) p[i] = 0;
    for (u32 i = 0; i < sizeof(main_tss.iomap); i++) main_tss.iomap[i] = 0xFF;
    main_tss.t.esp0 = ring0_stack_top;
    main_tss.t.ss0 = SEL_KDATA;
    main_tss.t.esp1 = ring1_stack_top;
    main_tss.t.ss1 = SEL_R1DATA;
    main_tss.t.esp2 = ring2_stack_top;
    main_tss.t.ss2 = SEL_R2DATA;
    main_tss.t.cr3 = 0;
    main_tss.t.iomap_base = TSS32_SIZE;
    reload_main_tr(TSS32_SIZE - 1);
}

static trap_hook hooks[256];
volatile struct trap_record trap;
volatile u32 probe_eip, probe_next, probe_esp, resume_eip;
volatile u32 raw_esp, raw_count;
volatile u32 raw_words[8];
u32 excursion_esp;
static volatile int excursion_active;

void trap_reset(void)
{
    u32 *p = (u32 *)&trap;
    for (u32 i = 0; i < sizeof(trap) / 4; i++) p[i] = NONE;
    trap.count = 0;
    raw_count = 0;
}

void set_trap_hook(u32 vector, trap_hook hook) { hooks[vector] = hook; }

/* Everything a test may have changed, put back: paging off (all programs identity-map the
 * low memory they run in, so this is safe), CR0/CR4 flags, tables, TR, LDTR, segments, flags. */
static void reset_machine(void)
{
    write_cr0(read_cr0() & ~(CR0_PG | CR0_WP | CR0_TS | CR0_AM | CR0_MP | CR0_EM));
    write_cr3(0);
    if (cr4_touched) write_cr4(0);
    cr4_touched = 0;
    write_eflags(EFL_FIXED);
    load_base_gdt();
    load_base_idt();
    load_base_tss();
    lldt(0);
    for (u32 v = 0; v < 256; v++) hooks[v] = 0;
    resume_eip = 0;
    excursion_active = 0;
    trap_reset();
}

/* ---- Traps ----------------------------------------------------------------------------- */

static int in_test;
static const char *cur_test;
static int cur_failed, cur_skipped;
struct kjmp { u32 ebx, esi, edi, ebp, esp, eip; };
static struct kjmp test_jmp;
int ksetjmp(struct kjmp *j) __attribute__((returns_twice));
void klongjmp(struct kjmp *j, int v) __attribute__((noreturn));

/* Called by trap_common for every vector. Records the frame, then in order: a hook, a
 * probe's resume address, the end of an excursion, or a test failure. */
void trap_dispatch(struct frame *f)
{
    u32 from_v86 = (f->eflags & EFL_VM) != 0;
    u32 outer = from_v86 || (f->cs & 3) != 0;
    trap.count++;
    trap.vector = f->vector;
    trap.error = f->error;
    trap.eip = f->eip;
    trap.cs = f->cs & 0xFFFF;
    trap.eflags = f->eflags;
    trap.outer = outer;
    trap.esp = outer ? f->esp : NONE;
    trap.ss = outer ? (f->ss & 0xFFFF) : NONE;
    trap.v86_es = from_v86 ? (f->v86_es & 0xFFFF) : NONE;
    trap.v86_ds = from_v86 ? (f->v86_ds & 0xFFFF) : NONE;
    trap.v86_fs = from_v86 ? (f->v86_fs & 0xFFFF) : NONE;
    trap.v86_gs = from_v86 ? (f->v86_gs & 0xFFFF) : NONE;
    trap.frame_at = (u32)&f->eip;
    trap.handler_eflags = f->handler_eflags;
    trap.handler_ds = f->ds & 0xFFFF;
    trap.handler_es = f->es & 0xFFFF;
    trap.handler_fs = f->fs & 0xFFFF;
    trap.handler_gs = f->gs & 0xFFFF;
    trap.handler_ss = read_ss();
    trap.cr2 = f->vector == 14 ? read_cr2() : NONE;

    if (hooks[f->vector]) {
        hooks[f->vector](f);
        return;
    }
    /* Probes are ring-0 code; a trap from an outer ring never resumes one (on a broken core
     * that would run kernel code at CPL 3). */
    if (resume_eip && !outer) {
        f->eip = resume_eip;
        resume_eip = 0;
        return;
    }
    if (excursion_active && outer) leave_excursion(f->vector);
    if (!in_test) {
        kprintf("PANIC %s: trap %u error 0x%x at %x:%x\n", program_name, f->vector, f->error,
                f->cs & 0xFFFF, f->eip);
        machine_exit(EXIT_PANIC);
    }
    fail("unexpected trap %u error 0x%x at %x:%x eflags 0x%x", f->vector, f->error,
         f->cs & 0xFFFF, f->eip, f->eflags);
    klongjmp(&test_jmp, 1);
}

/* ---- Excursions ------------------------------------------------------------------------ */

u32 excursion(const struct excursion *x);

u32 enter_excursion(const struct excursion *x)
{
    trap_reset();
    excursion_active = 1;
    u32 v = excursion(x);
    excursion_active = 0;
    return v;
}

u32 run_at(u32 ring, const void *code, u32 eflags)
{
    static const u16 code_sel[4] = { SEL_KCODE, SEL_R1CODE, SEL_R2CODE, SEL_UCODE };
    static const u16 data_sel[4] = { SEL_KDATA, SEL_R1DATA, SEL_R2DATA, SEL_UDATA };
    u32 *top = (u32 *)outer_stack_top;
    top[-1] = (u32)user_return;
    struct excursion x = {
        (u32)code, code_sel[ring & 3], eflags | EFL_FIXED, outer_entry_esp(), data_sel[ring & 3],
        data_sel[ring & 3], data_sel[ring & 3], data_sel[ring & 3], data_sel[ring & 3],
    };
    return enter_excursion(&x);
}

/* ---- Tests and checks ------------------------------------------------------------------ */

static int n_pass, n_fail, n_skip;

static void fail_prefix(void) { kprintf("FAIL %s/%s: ", program_name, cur_test ? cur_test : "-"); }

void fail(const char *fmt, ...)
{
    va_list ap;
    fail_prefix();
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
    dbg_putc('\n');
    cur_failed = 1;
}

int check_eq(const char *what, u32 got, u32 want)
{
    if (got == want) return 1;
    fail("%s: got 0x%x, want 0x%x", what, got, want);
    return 0;
}

int check_true(const char *what, int ok)
{
    if (!ok) fail("%s", what);
    return ok;
}

static const char *vector_name(u32 v)
{
    static const char *const names[] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                         "#DF", "9", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
                                         "#MF", "#AC" };
    if (v < sizeof(names) / sizeof(names[0])) return names[v];
    if (v == NONE) return "none";
    return "int";
}

/* Shared by the expect_* checks: exactly one trap with this vector and error code. */
static int expect_one(const char *what, u32 vector, u32 error)
{
    if (trap.count != 1) {
        if (trap.count == 0 && error == NO_ERROR)
            fail("%s: no trap, want %s (vector %u)", what, vector_name(vector), vector);
        else if (trap.count == 0)
            fail("%s: no trap, want %s(0x%x) (vector %u)", what, vector_name(vector), error, vector);
        else
            fail("%s: %u traps, last vector %u error 0x%x", what, trap.count, trap.vector,
                 trap.error);
        return 0;
    }
    if (trap.vector != vector) {
        fail("%s: got vector %u %s(0x%x) at 0x%x, want %u %s", what, trap.vector,
             vector_name(trap.vector), trap.error, trap.eip, vector, vector_name(vector));
        return 0;
    }
    if (error != NO_ERROR && trap.error != error) {
        fail("%s: %s error code 0x%x, want 0x%x", what, vector_name(vector), trap.error, error);
        return 0;
    }
    return 1;
}

static void expect_ring0_at(const char *what, u32 vector, u32 error, u32 eip)
{
    if (!expect_one(what, vector, error)) return;
    if (trap.eip != eip) fail("%s: saved EIP 0x%x, want 0x%x", what, trap.eip, eip);
    if (trap.cs != read_cs()) fail("%s: saved CS 0x%x, want 0x%x", what, trap.cs, read_cs());
    if (trap.outer) fail("%s: frame has SS:ESP %x:%x, want no stack switch", what, trap.ss, trap.esp);
}

void expect_fault(const char *what, u32 vector, u32 error) { expect_ring0_at(what, vector, error, probe_eip); }
void expect_trap(const char *what, u32 vector, u32 error) { expect_ring0_at(what, vector, error, probe_next); }

void expect_no_trap(const char *what)
{
    if (trap.count)
        fail("%s: unexpected %s (vector %u) error 0x%x at 0x%x", what, vector_name(trap.vector),
             trap.vector, trap.error, trap.eip);
}

void expect_outer_fault(const char *what, u32 ret, u32 vector, u32 error, u32 eip, u32 cs,
                        u32 esp, u32 ss)
{
    if (ret != vector) {
        fail("%s: excursion ended by vector %u %s(0x%x) at %x:%x, want %u %s", what, ret,
             vector_name(ret), trap.error, trap.cs, trap.eip, vector, vector_name(vector));
        return;
    }
    if (!expect_one(what, vector, error)) return;
    if (trap.eip != eip) fail("%s: saved EIP 0x%x, want 0x%x", what, trap.eip, eip);
    if (trap.cs != cs) fail("%s: saved CS 0x%x, want 0x%x", what, trap.cs, cs);
    if (trap.esp != esp) fail("%s: saved ESP 0x%x, want 0x%x", what, trap.esp, esp);
    if (trap.ss != ss) fail("%s: saved SS 0x%x, want 0x%x", what, trap.ss, ss);
}

void skip_test(const char *why)
{
    kprintf("SKIP %s/%s: %s\n", program_name, cur_test, why);
    cur_skipped = 1;
}

void run_test(const char *name, void (*fn)(void))
{
    cur_test = name;
    cur_failed = 0;
    cur_skipped = 0;
    reset_machine();
    if (ksetjmp(&test_jmp) == 0) {
        in_test = 1;
        fn();
    }
    in_test = 0;
    reset_machine();
    if (cur_failed) {
        n_fail++;
    } else if (cur_skipped) {
        n_skip++;
    } else {
        n_pass++;
        kprintf("PASS %s/%s\n", program_name, name);
    }
    cur_test = 0;
}

/* ---- Start and end --------------------------------------------------------------------- */

void kmain(u32 magic) __attribute__((noreturn));
void kmain(u32 magic)
{
    ring0_stack_top = (u32)ring0_stack + sizeof(ring0_stack);
    ring1_stack_top = (u32)ring1_stack + sizeof(ring1_stack);
    ring2_stack_top = (u32)ring2_stack + sizeof(ring2_stack);
    outer_stack_top = (u32)outer_stack + sizeof(outer_stack);
    /* Mask both 8259 PICs: a firmware-programmed PIC would otherwise deliver IRQ 0 on vector 8
     * the moment a test sets IF. On a machine without a PIC these writes go nowhere. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    kprintf("START %s\n", program_name);
    if (magic != MULTIBOOT_BOOT_MAGIC) {
        kprintf("PANIC %s: EAX at entry 0x%x, want the multiboot magic 0x%x\n", program_name,
                magic, MULTIBOOT_BOOT_MAGIC);
        machine_exit(EXIT_PANIC);
    }
    reset_machine();
    program_main();
    kprintf("SUMMARY %s: passed=%u failed=%u skipped=%u\n", program_name, n_pass, n_fail, n_skip);
    machine_exit(n_fail ? EXIT_FAIL : EXIT_PASS);
}
