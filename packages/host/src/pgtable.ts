// Two-level i386 page tables in emulated RAM, read and written by TypeScript the way the
// CPU walks them. The host page directory, every process's page directory and their page
// tables are ordinary frames of physical memory: the CPU walks them when the host (or the
// switcher, on its way back from a guest) runs with a process's CR3, and the host walks
// the same bytes here when lg asks for a launcher page or the launcher reads its memory.

import { PAGE_SIZE, PGDIR_SHIFT, PAGE_SHIFT, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER } from './layout';

/** Physical memory as dwords (RAM is little-endian on every host we run on). */
export type Ram32 = Int32Array;

export function pgdIndex(vaddr: number): number {
  return vaddr >>> PGDIR_SHIFT;
}

export function pteIndex(vaddr: number): number {
  return (vaddr >>> PAGE_SHIFT) & 0x3ff;
}

/** The frame address in a directory or table entry. */
export function entryFrame(entry: number): number {
  return (entry & ~0xfff) >>> 0;
}

export function readEntry(ram32: Ram32, table: number, index: number): number {
  return ram32[(table >>> 2) + index] >>> 0;
}

export function writeEntry(ram32: Ram32, table: number, index: number, entry: number): void {
  ram32[(table >>> 2) + index] = entry | 0;
}

/** Physical address of the PTE for `vaddr` under directory `pgd`, or -1 if no page table. */
export function ptePhys(ram32: Ram32, pgd: number, vaddr: number): number {
  const pde = readEntry(ram32, pgd, pgdIndex(vaddr));
  if ((pde & _PAGE_PRESENT) === 0) return -1;
  return entryFrame(pde) + pteIndex(vaddr) * 4;
}

/**
 * Translate `vaddr` through directory `pgd` for an access of the given kind, as the CPU
 * would (U/S and R/W combined over both levels; supervisor writes honour R/W because the
 * host runs with CR0.WP). Returns the physical address or -1. Sets no accessed bits.
 */
export function translate(ram32: Ram32, pgd: number, vaddr: number, write: boolean, user: boolean): number {
  const pde = readEntry(ram32, pgd, pgdIndex(vaddr));
  if ((pde & _PAGE_PRESENT) === 0) return -1;
  const pte = readEntry(ram32, entryFrame(pde), pteIndex(vaddr));
  if ((pte & _PAGE_PRESENT) === 0) return -1;
  const both = pde & pte;
  if (user && (both & _PAGE_USER) === 0) return -1;
  if (write && (both & _PAGE_RW) === 0) return -1;
  return entryFrame(pte) + (vaddr & (PAGE_SIZE - 1));
}
