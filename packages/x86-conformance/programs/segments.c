/* segments: protected-mode segmentation. Loads of null, out-of-limit, wrong-privilege,
 * wrong-type and not-present selectors into data segment registers and SS, with the exact
 * exception and error code each must raise; limit checks on accesses for expand-up and
 * expand-down segments (byte and page granular, B=0 and B=1); the accessed bit written back
 * to the descriptor; conforming code segments; the LDT; LAR/LSL/VERR/VERW. */
#include "lib/conformance.h"

const char program_name[] = "segments";

/* A buffer that test segments are based on. Sized for an expand-down segment with B=1
 * probed just past 64 KiB. */
static u8 buf[0x12000] __attribute__((aligned(4096)));

/* ---- Ring-0 probes -------------------------------------------------------------------- */

static void probe_load_fs(u16 sel)
{
    trap_reset();
    __asm__ volatile(PROBE("movw %w0, %%fs") : : "r"(sel) : "memory");
}

static void probe_load_ss(u16 sel)
{
    /* SS is put back at once: everything after the probe runs on the kernel's SS. */
    trap_reset();
    __asm__ volatile("movw %%ss, %%dx\n\t" PROBE("movw %w0, %%ss") "movw %%dx, %%ss"
                     : : "r"(sel) : "edx", "memory");
}

/* Reads through FS at `off`; the value is 0xDEADBEEF if the read faulted. */
static u32 fs_read32(u32 off)
{
    u32 v = 0xDEADBEEF;
    trap_reset();
    __asm__ volatile(PROBE("movl %%fs:(%1), %0") : "+r"(v) : "r"(off) : "memory");
    return v;
}

static u32 fs_read8(u32 off)
{
    u32 v = 0xDEADBEEF;
    trap_reset();
    __asm__ volatile(PROBE("movzbl %%fs:(%1), %0") : "+r"(v) : "r"(off) : "memory");
    return v;
}

static void fs_write32(u32 off, u32 v)
{
    trap_reset();
    __asm__ volatile(PROBE("movl %0, %%fs:(%1)") : : "r"(v), "r"(off) : "memory");
}

/* Loads FS with `sel` (which must succeed) for the access checks that follow. */
static void use_fs(const char *what, u16 sel)
{
    probe_load_fs(sel);
    expect_no_trap(what);
}

/* ---- Ring-3/ring-1 snippets ----------------------------------------------------------- */

volatile u32 u_arg, u_arg2, u_out[4];
volatile struct { u32 off; u16 sel; } __attribute__((packed)) u_far;

__asm__(".pushsection .text\n"
        /* Load FS with u_arg. */
        ".globl u_load_fs, u_load_fs_insn\n"
        "u_load_fs: movl u_arg, %eax\n"
        "u_load_fs_insn: movw %ax, %fs\n"
        "  int $0x7F\n"
        /* Load SS with u_arg (restoring it is not needed: the excursion ends at once). */
        ".globl u_load_ss, u_load_ss_insn\n"
        "u_load_ss: movl u_arg, %eax\n"
        "u_load_ss_insn: movw %ax, %ss\n"
        "  int $0x7F\n"
        /* Far call through u_far, then exit. */
        ".globl u_lcall, u_lcall_insn, u_lcall_ret\n"
        "u_lcall: movl %esp, u_out+8\n"
        "u_lcall_insn: lcall *u_far\n"
        "u_lcall_ret: int $0x7F\n"
        /* Far jump through u_far. */
        ".globl u_ljmp, u_ljmp_insn\n"
        "u_ljmp:\n"
        "u_ljmp_insn: ljmp *u_far\n"
        "  int $0x7F\n"
        /* Target of a far call into a conforming segment: records CS and ESP, returns. */
        ".globl conf_target\n"
        "conf_target: movw %cs, %ax\n"
        "  movzwl %ax, %eax\n"
        "  movl %eax, u_out\n"
        "  movl %esp, u_out+4\n"
        "  lret\n"
        /* Read FS:u_arg2 after loading FS with u_arg. */
        ".globl u_fs_read, u_fs_read_insn\n"
        "u_fs_read: movl u_arg, %eax\n"
        "  movl u_arg2, %ebx\n"
        "  movw %ax, %fs\n"
        "u_fs_read_insn: movl %fs:(%ebx), %eax\n"
        "  movl %eax, u_out\n"
        "  int $0x7F\n"
        ".popsection");
