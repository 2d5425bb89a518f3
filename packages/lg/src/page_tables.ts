// Shadow page tables: the guest's idea of its memory, made safe.
//
// The guest keeps ordinary i386 page tables whose entries hold guest-physical page numbers.
// The CPU can't use them: a guest-physical page is a page of the launcher's address space,
// which lives in some host frame. So the CPU runs on *shadow* page tables that we build: the
// same virtual layout, with every entry pointing at the host frame behind the guest's page
// (found, and pinned, with get_user_pages on the launcher). We fill them lazily: a guest page
// fault comes to the host first, and demand_page copies the one entry the guest has and we
// lacked. Entries are validated on the way (no page beyond the guest's memory, no large
// pages, no write-through), stripped of GLOBAL, and mapped read-only until the guest's entry
// is dirty, so the first write faults here too and we can set DIRTY as the CPU would have.
//
// The guest tells us when an entry changes (LHCALL_SET_PTE, SET_PMD, FLUSH_TLB) and when it
// switches page directories (NEW_PGTABLE); we keep four shadow directories cached. The top
// slot, PGD index 1023, is the switcher's: it maps the switcher's text and this CPU's pages,
// supervisor and read-only (but for the register page), and any page-table operation that
// touches it kills the guest.

import {
  PAGE_SIZE,
  PTRS_PER_PTE,
  SHARED_SWITCHER_PAGES,
  SWITCHER_PGD_INDEX,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_KERNEL,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_PWT,
  _PAGE_RW,
  _PAGE_TABLE,
  _PAGE_USER,
} from '@lguest/abi';
import { pinStackPages } from './interrupts_and_traps';
import { SHADOW_PGDIRS, killGuest, lgreadU32, lgwriteU32, type Guest } from './lg';

const PAGE_MASK = ~(PAGE_SIZE - 1);
const FLAGS_MASK = PAGE_SIZE - 1;

function readEntry(guest: Guest, table: number, index: number): number {
  return guest.host.ram32[(table >>> 2) + index] >>> 0;
}

/** The CPU walks shadow tables: the host keeps its TLB coherent with what we write. */
function writeEntry(guest: Guest, table: number, index: number, value: number): void {
  guest.host.setPageTableEntry(table + index * 4, value);
}

function pgdIndex(vaddr: number): number {
  return vaddr >>> 22;
}

function pteIndex(vaddr: number): number {
  return (vaddr >>> 12) & (PTRS_PER_PTE - 1);
}

/** Page frame number of an entry. */
function pfnOf(entry: number): number {
  return entry >>> 12;
}

/**
 * spgd_addr: the shadow directory slot for `vaddr` — or -1 after killing the guest if it is
 * the switcher's slot (or above: the slot is the last one).
 */
function spgdIndex(guest: Guest, vaddr: number): number {
  const index = pgdIndex(vaddr >>> 0);
  if (index >= SWITCHER_PGD_INDEX) {
    killGuest(guest, 'attempt to access switcher pages');
    return -1;
  }
  return index;
}

/** The guest's page directory (guest-physical) that the current shadow stands for. */
function currentGpgdir(guest: Guest): number {
  return (guest.pgdirs[guest.pgdidx].gpgdir & PAGE_MASK) >>> 0;
}

/** check_gpgd: a guest directory entry's flags must be a page table's, and its page ours. */
function checkGpgd(guest: Guest, gpgd: number): boolean {
  if ((gpgd & FLAGS_MASK & ~_PAGE_TABLE) !== 0 || pfnOf(gpgd) >= guest.pfnLimit) {
    killGuest(guest, 'bad page directory entry');
    return false;
  }
  return true;
}

/** check_gpte: no write-through, no large pages, and the page must be the guest's. */
function checkGpte(guest: Guest, gpte: number): boolean {
  if ((gpte & (_PAGE_PWT | _PAGE_PSE)) !== 0 || pfnOf(gpte) >= guest.pfnLimit) {
    killGuest(guest, 'bad page table entry');
    return false;
  }
  return true;
}

/**
 * gpte_to_pte: the shadow entry for guest entry `gpte`: the host frame behind the guest page
 * (pinned: the reference is dropped by releasePte), with the guest's flags minus GLOBAL.
 * `write` gets the page for writing. 0 (not present) after killing the guest if the launcher
 * has no such page.
 */
