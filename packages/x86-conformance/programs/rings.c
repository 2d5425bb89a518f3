/* rings: privilege levels. The ring-0 kernel drops to rings 1, 2 and 3 with IRET (and IRET's
 * checks on the way out: CS/SS selectors, segment registers nulled), comes back through a
 * DPL-3 trap gate and a DPL-3 interrupt gate with the stack switched to TSS.SS0:ESP0 and the
 * exact frame pushed, refuses INT n through a DPL-0 gate with #GP(n*8+2), and refuses every
 * privileged instruction outside ring 0 with #GP(0). POPF's quiet refusals are checked too. */
#include "lib/conformance.h"

const char program_name[] = "rings";

volatile u32 u_arg, u_out[8];

/* u_report stores CS SS DS ES FS GS ESP EFLAGS into u_out[0..7] through SS (DS may have been
 * nulled by the IRET that got here). */
__asm__(".pushsection .text\n"
        ".globl u_report\n"
        "u_report:\n"
        "  movw %cs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out\n"
        "  movw %ss, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+4\n"
        "  movw %ds, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+8\n"
        "  movw %es, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+12\n"
        "  movw %fs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+16\n"
        "  movw %gs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+20\n"
        "  movl %esp, %ss:u_out+24\n"
        "  pushfl\n  popl %eax\n  movl %eax, %ss:u_out+28\n"
        "  int $0x7F\n"
        ".globl u_report_done\n"
        "u_report_done:\n"
        /* A system call: EAX in, EAX out, EFLAGS after the return recorded. */
        ".globl u_syscall, u_syscall_int, u_syscall_after\n"
        "u_syscall: movl $1234, %eax\n"
        "u_syscall_int: int $0x80\n"
        "u_syscall_after: movl %eax, u_out\n"
        "  pushfl\n  popl u_out+4\n"
        "  int $0x7F\n"
        ".globl u_int81, u_int81_after\n"
        "u_int81: int $0x81\n"
        "u_int81_after: int $0x7F\n"
        ".globl u_int30\n"
        "u_int30: int $0x30\n  int $0x7F\n"
        ".globl u_int3\n"
        "u_int3: int3\n  int $0x7F\n"
        ".globl u_int_3\n"
        "u_int_3: int $3\n  int $0x7F\n"
        ".globl u_into, u_into_insn\n"
        "u_into: movl $0x7FFFFFFF, %eax\n  addl $1, %eax\n"
        "u_into_insn: into\n  int $0x7F\n"
        ".globl u_ud2\n"
        "u_ud2: ud2\n"
        /* POPF of u_arg, then PUSHF into u_out[0]. */
        ".globl u_popf\n"
        "u_popf: pushl u_arg\n  popfl\n  pushfl\n  popl u_out\n  int $0x7F\n"
        /* CLI then STI, recording EFLAGS after each. */
        ".globl u_cli_sti\n"
        "u_cli_sti: cli\n  pushfl\n  popl u_out\n  sti\n  pushfl\n  popl u_out+4\n  int $0x7F\n"
        ".popsection");
extern char u_report[], u_report_done[], u_syscall[], u_syscall_int[], u_syscall_after[], u_int81[],
    u_int81_after[], u_int30[], u_int3[], u_int_3[], u_into[], u_into_insn[], u_ud2[], u_popf[],
    u_cli_sti[];

/* Privileged instructions: each snippet starts with the instruction, which must #GP(0)
 * outside ring 0 before touching any operand (EAX is 0 on entry). */
#define PRIVILEGED(X)                                                                           \
    X(hlt, "hlt")                                                                               \
    X(mov_to_cr3, "movl %eax, %cr3")                                                            \
    X(mov_to_cr0, "movl %eax, %cr0")                                                            \
    X(mov_from_cr0, "movl %cr0, %eax")                                                          \
    X(mov_to_dr7, "movl %eax, %dr7")                                                            \
    X(lgdt, "lgdt (%eax)")                                                                      \
    X(lidt, "lidt (%eax)")                                                                      \
    X(lldt, "lldt %ax")                                                                         \
    X(ltr, "ltr %ax")                                                                           \
    X(lmsw, "lmsw %ax")                                                                         \
    X(clts, "clts")                                                                             \
    X(invlpg, "invlpg (%eax)")                                                                  \
    X(wbinvd, "wbinvd")                                                                         \
    X(cli_iopl0, "cli")                                                                         \
    X(sti_iopl0, "sti")

