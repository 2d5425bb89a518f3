/* The low-level half of the runtime: the 256 interrupt entry stubs and their common path,
 * excursions into outer rings and V86 (and the way back), the test abort jump, and the raw
 * catcher used where the exact size of a pushed frame is what is being tested. */
#include "layout.h"

#define EFL_VM 0x00020000

    .text
    .code32

/* One 16-byte stub per vector, so a gate's offset is trap_stubs + 16 * vector. Vectors for
 * which the CPU pushes an error code (8, 10-14, 17) skip the dummy push, so every frame
 * reaching trap_common has the same shape. */
    .globl trap_stubs
    .balign 16
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

/* Build `struct frame` (conformance.h) on the handler stack and call trap_dispatch. EFLAGS
 * is pushed first so a test can see what the gate did to IF/TF/NT; the data segment
 * registers are saved because the handler needs its own DS/ES, and an interrupt from V86
 * arrives with them null. */
trap_common:
    pushfl
    pushl %gs
    pushl %fs
    pushl %es
    pushl %ds
    pushal
    movl $SEL_KDATA, %eax
    movw %ax, %ds
    movw %ax, %es
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    popal
    popl %ds
    popl %es
    popl %fs
    popl %gs
    addl $12, %esp                       /* handler EFLAGS, vector, error code */
    iret

/* u32 excursion(const struct excursion *x): iret to x (an outer ring, or V86 when x->eflags
 * has VM) with callee-saved registers parked on this stack. Returns the vector that ended
 * the excursion, through leave_excursion. */
    .globl excursion
excursion:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, excursion_esp
    movl 20(%esp), %esi
    testl $EFL_VM, 8(%esi)
    jz 1f
    pushl 32(%esi)                       /* V86 frame: GS, FS, DS, ES come from the IRET */
    pushl 28(%esi)
    pushl 24(%esi)
    pushl 20(%esi)
1:  pushl 16(%esi)                       /* SS */
    pushl 12(%esi)                       /* ESP */
    pushl 8(%esi)                        /* EFLAGS */
    pushl 4(%esi)                        /* CS */
    pushl 0(%esi)                        /* EIP */
    testl $EFL_VM, 8(%esi)
    jnz 2f
    /* Protected-mode target: the data segment registers are loaded here (DS last, since
     * it is the one we read x through); IRET itself nulls any whose DPL < the new CPL. */
    movl 20(%esi), %eax
    movw %ax, %es
    movl 28(%esi), %eax
    movw %ax, %fs
    movl 32(%esi), %eax
    movw %ax, %gs
    movl 24(%esi), %eax
    movw %ax, %ds
2:  xorl %eax, %eax                      /* outer code starts from known registers */
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    iret

/* void leave_excursion(u32 vector): called on a ring-0 handler stack; abandons it and
 * returns `vector` from the excursion() call that is waiting on the kernel stack. */
    .globl leave_excursion
leave_excursion:
    movl 4(%esp), %eax
    movl $SEL_KDATA, %edx
    movw %dx, %ds
    movw %dx, %es
    movw %dx, %fs
    movw %dx, %gs
    movw %dx, %ss
    movl excursion_esp, %esp
    pushl $2                             /* IF, TF, NT, IOPL as at kernel entry: all clear */
    popfl
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

/* Outer-ring C code called through run_at() returns here: end the excursion cleanly. */
    .globl user_return
user_return:
    int $VEC_EXIT
    jmp user_return

/* int ksetjmp(struct kjmp *j) / void klongjmp(struct kjmp *j, int v): the test runner's way
 * back from a test that took an unexpected trap. klongjmp also restores the kernel segments
 * and EFLAGS, since it may be called from any handler. kjmp: ebx esi edi ebp esp eip. */
    .globl ksetjmp
ksetjmp:
    movl 4(%esp), %edx
    movl %ebx, 0(%edx)
    movl %esi, 4(%edx)
    movl %edi, 8(%edx)
    movl %ebp, 12(%edx)
    leal 4(%esp), %ecx
    movl %ecx, 16(%edx)
    movl (%esp), %ecx
    movl %ecx, 20(%edx)
    xorl %eax, %eax
    ret

    .globl klongjmp
klongjmp:
    movl 4(%esp), %edx
    movl 8(%esp), %eax
    movl $SEL_KDATA, %ecx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movw %cx, %ss
    movl 16(%edx), %esp
    pushl $2
    popfl
    movl 0(%edx), %ebx
    movl 4(%edx), %esi
    movl 8(%edx), %edi
    movl 12(%edx), %ebp
    pushl $SEL_KCODE                     /* far return: also right if CS was not KCODE */
    pushl 20(%edx)
    lret

/* A gate pointing here records ESP and the 8 dwords above it at entry, then resumes the
 * probe that caused it (resume_eip, with the stack pointer the probe had). Used where the
 * number of dwords the CPU pushed is itself under test, so no fixed frame layout can be
 * assumed. Ring 0 only, and SS-relative so DS does not matter. */
    .globl raw_catch
raw_catch:
    movl %esp, %ss:raw_esp
    pushl %eax
    pushl %ecx
    movl $0, %ecx
1:  movl %ss:8(%esp,%ecx,4), %eax
    movl %eax, %ss:raw_words(,%ecx,4)
    incl %ecx
    cmpl $8, %ecx
    jne 1b
    popl %ecx
    popl %eax
    incl %ss:raw_count
    movl %ss:probe_esp, %esp
    jmp *%ss:resume_eip
