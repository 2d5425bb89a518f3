/* The i386 architecture as the conformance programs need it: fixed-size types, descriptor and
 * gate encodings, EFLAGS/CR bits, and one-instruction wrappers. Facts come from the Intel
 * SDM; nothing here knows about tests. Every program includes it through conformance.h. */
#ifndef X86_H
#define X86_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

/* EFLAGS bits. */
#define EFL_CF 0x00000001u
#define EFL_FIXED 0x00000002u /* bit 1 always reads as 1 */
#define EFL_TF 0x00000100u
#define EFL_IF 0x00000200u
#define EFL_OF 0x00000800u
#define EFL_IOPL(n) ((u32)(n) << 12)
#define EFL_IOPL_MASK 0x00003000u
#define EFL_NT 0x00004000u
#define EFL_RF 0x00010000u
#define EFL_VM 0x00020000u
#define EFL_AC 0x00040000u
#define EFL_ID 0x00200000u

/* Control register bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x00000010u

/* Page-table entry bits (non-PAE). */
#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PDE_PS 0x080u

/* #PF error-code bits. */
#define PF_P 1u
#define PF_W 2u
#define PF_U 4u

/*
 * Segment descriptor attributes in the CPU-core contract's `access` layout: bits 0-3 type,
 * 4 S, 5-6 DPL, 7 P, 12 AVL, 14 D/B, 15 G (the descriptor's high dword bits 8-23, shifted
 * down by 8; the limit 19:16 nibble in bits 8-11 is filled from the limit).
 */
#define ACC_A 0x01u            /* accessed (code/data) */
#define ACC_DATA_RO 0x10u      /* S=1, data, read-only */
#define ACC_DATA_RW 0x12u      /* S=1, data, read/write */
#define ACC_DATA_RO_ED 0x14u   /* S=1, data, read-only, expand-down */
#define ACC_DATA_RW_ED 0x16u   /* S=1, data, read/write, expand-down */
#define ACC_CODE_X 0x18u       /* S=1, code, execute-only */
#define ACC_CODE_XR 0x1Au      /* S=1, code, execute/read */
#define ACC_CODE_XC 0x1Cu      /* S=1, code, execute-only, conforming */
#define ACC_CODE_XRC 0x1Eu     /* S=1, code, execute/read, conforming */
#define ACC_DPL(n) ((u32)(n) << 5)
#define ACC_P 0x80u
#define ACC_DB 0x4000u
#define ACC_G 0x8000u

/* System descriptor and gate types (S=0). */
#define SYS_LDT 0x2u
#define SYS_TASK_GATE 0x5u
#define SYS_TSS_AVAIL 0x9u
#define SYS_TSS_BUSY 0xBu
#define SYS_CALL_GATE 0xCu
#define SYS_INT_GATE 0xEu
#define SYS_TRAP_GATE 0xFu

/* A segment descriptor from base, raw 20-bit limit and contract-layout attributes. */
static inline u64 seg_desc(u32 base, u32 limit, u32 attr)
{
    u32 lo = (limit & 0xFFFFu) | (base << 16);
    u32 hi = ((base >> 16) & 0xFFu) | ((attr & 0xF0FFu) << 8) | (limit & 0xF0000u) |
             (base & 0xFF000000u);
    return ((u64)hi << 32) | lo;
}

/* A gate (call, interrupt, trap, task) descriptor. `params` is the call-gate dword count. */
static inline u64 gate_desc(u32 type, u32 dpl, u16 sel, u32 offset, u32 params, int present)
{
    u32 lo = ((u32)sel << 16) | (offset & 0xFFFFu);
    u32 hi = (offset & 0xFFFF0000u) | (present ? 0x8000u : 0) | (dpl << 13) | (type << 8) |
             (params & 0x1Fu);
    return ((u64)hi << 32) | lo;
}

/* The descriptor byte that holds P, DPL, S and type, as stored in a table (for checking
 * the accessed and busy bits the CPU writes back). */
static inline u8 desc_access_byte(u64 d) { return (u8)(d >> 40); }

/* The 32-bit TSS (Intel SDM vol. 3 figure 7-2). */
struct tss32 {
    u32 link; /* back-link in bits 0-15 */
    u32 esp0, ss0, esp1, ss1, esp2, ss2;
    u32 cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs;
    u32 ldt;
    u16 trap;
    u16 iomap_base;
};

#define TSS32_SIZE 104

struct dtr {
    u16 limit;
    u32 base;
} __attribute__((packed));

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static inline u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(u32 linear) { __asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory"); }

static inline u32 read_eflags(void)
{
    u32 v;
    __asm__ volatile("pushfl; popl %0" : "=r"(v));
    return v;
}
static inline void write_eflags(u32 v) { __asm__ volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc"); }

static inline u16 read_tr(void) { u16 v; __asm__ volatile("str %0" : "=r"(v)); return v; }
static inline u16 read_ldtr(void) { u16 v; __asm__ volatile("sldt %0" : "=r"(v)); return v; }
static inline u16 read_cs(void) { u16 v; __asm__ volatile("mov %%cs, %0" : "=r"(v)); return v; }
static inline u16 read_ss(void) { u16 v; __asm__ volatile("mov %%ss, %0" : "=r"(v)); return v; }
static inline u16 read_fs(void) { u16 v; __asm__ volatile("mov %%fs, %0" : "=r"(v)); return v; }
static inline u16 read_gs(void) { u16 v; __asm__ volatile("mov %%gs, %0" : "=r"(v)); return v; }
static inline void load_fs(u16 sel) { __asm__ volatile("mov %0, %%fs" : : "r"(sel) : "memory"); }
static inline void load_gs(u16 sel) { __asm__ volatile("mov %0, %%gs" : : "r"(sel) : "memory"); }
static inline void lldt(u16 sel) { __asm__ volatile("lldt %0" : : "r"(sel) : "memory"); }

/* Whether CPUID exists (EFLAGS.ID can be toggled), then CPUID leaf 1 EDX. */
static inline int has_cpuid(void)
{
    u32 before = read_eflags();
    write_eflags(before ^ EFL_ID);
    u32 after = read_eflags();
    write_eflags(before);
    return ((before ^ after) & EFL_ID) != 0;
}
static inline u32 cpuid_edx(u32 leaf)
{
    u32 a = leaf, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return d;
}
#define CPUID1_PSE (1u << 3)

#endif