#define SNIPPET(name, insn) ".globl u_priv_" #name "\nu_priv_" #name ": " insn "\n  int $0x7F\n"
__asm__(".pushsection .text\n" PRIVILEGED(SNIPPET) ".popsection");
#define DECLARE(name, insn) extern char u_priv_##name[];
PRIVILEGED(DECLARE)
#define ENTRY(name, insn) { insn, u_priv_##name },
static const struct { const char *insn; const char *code; } privileged[] = { PRIVILEGED(ENTRY) };

static const u16 code_sel[4] = { SEL_KCODE, SEL_R1CODE, SEL_R2CODE, SEL_UCODE };
static const u16 data_sel[4] = { SEL_KDATA, SEL_R1DATA, SEL_R2DATA, SEL_UDATA };

/* RF is set in fault frames by Intel CPUs and not by every emulator; it is not under test. */
static u32 frame_eflags(void) { return trap.eflags & ~EFL_RF; }

/* ---- IRET outward --------------------------------------------------------------------- */

static void check_ring(u32 ring)
{
    static const char *const names[4] = { "ring 0", "ring 1", "ring 2", "ring 3" };
    const char *n = names[ring];
    for (u32 i = 0; i < 8; i++) u_out[i] = 0;
    u32 r = run_at(ring, u_report, EFL_IOPL(0));
    if (!check_eq("excursion end vector", r, VEC_EXIT)) return;
    check_eq(n, u_out[0], code_sel[ring]);
    check_eq("SS", u_out[1], data_sel[ring]);
    check_eq("DS", u_out[2], data_sel[ring]);
    check_eq("ES", u_out[3], data_sel[ring]);
    check_eq("FS", u_out[4], data_sel[ring]);
    check_eq("GS", u_out[5], data_sel[ring]);
    check_eq("ESP", u_out[6], outer_entry_esp());
    check_eq("EFLAGS", u_out[7], EFL_FIXED);
    /* The way back in: stack switched to TSS.SS0:ESP0, a 5-dword frame (no error code). */
    check_eq("exit frame: CS", trap.cs, code_sel[ring]);
    check_eq("exit frame: SS", trap.ss, data_sel[ring]);
    check_eq("exit frame: ESP", trap.esp, outer_entry_esp());
    check_eq("exit frame: EIP after INT", trap.eip, (u32)u_report_done);
    check_eq("handler SS is TSS.SS0", trap.handler_ss, SEL_KDATA);
    check_eq("frame at TSS.ESP0 - 20", trap.frame_at, ring0_stack_top - 20);
}

static void test_iret_to_ring3(void) { check_ring(3); }
static void test_iret_to_ring1(void) { check_ring(1); }
static void test_iret_to_ring2(void) { check_ring(2); }

static void test_esp0_read_at_each_entry(void)
{
    /* TSS.ESP0 is read from memory on every inward transition, not cached by LTR. */
    main_tss.t.esp0 = ring0_stack_top - 256;
    u32 r = run_at(3, u_report, 0);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("frame at the new ESP0 - 20", trap.frame_at, ring0_stack_top - 256 - 20);
}

static void test_iret_nulls_segments(void)
{
    /* Returning to ring 3, IRET nulls DS/ES/FS/GS holding data or non-conforming code with
     * DPL < 3, and keeps DPL-3 data and conforming code. */
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XRC | ACC_DB | ACC_G | ACC_A));
    struct excursion x = { (u32)u_report, SEL_UCODE, EFL_FIXED, outer_entry_esp(), SEL_UDATA,
                           /* es */ SEL_R1DATA, /* ds */ SEL_KDATA, /* fs */ SEL_UDATA, /* gs */ SEL_KCODE };
    u32 r = enter_excursion(&x);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("DS (DPL 0 data) nulled", u_out[2], 0);
    check_eq("ES (DPL 1 data) nulled", u_out[3], 0);
    check_eq("FS (DPL 3 data) kept", u_out[4], SEL_UDATA);
    check_eq("GS (DPL 0 non-conforming code) nulled", u_out[5], 0);
    x.gs = SCRATCH_SEL(0);
    x.es = SEL_UDATA;
    r = enter_excursion(&x);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("GS (DPL 0 conforming code) kept", u_out[5], SCRATCH_SEL(0));
    check_eq("ES (DPL 3 data) kept", u_out[3], SEL_UDATA);
    /* To ring 1, DPL-1 data survives and DPL-0 data does not. */
    x = (struct excursion){ (u32)u_report, SEL_R1CODE, EFL_FIXED, outer_entry_esp(), SEL_R1DATA,
                            SEL_R1DATA, SEL_KDATA, SEL_R2DATA, SEL_UDATA };
    r = enter_excursion(&x);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("ring 1: DS (DPL 0) nulled", u_out[2], 0);
    check_eq("ring 1: ES (DPL 1) kept", u_out[3], SEL_R1DATA);
    check_eq("ring 1: FS (DPL 2) kept", u_out[4], SEL_R2DATA);
    check_eq("ring 1: GS (DPL 3) kept", u_out[5], SEL_UDATA);
}

/* IRET at ring 0 with a hand-built outer-ring frame that must be refused. */
static void probe_iret(u32 eip, u32 cs, u32 eflags, u32 esp, u32 ss)
{
    trap_reset();
    __asm__ volatile("pushl %4\n\tpushl %3\n\tpushl %2\n\tpushl %1\n\tpushl %0\n\t" PROBE("iret")
                     "addl $20, %%esp"
                     : : "r"(eip), "r"(cs), "r"(eflags), "r"(esp), "r"(ss) : "memory");
}

static void test_iret_checks(void)
{
    u32 esp = outer_entry_esp();
    u32 code = (u32)u_report;
    probe_iret(code, SEL_UCODE, EFL_FIXED, esp, SEL_KDATA);
    expect_fault("SS RPL 0 with CS RPL 3", 13, SEL_KDATA);
    probe_iret(code, SEL_UCODE, EFL_FIXED, esp, SEL_KDATA | 3);
    expect_fault("SS RPL 3 but DPL 0", 13, SEL_KDATA);
    probe_iret(code, SEL_UCODE, EFL_FIXED, esp, SEL_R1DATA | 2);
    expect_fault("SS RPL 2 with CS RPL 3", 13, SEL_R1DATA & ~3);
    probe_iret(code, SEL_KCODE | 3, EFL_FIXED, esp, SEL_UDATA);
    expect_fault("CS RPL 3 on DPL 0 non-conforming code", 13, SEL_KCODE);
    probe_iret(code, SEL_UCODE, EFL_FIXED, esp, 0);
    expect_fault("null SS", 13, 0);
    probe_iret(code, 0, EFL_FIXED, esp, SEL_UDATA);
    expect_fault("null CS", 13, 0);
    probe_iret(code, SEL_UDATA, EFL_FIXED, esp, SEL_UDATA);
    expect_fault("data segment as CS", 13, SEL_UDATA & ~3);
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_CODE_XR | ACC_DPL(3) | ACC_DB | ACC_G)); /* P=0 */
    probe_iret(code, SCRATCH_SEL(0) | 3, EFL_FIXED, esp, SEL_UDATA);
    expect_fault("not-present CS", 11, SCRATCH_SEL(0));
    set_gdt_sel(SCRATCH_SEL(1), seg_desc(0, 0xFFFFF, ACC_DATA_RW | ACC_DPL(3) | ACC_DB | ACC_G)); /* P=0 */
    probe_iret(code, SEL_UCODE, EFL_FIXED, esp, SCRATCH_SEL(1) | 3);
    /* Unlike MOV SS (#SS), IRET and RET report a not-present SS with #NP(selector). */
    expect_fault("not-present SS", 11, SCRATCH_SEL(1));
}

/* ---- Gates inward ---------------------------------------------------------------------- */

static void syscall_hook(struct frame *f) { f->eax += 1; }

