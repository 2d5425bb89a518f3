/* gates: call gates. A far call from ring 3 through a DPL-3 call gate into ring 0 (and into
 * ring 1) switches to the TSS stack of the target ring, copies the gate's parameter dwords
 * and pushes the caller's SS:ESP and CS:EIP; RETF n returns outward, releasing n bytes on
 * both stacks and nulling data segment registers the outer ring may not hold. Also: same-
 * privilege calls through a gate, JMP through a gate, and the gate's refusals (DPL, RPL,
 * not present, target more privileged for a JMP, target DPL > CPL, RETF inward). */
#include "lib/conformance.h"

const char program_name[] = "gates";

#define GATE_TO_R0 SCRATCH_SEL(0)       /* DPL 3 call gate -> ring 0, 2 parameters */
#define GATE_TO_R1 SCRATCH_SEL(1)       /* DPL 3 call gate -> ring 1, no parameters */
#define GATE_SAME_R0 SCRATCH_SEL(2)     /* DPL 0 call gate -> ring 0, 2 parameters */
#define GATE_DPL0 SCRATCH_SEL(3)        /* DPL 0 call gate -> ring 0 */
#define GATE_NOT_PRESENT SCRATCH_SEL(4) /* DPL 3, P=0 */
#define GATE_TO_R3 SCRATCH_SEL(5)       /* DPL 0 call gate -> ring-3 code */
#define CONFORMING_R0 SCRATCH_SEL(6)    /* readable conforming code, DPL 0 */
#define GATE_JMP_R0 SCRATCH_SEL(7)      /* DPL 0 call gate -> jmp_target */
#define CODE_NOT_PRESENT SCRATCH_SEL(8) /* ring-0 code, P=0 */
#define GATE_TO_NP_CODE SCRATCH_SEL(9)  /* DPL 3 call gate -> CODE_NOT_PRESENT */

/* What the gate targets saw: their ESP, CS, SS and the 6 dwords above ESP. g_ret_* are the
 * data segment registers the ring-0 target loads before RETF, to test the nulling. */
volatile u32 g_esp, g_cs, g_ss, g_stack[6], g_jumped, g_back;
volatile u32 g_ret_ds, g_ret_es, g_ret_fs, g_ret_gs;
volatile u32 u_out[8], u_use_ds;
volatile struct { u32 off; u16 sel; } __attribute__((packed)) u_far;