function gpteToSpte(guest: Guest, gpte: number, write: boolean): number {
  const frame = guest.host.getUserPages(guest.proc, (gpte & PAGE_MASK) >>> 0, write);
  if (frame < 0) {
    killGuest(guest, `failed to get page ${pfnOf(gpte)}`);
    return 0;
  }
  return (frame | (gpte & FLAGS_MASK & ~_PAGE_GLOBAL)) >>> 0;
}

/** release_pte: drop the page reference a present shadow entry holds. */
function releasePte(guest: Guest, spte: number): void {
  if (spte & _PAGE_PRESENT) guest.host.putPage((spte & PAGE_MASK) >>> 0);
}

/** release_pgd: free a shadow page table and the pages it maps; the slot becomes empty. */
function releasePgd(guest: Guest, spgdir: number, index: number): void {
  const spgd = readEntry(guest, spgdir, index);
  if ((spgd & _PAGE_PRESENT) === 0) return;
  const table = (spgd & PAGE_MASK) >>> 0;
  for (let i = 0; i < PTRS_PER_PTE; i++) releasePte(guest, readEntry(guest, table, i));
  guest.host.putPage(table);
  writeEntry(guest, spgdir, index, 0);
}

/**
 * demand_page: the guest faulted at `vaddr` with `errcode` (bit 1 write, bit 2 user). If its
 * own page tables allow the access, copy the entry into the shadow (marking it accessed, and
 * dirty for a write, in the guest's entry) and return true; false means the fault is the
 * guest's to handle. Also false once the guest has been killed for a bad entry.
 */
export function demandPage(guest: Guest, vaddr: number, errcode: number): boolean {
  const index = spgdIndex(guest, vaddr);
  if (index < 0) return false;
  const gpgd = lgreadU32(guest, currentGpgdir(guest) + index * 4);
  if (guest.dead !== null || (gpgd & _PAGE_PRESENT) === 0) return false;
  // The CPU checks both levels, so we do: a fault the directory entry forbids is the guest's
  // (otherwise we would install the page table entry and fault on it again, forever).
  if (errcode & 2 && (gpgd & _PAGE_RW) === 0) return false;
  if (errcode & 4 && (gpgd & _PAGE_USER) === 0) return false;

  const spgdir = guest.pgdirs[guest.pgdidx].pgdir;
  let spgd = readEntry(guest, spgdir, index);
  if ((spgd & _PAGE_PRESENT) === 0) {
    if (!checkGpgd(guest, gpgd)) return false;
    const ptepage = guest.host.allocPage({ zero: true });
    if (ptepage < 0) {
      killGuest(guest, 'out of memory allocating pte page');
      return false;
    }
    spgd = (ptepage | (gpgd & FLAGS_MASK)) >>> 0;
    writeEntry(guest, spgdir, index, spgd);
  }

  const gpteAddr = ((gpgd & PAGE_MASK) >>> 0) + pteIndex(vaddr) * 4;
  let gpte = lgreadU32(guest, gpteAddr);
  if (guest.dead !== null || (gpte & _PAGE_PRESENT) === 0) return false;
  if (errcode & 2 && (gpte & _PAGE_RW) === 0) return false;
  if (errcode & 4 && (gpte & _PAGE_USER) === 0) return false;
  if (!checkGpte(guest, gpte)) return false;

  gpte |= _PAGE_ACCESSED;
  if (errcode & 2) gpte |= _PAGE_DIRTY;
  const table = (spgd & PAGE_MASK) >>> 0;
  const slot = pteIndex(vaddr);
  releasePte(guest, readEntry(guest, table, slot));
  writeEntry(guest, table, slot, 0);
  // Writable in the shadow only once the guest's entry is dirty: until then a write faults
  // and comes back here to set DIRTY.
  const spte = gpte & _PAGE_DIRTY ? gpteToSpte(guest, gpte, true) : gpteToSpte(guest, gpte & ~_PAGE_RW, false);
  writeEntry(guest, table, slot, spte);
  if (!lgwriteU32(guest, gpteAddr, gpte)) return false;
  guest.stats.demandFaults++;
  return guest.dead === null;
}

