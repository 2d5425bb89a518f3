// The switcher's memory (drivers/lguest/lg.h and core.c in 2.6.23). The switcher is a page of
// code mapped at the same high address in the host and in every guest; after it, each CPU
// has a pair of pages, `struct lguest_pages`. Page A is the stack the CPU lands on when the
// guest traps — so the guest's registers end up in `lguest_regs` at its top — and page B
// holds what the switcher loads on the way in and out: host CR3 and descriptor-table
// pointers, and the guest's IDT, GDT and TSS. The lg module fills these pages in TypeScript
// and the switcher reads them as x86 code, so both must agree to the byte.
// (lguest-abi.md §1.2, §1.3, §1.7, §1.9.)

import { DESC_PTR, DESC_STRUCT, GDT_ENTRIES, I386_HW_TSS, IDT_ENTRIES, PAGE_SIZE } from './i386';
import { defineStruct } from './struct';

/** Where the switcher lives in every address space: the top 4 MiB. */
export const SWITCHER_ADDR = 0xffc00000;
/** The page-directory slot that maps the switcher; guests may never touch it. */
export const SWITCHER_PGD_INDEX = 1023;
/** Pages of switcher code before the per-CPU pages (one in practice). */
export const SHARED_SWITCHER_PAGES = 1;

/** The guest's registers as the switcher saves them: the reverse of its push order. */
export const LGUEST_REGS = defineStruct('lguest_regs', [
  ['ebx', 'u32'],
  ['ecx', 'u32'],
  ['edx', 'u32'],
  ['esi', 'u32'],
  ['edi', 'u32'],
  ['ebp', 'u32'],
  ['gs', 'u32'],
  ['eax', 'u32'],
  ['fs', 'u32'],
  ['ds', 'u32'],
  ['es', 'u32'],
  ['trapnum', 'u32'],
  ['errcode', 'u32'],
  ['eip', 'u32'],
  ['cs', 'u32'],
  ['eflags', 'u32'],
  ['esp', 'u32'],
  ['ss', 'u32'],
], {
  doc:
    'Guest registers saved by the switcher on a trap: ebx..es pushed by the switcher, trapnum ' +
    'and errcode by the vector stub, eip..ss by the CPU.',
});

/** Page B: what the switcher reads (the guest can read it too, but not write it). */
export const LGUEST_RO_STATE = defineStruct('lguest_ro_state', [
  ['host_cr3', 'u32'],
  ['host_idt_desc', DESC_PTR],
  ['host_gdt_desc', DESC_PTR],
  ['host_sp', 'u32'],
  ['guest_idt_desc', DESC_PTR],
  ['guest_gdt_desc', DESC_PTR],
  ['guest_tss', I386_HW_TSS],
  ['guest_idt', DESC_STRUCT, IDT_ENTRIES],
  ['guest_gdt', DESC_STRUCT, GDT_ENTRIES],
], { doc: 'The read-only per-CPU page: host state to return to, and the guest tables to load.' });

/** One CPU's pair of switcher pages. */
export const LGUEST_PAGES = defineStruct('lguest_pages', [
  ['spare', 'u32', (PAGE_SIZE - LGUEST_REGS.size) / 4],
  ['regs', LGUEST_REGS],
  ['state', LGUEST_RO_STATE],
], {
  align: PAGE_SIZE,
  doc:
    'Per-CPU switcher pages. Page A is the stack the guest traps onto, with the registers at its ' +
    'top; page B (state) is mapped read-only.',
});

/** Guest-visible address of CPU `cpu`'s `struct lguest_pages`. */
export function lguestPagesAddr(cpu: number): number {
  return (SWITCHER_ADDR + SHARED_SWITCHER_PAGES * PAGE_SIZE + cpu * LGUEST_PAGES.size) >>> 0;
}

// The offsets the switcher's assembly uses, under their 2.6.23 asm-offsets names.
export const LGUEST_PAGES_host_cr3 = LGUEST_PAGES.offset('state.host_cr3');
export const LGUEST_PAGES_host_idt_desc = LGUEST_PAGES.offset('state.host_idt_desc');
export const LGUEST_PAGES_host_gdt_desc = LGUEST_PAGES.offset('state.host_gdt_desc');
export const LGUEST_PAGES_host_sp = LGUEST_PAGES.offset('state.host_sp');
export const LGUEST_PAGES_guest_idt_desc = LGUEST_PAGES.offset('state.guest_idt_desc');
export const LGUEST_PAGES_guest_gdt_desc = LGUEST_PAGES.offset('state.guest_gdt_desc');
export const LGUEST_PAGES_guest_gdt = LGUEST_PAGES.offset('state.guest_gdt');
export const LGUEST_PAGES_regs_trapnum = LGUEST_PAGES.offset('regs.trapnum');
export const LGUEST_PAGES_regs_errcode = LGUEST_PAGES.offset('regs.errcode');
