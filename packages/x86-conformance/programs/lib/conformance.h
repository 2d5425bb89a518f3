/* The runtime every conformance program is written against: output, the descriptor tables,
 * trap capture, excursions into outer rings and V86, and the test runner with its checks.
 *
 * A program defines `program_name` and `program_main()`, and calls run_test() for each test.
 * Before and after every test the runner puts the machine back into the base state (flat
 * GDT, full IDT of recording stubs, main TSS in TR, paging off), so a test that breaks the
 * machine cannot spoil the next one. */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include "layout.h"
#include "x86.h"

#define NO_ERROR 0xFFFFFFFFu /* "this vector pushes no error code" in the expect_* checks */
#define NONE 0xFFFFFFFFu

/* What trap_common pushes, lowest address first (see traps.S). esp/ss exist only when the
 * trap came from an outer ring or V86, v86_* only from V86. */
struct frame {
    u32 edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
    u32 ds, es, fs, gs;
    u32 handler_eflags;
    u32 vector, error;
    u32 eip, cs, eflags;
    u32 esp, ss;
    u32 v86_es, v86_ds, v86_fs, v86_gs;
};

/* The last trap the dispatcher saw, and how many since trap_reset(). Segment values are
 * masked to 16 bits (a 32-bit push of a segment register may leave the top half alone). */
struct trap_record {
    u32 count;
    u32 vector, error, eip, cs, eflags;
    u32 outer;           /* the frame carried ESP/SS (trap from CPL > 0 or V86) */
    u32 esp, ss;         /* NONE unless outer */
    u32 v86_es, v86_ds, v86_fs, v86_gs; /* NONE unless from V86 */
    u32 frame_at;        /* address of the pushed EIP on the handler's stack */
    u32 handler_eflags;  /* EFLAGS on entry to the handler (what the gate left) */
    u32 handler_ds, handler_es, handler_fs, handler_gs; /* segment registers on entry */
    u32 handler_ss;      /* the stack segment the handler runs on */
    u32 cr2;             /* CR2 when the vector was #PF */
};
extern volatile struct trap_record trap;
void trap_reset(void);

/* A hook replaces the default handling of one vector until the test ends. It may change the
 * frame (the handler IRETs with it) or call leave_excursion(). */
typedef void (*trap_hook)(struct frame *f);
void set_trap_hook(u32 vector, trap_hook hook);

/* Probes: run one instruction that may fault, with the fault recorded and execution resumed
 * after it. Use inside an extended asm statement (it contains %%), with trap_reset() first:
 *     trap_reset();
 *     __asm__ volatile(PROBE("movw %w0, %%fs") : : "r"(sel) : "memory");
 *     expect_fault("load", 13, sel);
 * probe_eip is the probed instruction's address, probe_next the one after it (where a trap
 * such as INT3 leaves EIP), probe_esp the stack pointer at the probe. Ring-0 code only: a
 * trap from an outer ring ends its excursion instead. */
#define PROBE(insn)                                                                            \
    "movl $1f, probe_eip\n\t"                                                                  \
    "movl $2f, probe_next\n\t"                                                                 \
    "movl $2f, resume_eip\n\t"                                                                 \
    "movl %%esp, probe_esp\n"                                                                  \
    "1:\t" insn "\n"                                                                           \
    "2:\tmovl $0, resume_eip\n\t"
extern volatile u32 probe_eip, probe_next, probe_esp, resume_eip;

/* The raw catcher (traps.S): point a gate at raw_catch to record the stack pointer and the 8
 * dwords above it at handler entry, then resume the probe. */
extern void raw_catch(void);
extern volatile u32 raw_esp, raw_count;
extern volatile u32 raw_words[8];

/* Descriptor tables of the base state. */
extern u64 gdt[GDT_ENTRIES];
extern u64 idt[256];
struct tss_area {
    struct tss32 t;
    u8 iomap[8192 + 1]; /* one bit per port, plus the all-ones byte the CPU may read past */
};
extern struct tss_area main_tss;
extern void trap_stubs(void);
static inline u32 trap_stub(u32 vector) { return (u32)trap_stubs + 16 * vector; }

void set_gdt(u32 index, u64 desc);
static inline void set_gdt_sel(u32 sel, u64 desc) { set_gdt(sel >> 3, desc); }
static inline u64 get_gdt_sel(u32 sel) { return ((volatile u64 *)gdt)[sel >> 3]; }
void set_idt(u32 vector, u64 gate);
/* Point `vector` at its recording stub through a gate of the given type and DPL. */
void set_stub_gate(u32 vector, u32 type, u32 dpl);
void load_idt(u32 base, u32 limit);
/* Make the main TSS descriptor available with `limit` and load TR from it. */
void reload_main_tr(u32 limit);

/* Stacks: TSS.ESPn of the main TSS point at ring0/1/2 tops; outer code runs on outer. */
extern u32 ring0_stack_top, ring1_stack_top, ring2_stack_top, outer_stack_top;

/* Excursions: IRET to outer-ring or V86 code; returns the vector that ended it. A trap from
 * the outer code ends the excursion unless a hook or a probe's resume address handles it;
 * VEC_EXIT is the normal end. For a protected-mode target es/ds/fs/gs are loaded before the
 * IRET; for V86 (VM in eflags) they are part of the IRET frame. */
struct excursion {
    u32 eip, cs, eflags, esp, ss;
    u32 es, ds, fs, gs;
};
u32 enter_excursion(const struct excursion *x);
void leave_excursion(u32 vector) __attribute__((noreturn));
/* Run `code` in ring 1, 2 or 3 with flat segments of that ring, EFLAGS = eflags, on the outer
 * stack whose top holds user_return (so a C function may simply return). The stack pointer
 * the code starts with is outer_entry_esp(). */
u32 run_at(u32 ring, const void *code, u32 eflags);
static inline u32 outer_entry_esp(void) { return outer_stack_top - 4; }
extern void user_return(void);

/* Test runner. */
extern const char program_name[];
void program_main(void);
void run_test(const char *name, void (*fn)(void));
void skip_test(const char *why); /* marks the running test skipped (prints SKIP) */

/* Checks: each prints a FAIL line naming the test and returns whether it held. */
int check_eq(const char *what, u32 got, u32 want);
int check_true(const char *what, int ok);
void fail(const char *fmt, ...);
/* Exactly one trap, `vector` with `error` (NO_ERROR: not checked), at the probed instruction
 * in ring-0 code with no stack switch. */
void expect_fault(const char *what, u32 vector, u32 error);
/* Same, but EIP after the probed instruction (traps such as INT3, INTO, INT n). */
void expect_trap(const char *what, u32 vector, u32 error);
/* No trap at all since trap_reset(). */
void expect_no_trap(const char *what);
/* An excursion ended (returned `ret`) by `vector`/`error` at cs:eip with the outer stack
 * still at ss:esp, all checked against the recorded frame. */
void expect_outer_fault(const char *what, u32 ret, u32 vector, u32 error, u32 eip, u32 cs,
                        u32 esp, u32 ss);

/* Output through the debug console. */
void kprintf(const char *fmt, ...);

/* Sets CR4 and remembers to clear it when the test ends (CR4 is not touched otherwise, so a
 * CPU without it is never asked). */
void set_cr4(u32 v);

#endif