extern char u_load_fs[], u_load_fs_insn[], u_load_ss[], u_load_ss_insn[], u_lcall[],
    u_lcall_insn[], u_lcall_ret[], u_ljmp[], u_ljmp_insn[], conf_target[], u_fs_read[],
    u_fs_read_insn[];

static void expect_outer_gp(const char *what, u32 ret, u32 error, const char *insn, u32 ring)
{
    static const u16 cs[4] = { SEL_KCODE, SEL_R1CODE, SEL_R2CODE, SEL_UCODE };
    static const u16 ss[4] = { SEL_KDATA, SEL_R1DATA, SEL_R2DATA, SEL_UDATA };
    expect_outer_fault(what, ret, 13, error, (u32)insn, cs[ring], outer_entry_esp(), ss[ring]);
}

static u64 data_desc(u32 base, u32 limit, u32 attr) { return seg_desc(base, limit, ACC_P | attr); }

/* ---- Null selectors ------------------------------------------------------------------- */

static void test_null_data_load(void)
{
    /* Loading a null selector (any RPL) into DS/ES/FS/GS is legal; only using it faults. */
    trap_reset();
    __asm__ volatile("movw %w0, %%ds\n\tmovw %w1, %%ds\n\t"
                     "movw %w0, %%es\n\tmovw %w1, %%es\n\t"
                     : : "r"(0), "r"(SEL_KDATA) : "memory");
    expect_no_trap("load 0 into DS and ES");
    probe_load_fs(0);
    expect_no_trap("load 0 into FS");
    probe_load_fs(3);
    expect_no_trap("load 3 (null, RPL 3) into FS");
    check_eq("FS after loading 3", read_fs(), 3);
    fs_read32(0);
    expect_fault("read through null FS", 13, 0);
    fs_write32(0x100, 1);
    expect_fault("write through null FS", 13, 0);
    trap_reset();
    __asm__ volatile("movw %w0, %%gs\n\t" PROBE("movl %%gs:0x10, %%eax")
                     : : "r"(0) : "eax", "memory");
    expect_fault("read through null GS", 13, 0);
}

static void test_null_ss_load(void)
{
    probe_load_ss(0);
    expect_fault("load 0 into SS", 13, 0);
    probe_load_ss(3);
    expect_fault("load 3 into SS", 13, 0);
}

/* ---- Limits ---------------------------------------------------------------------------- */

static void test_limit_expand_up(void)
{
    for (u32 i = 0; i < 0x1004; i++) buf[i] = (u8)(i * 7);
    set_gdt_sel(SCRATCH_SEL(0), data_desc((u32)buf, 0xFFF, ACC_DATA_RW | ACC_DB));
    use_fs("load byte-granular segment", SCRATCH_SEL(0));
    check_eq("byte at the limit", fs_read8(0xFFF), (u8)(0xFFF * 7));
    expect_no_trap("byte at the limit");
    check_eq("dword ending at the limit", fs_read32(0xFFC), *(u32 *)&buf[0xFFC]);
    expect_no_trap("dword ending at the limit");
    fs_read32(0xFFD);
    expect_fault("dword crossing the limit", 13, 0);
    fs_read8(0x1000);
    expect_fault("byte past the limit", 13, 0);
    *(volatile u32 *)&buf[0xFFE] = 0x11111111;
    fs_write32(0xFFE, 0x22222222);
    expect_fault("dword write crossing the limit", 13, 0);
    check_eq("memory under the faulting write", *(volatile u32 *)&buf[0xFFE], 0x11111111);

    /* Page granularity: a raw limit of 1 with G=1 means 0x1FFF. */
    set_gdt_sel(SCRATCH_SEL(1), data_desc((u32)buf, 1, ACC_DATA_RW | ACC_DB | ACC_G));
    use_fs("load page-granular segment", SCRATCH_SEL(1));
    fs_read8(0x1FFF);
    expect_no_trap("G=1: byte at 0x1FFF");
    fs_read8(0x2000);
    expect_fault("G=1: byte at 0x2000", 13, 0);
}

