/* exceptions: the exception vectors and what they push. #DE, #UD, #BR are faults (EIP at the
 * instruction, state unchanged); INT3, INT n and INTO are traps (EIP after); single-step #DB
 * arrives after the instruction following the POPF that set TF; software INT n never pushes
 * an error code, even to an exception vector. Delivery failures: a not-present gate is
 * #NP(vector*8+2, +1 when the event was not a software INT); a vector past the IDT limit or a
 * gate of the wrong kind is #GP(vector*8+2); a contributory fault while delivering a
 * contributory fault is #DF(0). #NM for x87 opcodes with CR0.EM and WAIT with CR0.TS+MP; #AC
 * for a misaligned ring-3 access with CR0.AM and EFLAGS.AC. */
#include "lib/conformance.h"

const char program_name[] = "exceptions";

static void test_divide_error(void)
{
    u32 eax = 7, edx = 0;
    trap_reset();
    __asm__ volatile(PROBE("divl %2") : "+a"(eax), "+d"(edx) : "r"(0) : "memory");
    expect_fault("DIV by zero", 0, NO_ERROR);
    check_eq("EAX unchanged by the faulting DIV", eax, 7);
    eax = 0x80000000u;
    edx = 0xFFFFFFFFu;
    trap_reset();
    __asm__ volatile(PROBE("idivl %2") : "+a"(eax), "+d"(edx) : "r"(-1) : "memory");
    expect_fault("IDIV overflow (INT_MIN / -1)", 0, NO_ERROR);
    eax = 0x1000;
    trap_reset();
    __asm__ volatile(PROBE("divb %b1") : "+a"(eax) : "q"(0x10) : "memory");
    expect_fault("8-bit DIV overflow", 0, NO_ERROR);
    check_eq("AX unchanged", eax & 0xFFFF, 0x1000);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0xD4, 0x00") : : : "eax", "memory");
    expect_fault("AAM 0", 0, NO_ERROR);
}

static void test_invalid_opcode(void)
{
    trap_reset();
    __asm__ volatile(PROBE("ud2") : : : "memory");
    expect_fault("UD2", 6, NO_ERROR);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0xF0, 0x90") : : : "memory");
    expect_fault("LOCK NOP", 6, NO_ERROR);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0x8E, 0xC8") : : : "memory");
    expect_fault("MOV to CS", 6, NO_ERROR);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0x8D, 0xC0") : : : "memory");
    expect_fault("LEA with a register operand", 6, NO_ERROR);
}

static void test_lock_register_destination(void)
{
    /* LOCK is #UD unless the instruction is a lockable read-modify-write of memory. */
    trap_reset();
    __asm__ volatile(PROBE(".byte 0xF0, 0x89, 0xC0") : : : "memory");
    expect_fault("LOCK MOV reg, reg", 6, NO_ERROR);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0xF0, 0x01, 0xC0") : : : "eax", "cc", "memory");
    expect_fault("LOCK ADD reg, reg", 6, NO_ERROR);
    static volatile u32 cell;
    trap_reset();
    __asm__ volatile(PROBE("lock addl $1, %0") : "+m"(cell) : : "cc", "memory");
    expect_no_trap("LOCK ADD to memory");
}

static void test_bound(void)
{
    static volatile int bounds[2] = { -5, 10 };
    int vals[] = { -5, 0, 10 };
    for (u32 i = 0; i < 3; i++) {
        trap_reset();
        __asm__ volatile(PROBE("boundl %0, (%1)") : : "r"(vals[i]), "r"(bounds) : "memory");
        expect_no_trap("BOUND within [-5, 10]");
    }
    int outside[] = { -6, 11 };
    for (u32 i = 0; i < 2; i++) {
        trap_reset();
        __asm__ volatile(PROBE("boundl %0, (%1)") : : "r"(outside[i]), "r"(bounds) : "memory");
        expect_fault("BOUND outside [-5, 10]", 5, NO_ERROR);
    }
}

static void test_into_int3_int(void)
{
    trap_reset();
    __asm__ volatile("movl $0x7FFFFFFF, %%eax\n\taddl $1, %%eax\n\t" PROBE("into") : : : "eax", "cc", "memory");
    expect_trap("INTO with OF=1", 4, NO_ERROR);
    trap_reset();
    __asm__ volatile("xorl %%eax, %%eax\n\t" PROBE("into") : : : "eax", "cc", "memory");
    expect_no_trap("INTO with OF=0");
    trap_reset();
    __asm__ volatile(PROBE("int3") : : : "memory");
    expect_trap("INT3", 3, NO_ERROR);
    check_eq("INT3 is one byte", probe_next - probe_eip, 1);
    trap_reset();
    __asm__ volatile(PROBE(".byte 0xCD, 0x03") : : : "memory"); /* GAS would emit 0xCC */
    expect_trap("INT 3 (CD 03)", 3, NO_ERROR);
    check_eq("INT 3 is two bytes", probe_next - probe_eip, 2);
    trap_reset();
    __asm__ volatile(PROBE("int $0x41") : : : "memory");
    expect_trap("INT 0x41", 0x41, NO_ERROR);
}