// ------------------------------------------------------------------ flushing

/** flush_user_mappings: drop everything below page_offset in shadow `idx`. */
function flushUserMappings(guest: Guest, idx: number): void {
  const spgdir = guest.pgdirs[idx].pgdir;
  const end = Math.min(pgdIndex(guest.pageOffset), SWITCHER_PGD_INDEX);
  for (let i = 0; i < end; i++) releasePgd(guest, spgdir, i);
}

/** LHCALL_FLUSH_TLB(0): the user part of the current shadow goes. */
export function guestPagetableFlushUser(guest: Guest): void {
  flushUserMappings(guest, guest.pgdidx);
}

/** LHCALL_FLUSH_TLB(1) and after LGUEST_INIT: every shadow entry goes; the stack is re-pinned. */
export function guestPagetableClearAll(guest: Guest): void {
  for (const p of guest.pgdirs) {
    if (!p.pgdir) continue;
    for (let j = 0; j < SWITCHER_PGD_INDEX; j++) releasePgd(guest, p.pgdir, j);
  }
  pinStackPages(guest);
}

// ------------------------------------------------------------------ switching page directories

/** find_pgdir: the cached shadow of guest directory `pgtable`, or -1. */
function findPgdir(guest: Guest, pgtable: number): number {
  for (let i = 0; i < SHADOW_PGDIRS; i++) {
    if (guest.pgdirs[i].pgdir && guest.pgdirs[i].gpgdir === pgtable >>> 0) return i;
  }
  return -1;
}

/** A pseudo-random slot (random32() % 4 in the original), from a per-guest xorshift. */
function randomSlot(guest: Guest): number {
  let x = guest.evictSeed;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  guest.evictSeed = x >>> 0;
  return guest.evictSeed % SHADOW_PGDIRS;
}

/**
 * new_pgdir: take a slot for `pgtable`, at random. A never-used slot gets a fresh zeroed
 * page ("blank": the stack must be pinned again); a used one keeps its kernel mappings,
 * which are the same in every directory of a guest, and loses its user ones.
 */
function newPgdir(guest: Guest, pgtable: number): { index: number; blank: boolean } {
  let index = randomSlot(guest);
  let blank = false;
  if (!guest.pgdirs[index].pgdir) {
    const page = guest.host.allocPage({ zero: true });
    if (page < 0) {
      index = guest.pgdidx; // out of memory: reuse the current one
    } else {
      guest.pgdirs[index].pgdir = page;
      blank = true;
    }
  }
  guest.pgdirs[index].gpgdir = pgtable >>> 0;
  flushUserMappings(guest, index);
  return { index, blank };
}

/** LHCALL_NEW_PGTABLE(pgtable): the guest switched page directory (its cr3). */
export function guestNewPagetable(guest: Guest, pgtable: number): void {
  let index = findPgdir(guest, pgtable);
  let repin = false;
  if (index < 0) ({ index, blank: repin } = newPgdir(guest, pgtable));
  guest.pgdidx = index;
  if (repin) pinStackPages(guest);
}

// ------------------------------------------------------------------ entry updates

/** do_set_pte: guest entry for `vaddr` changed to `gpte`; update shadow `idx` if it maps it. */
function doSetPte(guest: Guest, idx: number, vaddr: number, gpte: number): void {
  const index = spgdIndex(guest, vaddr);
  if (index < 0) return;
  const spgd = readEntry(guest, guest.pgdirs[idx].pgdir, index);
  if ((spgd & _PAGE_PRESENT) === 0) return;
  const table = (spgd & PAGE_MASK) >>> 0;
  const slot = pteIndex(vaddr);
  releasePte(guest, readEntry(guest, table, slot));
  writeEntry(guest, table, slot, 0);
  // An entry the CPU has used (or was told it used) is installed at once; others wait for
  // the fault. Writable only if dirty, as in demandPage.
  if (gpte & _PAGE_PRESENT && gpte & (_PAGE_DIRTY | _PAGE_ACCESSED)) {
    if (!checkGpte(guest, gpte)) return;
    const dirty = (gpte & _PAGE_DIRTY) !== 0;
    writeEntry(guest, table, slot, gpteToSpte(guest, dirty ? gpte : gpte & ~_PAGE_RW, dirty));
  }
}

