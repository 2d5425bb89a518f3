// The i386 and Linux 2.6.23 facts the lguest ABI is built on. lguest does not invent its own
// machine: the guest's GDT is Linux's 32-entry GDT with two slots taken by the host, its page
// tables are ordinary two-level i386 page tables that the host validates flag by flag, and
// the switcher loads real descriptor tables and a real TSS. Those shared facts live here so
// the guest's page-table code and the host's shadow page tables agree on every bit.
// (lguest-abi.md §1.5, §1.7, §5.3.)

import { defineStruct } from './struct';

// --- Paging (two-level, non-PAE) ---

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Each page-directory entry maps 4 MiB. */
export const PGDIR_SHIFT = 22;
export const PTRS_PER_PGD = 1024;
export const PTRS_PER_PTE = 1024;

export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_PWT = 0x008;
export const _PAGE_PCD = 0x010;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
export const _PAGE_PSE = 0x080;
export const _PAGE_GLOBAL = 0x100;
/** Flags of a page-directory entry pointing at a page table; guest PGD flags must be a subset. */
export const _PAGE_TABLE = 0x067;
/** Flags of the host's own kernel mappings (present, rw, accessed, dirty; non-PAE). */
export const _PAGE_KERNEL = 0x063;
/** A kernel page table's directory entry: as _PAGE_TABLE without user. */
export const _KERNPG_TABLE = 0x063;

// --- Flags and control-register bits lguest passes around ---

/** EFLAGS.IF: the value `lguest_data.irq_enabled` holds when virtual interrupts are on. */
export const X86_EFLAGS_IF = 0x200;
/** CR0.TS: what the guest passes to LHCALL_TS. */
export const X86_CR0_TS = 0x008;

// --- The GDT (Linux i386 layout; lguest owns entries 10, 11, 16 and 31) ---

export const GDT_ENTRIES = 32;
/** Bytes in a full GDT; the GDT descriptor limit is GDT_SIZE - 1. */
export const GDT_SIZE = 256;
export const GDT_ENTRY_TLS_MIN = 6;
export const GDT_ENTRY_TLS_ENTRIES = 3;
export const GDT_ENTRY_TLS_MAX = 8;
/** Host-owned flat 4 GiB code segment, DPL 0: the switcher's %cs. */
export const GDT_ENTRY_LGUEST_CS = 10;
/** Host-owned flat 4 GiB data segment, DPL 0: the switcher's %ds and the TSS ss0. */
export const GDT_ENTRY_LGUEST_DS = 11;
export const GDT_ENTRY_KERNEL_CS = 12;
export const GDT_ENTRY_KERNEL_DS = 13;
export const GDT_ENTRY_DEFAULT_USER_CS = 14;
export const GDT_ENTRY_DEFAULT_USER_DS = 15;
/** Host-owned: this CPU's guest TSS. */
export const GDT_ENTRY_TSS = 16;
export const GDT_ENTRY_LDT = 17;
export const GDT_ENTRY_ESPFIX_SS = 26;
export const GDT_ENTRY_PERCPU = 27;
/** Never copied from the guest; stays zero. */
export const GDT_ENTRY_DOUBLEFAULT_TSS = 31;

export const LGUEST_CS = GDT_ENTRY_LGUEST_CS * 8;
export const LGUEST_DS = GDT_ENTRY_LGUEST_DS * 8;
/** Selectors at RPL 0; the lguest guest kernel ORs in its privilege level (GUEST_PL). */
export const __KERNEL_CS = GDT_ENTRY_KERNEL_CS * 8;
export const __KERNEL_DS = GDT_ENTRY_KERNEL_DS * 8;
export const __USER_CS = GDT_ENTRY_DEFAULT_USER_CS * 8 + 3;
export const __USER_DS = GDT_ENTRY_DEFAULT_USER_DS * 8 + 3;
/** The per-CPU data segment Linux keeps in %fs. */
export const __KERNEL_PERCPU = GDT_ENTRY_PERCPU * 8;
/** The selector `ltr` loads on both sides of the switch. */
export const TSS_SELECTOR = GDT_ENTRY_TSS * 8;

// --- The IDT ---

export const IDT_ENTRIES = 256;
/** First vector of a hardware (here: virtual) interrupt; IRQ n arrives on vector 32 + n. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const SYSCALL_VECTOR = 0x80;

// --- Structures the switcher loads ---

/** A GDT or IDT entry as its two 32-bit words. */
export const DESC_STRUCT = defineStruct('desc_struct', [
  ['a', 'u32'],
  ['b', 'u32'],
], { doc: 'A GDT or IDT entry as two 32-bit words: a is the low word, b the high word.' });

/** The 6-byte operand of lgdt/lidt, padded to 8 (2.6.23 calls it Xgt_desc_struct). */
export const DESC_PTR = defineStruct('desc_ptr', [
  ['size', 'u16'],
  ['address', 'u32'],
  ['pad', 'u16'],
], { packed: true, doc: 'Operand of lgdt/lidt/sgdt/sidt (limit, linear base), padded to 8 bytes. Xgt_desc_struct in 2.6.23.' });

/** The 104-byte i386 hardware task-state segment. */
export const I386_HW_TSS = defineStruct('i386_hw_tss', [
  ['back_link', 'u16'], ['back_link_h', 'u16'],
  ['esp0', 'u32'],
  ['ss0', 'u16'], ['ss0_h', 'u16'],
  ['esp1', 'u32'],
  ['ss1', 'u16'], ['ss1_h', 'u16'],
  ['esp2', 'u32'],
  ['ss2', 'u16'], ['ss2_h', 'u16'],
  ['cr3', 'u32'],
  ['eip', 'u32'],
  ['eflags', 'u32'],
  ['eax', 'u32'], ['ecx', 'u32'], ['edx', 'u32'], ['ebx', 'u32'],
  ['esp', 'u32'], ['ebp', 'u32'], ['esi', 'u32'], ['edi', 'u32'],
  ['es', 'u16'], ['es_h', 'u16'],
  ['cs', 'u16'], ['cs_h', 'u16'],
  ['ss', 'u16'], ['ss_h', 'u16'],
  ['ds', 'u16'], ['ds_h', 'u16'],
  ['fs', 'u16'], ['fs_h', 'u16'],
  ['gs', 'u16'], ['gs_h', 'u16'],
  ['ldt', 'u16'], ['ldt_h', 'u16'],
  ['trace', 'u16'],
  ['io_bitmap_base', 'u16'],
], { packed: true, doc: 'The i386 hardware task-state segment (104 bytes); the *_h halves are reserved.' });
