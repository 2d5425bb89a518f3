// Segments: the guest's GDT, and the guard that keeps the guest below the switcher.
//
// A guest kernel builds an ordinary Linux GDT and hands it over with LHCALL_LOAD_GDT (and its
// thread-local entries with LHCALL_LOAD_TLS). We keep a copy, and before each entry the
// switcher's page gets the copy's entries — except four that belong to the host: 10 and 11
// (LGUEST_CS/LGUEST_DS, the switcher's own flat ring-0 segments, identical in the host's
// GDT so %cs and %ds survive the switch), 16 (this CPU's guest TSS) and 31 (the double-fault
// TSS, left empty). The guest runs in ring 1, so a DPL of 0 becomes 1 (otherwise it could
// not load its own kernel segments), and the accessed bit is set up front because the CPU
// cannot write it into the read-only page the GDT lives in.
//
// That much is 2.6.23. Our design adds the segmentation guard of the early lguest: a guest
// segment may not reach the switcher at all. Every code and data segment is cut so that
// base + limit stays below SWITCHER_ADDR — a ring-1 access up there is a #GP, before paging
// is even asked — and a segment that cannot be cut (based in the switcher's 4 MiB, or
// expand-down across it) is marked not present. System descriptors (TSS, LDT, call gates)
// are never taken from the guest: a call gate through LGUEST_CS would be a door into ring 0.

import {
  GDT_ENTRIES,
  GDT_ENTRY_DOUBLEFAULT_TSS,
  GDT_ENTRY_LGUEST_CS,
  GDT_ENTRY_LGUEST_DS,
  GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS,
  GDT_ENTRY_TLS_ENTRIES,
  GDT_ENTRY_TLS_MIN,
  GDT_ENTRY_TSS,
  GUEST_PL,
  SWITCHER_ADDR,
} from '@lguest/abi';
import { CHANGED_GDT, CHANGED_GDT_TLS, killGuest, lgread, type Guest } from './lg';

/** Descriptor high-word bits. */
const DESC_ACCESSED = 0x100;
const DESC_S = 0x1000; // code or data (not a system descriptor)
const DESC_DPL = 0x6000;
const DESC_PRESENT = 0x8000;
const DESC_GRANULARITY = 0x800000;
const DESC_BIG = 0x400000;
const TYPE_CODE = 0x8;
const TYPE_EXPAND_DOWN = 0x4;

/** The switcher's flat 4 GiB ring-0 code and data segments (host-owned GDT entries 10, 11). */
export const LGUEST_CS_DESC: readonly [number, number] = [0x0000ffff, 0x00cf9b00];
export const LGUEST_DS_DESC: readonly [number, number] = [0x0000ffff, 0x00cf9300];

/** Entries 10, 11, 16 and 31 are the host's: never copied from the guest. */
export function isIgnoredGdt(index: number): boolean {
  return (
    index === GDT_ENTRY_LGUEST_CS ||
    index === GDT_ENTRY_LGUEST_DS ||
    index === GDT_ENTRY_TSS ||
    index === GDT_ENTRY_DOUBLEFAULT_TSS
  );
}

/** A descriptor's base address. */
export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}

/** A descriptor's limit in bytes (the last valid offset), with the granularity applied. */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & DESC_GRANULARITY ? raw * 4096 + 4095 : raw;
}

/**
 * Whether the linear addresses [start, end] (end may pass 2^32 and wrap, but the range is
 * shorter than 4 GiB) touch the switcher's 4 MiB at the top of the address space.
 */
function reachesSwitcher(start: number, end: number): boolean {
  if (start > end) return false;
  for (const wrap of [0, 0x1_0000_0000]) {
    if (start <= wrap + 0xffffffff && end >= wrap + SWITCHER_ADDR) return true;
  }
  return false;
}

/**
 * Fix up the guest descriptor at `gdt[2*i]`, `gdt[2*i+1]` in place (fixup_gdt_table, plus the
 * guard): system descriptors are dropped (zeroed); code and data segments get DPL 1 for
 * DPL 0 and the accessed bit, and are cut below SWITCHER_ADDR or made not present.
 */
export function fixupDescriptor(gdt: Uint32Array, i: number): void {
  let lo = gdt[2 * i] >>> 0;
  let hi = gdt[2 * i + 1] >>> 0;
  if ((hi & DESC_S) === 0) {
    gdt[2 * i] = 0;
    gdt[2 * i + 1] = 0;
    return;
  }
  if ((hi & DESC_DPL) === 0) hi |= GUEST_PL << 13;
  hi |= DESC_ACCESSED;

  const type = (hi >>> 8) & 0xf;
  const base = descriptorBase(lo, hi);
  const limit = descriptorLimit(lo, hi);
  if ((type & TYPE_CODE) === 0 && (type & TYPE_EXPAND_DOWN) !== 0) {
    // Expand-down: the valid offsets are (limit, top]. Raising the limit cannot move the top
    // end, so a segment whose range reaches the switcher is simply unusable.
    const top = hi & DESC_BIG ? 0xffffffff : 0xffff;
    if (reachesSwitcher(base + limit + 1, base + top)) hi &= ~DESC_PRESENT;
  } else if (reachesSwitcher(base, base + limit)) {
    if (base >= SWITCHER_ADDR) {
      hi &= ~DESC_PRESENT;
    } else {
      // Cut the limit to end just below the switcher, in pages if the descriptor counts pages
      // and there is at least one whole page, else in bytes.
      const bytes = SWITCHER_ADDR - 1 - base;
      let field: number;
      if (hi & DESC_GRANULARITY && bytes >= 4095) {
        field = Math.floor((bytes + 1) / 4096) - 1;
      } else {
        hi &= ~DESC_GRANULARITY;
        field = Math.min(bytes, 0xfffff);
      }
      lo = (lo & 0xffff0000) | (field & 0xffff);
      hi = (hi & ~0xf0000) | (field & 0xf0000);
    }
  }
  gdt[2 * i] = lo >>> 0;
  gdt[2 * i + 1] = hi >>> 0;
}