static void test_limit_stack_segment(void)
{
    /* A limit violation through SS is #SS(0), not #GP. The segment is base 0 and 16 MiB so
     * the handler's pushes onto the current stack still fit. */
    set_gdt_sel(SCRATCH_SEL(0), data_desc(0, 0xFFF, ACC_DATA_RW | ACC_DB | ACC_G));
    trap_reset();
    __asm__ volatile("movw %%ss, %%dx\n\t"
                     "movw %w0, %%ss\n\t"
                     PROBE("movl %%ss:0x00FFFFFC, %%eax")
                     PROBE("movl %%ss:0x00FFFFFD, %%eax")
                     "movw %%dx, %%ss"
                     : : "r"(SCRATCH_SEL(0)) : "eax", "edx", "memory");
    expect_fault("SS dword crossing the limit", 12, 0);
}

static void test_expand_down(void)
{
    for (u32 i = 0; i < sizeof(buf); i += 4) *(u32 *)&buf[i] = i ^ 0x5A5A0000;

    /* B=0: valid offsets are limit+1 .. 0xFFFF. */
    set_gdt_sel(SCRATCH_SEL(0), data_desc((u32)buf, 0xFFF, ACC_DATA_RW_ED));
    use_fs("load expand-down B=0", SCRATCH_SEL(0));
    check_eq("B=0: dword at limit+1", fs_read32(0x1000), 0x1000 ^ 0x5A5A0000);
    expect_no_trap("B=0: dword at limit+1");
    fs_read8(0xFFF);
    expect_fault("B=0: byte at the limit", 13, 0);
    fs_read32(0xFFE);
    expect_fault("B=0: dword straddling the limit", 13, 0);
    fs_read32(0xFFFC);
    expect_no_trap("B=0: dword ending at 0xFFFF");
    fs_read32(0xFFFD);
    expect_fault("B=0: dword crossing 0xFFFF", 13, 0);
    fs_read8(0x10000);
    expect_fault("B=0: byte at 0x10000", 13, 0);
    fs_read8(0);
    expect_fault("B=0: byte at 0", 13, 0);

    /* B=1: valid offsets are limit+1 .. 0xFFFFFFFF. */
    set_gdt_sel(SCRATCH_SEL(1), data_desc((u32)buf, 0xFFF, ACC_DATA_RW_ED | ACC_DB));
    use_fs("load expand-down B=1", SCRATCH_SEL(1));
    check_eq("B=1: dword at 0x10000", fs_read32(0x10000), 0x10000 ^ 0x5A5A0000);
    expect_no_trap("B=1: dword at 0x10000");
    fs_read8(0xFFF);
    expect_fault("B=1: byte at the limit", 13, 0);

    /* G=1 scales the limit to (raw << 12) | 0xFFF before the expand-down rule applies. */
    set_gdt_sel(SCRATCH_SEL(2), data_desc((u32)buf, 1, ACC_DATA_RW_ED | ACC_DB | ACC_G));
    use_fs("load expand-down G=1", SCRATCH_SEL(2));
    fs_read8(0x1FFF);
    expect_fault("G=1: byte at 0x1FFF", 13, 0);
    fs_read8(0x2000);
    expect_no_trap("G=1: byte at 0x2000");
}

static void test_expand_down_stack(void)
{
    /* The classic grow-down stack: base 0, limit 1 MiB - 1, B=1. The kernel stack lies above
     * 1 MiB so pushes work; an access below the limit is #SS(0). */
    set_gdt_sel(SCRATCH_SEL(0), data_desc(0, 0xFFFFF, ACC_DATA_RW_ED | ACC_DB));
    u32 pushed = 0;
    trap_reset();
    __asm__ volatile("movw %%ss, %%dx\n\t"
                     "movw %w1, %%ss\n\t"
                     "pushl $0x600DF00D\n\t"
                     "popl %0\n\t"
                     PROBE("movl %%ss:0x000FFFF0, %%eax")
                     "movw %%dx, %%ss"
                     : "=&r"(pushed) : "r"(SCRATCH_SEL(0)) : "eax", "edx", "memory");
    check_eq("push/pop on the expand-down stack", pushed, 0x600DF00D);
    expect_fault("SS access below the expand-down limit", 12, 0);
}

/* ---- Privilege and type checks on data loads ------------------------------------------- */

