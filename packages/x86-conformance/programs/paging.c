/* paging: two-level 32-bit paging. The program identity-maps its first 16 MiB (user, writable)
 * and puts test pages at 0x40000000 and up. Checked: the accessed bit in the PDE and PTE and
 * the dirty bit in the PTE as the CPU writes them; #PF error codes (P, W/R, U/S) and CR2 for
 * not-present pages, user writes to read-only pages, user access to supervisor pages (via the
 * PTE or the PDE), instruction fetches and a write straddling into a missing page; CR0.WP;
 * INVLPG and CR3 reloads making changed entries take effect; 4 MiB pages when CPUID has PSE. */
#include "lib/conformance.h"

const char program_name[] = "paging";

#define TEST_VA 0x40000000u /* PDE 256: pt_test */
#define VA(page) (TEST_VA + (page) * 4096u)

static u32 pd[1024] __attribute__((aligned(4096)));
static u32 pt_low[4][1024] __attribute__((aligned(4096)));
static u32 pt_test[1024] __attribute__((aligned(4096)));
static u32 pt_extra[2][1024] __attribute__((aligned(4096)));
static u8 pages[10][4096] __attribute__((aligned(4096)));

#define PAGE(n) ((u32)pages[n])

volatile u32 u_arg, u_out;
__asm__(".pushsection .text\n"
        ".globl u_read, u_read_insn\n"
        "u_read: movl u_arg, %ebx\n"
        "u_read_insn: movl (%ebx), %eax\n"
        "  movl %eax, u_out\n"
        "  int $0x7F\n"
        ".globl u_write, u_write_insn\n"
        "u_write: movl u_arg, %ebx\n"
        "u_write_insn: movl $0x5A5A5A5A, (%ebx)\n"
        "  int $0x7F\n"
        ".globl u_jump\n"
        "u_jump: movl u_arg, %eax\n"
        "  jmp *%eax\n"
        ".popsection");
extern char u_read[], u_read_insn[], u_write[], u_write_insn[], u_jump[];

/* Identity map 0-16 MiB as user/writable (so ring-3 snippets and their data work), an empty
 * page table at TEST_VA, and paging on with CR0.WP as asked. */
static void paging_on(int wp)
{
    for (u32 i = 0; i < 1024; i++) pd[i] = 0;
    for (u32 t = 0; t < 4; t++) {
        for (u32 i = 0; i < 1024; i++) pt_low[t][i] = ((t * 1024 + i) << 12) | PTE_P | PTE_W | PTE_U;
        pd[t] = (u32)pt_low[t] | PTE_P | PTE_W | PTE_U;
    }
    for (u32 i = 0; i < 1024; i++) pt_test[i] = 0;
    pd[TEST_VA >> 22] = (u32)pt_test | PTE_P | PTE_W | PTE_U;
    for (u32 n = 0; n < 10; n++)
        for (u32 i = 0; i < 4096; i += 4) *(u32 *)&pages[n][i] = 0x01010101u * (n + 1);
    write_cr3((u32)pd);
    write_cr0(read_cr0() | CR0_PG | (wp ? CR0_WP : 0));
}

static volatile u32 *pte(u32 page) { return &pt_test[page]; }

static u32 read32(u32 va)
{
    u32 v = 0xDEADBEEF;
    trap_reset();
    __asm__ volatile(PROBE("movl (%1), %0") : "+r"(v) : "r"(va) : "memory");
    return v;
}

static void write32(u32 va, u32 v)
{
    trap_reset();
    __asm__ volatile(PROBE("movl %0, (%1)") : : "r"(v), "r"(va) : "memory");
}

static void expect_pf(const char *what, u32 error, u32 cr2)
{
    expect_fault(what, 14, error);
    if (trap.count == 1 && trap.vector == 14) check_eq("CR2", trap.cr2, cr2);
}

static void expect_user_pf(const char *what, u32 r, u32 error, u32 cr2, const char *insn)
{
    expect_outer_fault(what, r, 14, error, (u32)insn, SEL_UCODE, outer_entry_esp(), SEL_UDATA);
    if (trap.vector == 14) check_eq("CR2", trap.cr2, cr2);
}

static void test_accessed_dirty(void)
{
    paging_on(0);
    *pte(0) = PAGE(0) | PTE_P | PTE_W | PTE_U;
    volatile u32 *pde = &pd[TEST_VA >> 22];
    check_eq("PDE A clear before use", *pde & PTE_A, 0);
    check_eq("read", read32(VA(0) + 8), 0x01010101);
    check_eq("PDE A set by the walk", *pde & PTE_A, PTE_A);
    check_eq("PTE A set by a read", *pte(0) & PTE_A, PTE_A);
    check_eq("PTE D clear after a read", *pte(0) & PTE_D, 0);
    write32(VA(0) + 8, 0x12345678);
    expect_no_trap("write");
    check_eq("PTE D set by a write (TLB entry was clean)", *pte(0) & PTE_D, PTE_D);
    check_eq("the write reached the page", *(volatile u32 *)(PAGE(0) + 8), 0x12345678);
    /* Cleared by software and flushed, both bits come back on a single write. */
    *pte(0) &= ~(PTE_A | PTE_D);
    invlpg(VA(0));
    write32(VA(0), 1);
    check_eq("A and D after a write", *pte(0) & (PTE_A | PTE_D), PTE_A | PTE_D);
    check_eq("other PTE bits untouched", *pte(0) & ~(PTE_A | PTE_D), PAGE(0) | PTE_P | PTE_W | PTE_U);
}

