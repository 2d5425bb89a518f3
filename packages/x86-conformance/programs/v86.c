/* v86: virtual-8086 mode. IRET with VM=1 at ring 0 enters V86 (segment registers taken from
 * the 9-dword frame); real-mode addressing works there; INT n with IOPL 3 goes through the
 * IDT to the ring-0 handler with the V86 frame (ES, DS, FS, GS pushed, then nulled) and IRET
 * returns to V86; with IOPL < 3, INT n/CLI/STI/PUSHF/POPF/IRET are #GP(0) while INT3 is not
 * IOPL-sensitive (its gate's DPL decides); HLT and LIDT are always #GP(0); I/O ignores IOPL
 * and consults only the TSS bitmap. The real-mode code is v86-blob.S. */
#include "lib/conformance.h"

const char program_name[] = "v86";

#define V86_BASE 0x20000u /* where the blob is copied: CS = DS = 0x2000 */
#define V86_SEG (V86_BASE >> 4)
#define V86_SS 0x3000u
#define V86_SP 0x1000u

extern char v86_blob_start[], v86_blob_end[], v_basic[], v_basic_done[], v_int30[],
    v_int30_after[], v_int[], v_cli[], v_sti[], v_pushf[], v_popf[], v_popf_insn[], v_iret[],
    v_iret_insn[], v_hlt[], v_int3[], v_ud2[], v_inb[], v_lidt[], v_result_cs[], v_result_pop[],
    v_result_call[], v_result_ax[], v_result_si[];

/* A label's offset within the blob, i.e. its IP under CS = V86_SEG. */
static u32 ip(const char *label) { return (u32)(label - v86_blob_start); }
/* A blob word as the V86 code left it in the copy. */
static u32 result(const char *label) { return *(volatile u16 *)(V86_BASE + ip(label)); }

static void copy_blob(void)
{
    u32 n = (u32)(v86_blob_end - v86_blob_start);
    for (u32 i = 0; i < n; i++) ((volatile u8 *)V86_BASE)[i] = (u8)v86_blob_start[i];
}

static u32 run_v86(const char *entry, u32 iopl)
{
    struct excursion x = { ip(entry), V86_SEG, EFL_FIXED | EFL_VM | EFL_IOPL(iopl), V86_SP, V86_SS,
                           /* es */ 0, /* ds */ V86_SEG, /* fs */ 0x0F00, /* gs */ 0x0F10 };
    return enter_excursion(&x);
}

/* The V86 code stopped with `vector`/`error` at `insn` with SP = sp. */
static void expect_v86_fault(const char *what, u32 r, u32 vector, u32 error, const char *insn, u32 sp)
{
    expect_outer_fault(what, r, vector, error, ip(insn), V86_SEG, sp, V86_SS);
    if (r == vector) check_eq("frame EFLAGS.VM", trap.eflags & EFL_VM, EFL_VM);
}

static void test_enter_and_exit(void)
{
    copy_blob();
    *(volatile u16 *)0x12350 = 0;
    u32 r = run_v86(v_basic, 3);
    if (!check_eq("excursion end vector", r, VEC_EXIT)) return;
    check_eq("ES-relative write landed at 0x12350", *(volatile u16 *)0x12350, 0xBEEF);
    check_eq("CS in V86", result(v_result_cs), V86_SEG);
    check_eq("PUSH/POP", result(v_result_pop), 0x5678);
    check_eq("near CALL/RET", result(v_result_call), 0x4321);
    /* The exit's frame: EIP..SS then ES, DS, FS, GS as they were in V86. */
    check_eq("frame EIP", trap.eip, ip(v_basic_done));
    check_eq("frame CS", trap.cs, V86_SEG);
    check_eq("frame EFLAGS", trap.eflags, EFL_FIXED | EFL_VM | EFL_IOPL(3));
    check_eq("frame ESP", trap.esp, V86_SP);
    check_eq("frame SS", trap.ss, V86_SS);
    check_eq("frame ES", trap.v86_es, 0x1234);
    check_eq("frame DS", trap.v86_ds, V86_SEG);
    check_eq("frame FS", trap.v86_fs, 0x0F00);
    check_eq("frame GS", trap.v86_gs, 0x0F10);
    check_eq("9-dword frame: EIP at TSS.ESP0 - 36", trap.frame_at, ring0_stack_top - 36);
    check_eq("handler entered with DS null", trap.handler_ds, 0);
    check_eq("handler entered with ES null", trap.handler_es, 0);
    check_eq("handler entered with FS null", trap.handler_fs, 0);
    check_eq("handler entered with GS null", trap.handler_gs, 0);
    check_eq("handler SS is TSS.SS0", trap.handler_ss, SEL_KDATA);
}

static struct trap_record int30;
static void int30_hook(struct frame *f)
{
    int30 = *(struct trap_record *)&trap;
    f->eax = (f->eax & 0xFFFF0000u) | 0xCAFE;
}