static void test_int_n_pushes_no_error_code(void)
{
    /* Through the raw catcher, which measures the frame: INT 13, INT 8 and INT 14 push
     * EIP, CS, EFLAGS only; a real #GP pushes an error code below them. */
    static const u32 vectors[] = { 8, 13, 14 };
    for (u32 i = 0; i < 3; i++) {
        set_idt(vectors[i], gate_desc(SYS_INT_GATE, 0, SEL_KCODE, (u32)raw_catch, 0, 1));
    }
    trap_reset();
    __asm__ volatile(PROBE("int $13") : : : "memory");
    check_eq("INT 13 reached the raw catcher", raw_count, 1);
    check_eq("INT 13: 3 dwords pushed", probe_esp - raw_esp, 12);
    check_eq("INT 13: EIP on top", raw_words[0], probe_next);
    check_eq("INT 13: CS", raw_words[1] & 0xFFFF, SEL_KCODE);
    trap_reset();
    __asm__ volatile(PROBE("int $8") : : : "memory");
    check_eq("INT 8: 3 dwords pushed", probe_esp - raw_esp, 12);
    trap_reset();
    __asm__ volatile(PROBE("int $14") : : : "memory");
    check_eq("INT 14: 3 dwords pushed", probe_esp - raw_esp, 12);
    trap_reset();
    __asm__ volatile(PROBE("movw %w0, %%fs") : : "r"(SEL_KDATA | 3) : "memory");
    check_eq("real #GP reached the raw catcher", raw_count, 1);
    check_eq("real #GP: 4 dwords pushed", probe_esp - raw_esp, 16);
    check_eq("real #GP: error code on top", raw_words[0], SEL_KDATA);
    check_eq("real #GP: then EIP", raw_words[1], probe_eip);
}

static volatile u32 db_count, db_eip, db_dr6, db_handler_tf;
static void db_hook(struct frame *f)
{
    u32 dr6;
    __asm__ volatile("movl %%dr6, %0" : "=r"(dr6));
    db_count++;
    db_eip = f->eip;
    db_dr6 = dr6;
    db_handler_tf = f->handler_eflags & EFL_TF;
    f->eflags &= ~EFL_TF; /* one step is enough */
}

static void test_single_step(void)
{
    u32 after_first;
    set_trap_hook(1, db_hook);
    db_count = 0;
    __asm__ volatile("movl %%dr6, %%eax\n\t"
                     "andl $~0x4000, %%eax\n\t"
                     "movl %%eax, %%dr6\n\t"
                     "pushfl\n\t"
                     "orl $0x100, (%%esp)\n\t"
                     "popfl\n\t"
                     "movl $1f, %0\n"
                     "1:\tnop\n\t"
                     "nop"
                     : "=&r"(after_first) : : "eax", "memory");
    /* TF set by POPF takes effect after the next instruction (the MOVL), whose end is the
     * label; the trap is taken there, before the first NOP. */
    check_eq("one #DB", db_count, 1);
    check_eq("#DB EIP after the instruction following POPF", db_eip, after_first);
    check_eq("DR6.BS", db_dr6 & 0x4000, 0x4000);
    check_eq("TF clear in the handler", db_handler_tf, 0);
}

static void test_gate_failures(void)
{
    /* Software INT through a not-present gate: #NP(vector*8+2). */
    set_idt(0x40, gate_desc(SYS_INT_GATE, 0, SEL_KCODE, trap_stub(0x40), 0, 0));
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40, gate not present", 11, 0x40 * 8 + 2);
    /* A TSS descriptor is not a gate. */
    set_idt(0x40, seg_desc((u32)&main_tss, TSS32_SIZE - 1, ACC_P | SYS_TSS_AVAIL));
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40, not a gate", 13, 0x40 * 8 + 2);
    /* Gates whose target is not usable code. */
    set_idt(0x40, gate_desc(SYS_INT_GATE, 0, SEL_KDATA, trap_stub(0x40), 0, 1));
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40, gate to a data segment", 13, SEL_KDATA);
    set_idt(0x40, gate_desc(SYS_INT_GATE, 0, 0, trap_stub(0x40), 0, 1));
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40, gate with a null selector", 13, 0);
    set_gdt_sel(SCRATCH_SEL(0), seg_desc(0, 0xFFFFF, ACC_CODE_XR | ACC_DB | ACC_G)); /* P=0 */
    set_idt(0x40, gate_desc(SYS_INT_GATE, 0, SCRATCH_SEL(0), trap_stub(0x40), 0, 1));
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40, gate to not-present code", 11, SCRATCH_SEL(0));
    /* Past the IDT limit. */
    load_idt((u32)idt, 0x40 * 8 - 1);
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    expect_fault("INT 0x40 past the IDT limit", 13, 0x40 * 8 + 2);
}