static void test_data_privilege_ring0(void)
{
    set_gdt_sel(SCRATCH_SEL(0), data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DPL(0) | ACC_G));
    set_gdt_sel(SCRATCH_SEL(1), data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DPL(1) | ACC_G));
    probe_load_fs(SCRATCH_SEL(0) | 3);
    expect_fault("DPL 0 data with RPL 3", 13, SCRATCH_SEL(0));
    probe_load_fs(SCRATCH_SEL(0) | 1);
    expect_fault("DPL 0 data with RPL 1", 13, SCRATCH_SEL(0));
    probe_load_fs(SCRATCH_SEL(1) | 2);
    expect_fault("DPL 1 data with RPL 2", 13, SCRATCH_SEL(1));
    probe_load_fs(SCRATCH_SEL(1) | 1);
    expect_no_trap("DPL 1 data with RPL 1");
    probe_load_fs(SEL_UDATA);
    expect_no_trap("DPL 3 data with RPL 3");
    probe_load_fs(SEL_UDATA & ~3);
    expect_no_trap("DPL 3 data with RPL 0");
}

static void test_data_privilege_outer(void)
{
    u32 r;
    u_arg = SEL_KDATA | 3;
    r = run_at(3, u_load_fs, 0);
    expect_outer_gp("ring 3 loads DPL 0 data", r, SEL_KDATA, u_load_fs_insn, 3);
    u_arg = SEL_R1DATA | 3;
    r = run_at(3, u_load_fs, 0);
    expect_outer_gp("ring 3 loads DPL 1 data", r, SEL_R1DATA & ~3, u_load_fs_insn, 3);
    u_arg = SEL_UDATA;
    r = run_at(3, u_load_fs, 0);
    check_eq("ring 3 loads DPL 3 data (excursion end vector)", r, VEC_EXIT);
    u_arg = SEL_KDATA | 1;
    r = run_at(1, u_load_fs, 0);
    expect_outer_gp("ring 1 loads DPL 0 data", r, SEL_KDATA, u_load_fs_insn, 1);
    u_arg = SEL_R1DATA;
    r = run_at(1, u_load_fs, 0);
    check_eq("ring 1 loads DPL 1 data", r, VEC_EXIT);
    u_arg = SEL_UDATA & ~3;
    r = run_at(1, u_load_fs, 0);
    check_eq("ring 1 loads DPL 3 data with RPL 0", r, VEC_EXIT);
    u_arg = SEL_KCODE | 3;
    r = run_at(3, u_load_fs, 0);
    expect_outer_gp("ring 3 loads DPL 0 readable code", r, SEL_KCODE, u_load_fs_insn, 3);
}

static void test_data_load_types(void)
{
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_X | ACC_DB | ACC_G));
    set_gdt_sel(SCRATCH_SEL(1), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XR | ACC_DB | ACC_G));
    set_gdt_sel(SCRATCH_SEL(2), seg_desc((u32)buf, 0xFF, ACC_P | SYS_LDT));
    set_gdt_sel(SCRATCH_SEL(3), gate_desc(SYS_CALL_GATE, 0, SEL_KCODE, 0, 0, 1));
    probe_load_fs(SCRATCH_SEL(0));
    expect_fault("execute-only code into FS", 13, SCRATCH_SEL(0));
    probe_load_fs(SCRATCH_SEL(1));
    expect_no_trap("readable code into FS");
    check_eq("read through readable code", fs_read32((u32)buf), *(u32 *)buf);
    probe_load_fs(SEL_TSS);
    expect_fault("TSS descriptor into FS", 13, SEL_TSS);
    probe_load_fs(SCRATCH_SEL(2));
    expect_fault("LDT descriptor into FS", 13, SCRATCH_SEL(2));
    probe_load_fs(SCRATCH_SEL(3));
    expect_fault("call gate into FS", 13, SCRATCH_SEL(3));
    probe_load_fs(GDT_ENTRIES * 8);
    expect_fault("selector past the GDT limit", 13, GDT_ENTRIES * 8);
}