/** Fix up entries [start, end) of a guest GDT copy. */
export function fixupGdtTable(gdt: Uint32Array, start: number, end: number): void {
  for (let i = start; i < end; i++) if (!isIgnoredGdt(i)) fixupDescriptor(gdt, i);
}

/**
 * setup_guest_gdt: before the guest loads a GDT of its own it runs on flat kernel code and
 * data segments (entries 12 and 13) at ring 1 — cut below the switcher like everything else.
 */
export function setupGuestGdt(guest: Guest): void {
  const gdt = guest.gdt;
  gdt.fill(0);
  gdt[2 * GDT_ENTRY_KERNEL_CS] = LGUEST_CS_DESC[0];
  gdt[2 * GDT_ENTRY_KERNEL_CS + 1] = LGUEST_CS_DESC[1];
  gdt[2 * GDT_ENTRY_KERNEL_DS] = LGUEST_DS_DESC[0];
  gdt[2 * GDT_ENTRY_KERNEL_DS + 1] = LGUEST_DS_DESC[1];
  fixupDescriptor(gdt, GDT_ENTRY_KERNEL_CS);
  fixupDescriptor(gdt, GDT_ENTRY_KERNEL_DS);
  guest.changed |= CHANGED_GDT;
}

/** Read `count` descriptors from guest memory into `gdt` from entry `first`. */
function readDescriptors(guest: Guest, addr: number, gdt: Uint32Array, first: number, count: number): boolean {
  const bytes = lgread(guest, addr, count * 8);
  if (!bytes) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    gdt[2 * (first + i)] = view.getUint32(i * 8, true);
    gdt[2 * (first + i) + 1] = view.getUint32(i * 8 + 4, true);
  }
  return true;
}

/** LHCALL_LOAD_GDT(table, num): the guest's whole GDT, fixed up. */
export function loadGuestGdt(guest: Guest, table: number, num: number): void {
  if (num > GDT_ENTRIES) {
    killGuest(guest, `too many gdt entries ${num}`);
    return;
  }
  if (!readDescriptors(guest, table, guest.gdt, 0, num)) return;
  fixupGdtTable(guest.gdt, 0, GDT_ENTRIES);
  guest.changed |= CHANGED_GDT;
}

/** LHCALL_LOAD_TLS(tls): the three thread-local descriptors, entries 6-8. */
export function guestLoadTls(guest: Guest, gtls: number): void {
  if (!readDescriptors(guest, gtls, guest.gdt, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_ENTRIES)) return;
  fixupGdtTable(guest.gdt, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES);
  guest.changed |= CHANGED_GDT_TLS;
}

/** copy_gdt: the guest's entries into the GDT the switcher loads (at physical `gdtPhys`). */
export function copyGdt(guest: Guest, view: DataView, gdtPhys: number): void {
  for (let i = 0; i < GDT_ENTRIES; i++) if (!isIgnoredGdt(i)) copyEntry(guest, view, gdtPhys, i);
}

/** copy_gdt_tls: just the thread-local entries. */
export function copyGdtTls(guest: Guest, view: DataView, gdtPhys: number): void {
  for (let i = GDT_ENTRY_TLS_MIN; i < GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES; i++)
    copyEntry(guest, view, gdtPhys, i);
}

function copyEntry(guest: Guest, view: DataView, gdtPhys: number, i: number): void {
  view.setUint32(gdtPhys + i * 8, guest.gdt[2 * i], true);
  view.setUint32(gdtPhys + i * 8 + 4, guest.gdt[2 * i + 1], true);
}

/**
 * setup_default_gdt_entries: the host's entries of a CPU's guest GDT — the switcher's code
 * and data segments and the TSS descriptor for the guest TSS at linear address `tss`.
 */
export function setupDefaultGdtEntries(view: DataView, gdtPhys: number, tss: number): void {
  const put = (i: number, lo: number, hi: number): void => {
    view.setUint32(gdtPhys + i * 8, lo >>> 0, true);
    view.setUint32(gdtPhys + i * 8 + 4, hi >>> 0, true);
  };
  put(GDT_ENTRY_LGUEST_CS, LGUEST_CS_DESC[0], LGUEST_CS_DESC[1]);
  put(GDT_ENTRY_LGUEST_DS, LGUEST_DS_DESC[0], LGUEST_DS_DESC[1]);
  // A present, DPL 0, available 32-bit TSS of 104 bytes.
  put(GDT_ENTRY_TSS, 0x67 | ((tss & 0xffff) << 16), 0x8900 | (tss & 0xff000000) | ((tss >>> 16) & 0xff));
}
