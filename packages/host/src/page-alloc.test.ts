import { Errno } from './errno';
import { LOWMEM_LIMIT, PAGE_SIZE } from './layout';
import { PageAllocator } from './page-alloc';

function allocator(bytes: number, reserved = 4): { pages: PageAllocator; ram: Uint8Array; writes: number[] } {
  const ram = new Uint8Array(bytes);
  const writes: number[] = [];
  return { pages: new PageAllocator(ram, reserved, (p) => writes.push(p)), ram, writes };
}

describe('PageAllocator', () => {
  it('hands out page-aligned frames above the boot reservation, lowest first', () => {
    const { pages } = allocator(64 * PAGE_SIZE, 4);
    expect(pages.totalFrames).toBe(64);
    expect(pages.freeFrames).toBe(60);
    expect(pages.alloc()).toBe(4 * PAGE_SIZE);
    expect(pages.alloc()).toBe(5 * PAGE_SIZE);
    expect(pages.freeFrames).toBe(58);
  });

  it('zeroes on request and tells the core what it wrote', () => {
    const { pages, ram, writes } = allocator(16 * PAGE_SIZE, 1);
    ram.fill(0xaa);
    const dirty = pages.alloc();
    expect(ram[dirty]).toBe(0xaa);
    const clean = pages.alloc({ zero: true });
    expect(ram.subarray(clean, clean + PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(writes).toEqual([clean]);
  });

  it('counts references: a frame is free again only after its last put, then reused first', () => {
    const { pages } = allocator(16 * PAGE_SIZE, 1);
    const a = pages.alloc();
    pages.get(a);
    expect(pages.refCount(a)).toBe(2);
    pages.put(a);
    expect(pages.refCount(a)).toBe(1);
    const free = pages.freeFrames;
    pages.put(a);
    expect(pages.refCount(a)).toBe(0);
    expect(pages.freeFrames).toBe(free + 1);
    expect(pages.alloc()).toBe(a);
  });

  it('returns -ENOMEM when memory runs out, and recovers when pages come back', () => {
    const { pages } = allocator(8 * PAGE_SIZE, 2);
    const got: number[] = [];
    for (;;) {
      const p = pages.alloc();
      if (p < 0) {
        expect(p).toBe(-Errno.ENOMEM);
        break;
      }
      got.push(p);
    }
    expect(got).toHaveLength(6);
    pages.put(got[3]);
    expect(pages.alloc()).toBe(got[3]);
  });

  it('treats a double free or a foreign address as a kernel bug', () => {
    const { pages } = allocator(8 * PAGE_SIZE, 2);
    const a = pages.alloc();
    pages.put(a);
    expect(() => pages.put(a)).toThrow(/BUG: put_page on free frame/);
    expect(() => pages.get(a)).toThrow(/BUG: get_page on free frame/);
    expect(() => pages.put(a + 1)).toThrow(/not the address of a frame/);
    expect(() => pages.put(0)).toThrow(/boot frame/);
  });

  it('keeps lowmem for the kernel and gives user pages highmem first', () => {
    const { pages } = allocator(LOWMEM_LIMIT + 4 * PAGE_SIZE, 8);
    expect(pages.lowmemFrames).toBe(LOWMEM_LIMIT / PAGE_SIZE);
    const high = pages.alloc({ highmem: true });
    expect(high).toBeGreaterThanOrEqual(LOWMEM_LIMIT);
    expect(pages.isLowmem(high)).toBe(false);
    const low = pages.alloc();
    expect(pages.isLowmem(low)).toBe(true);
    for (let i = 0; i < 3; i++) expect(pages.alloc({ highmem: true })).toBeGreaterThanOrEqual(LOWMEM_LIMIT);
    // Highmem exhausted: user pages fall back to lowmem.
    expect(pages.isLowmem(pages.alloc({ highmem: true }))).toBe(true);
  });
});
