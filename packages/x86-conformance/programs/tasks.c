/* tasks: hardware task switching. JMP, CALL, INT through a task gate, and IRET with NT set
 * switch tasks through TSS descriptors; each must save the outgoing task's dynamic state in
 * its TSS, load the incoming one's (registers, segments, EFLAGS, LDTR), and keep the busy
 * bits, EFLAGS.NT, the back-link and CR0.TS as Intel's table of task-switch effects says. A
 * double fault reaches a task gate with its error code on the new task's stack. Refusals:
 * busy TSS, TSS limit below 0x67, not present, RPL above DPL, IRET to a non-busy task. */
#include "lib/conformance.h"

const char program_name[] = "tasks";

#define STR(x) #x
#define XSTR(x) STR(x)

#define TSS_B SCRATCH_SEL(0)     /* the task JMP/CALL switches to */
#define TSS_C SCRATCH_SEL(1)     /* the task behind the task gates */
#define TSS_DF SCRATCH_SEL(2)    /* the double-fault task */
#define LDT_B SCRATCH_SEL(3)     /* an LDT that task B's TSS names */
#define TSS_SHORT SCRATCH_SEL(4) /* a TSS descriptor with limit 0x60 */
#define TSS_NP SCRATCH_SEL(5)    /* a not-present TSS descriptor */
#define VEC_TASK 0x50            /* DPL-0 task gate to TSS_C */
#define VEC_TASK_USER 0x51       /* DPL-3 task gate to TSS_C */

struct tss32 tss_b, tss_c, tss_df, tss_spare;
static u8 stack_b[4096] __attribute__((aligned(16)));
static u8 stack_c[4096] __attribute__((aligned(16)));
static u8 stack_df[4096] __attribute__((aligned(16)));
static u64 ldt_b[2] __attribute__((aligned(8)));

/* What the tasks saw while running. */
volatile u32 b_mode, b_tr, b_ldtr, b_eflags, b_cr0, b_ebx_in, b_esp, b_type_a, b_type_b;
volatile u32 c_tr, c_eflags, c_link, c_a_eip, c_a_cs, c_a_ss, c_runs;
volatile u32 df_error, df_tr, df_eflags, df_esp, df_runs;
volatile u32 a_regs[4];
volatile struct dtr full_idtr;

__asm__(".pushsection .text\n"
        /* Task B. Records what it sees, changes EBX/ESI so the TSS save can be checked, and
         * leaves by JMP back to the main task (b_mode 0), IRET (1), or first calls task C
         * through the task gate and then IRETs (2). */
        ".globl task_b\n"
        "task_b:\n"
        "  movl %ebx, b_ebx_in\n"
        "  str %ax\n  movzwl %ax, %eax\n  movl %eax, b_tr\n"
        "  sldt %ax\n  movzwl %ax, %eax\n  movl %eax, b_ldtr\n"
        "  pushfl\n  popl b_eflags\n"
        "  movl %cr0, %eax\n  movl %eax, b_cr0\n"
        "  movzbl gdt+" XSTR(SEL_TSS) "+5, %eax\n  andl $15, %eax\n  movl %eax, b_type_a\n"
        "  movzbl gdt+" XSTR(TSS_B) "+5, %eax\n  andl $15, %eax\n  movl %eax, b_type_b\n"
        "  movl %esp, b_esp\n"
        "  movl $0xB0B0B0B0, %ebx\n"
        "  movl $0xB1B1B1B1, %esi\n"
        "  cmpl $2, b_mode\n  jne 1f\n"
        "  int $" XSTR(VEC_TASK) "\n"
        "1: cmpl $0, b_mode\n  jne 2f\n"
        ".globl task_b_jmp, task_b_after_jmp\n"
        "task_b_jmp: ljmp $" XSTR(SEL_TSS) ", $0\n"
        "task_b_after_jmp: jmp task_b_after_jmp\n"
        ".globl task_b_iret, task_b_after_iret\n"
        "2:\n"
        "task_b_iret: iret\n"
        "task_b_after_iret: jmp task_b_after_iret\n"
        /* Task C, behind the task gates: a loop, since re-entering a task resumes it after
         * the IRET that left it. */
        ".globl task_c\n"
        "task_c:\n"
        "  incl c_runs\n"
        "  str %ax\n  movzwl %ax, %eax\n  movl %eax, c_tr\n"
        "  pushfl\n  popl c_eflags\n"
        "  movzwl tss_c, %eax\n  movl %eax, c_link\n"
        "  movl main_tss+0x20, %eax\n  movl %eax, c_a_eip\n"
        "  movl main_tss+0x4C, %eax\n  movzwl %ax, %eax\n  movl %eax, c_a_cs\n"
        "  movl main_tss+0x50, %eax\n  movzwl %ax, %eax\n  movl %eax, c_a_ss\n"
        "  iret\n"
        "  jmp task_c\n"
        /* The double-fault task: takes the error code, repairs the IDT the test broke, sends
         * the main task to the probe's resume address, and returns to it. */
        ".globl task_df\n"
        "task_df:\n"
        "  incl df_runs\n"
        "  popl df_error\n"
        "  movl %esp, df_esp\n"
        "  str %ax\n  movzwl %ax, %eax\n  movl %eax, df_tr\n"
        "  pushfl\n  popl df_eflags\n"
        "  lidt full_idtr\n"
        "  movl probe_next, %eax\n  movl %eax, main_tss+0x20\n"
        "  iret\n"
        "  jmp task_df\n"
        ".popsection");