static void test_not_present(void)
{
    paging_on(0);
    read32(VA(1) + 0x234);
    expect_pf("read, PTE P=0", 0, VA(1) + 0x234);
    write32(VA(1) + 0x238, 0);
    expect_pf("write, PTE P=0", PF_W, VA(1) + 0x238);
    /* The other bits of a not-present entry mean nothing. */
    *pte(1) = PAGE(1) | PTE_W | PTE_U;
    read32(VA(1));
    expect_pf("read, P=0 with W and U set", 0, VA(1));
    read32(0x40400010);
    expect_pf("read, PDE P=0", 0, 0x40400010);
    u_arg = VA(1) + 4;
    u32 r = run_at(3, u_read, 0);
    expect_user_pf("ring 3 read, P=0", r, PF_U, VA(1) + 4, u_read_insn);
    r = run_at(3, u_write, 0);
    expect_user_pf("ring 3 write, P=0", r, PF_U | PF_W, VA(1) + 4, u_write_insn);
}

static void test_user_read_only(void)
{
    paging_on(0);
    *pte(2) = PAGE(2) | PTE_P | PTE_U;
    u_arg = VA(2) + 0x10;
    u32 r = run_at(3, u_read, 0);
    check_eq("ring 3 read of a read-only page", r, VEC_EXIT);
    check_eq("value", u_out, 0x03030303);
    r = run_at(3, u_write, 0);
    expect_user_pf("ring 3 write of a read-only page", r, PF_P | PF_W | PF_U, VA(2) + 0x10, u_write_insn);
    check_eq("page unchanged", *(volatile u32 *)(PAGE(2) + 0x10), 0x03030303);
    /* A read-only PDE makes the whole table read-only for ring 3. */
    pd[(TEST_VA >> 22) + 1] = (u32)pt_extra[0] | PTE_P | PTE_U;
    pt_extra[0][0] = PAGE(3) | PTE_P | PTE_W | PTE_U;
    u_arg = 0x40400000;
    r = run_at(3, u_write, 0);
    expect_user_pf("ring 3 write, PDE read-only", r, PF_P | PF_W | PF_U, 0x40400000, u_write_insn);
}

static void test_user_supervisor(void)
{
    paging_on(0);
    *pte(3) = PAGE(3) | PTE_P | PTE_W;
    u_arg = VA(3) + 0x20;
    u32 r = run_at(3, u_read, 0);
    expect_user_pf("ring 3 read of a supervisor page", r, PF_P | PF_U, VA(3) + 0x20, u_read_insn);
    r = run_at(3, u_write, 0);
    expect_user_pf("ring 3 write of a supervisor page", r, PF_P | PF_W | PF_U, VA(3) + 0x20, u_write_insn);
    check_eq("ring 0 reads it", read32(VA(3)), 0x04040404);
    expect_no_trap("ring 0 read");
    /* A supervisor PDE overrides a user PTE. */
    pd[(TEST_VA >> 22) + 2] = (u32)pt_extra[1] | PTE_P | PTE_W;
    pt_extra[1][0] = PAGE(4) | PTE_P | PTE_W | PTE_U;
    u_arg = 0x40800008;
    r = run_at(3, u_read, 0);
    expect_user_pf("ring 3 read, PDE supervisor", r, PF_P | PF_U, 0x40800008, u_read_insn);
}

static void test_cr0_wp(void)
{
    paging_on(0);
    *pte(2) = PAGE(2) | PTE_P | PTE_U;
    write32(VA(2), 0xAAAA0000);
    expect_no_trap("WP=0: ring 0 writes a read-only page");
    check_eq("the write landed", *(volatile u32 *)PAGE(2), 0xAAAA0000);
    check_eq("and set D", *pte(2) & PTE_D, PTE_D);
    write_cr0(read_cr0() | CR0_WP);
    write32(VA(2) + 4, 0xBBBB0000);
    expect_pf("WP=1: ring 0 writes a read-only page", PF_P | PF_W, VA(2) + 4);
    check_eq("the refused write did not land", *(volatile u32 *)(PAGE(2) + 4), 0x03030303);
    /* WP=1 also honours a read-only PDE for supervisor writes. */
    pd[(TEST_VA >> 22) + 1] = (u32)pt_extra[0] | PTE_P | PTE_U;
    pt_extra[0][0] = PAGE(3) | PTE_P | PTE_W | PTE_U;
    write32(0x40400000, 0);
    expect_pf("WP=1: ring 0 writes through a read-only PDE", PF_P | PF_W, 0x40400000);
    write_cr0(read_cr0() & ~CR0_WP);
    write32(0x40400000, 0);
    expect_no_trap("WP=0: the same write succeeds");
}