__asm__(".pushsection .text\n"
        /* Ring-0 target of GATE_TO_R0 / GATE_SAME_R0. Stores go through SS, the one segment
         * register known to be good on arrival. */
        ".globl gate_target0\n"
        "gate_target0:\n"
        "  movl %esp, %ss:g_esp\n"
        "  movw %cs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:g_cs\n"
        "  movw %ss, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:g_ss\n"
        "  xorl %ecx, %ecx\n"
        "1: movl %ss:(%esp,%ecx,4), %eax\n  movl %eax, %ss:g_stack(,%ecx,4)\n"
        "  incl %ecx\n  cmpl $6, %ecx\n  jne 1b\n"
        "  movl %ss:g_ret_es, %eax\n  movw %ax, %es\n"
        "  movl %ss:g_ret_fs, %eax\n  movw %ax, %fs\n"
        "  movl %ss:g_ret_gs, %eax\n  movw %ax, %gs\n"
        "  movl %ss:g_ret_ds, %eax\n  movw %ax, %ds\n"
        "  lret $8\n"
        /* Ring-1 target of GATE_TO_R1. */
        ".globl gate_target1\n"
        "gate_target1:\n"
        "  movl %esp, %ss:g_esp\n"
        "  movw %cs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:g_cs\n"
        "  movw %ss, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:g_ss\n"
        "  xorl %ecx, %ecx\n"
        "1: movl %ss:(%esp,%ecx,4), %eax\n  movl %eax, %ss:g_stack(,%ecx,4)\n"
        "  incl %ecx\n  cmpl $4, %ecx\n  jne 1b\n"
        "  lret\n"
        /* Target of a JMP through GATE_JMP_R0: note the arrival, jump back. */
        ".globl jmp_target\n"
        "jmp_target: movl $1, g_jumped\n  jmp *g_back\n"
        /* Ring 3: push two parameters, far call through u_far, record the state after. */
        ".globl u_callgate, u_callgate_insn, u_callgate_ret\n"
        "u_callgate:\n"
        "  movl %esp, %ss:u_out\n"
        "  pushl $0x11111111\n  pushl $0x22222222\n"
        "u_callgate_insn: lcall *%ss:u_far\n"
        "u_callgate_ret:\n"
        "  movl %esp, %ss:u_out+4\n"
        "  movw %cs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+8\n"
        "  movw %ss, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+12\n"
        "  movw %ds, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+16\n"
        "  movw %es, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+20\n"
        "  movw %fs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+24\n"
        "  movw %gs, %ax\n  movzwl %ax, %eax\n  movl %eax, %ss:u_out+28\n"
        /* Optionally touch memory through DS (which the return may have nulled). */
        "  cmpl $0, %ss:u_use_ds\n  je 2f\n"
        ".globl u_callgate_use_ds\n"
        "u_callgate_use_ds: movl u_out, %eax\n"
        "2: int $0x7F\n"
        /* Ring 3: far jump through u_far. */
        ".globl u_jmpgate\n"
        "u_jmpgate: ljmp *%ss:u_far\n  int $0x7F\n"
        /* Ring 3: far return to ring 0, which must be refused. */
        ".globl u_lret_inner, u_lret_inner_insn\n"
        "u_lret_inner: pushl $0x08\n  pushl $u_lret_inner\n"
        "u_lret_inner_insn: lret\n"
        ".popsection");
extern char gate_target0[], gate_target1[], jmp_target[], u_callgate[], u_callgate_insn[],
    u_callgate_ret[], u_callgate_use_ds[], u_jmpgate[], u_lret_inner[], u_lret_inner_insn[];

static void setup_gates(void)
{
    set_gdt_sel(GATE_TO_R0, gate_desc(SYS_CALL_GATE, 3, SEL_KCODE, (u32)gate_target0, 2, 1));
    set_gdt_sel(GATE_TO_R1, gate_desc(SYS_CALL_GATE, 3, SEL_R1CODE, (u32)gate_target1, 0, 1));
    set_gdt_sel(GATE_SAME_R0, gate_desc(SYS_CALL_GATE, 0, SEL_KCODE, (u32)gate_target0, 2, 1));
    set_gdt_sel(GATE_DPL0, gate_desc(SYS_CALL_GATE, 0, SEL_KCODE, (u32)gate_target0, 2, 1));
    set_gdt_sel(GATE_NOT_PRESENT, gate_desc(SYS_CALL_GATE, 3, SEL_KCODE, (u32)gate_target0, 2, 0));
    set_gdt_sel(GATE_TO_R3, gate_desc(SYS_CALL_GATE, 0, SEL_UCODE, (u32)gate_target0, 0, 1));
    set_gdt_sel(CONFORMING_R0, seg_desc(0, 0xFFFFF, ACC_P | ACC_CODE_XRC | ACC_DB | ACC_G | ACC_A));
    set_gdt_sel(GATE_JMP_R0, gate_desc(SYS_CALL_GATE, 0, SEL_KCODE, (u32)jmp_target, 0, 1));
    set_gdt_sel(CODE_NOT_PRESENT, seg_desc(0, 0xFFFFF, ACC_CODE_XR | ACC_DB | ACC_G | ACC_A));
    set_gdt_sel(GATE_TO_NP_CODE, gate_desc(SYS_CALL_GATE, 3, CODE_NOT_PRESENT, 0, 0, 1));
    g_ret_ds = g_ret_es = g_ret_fs = g_ret_gs = SEL_UDATA;
}

static void call_from_ring3(u32 gate)
{
    for (u32 i = 0; i < 8; i++) u_out[i] = 0;
    for (u32 i = 0; i < 6; i++) g_stack[i] = 0;
    g_esp = g_cs = g_ss = 0;
    u_far.off = 0xDEAD; /* a call gate ignores the offset */
    u_far.sel = gate | 3;
}