static void test_int80_trap_gate(void)
{
    set_stub_gate(0x80, SYS_TRAP_GATE, 3);
    set_trap_hook(0x80, syscall_hook);
    /* IF=1 (the PICs are masked) and NT=1 at ring 3, to see what the gate does to them. */
    u32 user_flags = EFL_FIXED | EFL_IF | EFL_NT;
    u32 r = run_at(3, u_syscall, user_flags);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("EAX returned by the handler", u_out[0], 1235);
    check_eq("EFLAGS back in ring 3", u_out[1], user_flags);
    /* trap holds the last trap, VEC_EXIT; run again stopping at the INT 0x80 to see its frame. */
    set_trap_hook(0x80, 0);
    r = run_at(3, u_syscall, user_flags);
    if (!check_eq("vector", r, 0x80)) return;
    check_eq("frame EIP (after INT)", trap.eip, (u32)u_syscall_after);
    check_eq("frame CS", trap.cs, SEL_UCODE);
    check_eq("frame EFLAGS", trap.eflags, user_flags);
    check_eq("frame ESP", trap.esp, outer_entry_esp());
    check_eq("frame SS", trap.ss, SEL_UDATA);
    check_eq("frame at TSS.ESP0 - 20", trap.frame_at, ring0_stack_top - 20);
    check_eq("trap gate keeps IF", trap.handler_eflags & EFL_IF, EFL_IF);
    check_eq("gate clears NT", trap.handler_eflags & EFL_NT, 0);
    check_eq("DS unchanged on entry", trap.handler_ds, SEL_UDATA);
    check_eq("handler SS", trap.handler_ss, SEL_KDATA);
}

static void test_int81_interrupt_gate(void)
{
    set_stub_gate(0x81, SYS_INT_GATE, 3);
    u32 user_flags = EFL_FIXED | EFL_IF;
    u32 r = run_at(3, u_int81, user_flags);
    if (!check_eq("vector", r, 0x81)) return;
    check_eq("frame EIP", trap.eip, (u32)u_int81_after);
    check_eq("frame EFLAGS has IF", trap.eflags, user_flags);
    check_eq("interrupt gate clears IF", trap.handler_eflags & EFL_IF, 0);
}

static void test_int_through_dpl0_gate(void)
{
    u32 esp = outer_entry_esp();
    u32 r = run_at(3, u_int30, 0);
    expect_outer_fault("ring 3 INT 0x30, DPL 0 gate", r, 13, 0x30 * 8 + 2, (u32)u_int30, SEL_UCODE,
                       esp, SEL_UDATA);
    /* Six dwords: the error code sits below EIP, so EIP is still at ESP0 - 20. */
    check_eq("#GP frame: EIP at TSS.ESP0 - 20", trap.frame_at, ring0_stack_top - 20);
    check_eq("#GP frame EFLAGS", frame_eflags(), EFL_FIXED);
    r = run_at(1, u_int30, 0);
    expect_outer_fault("ring 1 INT 0x30, DPL 0 gate", r, 13, 0x30 * 8 + 2, (u32)u_int30,
                       SEL_R1CODE, esp, SEL_R1DATA);
    /* A DPL-1 gate admits ring 1 but not ring 3. */
    set_stub_gate(0x30, SYS_INT_GATE, 1);
    r = run_at(1, u_int30, 0);
    check_eq("ring 1 INT 0x30, DPL 1 gate", r, 0x30);
    r = run_at(3, u_int30, 0);
    expect_outer_fault("ring 3 INT 0x30, DPL 1 gate", r, 13, 0x30 * 8 + 2, (u32)u_int30, SEL_UCODE,
                       esp, SEL_UDATA);
    /* INT3 and INTO are software interrupts too: the gate DPL applies. */
    r = run_at(3, u_int3, 0);
    expect_outer_fault("ring 3 INT3, DPL 0 gate", r, 13, 3 * 8 + 2, (u32)u_int3, SEL_UCODE, esp,
                       SEL_UDATA);
    r = run_at(3, u_int_3, 0);
    expect_outer_fault("ring 3 INT 3, DPL 0 gate", r, 13, 3 * 8 + 2, (u32)u_int_3, SEL_UCODE, esp,
                       SEL_UDATA);
    r = run_at(3, u_into, 0);
    expect_outer_fault("ring 3 INTO, DPL 0 gate", r, 13, 4 * 8 + 2, (u32)u_into_insn, SEL_UCODE, esp,
                       SEL_UDATA);
    set_stub_gate(3, SYS_INT_GATE, 3);
    r = run_at(3, u_int3, 0);
    check_eq("ring 3 INT3, DPL 3 gate", r, 3);
    check_eq("INT3 frame EIP after the instruction", trap.eip, (u32)u_int3 + 1);
    /* Exceptions ignore the gate DPL. */
    r = run_at(3, u_ud2, 0);
    expect_outer_fault("ring 3 UD2, DPL 0 gate", r, 6, NO_ERROR, (u32)u_ud2, SEL_UCODE, esp,
                       SEL_UDATA);
}