extern char task_b[], task_b_jmp[], task_b_after_jmp[], task_b_iret[], task_b_after_iret[],
    task_c[], task_df[];

/* A ring-0 task with flat segments starting at `entry` on `stack_top`. */
static void init_tss(struct tss32 *t, void *entry, u32 stack_top)
{
    u8 *p = (u8 *)t;
    for (u32 i = 0; i < sizeof(*t); i++) p[i] = 0;
    t->cr3 = read_cr3();
    t->eip = (u32)entry;
    t->eflags = EFL_FIXED;
    t->esp = stack_top;
    t->cs = SEL_KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->iomap_base = TSS32_SIZE;
}

static u32 tss_type(u32 sel) { return desc_access_byte(get_gdt_sel(sel)) & 15; }

static void setup_tasks(void)
{
    init_tss(&tss_b, task_b, (u32)stack_b + sizeof(stack_b));
    init_tss(&tss_c, task_c, (u32)stack_c + sizeof(stack_c));
    init_tss(&tss_df, task_df, (u32)stack_df + sizeof(stack_df));
    set_gdt_sel(TSS_B, seg_desc((u32)&tss_b, TSS32_SIZE - 1, ACC_P | SYS_TSS_AVAIL));
    set_gdt_sel(TSS_C, seg_desc((u32)&tss_c, TSS32_SIZE - 1, ACC_P | SYS_TSS_AVAIL));
    set_gdt_sel(TSS_DF, seg_desc((u32)&tss_df, TSS32_SIZE - 1, ACC_P | SYS_TSS_AVAIL));
    set_idt(VEC_TASK, gate_desc(SYS_TASK_GATE, 0, TSS_C, 0, 0, 1));
    set_idt(VEC_TASK_USER, gate_desc(SYS_TASK_GATE, 3, TSS_C, 0, 0, 1));
    main_tss.t.cr3 = read_cr3();
    c_runs = df_runs = 0;
}

static void check_cr0_ts_and_clear(const char *what)
{
    check_eq(what, read_cr0() & CR0_TS, CR0_TS);
    __asm__ volatile("clts");
}

