// A process's address space: its memory map (VMAs) and its page directory in emulated RAM.
// For lguest this is the most important thing the host has, because the launcher's address
// space *is* the guest's physical memory: guest-physical address X is launcher virtual
// address X. The launcher maps anonymous memory at 0 and writes the kernel into it; lg's
// shadow page tables point at the very frames these page tables point at (get_user_pages);
// two launchers that map one tmpfs file MAP_SHARED hold the same frames, which is what
// inter-guest networking is made of.
//
// Page tables are filled on demand, as Linux does: a VMA only promises memory, and the
// first touch — by the launcher, by lg through copy_to_user / get_user_pages, or by the CPU
// running host kernel code with this CR3 — faults the page in. The user half of the page
// directory is this process's own; the kernel half (768–1023) is copied from
// swapper_pg_dir and kept in sync, so the linear map and the switcher are visible from
// every process, as on i386 Linux.

import { Errno } from './errno';
import type { PageAllocator } from './page-alloc';
import {
  KERNEL_PGD_INDEX,
  MMAP_BASE,
  PAGE_SIZE,
  PTRS_PER_PGD,
  TASK_SIZE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_TABLE,
  _PAGE_USER,
} from './layout';
import { entryFrame, pgdIndex, pteIndex, readEntry, writeEntry } from './pgtable';

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;

/** What a file-backed (or shared anonymous) VMA maps: an inode's pages. */
export interface MappedFile {
  /** The inode number (futex keys of shared mappings are made of it). */
  readonly inodeId: number;
  /**
   * Page `index` of the file's page cache, created (zeroed) for a hole; the cache keeps its
   * own reference. -EFAULT beyond end of file (SIGBUS). Absent for files without a page
   * cache (passthrough host files), which can only be mapped privately.
   */
  readonly cachePage?: (index: number) => number;
  /** Fill `dest` (one page) with page `index` of the file, zeros past EOF; 0 or -errno. */
  readPage(index: number, dest: Uint8Array): number;
  addMapping(vma: Vma): void;
  removeMapping(vma: Vma): void;
  /** The mmap that would have used this file failed (it has no VMA): let go of it. */
  unused?(): void;
}

/** One mapping: [start, end) with its protection and what backs it. */
export class Vma {
  constructor(
    readonly mm: Mm,
    public start: number,
    public end: number,
    readonly prot: number,
    readonly shared: boolean,
    readonly file: MappedFile | null,
    /** Page index in `file` of `start`. */
    public pgoff: number,
  ) {}

  /** The file page index that `addr` maps. */
  pageIndex(addr: number): number {
    return this.pgoff + Math.floor((addr - this.start) / PAGE_SIZE);
  }
}

/** What an address space needs from the host. */
export interface MmContext {
  readonly ram8: Uint8Array;
  readonly ram32: Int32Array;
  readonly pages: PageAllocator;
  readonly swapperPgdir: number;
  /** The CPU's TLB may hold translations that just changed. */
  flushTlb(): void;
  /** Physical memory changed behind the core's back. */
  invalidate(phys: number, length: number): void;
  nextId(): number;
}

export class Mm {
  /** Unique among mm and inode ids (futex keys of private mappings are made of it). */
  readonly id: number;
  /** Physical address of this address space's page directory (its CR3). */
  readonly pgd: number;
  private vmas: Vma[] = [];
  private readonly ctx: MmContext;
  private dead = false;

  /** A new address space, or -ENOMEM if its page directory cannot be allocated. */
  static create(ctx: MmContext): Mm | number {
    const pgd = ctx.pages.alloc({ zero: true });
    if (pgd < 0) return pgd;
    return new Mm(ctx, pgd);
  }

  private constructor(ctx: MmContext, pgd: number) {
    this.ctx = ctx;
    this.id = ctx.nextId();
    this.pgd = pgd;
    for (let i = KERNEL_PGD_INDEX; i < PTRS_PER_PGD; i++) {
      writeEntry(ctx.ram32, pgd, i, readEntry(ctx.ram32, ctx.swapperPgdir, i));
    }
  }