static void test_call_gate_to_ring0(void)
{
    setup_gates();
    call_from_ring3(GATE_TO_R0);
    u32 r = run_at(3, u_callgate, 0);
    if (!check_eq("excursion end vector", r, VEC_EXIT)) return;
    u32 esp_before = u_out[0];
    check_eq("target CS", g_cs, SEL_KCODE);
    check_eq("target SS is TSS.SS0", g_ss, SEL_KDATA);
    check_eq("target ESP is TSS.ESP0 - 24", g_esp, ring0_stack_top - 24);
    check_eq("pushed EIP", g_stack[0], (u32)u_callgate_ret);
    check_eq("pushed CS", g_stack[1], SEL_UCODE);
    check_eq("copied parameter (pushed last)", g_stack[2], 0x22222222);
    check_eq("copied parameter (pushed first)", g_stack[3], 0x11111111);
    check_eq("pushed ESP (caller's, after its pushes)", g_stack[4], esp_before - 8);
    check_eq("pushed SS", g_stack[5], SEL_UDATA);
    check_eq("RETF 8: ESP back where it was before the pushes", u_out[1], esp_before);
    check_eq("CS after return", u_out[2], SEL_UCODE);
    check_eq("SS after return", u_out[3], SEL_UDATA);
}

static void test_retf_nulls_segments(void)
{
    setup_gates();
    call_from_ring3(GATE_TO_R0);
    g_ret_ds = SEL_KDATA;     /* DPL 0 data: nulled */
    g_ret_es = SEL_UDATA;     /* DPL 3 data: kept */
    g_ret_fs = SEL_R1DATA;    /* DPL 1 data: nulled */
    g_ret_gs = CONFORMING_R0; /* conforming code: kept whatever its DPL */
    u32 r = run_at(3, u_callgate, 0);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("DS (DPL 0 data)", u_out[4], 0);
    check_eq("ES (DPL 3 data)", u_out[5], SEL_UDATA);
    check_eq("FS (DPL 1 data)", u_out[6], 0);
    check_eq("GS (DPL 0 conforming code)", u_out[7], CONFORMING_R0);
}

static void test_retf_nulled_ds_faults(void)
{
    /* The nulled register is unusable, not merely renamed: the first access is #GP(0). */
    setup_gates();
    call_from_ring3(GATE_TO_R0);
    g_ret_ds = SEL_KDATA;
    u_use_ds = 1;
    u32 r = run_at(3, u_callgate, 0);
    u_use_ds = 0;
    expect_outer_fault("access through nulled DS", r, 13, 0, (u32)u_callgate_use_ds, SEL_UCODE,
                       u_out[0], SEL_UDATA);
}

static void test_call_gate_to_ring1(void)
{
    setup_gates();
    call_from_ring3(GATE_TO_R1);
    u32 r = run_at(3, u_callgate, 0);
    if (!check_eq("excursion end vector", r, VEC_EXIT)) return;
    u32 esp_before = u_out[0];
    check_eq("target CS", g_cs, SEL_R1CODE);
    check_eq("target SS is TSS.SS1", g_ss, SEL_R1DATA);
    check_eq("target ESP is TSS.ESP1 - 16", g_esp, ring1_stack_top - 16);
    check_eq("pushed EIP", g_stack[0], (u32)u_callgate_ret);
    check_eq("pushed CS", g_stack[1], SEL_UCODE);
    check_eq("pushed ESP (no parameters copied)", g_stack[2], esp_before - 8);
    check_eq("pushed SS", g_stack[3], SEL_UDATA);
    check_eq("plain RETF: the caller's pushes remain", u_out[1], esp_before - 8);
    check_eq("DS kept (DPL 3)", u_out[4], SEL_UDATA);
}

