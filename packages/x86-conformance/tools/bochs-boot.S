/* A floppy boot sector that turns Bochs into the conformance programs' test machine: Bochs
 * has no multiboot loader, so run-on-qemu.sh --bochs has Bochs put the program's flat .bin at
 * 1 MiB (optramimage) and boots this sector, which creates the multiboot entry state the
 * programs expect (README.md: "The test machine") and jumps to 0x00100000.
 * Built by run-on-qemu.sh: gcc -m32 -c, ld -m elf_i386 -Ttext 0x7C00, objcopy -O binary. */

#define MBI_ADDR 0x9000

    .code16
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x7C00, %sp
    /* Addresses above 1 MiB need A20: the "fast A20" bit of port 0x92. */
    inb $0x92, %al
    orb $2, %al
    andb $0xFE, %al
    outb %al, $0x92
    /* A zeroed multiboot information structure for EBX (the programs do not read it). */
    xorw %ax, %ax
    movw $MBI_ADDR, %di
    movw $64, %cx
    cld
    rep stosw
    lgdtl gdtr
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $pm32

    .code32
pm32:
    movl $0x10, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    xorl %esp, %esp
    pushl $2                        /* EFLAGS = 0x2, as the convention says */
    popfl
    xorl %esp, %esp
    movl $MBI_ADDR, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    movl $0x2BADB002, %eax
    ljmp $0x08, $0x00100000

    .balign 8
gdt:
    .quad 0
    .quad 0x00CF9B000000FFFF        /* 0x08: flat ring-0 code, accessed */
    .quad 0x00CF93000000FFFF        /* 0x10: flat ring-0 data, accessed */
gdtr:
    .word gdtr - gdt - 1
    .long gdt

    .org 510
    .word 0xAA55