static void test_write_protection(void)
{
    /* A read-only data segment loads fine but refuses writes. */
    set_gdt_sel(SCRATCH_SEL(0), data_desc((u32)buf, 0xFFF, ACC_DATA_RO | ACC_DB));
    use_fs("read-only data into FS", SCRATCH_SEL(0));
    fs_read32(0);
    expect_no_trap("read through read-only data");
    *(volatile u32 *)buf = 0x12345678;
    fs_write32(0, 0);
    expect_fault("write through read-only data", 13, 0);
    check_eq("memory under the refused write", *(volatile u32 *)buf, 0x12345678);
    /* A readable code segment in a data register is never writable. */
    set_gdt_sel(SCRATCH_SEL(1), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XR | ACC_DB | ACC_G));
    use_fs("readable code into FS", SCRATCH_SEL(1));
    fs_write32((u32)buf, 0);
    expect_fault("write through a code segment", 13, 0);
    /* Nor is CS itself. */
    trap_reset();
    __asm__ volatile(PROBE("movl %%eax, %%cs:(%0)") : : "r"(buf) : "memory");
    expect_fault("write through CS", 13, 0);
}

static void test_not_present(void)
{
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DB | ACC_G)); /* P=0 */
    probe_load_fs(SCRATCH_SEL(0));
    expect_fault("not-present data into FS", 11, SCRATCH_SEL(0));
    /* Privilege is checked before presence. */
    probe_load_fs(SCRATCH_SEL(0) | 3);
    expect_fault("not-present data with RPL 3", 13, SCRATCH_SEL(0));
    /* Into SS a not-present segment is #SS(selector). */
    probe_load_ss(SCRATCH_SEL(0));
    expect_fault("not-present data into SS", 12, SCRATCH_SEL(0));
}

static void test_ss_loads(void)
{
    set_gdt_sel(SCRATCH_SEL(0), data_desc(0, 0xFFFFF, ACC_DATA_RO | ACC_DB | ACC_G));
    set_gdt_sel(SCRATCH_SEL(1), data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DB | ACC_G));
    probe_load_ss(SEL_UDATA);
    expect_fault("SS: DPL 3 data with RPL 3 at CPL 0", 13, SEL_UDATA & ~3);
    probe_load_ss(SEL_UDATA & ~3);
    expect_fault("SS: DPL 3 data with RPL 0 at CPL 0", 13, SEL_UDATA & ~3);
    probe_load_ss(SEL_KDATA | 1);
    expect_fault("SS: DPL 0 data with RPL 1", 13, SEL_KDATA);
    probe_load_ss(SCRATCH_SEL(0));
    expect_fault("SS: read-only data", 13, SCRATCH_SEL(0));
    probe_load_ss(SEL_KCODE);
    expect_fault("SS: readable code", 13, SEL_KCODE);
    probe_load_ss(SCRATCH_SEL(1));
    expect_no_trap("SS: writable DPL 0 data");
    u32 r;
    u_arg = SEL_KDATA | 3;
    r = run_at(3, u_load_ss, 0);
    expect_outer_gp("ring 3 SS: DPL 0 data", r, SEL_KDATA, u_load_ss_insn, 3);
    u_arg = SEL_R1DATA;
    r = run_at(3, u_load_ss, 0);
    expect_outer_gp("ring 3 SS: DPL 1 data with RPL 1", r, SEL_R1DATA & ~3, u_load_ss_insn, 3);
}

/* ---- Accessed bit ---------------------------------------------------------------------- */

static void test_accessed_bit(void)
{
    set_gdt_sel(SCRATCH_SEL(0), data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DB | ACC_G));
    set_gdt_sel(SCRATCH_SEL(1), data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DB | ACC_G));
    check_eq("A clear before the load", desc_access_byte(get_gdt_sel(SCRATCH_SEL(0))) & 1, 0);
    use_fs("load FS", SCRATCH_SEL(0));
    check_eq("A set by a data load", desc_access_byte(get_gdt_sel(SCRATCH_SEL(0))) & 1, 1);
    probe_load_ss(SCRATCH_SEL(1));
    expect_no_trap("load SS");
    check_eq("A set by an SS load", desc_access_byte(get_gdt_sel(SCRATCH_SEL(1))) & 1, 1);
    /* The rest of the descriptor is untouched. */
    check_eq("descriptor otherwise unchanged", (u32)(get_gdt_sel(SCRATCH_SEL(0)) >> 32),
             (u32)(data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DB | ACC_G | ACC_A) >> 32));
}