static void test_invlpg(void)
{
    paging_on(0);
    *pte(4) = PAGE(6) | PTE_P | PTE_W;
    check_eq("old mapping", read32(VA(4)), 0x07070707);
    *pte(4) = PAGE(7) | PTE_P | PTE_W;
    invlpg(VA(4));
    check_eq("new mapping after INVLPG", read32(VA(4)), 0x08080808);
    *pte(4) = 0;
    invlpg(VA(4));
    read32(VA(4));
    expect_pf("unmapped after INVLPG", 0, VA(4));
}

static void test_cr3_reload(void)
{
    paging_on(0);
    *pte(5) = PAGE(6) | PTE_P | PTE_W;
    check_eq("old mapping", read32(VA(5)), 0x07070707);
    *pte(5) = PAGE(8) | PTE_P | PTE_W;
    write_cr3(read_cr3());
    check_eq("new mapping after CR3 reload", read32(VA(5)), 0x09090909);
    *pte(5) = 0;
    write_cr3((u32)pd);
    read32(VA(5));
    expect_pf("unmapped after CR3 reload", 0, VA(5));
}

static void test_fetch_fault(void)
{
    paging_on(0);
    u32 target = VA(6) + 0x10;
    trap_reset();
    __asm__ volatile(PROBE("jmp *%0") : : "r"(target) : "memory");
    if (check_eq("traps", trap.count, 1)) {
        check_eq("vector", trap.vector, 14);
        check_eq("error (supervisor read)", trap.error, 0);
        check_eq("CR2 is the target", trap.cr2, target);
        check_eq("EIP is the target", trap.eip, target);
    }
    /* Ring 3 fetching from a supervisor page. */
    *pte(6) = PAGE(9) | PTE_P | PTE_W;
    u_arg = target;
    u32 r = run_at(3, u_jump, 0);
    expect_outer_fault("ring 3 fetch from a supervisor page", r, 14, PF_P | PF_U, target, SEL_UCODE,
                       outer_entry_esp(), SEL_UDATA);
    check_eq("CR2", trap.cr2, target);
}

static void test_straddling_write(void)
{
    /* A dword write across into a missing page faults on the missing page's first byte. */
    paging_on(0);
    *pte(8) = PAGE(5) | PTE_P | PTE_W;
    write32(VA(8) + 0xFFE, 0x11223344);
    expect_pf("write straddling into a missing page", PF_W, VA(9));
    read32(VA(8) + 0xFFD);
    expect_pf("read straddling into a missing page", 0, VA(9));
}

static void test_pse_4m(void)
{
    if (!has_cpuid() || !(cpuid_edx(1) & CPUID1_PSE)) {
        skip_test("CPUID reports no PSE");
        return;
    }
    paging_on(0);
    set_cr4(read_cr4() | CR4_PSE);
    /* Virtual 0x80000000 -> physical 8 MiB as one 4 MiB page. */
    volatile u32 *big = &pd[0x80000000u >> 22];
    *big = 0x00800000u | PDE_PS | PTE_P | PTE_W;
    *(volatile u32 *)0x00801234 = 0xCAFEF00D;
    *(volatile u32 *)0x00BFFFFC = 0x0BADCAFE;
    check_eq("read through the 4 MiB page", read32(0x80001234), 0xCAFEF00D);
    check_eq("last dword of the 4 MiB page", read32(0x803FFFFC), 0x0BADCAFE);
    check_eq("PDE A set", *big & PTE_A, PTE_A);
    check_eq("PDE D clear after reads", *big & PTE_D, 0);
    write32(0x80000010, 0x5555AAAA);
    expect_no_trap("write");
    check_eq("PDE D set by a write", *big & PTE_D, PTE_D);
    check_eq("the write landed at 8 MiB + 0x10", *(volatile u32 *)0x00800010, 0x5555AAAA);
    /* Supervisor-only 4 MiB page: ring 3 is refused. */
    u_arg = 0x80000020;
    u32 r = run_at(3, u_read, 0);
    expect_user_pf("ring 3 read of a supervisor 4 MiB page", r, PF_P | PF_U, 0x80000020, u_read_insn);
}

void program_main(void)
{
    run_test("accessed-dirty", test_accessed_dirty);
    run_test("not-present", test_not_present);
    run_test("user-read-only", test_user_read_only);
    run_test("user-supervisor", test_user_supervisor);
    run_test("cr0-wp", test_cr0_wp);
    run_test("invlpg", test_invlpg);
    run_test("cr3-reload", test_cr3_reload);
    run_test("fetch-fault", test_fetch_fault);
    run_test("straddling-write", test_straddling_write);
    run_test("pse-4m", test_pse_4m);
}