  /** The mappings, lowest first (a copy). */
  get mappings(): readonly Vma[] {
    return this.vmas.slice();
  }

  findVma(addr: number): Vma | undefined {
    // Few VMAs per process: a linear scan is plenty.
    for (const v of this.vmas) if (addr >= v.start && addr < v.end) return v;
    return undefined;
  }

  /** Copy a kernel-half directory entry from swapper_pg_dir (after the kernel mapped more). */
  syncKernelPde(index: number, entry: number): void {
    if (!this.dead) writeEntry(this.ctx.ram32, this.pgd, index, entry);
  }

  // ------------------------------------------------------------------ mmap / munmap

  /**
   * Insert a mapping of `length` bytes (page aligned) at `addr`, or anywhere if !fixed and
   * `addr` does not fit. Arguments are already validated. Returns the address or -ENOMEM.
   */
  map(
    addr: number,
    length: number,
    prot: number,
    fixed: boolean,
    shared: boolean,
    file: MappedFile | null,
    pgoff: number,
  ): number {
    let start = addr;
    if (fixed) {
      this.unmap(start, length);
    } else if (start === 0 || start + length > TASK_SIZE || !this.isFree(start, length)) {
      start = this.findFree(length);
      if (start < 0) return start;
    }
    const vma = new Vma(this, start, start + length, prot, shared, file, pgoff);
    this.vmas.push(vma);
    this.vmas.sort((a, b) => a.start - b.start);
    file?.addMapping(vma);
    return start;
  }