static void test_gate_failure_ext_bit(void)
{
    /* An exception (not a software INT) through a not-present gate: the error code has EXT
     * (bit 0) set. #UD is benign, so this is a plain #NP, not a double fault. */
    set_idt(6, gate_desc(SYS_INT_GATE, 0, SEL_KCODE, trap_stub(6), 0, 0));
    trap_reset();
    __asm__ volatile(PROBE("ud2") : : : "memory");
    expect_fault("#UD through a not-present gate", 11, 6 * 8 + 2 + 1);
}

static void test_double_fault(void)
{
    /* IDT covers vectors 0-8: INT 0x40 is #GP(0x202), and delivering that #GP (vector 13,
     * past the limit) faults again: two contributory faults make #DF(0). */
    load_idt((u32)idt, 9 * 8 - 1);
    trap_reset();
    __asm__ volatile(PROBE("int $0x40") : : : "memory");
    load_idt((u32)idt, sizeof(idt) - 1);
    /* The saved CS:EIP of a #DF is architecturally undefined: only vector and error code. */
    if (check_eq("traps", trap.count, 1)) {
        check_eq("vector", trap.vector, 8);
        check_eq("#DF error code", trap.error, 0);
    }
    /* #DE whose gate is not present: #DE and #NP are both contributory: #DF. */
    set_idt(0, gate_desc(SYS_INT_GATE, 0, SEL_KCODE, trap_stub(0), 0, 0));
    u32 eax = 1, edx = 0;
    trap_reset();
    __asm__ volatile(PROBE("divl %2") : "+a"(eax), "+d"(edx) : "r"(0) : "memory");
    if (check_eq("#DE via missing gate: traps", trap.count, 1)) {
        check_eq("#DE via missing gate: vector", trap.vector, 8);
        check_eq("#DE via missing gate: error code", trap.error, 0);
    }
    /* #GP whose own gate is not present: #DF too. */
    set_idt(0, gate_desc(SYS_INT_GATE, 0, SEL_KCODE, trap_stub(0), 0, 1));
    set_idt(13, gate_desc(SYS_INT_GATE, 0, SEL_KCODE, trap_stub(13), 0, 0));
    trap_reset();
    __asm__ volatile(PROBE("movw %w0, %%fs") : : "r"(SEL_KDATA | 3) : "memory");
    if (check_eq("#GP via missing gate: traps", trap.count, 1)) {
        check_eq("#GP via missing gate: vector", trap.vector, 8);
        check_eq("#GP via missing gate: error code", trap.error, 0);
    }
}

static void test_device_not_available(void)
{
    /* The x87 escape opcodes with CR0.EM set are #NM whether or not an FPU exists. */
    write_cr0(read_cr0() | CR0_EM);
    trap_reset();
    __asm__ volatile(PROBE("fninit") : : : "memory");
    expect_fault("FNINIT with CR0.EM", 7, NO_ERROR);
    /* WAIT is #NM when both TS and MP are set. */
    write_cr0((read_cr0() & ~CR0_EM) | CR0_TS | CR0_MP);
    trap_reset();
    __asm__ volatile(PROBE("fwait") : : : "memory");
    expect_fault("WAIT with CR0.TS and CR0.MP", 7, NO_ERROR);
    write_cr0(read_cr0() & ~(CR0_TS | CR0_MP));
}

volatile u32 u_misaligned[2];
__asm__(".pushsection .text\n"
        ".globl u_ac, u_ac_insn\n"
        "u_ac: movl $u_misaligned+1, %ebx\n"
        "u_ac_insn: movl (%ebx), %eax\n"
        "  int $0x7F\n"
        ".popsection");
extern char u_ac[], u_ac_insn[];

static void test_alignment_check(void)
{
    /* #AC needs CR0.AM, EFLAGS.AC and CPL 3; without any one of them the access is fine. */
    u32 r = run_at(3, u_ac, EFL_AC);
    check_eq("AC without CR0.AM: no fault", r, VEC_EXIT);
    write_cr0(read_cr0() | CR0_AM);
    r = run_at(3, u_ac, 0);
    check_eq("CR0.AM without AC: no fault", r, VEC_EXIT);
    r = run_at(3, u_ac, EFL_AC);
    expect_outer_fault("misaligned dword at ring 3", r, 17, 0, (u32)u_ac_insn, SEL_UCODE,
                       outer_entry_esp(), SEL_UDATA);
    r = run_at(1, u_ac, EFL_AC);
    check_eq("ring 1: no #AC", r, VEC_EXIT);
}

void program_main(void)
{
    run_test("divide-error", test_divide_error);
    run_test("invalid-opcode", test_invalid_opcode);
    run_test("lock-register-destination", test_lock_register_destination);
    run_test("bound", test_bound);
    run_test("into-int3-int", test_into_int3_int);
    run_test("int-n-no-error-code", test_int_n_pushes_no_error_code);
    run_test("single-step", test_single_step);
    run_test("gate-failures", test_gate_failures);
    run_test("gate-failure-ext-bit", test_gate_failure_ext_bit);
    run_test("double-fault", test_double_fault);
    run_test("device-not-available", test_device_not_available);
    run_test("alignment-check", test_alignment_check);
}