/**
 * LHCALL_SET_PTE(cr3, vaddr, gpte): a kernel address is the same in every directory, so all
 * cached shadows are updated; a user address only in the shadow of `cr3`, if cached.
 */
export function guestSetPte(guest: Guest, cr3: number, vaddr: number, gpte: number): void {
  if (vaddr >>> 0 >= guest.pageOffset) {
    for (let i = 0; i < SHADOW_PGDIRS; i++) if (guest.pgdirs[i].pgdir) doSetPte(guest, i, vaddr >>> 0, gpte);
  } else {
    const i = findPgdir(guest, cr3);
    if (i >= 0) doSetPte(guest, i, vaddr >>> 0, gpte);
  }
}

/** LHCALL_SET_PMD(pgdir, idx): a guest directory entry changed; drop our page table for it. */
export function guestSetPmd(guest: Guest, gpgdir: number, idx: number): void {
  if (idx >>> 0 >= SWITCHER_PGD_INDEX) return;
  const i = findPgdir(guest, gpgdir);
  if (i >= 0) releasePgd(guest, guest.pgdirs[i].pgdir, idx);
}

// ------------------------------------------------------------------ birth, death, the switcher

/** init_guest_pagetable: the first shadow, of the launcher's initial page directory. */
export function initGuestPagetable(guest: Guest, pgtable: number): number {
  const page = guest.host.allocPage({ zero: true });
  if (page < 0) return page;
  guest.pgdidx = 0;
  guest.pgdirs[0].gpgdir = pgtable >>> 0;
  guest.pgdirs[0].pgdir = page;
  return 0;
}

/** free_guest_pagetable: release every shadow entry and directory. */
export function freeGuestPagetable(guest: Guest): void {
  for (const p of guest.pgdirs) {
    if (!p.pgdir) continue;
    for (let j = 0; j < SWITCHER_PGD_INDEX; j++) releasePgd(guest, p.pgdir, j);
    guest.host.putPage(p.pgdir);
    p.pgdir = 0;
    p.gpgdir = 0;
  }
}

/** The shadow directory to load into CR3 for the next entry (physical). */
export function currentShadowPgdir(guest: Guest): number {
  return guest.pgdirs[guest.pgdidx].pgdir;
}

/**
 * map_switcher_in_guest: the top slot of the current shadow is this CPU's switcher page
 * table (`switcherPtes`), and its page-A entry is this guest's register page, so the switcher
 * saves the guest's registers straight into it. Supervisor only: ring 3 sees none of it.
 */
export function mapSwitcherInGuest(guest: Guest, switcherPtes: number, cpu: number): void {
  writeEntry(guest, currentShadowPgdir(guest), SWITCHER_PGD_INDEX, switcherPtes | _PAGE_KERNEL);
  writeEntry(guest, switcherPtes, SHARED_SWITCHER_PAGES + 2 * cpu, guest.regsPage | _PAGE_KERNEL);
}

/**
 * Where the guest's virtual address `vaddr` is in guest-physical memory by its own page
 * tables, or -1 (for messages: reads nothing that could kill the guest).
 */
export function guestVirtToPhys(guest: Guest, vaddr: number): number {
  const gpgdir = currentGpgdir(guest);
  const pgdAddr = gpgdir + pgdIndex(vaddr >>> 0) * 4;
  const gpgd = guest.host.getUser32(guest.proc, pgdAddr);
  if (gpgd < 0 || (gpgd & _PAGE_PRESENT) === 0 || pfnOf(gpgd) >= guest.pfnLimit) return -1;
  const gpte = guest.host.getUser32(guest.proc, ((gpgd & PAGE_MASK) >>> 0) + pteIndex(vaddr >>> 0) * 4);
  if (gpte < 0 || (gpte & _PAGE_PRESENT) === 0 || pfnOf(gpte) >= guest.pfnLimit) return -1;
  return ((gpte & PAGE_MASK) >>> 0) + (vaddr & FLAGS_MASK);
}