  /** Remove [addr, addr+length) from the map, dropping its pages. */
  unmap(addr: number, length: number): void {
    const end = addr + length;
    const next: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= addr || v.start >= end) {
        next.push(v);
        continue;
      }
      this.zapRange(Math.max(v.start, addr), Math.min(v.end, end));
      if (v.start < addr) {
        const head = new Vma(this, v.start, addr, v.prot, v.shared, v.file, v.pgoff);
        next.push(head);
        v.file?.addMapping(head);
      }
      if (v.end > end) {
        const tail = new Vma(this, end, v.end, v.prot, v.shared, v.file, v.pageIndex(end));
        next.push(tail);
        v.file?.addMapping(tail);
      }
      v.file?.removeMapping(v);
    }
    next.sort((a, b) => a.start - b.start);
    this.vmas = next;
  }

  private isFree(start: number, length: number): boolean {
    const end = start + length;
    return this.vmas.every((v) => v.end <= start || v.start >= end);
  }

  /** Top-down search below MMAP_BASE, then upwards above it (Linux's flexible layout). */
  private findFree(length: number): number {
    let top = MMAP_BASE;
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i];
      if (v.start >= top) continue;
      if (v.end < top && top - v.end >= length) return top - length;
      top = v.start;
    }
    // Page 0 is only ever mapped with MAP_FIXED (the launcher's guest memory).
    if (top - PAGE_SIZE >= length) return top - length;
    let floor = MMAP_BASE;
    for (const v of this.vmas) {
      if (v.end <= floor) continue;
      if (v.start > floor && v.start - floor >= length) return floor;
      floor = v.end;
    }
    return TASK_SIZE - floor >= length ? floor : -Errno.ENOMEM;
  }

  // ------------------------------------------------------------------ faults

  /**
   * Physical address of the byte at user address `addr` for a read or a write, faulting
   * the page in if needed (handle_mm_fault). Sets the accessed (and dirty) bits as the CPU
   * would. -EFAULT for no mapping or a forbidden access, -ENOMEM when out of memory.
   */
  resolve(addr: number, write: boolean): number {
    if (this.dead || !(addr >= 0 && addr < TASK_SIZE)) return -Errno.EFAULT;
    const ram32 = this.ctx.ram32;
    const pde = readEntry(ram32, this.pgd, pgdIndex(addr));
    if (pde & _PAGE_PRESENT) {
      const ptAddr = entryFrame(pde);
      const pte = readEntry(ram32, ptAddr, pteIndex(addr));
      if ((pte & _PAGE_PRESENT) !== 0 && (!write || (pte & _PAGE_RW) !== 0)) {
        const want = _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
        if ((pte & want) !== want) writeEntry(ram32, ptAddr, pteIndex(addr), pte | want);
        return entryFrame(pte) + (addr & (PAGE_SIZE - 1));
      }
    }
    const frame = this.handleFault(addr, write);
    return frame < 0 ? frame : frame + (addr & (PAGE_SIZE - 1));
  }

  /** Resolve a fault at `addr`: the frame now mapped there, or -errno. */
  handleFault(addr: number, write: boolean): number {
    const vma = this.findVma(addr);
    if (!vma) return -Errno.EFAULT;
    if (write ? (vma.prot & PROT_WRITE) === 0 : (vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) === 0) {
      return -Errno.EFAULT;
    }
    const ptAddr = this.ensurePageTable(addr);
    if (ptAddr < 0) return ptAddr;
    const ram32 = this.ctx.ram32;
    const index = pteIndex(addr);
    const pte = readEntry(ram32, ptAddr, index);
    if (pte & _PAGE_PRESENT) {
      if (!write || (pte & _PAGE_RW) !== 0) {
        writeEntry(ram32, ptAddr, index, pte | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0));
        return entryFrame(pte);
      }
      return this.copyOnWrite(ptAddr, index, entryFrame(pte));
    }
    const page = this.newPage(vma, addr, write);
    if (page.frame < 0) return page.frame;
    const rw = page.writable && (vma.prot & PROT_WRITE) !== 0 ? _PAGE_RW : 0;
    const flags = _PAGE_PRESENT | _PAGE_USER | rw | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
    writeEntry(ram32, ptAddr, index, page.frame | flags);
    return page.frame;
  }

  /** The page a first touch of `addr` in `vma` maps, with one reference for the PTE. */
  private newPage(vma: Vma, addr: number, write: boolean): { frame: number; writable: boolean } {
    const pages = this.ctx.pages;
    const file = vma.file;
    if (!file) {
      // Anonymous private memory: a zeroed page of its own, writable from the start (no
      // zero-page sharing, so no copy-on-write — a page lg has pinned never moves).
      return { frame: pages.alloc({ zero: true, highmem: true }), writable: true };
    }
    const index = vma.pageIndex(addr);
    if (file.cachePage && (vma.shared || !write)) {
      // Shared: the file's own page. Private read: the file's page, read-only until written.
      const frame = file.cachePage(index);
      if (frame < 0) return { frame, writable: false };
      pages.get(frame);
      return { frame, writable: vma.shared };
    }
    if (vma.shared) return { frame: -Errno.ENODEV, writable: false };
    // A private copy of the file's page.
    const frame = pages.alloc({ highmem: true });
    if (frame < 0) return { frame, writable: false };
    const err = file.readPage(index, this.ctx.ram8.subarray(frame, frame + PAGE_SIZE));
    this.ctx.invalidate(frame, PAGE_SIZE);
    if (err < 0) {
      pages.put(frame);
      return { frame: err, writable: false };
    }
    return { frame, writable: true };
  }

  /** A write to a private mapping of a file page: give this process its own copy. */
  private copyOnWrite(ptAddr: number, index: number, old: number): number {
    const { pages, ram8, ram32 } = this.ctx;
    const frame = pages.alloc({ highmem: true });
    if (frame < 0) return frame;
    ram8.copyWithin(frame, old, old + PAGE_SIZE);
    this.ctx.invalidate(frame, PAGE_SIZE);
    writeEntry(ram32, ptAddr, index, frame | _PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY);
    pages.put(old);
    this.ctx.flushTlb();
    return frame;
  }

  /** The page table covering `addr`, allocated (zeroed, lowmem) if missing; or -ENOMEM. */
  private ensurePageTable(addr: number): number {
    const ram32 = this.ctx.ram32;
    const pde = readEntry(ram32, this.pgd, pgdIndex(addr));
    if (pde & _PAGE_PRESENT) return entryFrame(pde);
    const table = this.ctx.pages.alloc({ zero: true });
    if (table < 0) return table;
    writeEntry(ram32, this.pgd, pgdIndex(addr), table | _PAGE_TABLE);
    return table;
  }

  // ------------------------------------------------------------------ what is in memory

  /**
   * The present pages of [start, end) (page aligned), lowest first, without faulting any in:
   * `visit(addr, frame, dirty)`, where `dirty` is the PTE's dirty bit — set by every write
   * through `resolve` and by every write fault since the page came in or since the last
   * `clearDirty`. With `clearDirty` the bits are cleared as they are read (Linux's
   * soft-dirty reset), so the next scan sees exactly what was written after this one.
   */
  scanPresent(
    start: number,
    end: number,
    clearDirty: boolean,
    visit: (addr: number, frame: number, dirty: boolean) => void,
  ): void {
    const ram32 = this.ctx.ram32;
    let addr = start;
    while (addr < end) {
      const pde = readEntry(ram32, this.pgd, pgdIndex(addr));
      const stop = Math.min(end, (pgdIndex(addr) + 1) * 0x400000);
      if (pde & _PAGE_PRESENT) {
        const pt = entryFrame(pde);
        for (let a = addr; a < stop; a += PAGE_SIZE) {
          const pte = readEntry(ram32, pt, pteIndex(a));
          if ((pte & _PAGE_PRESENT) === 0) continue;
          const dirty = (pte & _PAGE_DIRTY) !== 0;
          if (clearDirty && dirty) writeEntry(ram32, pt, pteIndex(a), pte & ~_PAGE_DIRTY);
          visit(a, entryFrame(pte), dirty);
        }
      }
      addr = stop;
    }
  }

  // ------------------------------------------------------------------ teardown

  /** Unmap every page in [start, end) (page aligned), dropping the PTEs' references. */
  zapRange(start: number, end: number): void {
    const ram32 = this.ctx.ram32;
    let addr = start;
    let zapped = false;
    while (addr < end) {
      const pde = readEntry(ram32, this.pgd, pgdIndex(addr));
      const nextTable = (pgdIndex(addr) + 1) * 0x400000;
      const stop = Math.min(end, nextTable);
      if (pde & _PAGE_PRESENT) {
        const pt = entryFrame(pde);
        for (let a = addr; a < stop; a += PAGE_SIZE) {
          const pte = readEntry(ram32, pt, pteIndex(a));
          if (pte & _PAGE_PRESENT) {
            writeEntry(ram32, pt, pteIndex(a), 0);
            this.ctx.pages.put(entryFrame(pte));
            zapped = true;
          }
        }
      }
      addr = stop;
    }
    if (zapped) this.ctx.flushTlb();
  }

  /** exit_mmap: unmap everything and free the page tables and the directory. */
  destroy(): void {
    if (this.dead) return;
    this.unmap(0, TASK_SIZE);
    const ram32 = this.ctx.ram32;
    for (let i = 0; i < KERNEL_PGD_INDEX; i++) {
      const pde = readEntry(ram32, this.pgd, i);
      if (pde & _PAGE_PRESENT) {
        writeEntry(ram32, this.pgd, i, 0);
        this.ctx.pages.put(entryFrame(pde));
      }
    }
    this.dead = true;
    this.ctx.pages.put(this.pgd);
    this.ctx.flushTlb();
  }

  get destroyed(): boolean {
    return this.dead;
  }
}