static void test_int_and_iret_back(void)
{
    copy_blob();
    set_stub_gate(0x30, SYS_INT_GATE, 3);
    set_trap_hook(0x30, int30_hook);
    int30.count = 0;
    u32 r = run_v86(v_int30, 3);
    check_eq("excursion end vector", r, VEC_EXIT);
    if (!check_eq("INT 0x30 reached the handler", int30.vector, 0x30)) return;
    check_eq("INT frame EIP (after INT)", int30.eip, ip(v_int30_after));
    check_eq("INT frame CS", int30.cs, V86_SEG);
    check_eq("INT frame EFLAGS", int30.eflags, EFL_FIXED | EFL_VM | EFL_IOPL(3));
    check_eq("INT frame SS:SP", int30.ss << 16 | int30.esp, V86_SS << 16 | V86_SP);
    check_eq("INT frame DS", int30.v86_ds, V86_SEG);
    check_eq("interrupt gate cleared VM and IF in the handler", int30.handler_eflags & (EFL_VM | EFL_IF), 0);
    check_eq("AX set by the handler, seen after IRET", result(v_result_ax), 0xCAFE);
    check_eq("SI preserved across the round trip", result(v_result_si), 0x5555);
}

static void test_iopl_sensitive(void)
{
    copy_blob();
    set_stub_gate(0x30, SYS_INT_GATE, 3);
    static const struct { const char *what; const char *entry; const char *insn; u32 sp; } cases[] = {
        { "INT n", v_int, v_int, V86_SP },
        { "CLI", v_cli, v_cli, V86_SP },
        { "STI", v_sti, v_sti, V86_SP },
        { "PUSHF", v_pushf, v_pushf, V86_SP },
        { "POPF", v_popf, v_popf_insn, V86_SP - 2 },
        { "IRET", v_iret, v_iret_insn, V86_SP - 6 },
    };
    for (u32 i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (u32 iopl = 0; iopl < 3; iopl++) {
            u32 r = run_v86(cases[i].entry, iopl);
            expect_v86_fault(cases[i].what, r, 13, 0, cases[i].insn, cases[i].sp);
        }
    }
    /* With IOPL 3 they run (INT n and INT3 reach their DPL-3 gates). */
    set_stub_gate(3, SYS_INT_GATE, 3);
    check_eq("IOPL 3: INT n", run_v86(v_int, 3), 0x30);
    check_eq("IOPL 3: CLI", run_v86(v_cli, 3), VEC_EXIT);
    check_eq("IOPL 3: STI", run_v86(v_sti, 3), VEC_EXIT);
    check_eq("IOPL 3: PUSHF", run_v86(v_pushf, 3), VEC_EXIT);
    check_eq("IOPL 3: POPF", run_v86(v_popf, 3), VEC_EXIT);
    check_eq("IOPL 3: IRET", run_v86(v_iret, 3), VEC_EXIT);
}

static void test_int3_not_iopl_sensitive(void)
{
    /* INT3 (and INTO) are not IOPL-sensitive in V86 mode: the gate's DPL decides, as in
     * protected mode: a DPL-0 gate refuses CPL 3 with #GP(3*8+2), a DPL-3 gate admits it. */
    copy_blob();
    for (u32 iopl = 0; iopl <= 3; iopl++) {
        u32 r = run_v86(v_int3, iopl);
        expect_v86_fault("INT3, DPL 0 gate", r, 13, 3 * 8 + 2, v_int3, V86_SP);
    }
    set_stub_gate(3, SYS_INT_GATE, 3);
    for (u32 iopl = 0; iopl <= 3; iopl++) {
        u32 r = run_v86(v_int3, iopl);
        if (check_eq("INT3, DPL 3 gate", r, 3)) check_eq("INT3 frame EIP", trap.eip, ip(v_int3) + 1);
    }
}

static void test_always_privileged(void)
{
    copy_blob();
    u32 r = run_v86(v_hlt, 3);
    expect_v86_fault("HLT (CPL 3)", r, 13, 0, v_hlt, V86_SP);
    r = run_v86(v_lidt, 3);
    expect_v86_fault("LIDT (CPL 3)", r, 13, 0, v_lidt, V86_SP);
    r = run_v86(v_ud2, 3);
    expect_v86_fault("UD2", r, 6, NO_ERROR, v_ud2, V86_SP);
}

static void test_io_bitmap(void)
{
    copy_blob();
    /* No bitmap: even IOPL 3 does not allow I/O in V86 mode. */
    u32 r = run_v86(v_inb, 3);
    expect_v86_fault("IN, IOPL 3, no bitmap", r, 13, 0, v_inb, V86_SP);
    reload_main_tr(TSS32_SIZE + sizeof(main_tss.iomap) - 1);
    main_tss.iomap[0x80 >> 3] &= (u8)~(1u << (0x80 & 7));
    /* At IOPL 0 the IN passes and the INT 0x7F after it (2 bytes on) is what faults. */
    r = run_v86(v_inb, 0);
    expect_v86_fault("IN, IOPL 0, bitmap allows", r, 13, 0, v_inb + 2, V86_SP);
    main_tss.iomap[0x80 >> 3] |= (u8)(1u << (0x80 & 7));
    r = run_v86(v_inb, 3);
    expect_v86_fault("IN, IOPL 3, bitmap denies", r, 13, 0, v_inb, V86_SP);
}

void program_main(void)
{
    run_test("enter-and-exit", test_enter_and_exit);
    run_test("int-and-iret-back", test_int_and_iret_back);
    run_test("iopl-sensitive", test_iopl_sensitive);
    run_test("int3-not-iopl-sensitive", test_int3_not_iopl_sensitive);
    run_test("always-privileged", test_always_privileged);
    run_test("io-bitmap", test_io_bitmap);
}