static void test_accessed_bit_cs(void)
{
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XR | ACC_DB | ACC_G));
    __asm__ volatile("ljmp %0, $1f\n1:\tljmp %1, $2f\n2:"
                     : : "i"(SCRATCH_SEL(0)), "i"(SEL_KCODE) : "memory");
    check_eq("A set by a far jump", desc_access_byte(get_gdt_sel(SCRATCH_SEL(0))) & 1, 1);
}

/* ---- Conforming code ------------------------------------------------------------------- */

static void test_conforming(void)
{
    u32 sel_c0 = SCRATCH_SEL(0), sel_nc0 = SCRATCH_SEL(1), sel_c3 = SCRATCH_SEL(2);
    u32 sel_cx0 = SCRATCH_SEL(3);
    set_gdt_sel(sel_c0, seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XRC | ACC_DB | ACC_G));
    set_gdt_sel(sel_nc0, seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XR | ACC_DB | ACC_G));
    set_gdt_sel(sel_c3, seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XRC | ACC_DPL(3) | ACC_DB | ACC_G));
    set_gdt_sel(sel_cx0, seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XC | ACC_DB | ACC_G));

    /* Ring 3 calls DPL-0 conforming code: allowed, CPL stays 3, so CS.RPL becomes 3 and the
     * stack is not switched. */
    u_far.off = (u32)conf_target;
    u_far.sel = sel_c0;
    u_out[0] = u_out[1] = 0;
    u32 r = run_at(3, u_lcall, 0);
    check_eq("ring 3 far call to conforming DPL 0 code", r, VEC_EXIT);
    check_eq("CS inside conforming code", u_out[0], sel_c0 | 3);
    check_eq("ESP inside conforming code (same stack)", u_out[1], u_out[2] - 8);

    /* Ring 3 may not jump to non-conforming DPL-0 code. */
    u_far.sel = sel_nc0;
    r = run_at(3, u_ljmp, 0);
    expect_outer_gp("ring 3 far jump to non-conforming DPL 0", r, sel_nc0, u_ljmp_insn, 3);

    /* Conforming code must have DPL <= CPL: ring 0 may not jump to DPL-3 conforming code. */
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $2f") : : "i"(SCRATCH_SEL(2)) : "memory");
    expect_fault("ring 0 far jump to conforming DPL 3", 13, sel_c3);

    /* Readable conforming code loads into a data register from any ring... */
    u_arg = sel_c0 | 3;
    u_arg2 = (u32)buf;
    *(u32 *)buf = 0x0C0FFEE0;
    u_out[0] = 0;
    r = run_at(3, u_fs_read, 0);
    check_eq("ring 3 loads conforming DPL 0 code into FS and reads it", r, VEC_EXIT);
    check_eq("value read through it", u_out[0], 0x0C0FFEE0);
    /* ...but execute-only conforming code does not. */
    u_arg = sel_cx0 | 3;
    r = run_at(3, u_load_fs, 0);
    expect_outer_gp("ring 3 loads execute-only conforming code", r, sel_cx0, u_load_fs_insn, 3);
}

/* ---- LDT -------------------------------------------------------------------------------- */

static u64 ldt[4] __attribute__((aligned(8)));