static void test_jmp_switch(void)
{
    setup_tasks();
    ldt_b[0] = 0;
    ldt_b[1] = seg_desc(0, 0xFFFFF, ACC_P | ACC_DATA_RW | ACC_DB | ACC_G | ACC_A);
    set_gdt_sel(LDT_B, seg_desc((u32)ldt_b, sizeof(ldt_b) - 1, ACC_P | SYS_LDT));
    tss_b.ldt = LDT_B;
    tss_b.ebx = 0x0B0B0B0B;
    tss_b.link = 0x1234; /* a JMP must not write the back-link */
    b_mode = 0;
    __asm__ volatile("pushl %%ebp\n\t"
                     "movl $0xA0A0A0A0, %%ebx\n\t"
                     "movl $0xA1A1A1A1, %%esi\n\t"
                     "movl $0xA2A2A2A2, %%edi\n\t"
                     "movl $0xA3A3A3A3, %%ebp\n\t"
                     ".globl task_a_jmp, task_a_after_jmp\n"
                     "task_a_jmp: ljmp %0, $0\n"
                     "task_a_after_jmp:\n\t"
                     "movl %%ebx, a_regs\n\t"
                     "movl %%esi, a_regs+4\n\t"
                     "movl %%edi, a_regs+8\n\t"
                     "movl %%ebp, a_regs+12\n\t"
                     "popl %%ebp"
                     : : "i"(TSS_B) : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory");
    extern char task_a_after_jmp[];
    /* In task B. */
    check_eq("B: TR", b_tr, TSS_B);
    check_eq("B: LDTR loaded from its TSS", b_ldtr, LDT_B);
    check_eq("B: EBX loaded from its TSS", b_ebx_in, 0x0B0B0B0B);
    check_eq("B: NT clear after JMP", b_eflags & EFL_NT, 0);
    check_eq("B: CR0.TS set by the switch", b_cr0 & CR0_TS, CR0_TS);
    check_eq("B: old task A no longer busy", b_type_a, SYS_TSS_AVAIL);
    check_eq("B: new task B busy", b_type_b, SYS_TSS_BUSY);
    check_eq("B: ESP from its TSS", b_esp, (u32)stack_b + sizeof(stack_b));
    /* Back in A. */
    check_eq("A: EBX restored", a_regs[0], 0xA0A0A0A0);
    check_eq("A: ESI restored", a_regs[1], 0xA1A1A1A1);
    check_eq("A: EDI restored", a_regs[2], 0xA2A2A2A2);
    check_eq("A: EBP restored", a_regs[3], 0xA3A3A3A3);
    check_eq("A: TR", read_tr(), SEL_TSS);
    check_eq("A: LDTR from A's TSS", read_ldtr(), 0);
    check_eq("A: TSS saved EIP after the JMP", main_tss.t.eip, (u32)task_a_after_jmp);
    check_eq("A busy again", tss_type(SEL_TSS), SYS_TSS_BUSY);
    check_eq("B available after it jumped away", tss_type(TSS_B), SYS_TSS_AVAIL);
    check_eq("B's TSS: EIP after its JMP", tss_b.eip, (u32)task_b_after_jmp);
    check_eq("B's TSS: EBX saved", tss_b.ebx, 0xB0B0B0B0);
    check_eq("B's TSS: ESI saved", tss_b.esi, 0xB1B1B1B1);
    check_eq("B's TSS: ESP saved", tss_b.esp, b_esp);
    check_eq("B's TSS: CS saved", tss_b.cs & 0xFFFF, SEL_KCODE);
    check_eq("B's TSS: back-link untouched", tss_b.link & 0xFFFF, 0x1234);
    check_cr0_ts_and_clear("A: CR0.TS set by the switch back");
}

static void test_call_iret(void)
{
    setup_tasks();
    b_mode = 1;
    tss_b.link = 0;
    __asm__ volatile("lcall %0, $0" : : "i"(TSS_B) : "eax", "ecx", "edx", "memory");
    check_eq("B: TR", b_tr, TSS_B);
    check_eq("B: NT set by CALL", b_eflags & EFL_NT, EFL_NT);
    check_eq("B: caller A still busy", b_type_a, SYS_TSS_BUSY);
    check_eq("B: busy", b_type_b, SYS_TSS_BUSY);
    check_eq("B's back-link is A", tss_b.link & 0xFFFF, SEL_TSS);
    check_eq("A: TR after IRET", read_tr(), SEL_TSS);
    check_eq("A: NT clear", read_eflags() & EFL_NT, 0);
    check_eq("B available after its IRET", tss_type(TSS_B), SYS_TSS_AVAIL);
    check_eq("A still busy", tss_type(SEL_TSS), SYS_TSS_BUSY);
    check_eq("B's TSS: EIP after its IRET", tss_b.eip, (u32)task_b_after_iret);
    check_eq("B's TSS: saved NT cleared by IRET", tss_b.eflags & EFL_NT, 0);
    check_cr0_ts_and_clear("A: CR0.TS");
}

static void test_task_gate_int(void)
{
    setup_tasks();
    u32 after;
    for (u32 round = 1; round <= 2; round++) {
        __asm__ volatile("movl $1f, %0\n\t"
                         "int %1\n"
                         "1:"
                         : "=&r"(after) : "i"(VEC_TASK) : "eax", "ecx", "edx", "memory");
        check_eq("C ran", c_runs, round);
        check_eq("C: TR", c_tr, TSS_C);
        check_eq("C: NT set", c_eflags & EFL_NT, EFL_NT);
        check_eq("C: back-link is A", c_link, SEL_TSS);
        check_eq("C: A's saved EIP is after INT", c_a_eip, after);
        check_eq("A: TR", read_tr(), SEL_TSS);
        check_eq("C available again", tss_type(TSS_C), SYS_TSS_AVAIL);
    }
    check_eq("no ordinary trap taken", trap.count, 0);
}

volatile u32 u_done;
__asm__(".pushsection .text\n"
        ".globl u_task_int\n"
        "u_task_int: int $" XSTR(VEC_TASK_USER) "\n"
        "  movl $1, u_done\n"
        "  int $0x7F\n"
        ".popsection");
extern char u_task_int[];

static void test_task_gate_from_ring3(void)
{
    /* A DPL-3 task gate lets ring 3 enter a ring-0 task; the outgoing ring-3 state goes into
     * the main TSS and comes back by the task's IRET. */
    setup_tasks();
    u_done = 0;
    u32 r = run_at(3, u_task_int, 0);
    check_eq("excursion end vector", r, VEC_EXIT);
    check_eq("C ran", c_runs, 1);
    check_eq("C: A's saved CS is ring 3", c_a_cs, SEL_UCODE);
    check_eq("C: A's saved SS is ring 3", c_a_ss, SEL_UDATA);
    check_eq("ring 3 continued after the INT", u_done, 1);
    /* Through the DPL-0 gate ring 3 is refused like any gate. */
    set_idt(VEC_TASK_USER, gate_desc(SYS_TASK_GATE, 0, TSS_C, 0, 0, 1));
    r = run_at(3, u_task_int, 0);
    expect_outer_fault("ring 3 through a DPL 0 task gate", r, 13, VEC_TASK_USER * 8 + 2,
                       (u32)u_task_int, SEL_UCODE, outer_entry_esp(), SEL_UDATA);
}

static void test_nested_chain(void)
{
    /* A calls B, B interrupts into C through the task gate; each IRET unwinds one link. */
    setup_tasks();
    b_mode = 2;
    __asm__ volatile("lcall %0, $0" : : "i"(TSS_B) : "eax", "ecx", "edx", "memory");
    check_eq("C ran", c_runs, 1);
    check_eq("C's back-link is B", c_link, TSS_B);
    check_eq("B's back-link is A", tss_b.link & 0xFFFF, SEL_TSS);
    check_eq("A: TR", read_tr(), SEL_TSS);
    check_eq("B available", tss_type(TSS_B), SYS_TSS_AVAIL);
    check_eq("C available", tss_type(TSS_C), SYS_TSS_AVAIL);
    __asm__ volatile("clts");
}

static void test_double_fault_task(void)
{
    /* IDT limit covers vectors 0-8 only: INT 0x40 is #GP(0x40*8+2), whose own vector 13 is
     * also past the limit: a second contributory fault, so #DF, through the task gate. */
    setup_tasks();
    set_idt(8, gate_desc(SYS_TASK_GATE, 0, TSS_DF, 0, 0, 1));
    full_idtr.base = (u32)idt;
    full_idtr.limit = sizeof(idt) - 1;
    static struct dtr small_idtr;
    small_idtr.base = (u32)idt;
    small_idtr.limit = 9 * 8 - 1;
    trap_reset();
    __asm__ volatile("lidt %0\n\t" PROBE("int $0x40")
                     : : "m"(small_idtr) : "eax", "ecx", "edx", "memory");
    check_eq("#DF task ran once", df_runs, 1);
    check_eq("#DF error code", df_error, 0);
    check_eq("#DF task: TR", df_tr, TSS_DF);
    check_eq("#DF task: NT set", df_eflags & EFL_NT, EFL_NT);
    check_eq("#DF task: ESP after popping the error code", df_esp, (u32)stack_df + sizeof(stack_df));
    check_eq("#DF task's back-link", tss_df.link & 0xFFFF, SEL_TSS);
    check_eq("A: TR", read_tr(), SEL_TSS);
    check_eq("no ordinary trap taken", trap.count, 0);
    __asm__ volatile("clts");
}

static void test_switch_refusals(void)
{
    setup_tasks();
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $0") : : "i"(SEL_TSS) : "memory");
    expect_fault("JMP to the busy current TSS", 13, SEL_TSS);
    trap_reset();
    __asm__ volatile(PROBE("lcall %0, $0") : : "i"(SEL_TSS) : "memory");
    expect_fault("CALL to the busy current TSS", 13, SEL_TSS);
    set_gdt_sel(TSS_SHORT, seg_desc((u32)&tss_spare, 0x60, ACC_P | SYS_TSS_AVAIL));
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $0") : : "i"(TSS_SHORT) : "memory");
    expect_fault("JMP to a TSS with limit 0x60", 10, TSS_SHORT);
    set_gdt_sel(TSS_NP, seg_desc((u32)&tss_spare, TSS32_SIZE - 1, SYS_TSS_AVAIL));
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $0") : : "i"(TSS_NP) : "memory");
    expect_fault("JMP to a not-present TSS", 11, TSS_NP);
    trap_reset();
    __asm__ volatile(PROBE("ljmp %0, $0") : : "i"(TSS_B | 3) : "memory");
    expect_fault("JMP to a DPL 0 TSS with RPL 3", 13, TSS_B);
    /* A task gate to a busy TSS. */
    set_gdt_sel(TSS_C, seg_desc((u32)&tss_c, TSS32_SIZE - 1, ACC_P | SYS_TSS_BUSY));
    trap_reset();
    __asm__ volatile(PROBE("int %0") : : "i"(VEC_TASK) : "memory");
    expect_fault("INT through a task gate to a busy TSS", 13, TSS_C);
    check_eq("no task switch happened", c_runs, 0);
}

static void test_iret_to_available_task(void)
{
    /* IRET with NT=1 returns to the back-link task, which must be busy: #TS(back-link). */
    setup_tasks();
    main_tss.t.link = TSS_B;
    trap_reset();
    __asm__ volatile("pushfl\n\t"
                     "orl $0x4000, (%%esp)\n\t"
                     "popfl\n\t" PROBE("iret")
                     "pushfl\n\t"
                     "andl $~0x4000, (%%esp)\n\t"
                     "popfl"
                     : : : "memory");
    expect_fault("IRET to an available task", 10, TSS_B);
    check_eq("frame EFLAGS has NT", trap.eflags & EFL_NT, EFL_NT);
    check_eq("interrupt gate cleared NT for the handler", trap.handler_eflags & EFL_NT, 0);
    check_eq("still in A", read_tr(), SEL_TSS);
}

void program_main(void)
{
    run_test("jmp-switch", test_jmp_switch);
    run_test("call-iret", test_call_iret);
    run_test("task-gate-int", test_task_gate_int);
    run_test("task-gate-from-ring3", test_task_gate_from_ring3);
    run_test("nested-chain", test_nested_chain);
    run_test("double-fault-task", test_double_fault_task);
    run_test("switch-refusals", test_switch_refusals);
    run_test("iret-to-available-task", test_iret_to_available_task);
}
