/* The entry point of every conformance program. The loader (QEMU's -kernel, GRUB, or the
 * lguest.ts harness) has put the ELF at its physical addresses and jumped here in the
 * multiboot machine state: flat 32-bit ring-0 segments, paging off, EAX = the boot magic.
 * We only need a stack and a clean BSS before C code can run; kmain builds the real GDT. */
#include "layout.h"

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    /* The entry sits at the first byte of the image so a flat .bin loaded at its link
     * address starts here too; the multiboot header follows, 4-byte aligned as required. */
    jmp real_start

    .balign 4
multiboot_header:
    .long MULTIBOOT_HEADER_MAGIC
    .long 0                              /* flags: nothing requested, load from ELF headers */
    .long -(MULTIBOOT_HEADER_MAGIC)      /* magic + flags + checksum == 0 */

real_start:
    cli
    cld
    movl %eax, %ebp                      /* keep the boot magic across the BSS clear */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl $boot_stack_top, %esp
    pushl %ebp
    call kmain
    /* kmain never returns; if it did, stop the machine rather than run off the end. */
1:  cli
    hlt
    jmp 1b

    .section .bss
    .balign 16
    .globl boot_stack, boot_stack_top
boot_stack:
    .skip 16384
boot_stack_top:
