/* iopl: I/O permission. IN/OUT/INS/OUTS are allowed when CPL <= IOPL; otherwise the TSS I/O
 * permission bitmap decides, bit by bit for every byte of the access (so a word or dword
 * access may straddle bitmap bytes), and an access whose two bitmap bytes are not both within
 * the TSS limit is refused. Every refusal is #GP(0) at the I/O instruction.
 * Ports 0x200-0x211 are used: no device of the test machine (or QEMU or Bochs) claims them. */
#include "lib/conformance.h"

const char program_name[] = "iopl";

volatile u32 u_port;
volatile u8 u_buf[16];

/* Each snippet loads DX (and ESI/EDI) and does one I/O instruction, labelled *_insn. */
__asm__(".pushsection .text\n"
        ".globl u_inb, u_inb_insn\n"
        "u_inb: movl u_port, %edx\n"
        "u_inb_insn: inb %dx, %al\n  int $0x7F\n"
        ".globl u_inw, u_inw_insn\n"
        "u_inw: movl u_port, %edx\n"
        "u_inw_insn: inw %dx, %ax\n  int $0x7F\n"
        ".globl u_inl, u_inl_insn\n"
        "u_inl: movl u_port, %edx\n"
        "u_inl_insn: inl %dx, %eax\n  int $0x7F\n"
        ".globl u_outb, u_outb_insn\n"
        "u_outb: movl u_port, %edx\n"
        "u_outb_insn: outb %al, %dx\n  int $0x7F\n"
        ".globl u_insb, u_insb_insn\n"
        "u_insb: movl u_port, %edx\n  movl $u_buf, %edi\n  cld\n"
        "u_insb_insn: insb\n  int $0x7F\n"
        ".globl u_outsb, u_outsb_insn\n"
        "u_outsb: movl u_port, %edx\n  movl $u_buf, %esi\n  cld\n"
        "u_outsb_insn: outsb\n  int $0x7F\n"
        ".globl u_inb_imm\n"
        "u_inb_imm: inb $0x80, %al\n  int $0x7F\n"
        ".popsection");
extern char u_inb[], u_inb_insn[], u_inw[], u_inw_insn[], u_inl[], u_inl_insn[], u_outb[],
    u_outb_insn[], u_insb[], u_insb_insn[], u_outsb[], u_outsb_insn[], u_inb_imm[];

static const u16 code_sel[4] = { SEL_KCODE, SEL_R1CODE, SEL_R2CODE, SEL_UCODE };
static const u16 data_sel[4] = { SEL_KDATA, SEL_R1DATA, SEL_R2DATA, SEL_UDATA };

/* Runs `code` at `ring` with `iopl` and checks it either completed or was refused with #GP(0)
 * at `insn`. */
static void io_at(const char *what, u32 ring, u32 iopl, const char *code, const char *insn, u32 port,
                  int allowed)
{
    u_port = port;
    u32 r = run_at(ring, code, EFL_IOPL(iopl));
    if (allowed)
        check_eq(what, r, VEC_EXIT);
    else
        expect_outer_fault(what, r, 13, 0, (u32)insn, code_sel[ring], outer_entry_esp(), data_sel[ring]);
}

static void allow_port(u32 port) { main_tss.iomap[port >> 3] &= (u8)~(1u << (port & 7)); }
static void deny_port(u32 port) { main_tss.iomap[port >> 3] |= (u8)(1u << (port & 7)); }

static void test_iopl_without_bitmap(void)
{
    /* Base state: the bitmap offset lies past the TSS limit, so only IOPL can allow I/O. */
    io_at("ring 3, IOPL 0: IN", 3, 0, u_inb, u_inb_insn, 0x200, 0);
    io_at("ring 3, IOPL 0: OUT", 3, 0, u_outb, u_outb_insn, 0x200, 0);
    io_at("ring 3, IOPL 0: INS", 3, 0, u_insb, u_insb_insn, 0x200, 0);
    io_at("ring 3, IOPL 0: OUTS", 3, 0, u_outsb, u_outsb_insn, 0x200, 0);
    io_at("ring 3, IOPL 0: IN imm8", 3, 0, u_inb_imm, u_inb_imm, 0x80, 0);
    io_at("ring 3, IOPL 3: IN", 3, 3, u_inb, u_inb_insn, 0x200, 1);
    io_at("ring 3, IOPL 3: OUTS", 3, 3, u_outsb, u_outsb_insn, 0x200, 1);
    io_at("ring 1, IOPL 1: IN", 1, 1, u_inl, u_inl_insn, 0x200, 1);
    io_at("ring 2, IOPL 1: IN", 2, 1, u_inl, u_inl_insn, 0x200, 0);
    io_at("ring 1, IOPL 0: IN", 1, 0, u_inb, u_inb_insn, 0x200, 0);
}

static void test_bitmap(void)
{
    reload_main_tr(TSS32_SIZE + sizeof(main_tss.iomap) - 1);
    allow_port(0x200);
    allow_port(0x202);
    allow_port(0x203);
    for (u32 p = 0x204; p < 0x208; p++) allow_port(p);
    for (u32 p = 0x20E; p < 0x212; p++) allow_port(p);
    allow_port(0x80);
    io_at("IN byte, bit clear", 3, 0, u_inb, u_inb_insn, 0x200, 1);
    io_at("IN byte, bit set", 3, 0, u_inb, u_inb_insn, 0x201, 0);
    io_at("OUT byte, bit clear", 3, 0, u_outb, u_outb_insn, 0x200, 1);
    io_at("INS byte, bit clear", 3, 0, u_insb, u_insb_insn, 0x200, 1);
    io_at("OUTS byte, bit set", 3, 0, u_outsb, u_outsb_insn, 0x201, 0);
    io_at("IN imm8 0x80, bit clear", 3, 0, u_inb_imm, u_inb_imm, 0x80, 1);
    io_at("IN word, both bits clear", 3, 0, u_inw, u_inw_insn, 0x202, 1);
    io_at("IN word, second bit set", 3, 0, u_inw, u_inw_insn, 0x207, 0);
    io_at("IN word, first bit set", 3, 0, u_inw, u_inw_insn, 0x201, 0);
    io_at("IN dword, four bits clear", 3, 0, u_inl, u_inl_insn, 0x204, 1);
    io_at("IN dword, last bit set", 3, 0, u_inl, u_inl_insn, 0x205, 0);
    io_at("IN dword straddling bitmap bytes", 3, 0, u_inl, u_inl_insn, 0x20E, 1);
    deny_port(0x210);
    io_at("IN dword straddling, a bit set in the second byte", 3, 0, u_inl, u_inl_insn, 0x20E, 0);
    /* Below IOPL the bitmap is consulted in any ring; at or above IOPL it is not. */
    io_at("ring 1, IOPL 0, bit clear", 1, 0, u_inb, u_inb_insn, 0x200, 1);
    io_at("ring 1, IOPL 0, bit set", 1, 0, u_inb, u_inb_insn, 0x201, 0);
    io_at("ring 3, IOPL 3, bit set", 3, 3, u_inb, u_inb_insn, 0x201, 1);
}

static void test_bitmap_limit(void)
{
    /* Bitmap bytes 0..0x40 lie within the limit, byte 0x41 does not. The CPU reads two
     * bytes for every check, so port 0x1FF (bytes 0x3F, 0x40) is checkable and port 0x200
     * (bytes 0x40, 0x41) is refused even with its bit clear. */
    for (u32 i = 0; i <= 0x42; i++) main_tss.iomap[i] = 0;
    reload_main_tr(TSS32_SIZE + 0x40);
    io_at("port 0x1FF, both bitmap bytes within the limit", 3, 0, u_inb, u_inb_insn, 0x1FF, 1);
    io_at("port 0x200, second bitmap byte past the limit", 3, 0, u_inb, u_inb_insn, 0x200, 0);
    /* A bitmap offset past the limit denies everything. */
    main_tss.t.iomap_base = 0xFFFF;
    io_at("bitmap offset past the limit", 3, 0, u_inb, u_inb_insn, 0x1FF, 0);
    /* IOPL still overrides. */
    io_at("IOPL 3 with no usable bitmap", 3, 3, u_inb, u_inb_insn, 0x1FF, 1);
}

void program_main(void)
{
    run_test("iopl-without-bitmap", test_iopl_without_bitmap);
    run_test("bitmap", test_bitmap);
    run_test("bitmap-limit", test_bitmap_limit);
}
