/* The real-mode code the v86 program runs in virtual-8086 mode. It is position independent
 * (only relative jumps and blob-relative data offsets) because v86.c copies it below 1 MiB,
 * to V86_BASE (linear 0x20000, CS = DS = 0x2000), where V86 addresses can reach it. Each
 * entry point is one small scenario ending with INT 0x7F (the excursion exit) or with the
 * instruction under test, whose fault ends the excursion. */
#include "lib/layout.h"

#define OFF(label) ((label) - v86_blob_start)

    .data
    .code16
    .globl v86_blob_start, v86_blob_end
v86_blob_start:

/* Real-mode segment arithmetic, a near call and the stack, then exit. */
    .globl v_basic, v_basic_done
v_basic:
    movw $0x1234, %ax
    movw %ax, %es
    movw $0xBEEF, %es:0x10           /* linear 0x1234 * 16 + 0x10 = 0x12350 */
    movw %cs, %bx
    movw %bx, OFF(v_result_cs)       /* DS = CS = 0x2000 on entry */
    pushw $0x5678
    popw %dx
    movw %dx, OFF(v_result_pop)
    call 1f
    jmp 2f
1:  movw $0x4321, OFF(v_result_call)
    ret
2:  int $VEC_EXIT
v_basic_done:

/* A software interrupt the ring-0 handler returns from with IRET; then exit. */
    .globl v_int30, v_int30_after
v_int30:
    movw $0x5555, %si
    int $0x30
v_int30_after:
    movw %ax, OFF(v_result_ax)
    movw %si, OFF(v_result_si)
    int $VEC_EXIT

/* Single instructions that are IOPL-sensitive (or always privileged) in V86 mode. */
    .globl v_int, v_cli, v_sti, v_pushf, v_popf, v_iret, v_hlt, v_int3, v_ud2, v_inb, v_lidt
v_int:   int $0x30
         int $VEC_EXIT
v_cli:   cli
         int $VEC_EXIT
v_sti:   sti
         int $VEC_EXIT
v_pushf: pushf
         int $VEC_EXIT
v_popf:  pushw $0x0002
         .globl v_popf_insn
v_popf_insn:
         popf
         int $VEC_EXIT
v_iret:  pushw $0
         pushw %cs
         pushw $OFF(v_iret_back)
         .globl v_iret_insn
v_iret_insn:
         iret
v_iret_back:
         int $VEC_EXIT
v_hlt:   hlt
         int $VEC_EXIT
v_int3:  int3
         int $VEC_EXIT
v_ud2:   ud2
v_inb:   inb $0x80, %al
         int $VEC_EXIT
v_lidt:  lidt 0
         int $VEC_EXIT

    .balign 2
    .globl v_result_cs, v_result_pop, v_result_call, v_result_ax, v_result_si
v_result_cs:   .word 0
v_result_pop:  .word 0
v_result_call: .word 0
v_result_ax:   .word 0
v_result_si:   .word 0
v86_blob_end:
    .code32