/* ---- Privileged instructions ------------------------------------------------------------ */

static void test_privileged_ring3(void)
{
    for (u32 i = 0; i < sizeof(privileged) / sizeof(privileged[0]); i++) {
        u32 r = run_at(3, privileged[i].code, EFL_IOPL(0));
        expect_outer_fault(privileged[i].insn, r, 13, 0, (u32)privileged[i].code, SEL_UCODE,
                           outer_entry_esp(), SEL_UDATA);
    }
}

static void test_privileged_ring1(void)
{
    for (u32 i = 0; i < sizeof(privileged) / sizeof(privileged[0]); i++) {
        u32 r = run_at(1, privileged[i].code, EFL_IOPL(0));
        expect_outer_fault(privileged[i].insn, r, 13, 0, (u32)privileged[i].code, SEL_R1CODE,
                           outer_entry_esp(), SEL_R1DATA);
    }
}

static void test_cli_sti_with_iopl(void)
{
    /* CLI/STI are allowed when CPL <= IOPL. */
    u32 r = run_at(3, u_cli_sti, EFL_IOPL(3) | EFL_IF);
    check_eq("ring 3, IOPL 3", r, VEC_EXIT);
    check_eq("IF after CLI", u_out[0] & EFL_IF, 0);
    check_eq("IF after STI", u_out[1] & EFL_IF, EFL_IF);
    r = run_at(1, u_cli_sti, EFL_IOPL(1) | EFL_IF);
    check_eq("ring 1, IOPL 1", r, VEC_EXIT);
    r = run_at(2, u_cli_sti, EFL_IOPL(1));
    expect_outer_fault("ring 2, IOPL 1", r, 13, 0, (u32)u_cli_sti, SEL_R2CODE, outer_entry_esp(),
                       SEL_R2DATA);
}

static void test_popf(void)
{
    /* Outside ring 0 POPF never changes IOPL, and changes IF only when CPL <= IOPL; neither
     * refusal faults. */
    u_arg = EFL_FIXED | EFL_IOPL(3) | EFL_CF;
    u32 r = run_at(3, u_popf, EFL_IF);
    check_eq("ring 3, IOPL 0", r, VEC_EXIT);
    check_eq("IOPL and IF kept, CF loaded", u_out[0], EFL_FIXED | EFL_IF | EFL_CF);
    u_arg = EFL_FIXED;
    r = run_at(3, u_popf, EFL_IF | EFL_IOPL(3));
    check_eq("ring 3, IOPL 3", r, VEC_EXIT);
    check_eq("IF cleared, IOPL kept", u_out[0], EFL_FIXED | EFL_IOPL(3));
    u_arg = EFL_FIXED | EFL_IOPL(1);
    r = run_at(1, u_popf, EFL_IOPL(2));
    check_eq("ring 1, IOPL 2", r, VEC_EXIT);
    check_eq("IOPL kept at ring 1", u_out[0], EFL_FIXED | EFL_IOPL(2));
    /* Ring 0 may change IOPL but never VM through POPF. */
    write_eflags(EFL_FIXED | EFL_IOPL(2) | EFL_VM);
    u32 now = read_eflags();
    write_eflags(EFL_FIXED);
    check_eq("ring 0 POPF: IOPL loaded, VM ignored", now, EFL_FIXED | EFL_IOPL(2));
}

void program_main(void)
{
    run_test("iret-to-ring3", test_iret_to_ring3);
    run_test("iret-to-ring1", test_iret_to_ring1);
    run_test("iret-to-ring2", test_iret_to_ring2);
    run_test("esp0-read-at-each-entry", test_esp0_read_at_each_entry);
    run_test("iret-nulls-segments", test_iret_nulls_segments);
    run_test("iret-checks", test_iret_checks);
    run_test("int80-trap-gate", test_int80_trap_gate);
    run_test("int81-interrupt-gate", test_int81_interrupt_gate);
    run_test("int-gate-dpl", test_int_through_dpl0_gate);
    run_test("privileged-ring3", test_privileged_ring3);
    run_test("privileged-ring1", test_privileged_ring1);
    run_test("cli-sti-iopl", test_cli_sti_with_iopl);
    run_test("popf", test_popf);
}
