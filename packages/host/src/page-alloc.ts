// The physical page allocator. Every frame a guest will ever touch comes from here: the
// launcher's anonymous memory (which *is* the guest's physical memory), tmpfs pages shared
// between launchers, the page tables of processes, and the pages lg allocates for shadow
// page tables, register pages and the switcher. Frames carry a reference count, the way
// struct page does: get_user_pages takes one so a guest's shadow page table can point at a
// launcher page, and a frame goes back to the free lists only when its last user puts it.
//
// Two pools, as on a 32-bit Linux: lowmem (the first 896 MiB, linearly mapped at
// PAGE_OFFSET, so the kernel can point at it by virtual address — page tables and code must
// come from here) and highmem (everything above). Each pool is a stack: a fresh host hands
// out its lowest frame first, and a freed frame is the next one reused, so a run is
// reproducible frame for frame.

import { Errno } from './errno';
import { PAGE_SIZE, LOWMEM_LIMIT } from './layout';

export interface AllocFlags {
  /** Fill the frame with zeros (__GFP_ZERO). */
  zero?: boolean;
  /** The frame may come from highmem (GFP_HIGHUSER): user pages and page-cache pages. */
  highmem?: boolean;
}

export class PageAllocator {
  /** Frames of physical memory. */
  readonly totalFrames: number;
  /** Frames below LOWMEM_LIMIT. */
  readonly lowmemFrames: number;
  /** Reference count per frame; 0 means free (or reserved below `firstFree`). */
  private readonly refs: Int32Array;
  // Free frames of each pool, as stacks whose top is the lowest frame.
  private readonly lowFree: Int32Array;
  private lowCount = 0;
  private readonly highFree: Int32Array;
  private highCount = 0;
  private readonly reservedFrames: number;
  private readonly ram: Uint8Array;
  private readonly onWrite: (phys: number, length: number) => void;

  /**
   * Frames [0, reservedFrames) belong to the host from boot on and are never handed out.
   * `onWrite` is told about every frame the allocator zeroes (a core may cache decoded code).
   */
  constructor(ram: Uint8Array, reservedFrames: number, onWrite: (phys: number, length: number) => void) {
    this.ram = ram;
    this.onWrite = onWrite;
    this.reservedFrames = reservedFrames;
    this.totalFrames = ram.byteLength / PAGE_SIZE;
    this.lowmemFrames = Math.min(this.totalFrames, LOWMEM_LIMIT / PAGE_SIZE);
    if (reservedFrames >= this.lowmemFrames) {
      throw new Error(`host needs ${reservedFrames} frames at boot but has only ${this.lowmemFrames} of lowmem`);
    }
    this.refs = new Int32Array(this.totalFrames);
    this.lowFree = new Int32Array(this.lowmemFrames);
    this.highFree = new Int32Array(this.totalFrames - this.lowmemFrames);
    for (let f = this.lowmemFrames - 1; f >= reservedFrames; f--) this.lowFree[this.lowCount++] = f;
    for (let f = this.totalFrames - 1; f >= this.lowmemFrames; f--) this.highFree[this.highCount++] = f;
    for (let f = 0; f < reservedFrames; f++) this.refs[f] = 1;
  }

  /** Frames on the free lists. */
  get freeFrames(): number {
    return this.lowCount + this.highCount;
  }

  /**
   * A frame with one reference: its physical address (page aligned, never 0), or -ENOMEM.
   * Highmem requests fall back to lowmem, as on Linux.
   */
  alloc(flags: AllocFlags = {}): number {
    let frame: number;
    if (flags.highmem && this.highCount > 0) frame = this.highFree[--this.highCount];
    else if (this.lowCount > 0) frame = this.lowFree[--this.lowCount];
    else return -Errno.ENOMEM;
    this.refs[frame] = 1;
    const phys = frame * PAGE_SIZE;
    if (flags.zero) {
      this.ram.fill(0, phys, phys + PAGE_SIZE);
      this.onWrite(phys, PAGE_SIZE);
    }
    return phys;
  }

  /** get_page: one more user of an allocated frame. */
  get(phys: number): void {
    const frame = this.frameOf(phys);
    if (this.refs[frame] <= 0) throw new Error(`BUG: get_page on free frame ${hex(phys)}`);
    this.refs[frame]++;
  }

  /** put_page: one user fewer; the last one frees the frame. */
  put(phys: number): void {
    const frame = this.frameOf(phys);
    const refs = this.refs[frame];
    if (refs <= 0) throw new Error(`BUG: put_page on free frame ${hex(phys)}`);
    if (frame < this.reservedFrames) throw new Error(`BUG: put_page on boot frame ${hex(phys)}`);
    this.refs[frame] = refs - 1;
    if (refs === 1) {
      if (frame < this.lowmemFrames) this.lowFree[this.lowCount++] = frame;
      else this.highFree[this.highCount++] = frame;
    }
  }

  /** The reference count of the frame holding `phys` (0: free). */
  refCount(phys: number): number {
    return this.refs[this.frameOf(phys)];
  }

  /** Whether `phys` lies in the linear map (and so has a kernel virtual address). */
  isLowmem(phys: number): boolean {
    return phys >= 0 && phys < this.lowmemFrames * PAGE_SIZE;
  }

  private frameOf(phys: number): number {
    const frame = Math.floor(phys / PAGE_SIZE);
    if (!(frame >= 0 && frame < this.totalFrames) || phys % PAGE_SIZE !== 0) {
      throw new Error(`BUG: ${hex(phys)} is not the address of a frame of this host`);
    }
    return frame;
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