static void test_ldt(void)
{
    u32 ldt_sel = SCRATCH_SEL(0);
    for (u32 i = 0; i < 16; i++) buf[i] = (u8)(0xA0 + i);
    ldt[0] = data_desc((u32)buf, 0xFFF, ACC_DATA_RW | ACC_DB); /* accessed bit clear */
    ldt[1] = data_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DPL(3) | ACC_DB | ACC_G | ACC_A);
    set_gdt_sel(ldt_sel, seg_desc((u32)ldt, 2 * 8 - 1, ACC_P | SYS_LDT));
    lldt(ldt_sel);
    check_eq("SLDT", read_ldtr(), ldt_sel);

    use_fs("load LDT selector 0x04", 0x04);
    check_eq("read through the LDT segment", fs_read32(0), *(u32 *)buf);
    check_eq("A set in the LDT descriptor", desc_access_byte(ldt[0]) & 1, 1);
    use_fs("load LDT selector 0x0F", 0x0F);
    probe_load_fs(0x14);
    expect_fault("LDT selector past the LDT limit", 13, 0x14);
    probe_load_fs(0x07);
    expect_fault("LDT data DPL 0 with RPL 3", 13, 0x04);

    /* LLDT takes only an LDT descriptor from the GDT. */
    trap_reset();
    __asm__ volatile(PROBE("lldt %w0") : : "r"(SEL_KDATA) : "memory");
    expect_fault("LLDT of a data descriptor", 13, SEL_KDATA);
    trap_reset();
    __asm__ volatile(PROBE("lldt %w0") : : "r"(0x04) : "memory");
    expect_fault("LLDT of an LDT-relative selector", 13, 0x04);
    set_gdt_sel(SCRATCH_SEL(1), seg_desc((u32)ldt, 2 * 8 - 1, SYS_LDT)); /* P=0 */
    trap_reset();
    __asm__ volatile(PROBE("lldt %w0") : : "r"(SCRATCH_SEL(1)) : "memory");
    expect_fault("LLDT of a not-present LDT", 11, SCRATCH_SEL(1));

    /* With a null LDTR every LDT-relative selector faults (FS must not hold one first, or
     * the handler's own reload of FS would fault). */
    load_fs(SEL_KDATA);
    lldt(0);
    probe_load_fs(0x04);
    expect_fault("LDT selector with null LDTR", 13, 0x04);
}

/* ---- Code segment limit --------------------------------------------------------------- */

/* A tiny code segment based at climit_start with limit 2: offsets 0-2 are inside. Offset 0
 * jumps to offset 3 (outside), offset 2 is a NOP whose successor is outside. */
__asm__(".pushsection .text\n"
        ".balign 16\n"
        ".globl climit_start\n"
        "climit_start:\n"
        "  jmp climit_beyond\n"   /* offset 0, two bytes */
        "  nop\n"                 /* offset 2: the last byte inside the limit */
        "climit_beyond:\n"        /* offset 3 */
        "  nop\n"
        "  ud2\n"
        ".popsection");
extern char climit_start[];

/* Faults inside the test segment are resumed in the kernel's code segment. */
static void climit_hook(struct frame *f)
{
    f->cs = SEL_KCODE;
    f->eip = resume_eip;
    resume_eip = 0;
}

static u32 setup_climit(void)
{
    u32 sel = SCRATCH_SEL(0);
    set_gdt_sel(sel, seg_desc((u32)climit_start, 2, ACC_P | ACC_CODE_XR | ACC_DB | ACC_A));
    set_trap_hook(13, climit_hook);
    return sel;
}

static void test_code_limit_far(void)
{
    /* A far jump past the limit faults on the jump itself. */
    setup_climit();
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $3") : : "i"(SCRATCH_SEL(0)) : "memory");
    expect_fault("far jump past the CS limit", 13, 0);
}

static void test_code_limit_near(void)
{
    /* A near jump past the limit faults on the jump, in the new segment. */
    u32 sel = setup_climit();
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $0") : : "i"(SCRATCH_SEL(0)) : "memory");
    if (check_eq("near jump past the limit: traps", trap.count, 1) &&
        check_eq("vector", trap.vector, 13)) {
        check_eq("error code", trap.error, 0);
        check_eq("saved CS", trap.cs, sel);
        check_eq("saved EIP (the near jump)", trap.eip, 0);
    }
}

static void test_code_limit_run_off(void)
{
    /* Running off the end faults on the first byte past the limit. */
    u32 sel = setup_climit();
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $2") : : "i"(SCRATCH_SEL(0)) : "memory");
    if (check_eq("running past the limit: traps", trap.count, 1) &&
        check_eq("vector", trap.vector, 13)) {
        check_eq("error code", trap.error, 0);
        check_eq("saved CS", trap.cs, sel);
        check_eq("saved EIP (first offset past the limit)", trap.eip, 3);
    }
}

/* ---- LAR, LSL, VERR, VERW --------------------------------------------------------------- */