static void test_call_gate_same_ring(void)
{
    setup_gates();
    u32 before, after, ret;
    __asm__ volatile("pushl $0x33333333\n\t"
                     "pushl $0x44444444\n\t"
                     "movl %%esp, %0\n\t"
                     "movl $1f, %2\n\t"
                     "lcall %3, $0\n"
                     "1:\tmovl %%esp, %1"
                     : "=&r"(before), "=&r"(after), "=&r"(ret) : "i"(GATE_SAME_R0)
                     : "eax", "ecx", "memory");
    check_eq("no stack switch: ESP at the target", g_esp, before - 8);
    check_eq("pushed EIP", g_stack[0], ret);
    check_eq("pushed CS", g_stack[1], SEL_KCODE);
    check_eq("the caller's own parameters above", g_stack[2], 0x44444444);
    check_eq("RETF 8 at the same ring releases 8 bytes", after, before + 8);
}

static void test_jmp_through_gate(void)
{
    setup_gates();
    g_jumped = 0;
    __asm__ volatile("movl $1f, g_back\n\t"
                     "ljmp %0, $0\n"
                     "1:"
                     : : "i"(GATE_JMP_R0) : "memory");
    check_eq("JMP through a same-ring gate arrives", g_jumped, 1);
    /* JMP never changes privilege: a gate to non-conforming ring-0 code refuses ring 3. */
    call_from_ring3(GATE_TO_R0);
    u32 r = run_at(3, u_jmpgate, 0);
    expect_outer_fault("ring 3 JMP through gate to ring 0", r, 13, SEL_KCODE, (u32)u_jmpgate,
                       SEL_UCODE, outer_entry_esp(), SEL_UDATA);
}

static void test_gate_refusals(void)
{
    setup_gates();
    u32 esp = outer_entry_esp() - 8; /* the snippet pushed two parameters */
    call_from_ring3(GATE_DPL0);
    u32 r = run_at(3, u_callgate, 0);
    expect_outer_fault("ring 3 through a DPL 0 gate", r, 13, GATE_DPL0, (u32)u_callgate_insn,
                       SEL_UCODE, esp, SEL_UDATA);
    call_from_ring3(GATE_NOT_PRESENT);
    r = run_at(3, u_callgate, 0);
    expect_outer_fault("not-present gate", r, 11, GATE_NOT_PRESENT, (u32)u_callgate_insn,
                       SEL_UCODE, esp, SEL_UDATA);
    call_from_ring3(GATE_TO_NP_CODE);
    r = run_at(3, u_callgate, 0);
    expect_outer_fault("gate to not-present code", r, 11, CODE_NOT_PRESENT, (u32)u_callgate_insn,
                       SEL_UCODE, esp, SEL_UDATA);
    /* RPL of the gate selector above the gate DPL. */
    trap_reset();
    __asm__ volatile(PROBE("lcall %0, $0") : : "i"(GATE_SAME_R0 | 3) : "memory");
    expect_fault("ring 0, RPL 3 on a DPL 0 gate", 13, GATE_SAME_R0);
    /* A call may not go to a less privileged ring. */
    trap_reset();
    __asm__ volatile(PROBE("lcall %0, $0") : : "i"(GATE_TO_R3) : "memory");
    expect_fault("ring 0 through a gate to ring 3 code", 13, SEL_UCODE & ~3);
    /* Nor may RETF return to a more privileged one. */
    r = run_at(3, u_lret_inner, 0);
    expect_outer_fault("ring 3 RETF to ring 0", r, 13, SEL_KCODE, (u32)u_lret_inner_insn,
                       SEL_UCODE, outer_entry_esp() - 8, SEL_UDATA);
}

void program_main(void)
{
    run_test("call-gate-to-ring0", test_call_gate_to_ring0);
    run_test("retf-nulls-segments", test_retf_nulls_segments);
    run_test("retf-nulled-ds-faults", test_retf_nulled_ds_faults);
    run_test("call-gate-to-ring1", test_call_gate_to_ring1);
    run_test("call-gate-same-ring", test_call_gate_same_ring);
    run_test("jmp-through-gate", test_jmp_through_gate);
    run_test("gate-refusals", test_gate_refusals);
}