/* Runs `insn %1, %0`-style checks and returns ZF. */
static u32 lar(u32 sel, u32 *out)
{
    u32 zf, v = 0xDEAD;
    __asm__ volatile("larl %2, %0\n\tsetz %b1\n\tmovzbl %b1, %1" : "+r"(v), "=q"(zf) : "r"(sel) : "cc");
    *out = v;
    return zf;
}
static u32 lsl(u32 sel, u32 *out)
{
    u32 zf, v = 0xDEAD;
    __asm__ volatile("lsll %2, %0\n\tsetz %b1\n\tmovzbl %b1, %1" : "+r"(v), "=q"(zf) : "r"(sel) : "cc");
    *out = v;
    return zf;
}
static u32 verr(u32 sel)
{
    u32 zf;
    __asm__ volatile("verr %w1\n\tsetz %b0\n\tmovzbl %b0, %0" : "=q"(zf) : "r"(sel) : "cc");
    return zf;
}
static u32 verw(u32 sel)
{
    u32 zf;
    __asm__ volatile("verw %w1\n\tsetz %b0\n\tmovzbl %b0, %0" : "=q"(zf) : "r"(sel) : "cc");
    return zf;
}

static void test_lar_lsl_verr_verw(void)
{
    u64 d = data_desc(0x12345678, 0x00003, ACC_DATA_RO | ACC_DPL(2) | ACC_DB | ACC_G);
    set_gdt_sel(SCRATCH_SEL(0), d);
    set_gdt_sel(SCRATCH_SEL(1), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_X | ACC_DB | ACC_G));
    set_gdt_sel(SCRATCH_SEL(2), gate_desc(SYS_CALL_GATE, 0, SEL_KCODE, 0, 0, 1));
    u32 v;
    check_eq("LAR ZF", lar(SCRATCH_SEL(0), &v), 1);
    /* Bits 16-19 of the result are undefined; the rest is the high dword masked. */
    check_eq("LAR value", v & 0x00F0FF00, (u32)(d >> 32) & 0x00F0FF00);
    check_eq("LSL ZF", lsl(SCRATCH_SEL(0), &v), 1);
    check_eq("LSL value (page-granular limit scaled)", v, 0x3FFF);
    check_eq("LAR of null: ZF", lar(0, &v), 0);
    check_eq("LAR of null leaves the destination", v, 0xDEAD);
    check_eq("LSL past the GDT: ZF", lsl(GDT_ENTRIES * 8, &v), 0);
    check_eq("LSL of a call gate: ZF", lsl(SCRATCH_SEL(2), &v), 0);
    check_eq("VERR of read-only data", verr(SCRATCH_SEL(0)), 1);
    check_eq("VERW of read-only data", verw(SCRATCH_SEL(0)), 0);
    check_eq("VERW of writable data", verw(SEL_KDATA), 1);
    check_eq("VERR of execute-only code", verr(SCRATCH_SEL(1)), 0);
    check_eq("VERR of readable code", verr(SEL_KCODE), 1);
    check_eq("LAR of the TSS", lar(SEL_TSS, &v), 1);
    check_eq("LAR of the TSS: busy type", (v >> 8) & 0xF, SYS_TSS_BUSY);
    /* Privilege: DPL 2 is invisible to RPL 3. */
    check_eq("LAR with RPL 3 of DPL 2 data: ZF", lar(SCRATCH_SEL(0) | 3, &v), 0);
    check_eq("VERR with RPL 3 of DPL 2 data", verr(SCRATCH_SEL(0) | 3), 0);
}

void program_main(void)
{
    run_test("null-data-load", test_null_data_load);
    run_test("null-ss-load", test_null_ss_load);
    run_test("limit-expand-up", test_limit_expand_up);
    run_test("limit-stack-segment", test_limit_stack_segment);
    run_test("expand-down", test_expand_down);
    run_test("expand-down-stack", test_expand_down_stack);
    run_test("data-privilege-ring0", test_data_privilege_ring0);
    run_test("data-privilege-outer", test_data_privilege_outer);
    run_test("data-load-types", test_data_load_types);
    run_test("write-protection", test_write_protection);
    run_test("not-present", test_not_present);
    run_test("ss-loads", test_ss_loads);
    run_test("accessed-bit", test_accessed_bit);
    run_test("accessed-bit-cs", test_accessed_bit_cs);
    run_test("conforming-code", test_conforming);
    run_test("code-limit-far", test_code_limit_far);
    run_test("code-limit-near", test_code_limit_near);
    run_test("code-limit-run-off", test_code_limit_run_off);
    run_test("ldt", test_ldt);
    run_test("lar-lsl-verr-verw", test_lar_lsl_verr_verw);
}
