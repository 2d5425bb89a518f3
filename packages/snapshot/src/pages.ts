// Guest memory in a snapshot or a migration round: a list of pages, each its page number and
// either its 4096 bytes or nothing at all for a page of zeroes. Most of a guest's RAM is
// pages it never touched, which are not listed at all; a listed zero page matters only in a
// migration, where a page the guest zeroed since the last round must be zeroed there too.
//
//   count u32, then per page: pfn u32 (bit 31 set: a zero page, no bytes follow), [4096 bytes]

import { SnapshotError } from './format';

export const PAGE_BYTES = 4096;
const ZERO_PAGE = 0x8000_0000;

/** Builds one pages payload; add() copies, so the source may change right after. */
export class PageSetWriter {
  private readonly parts: Uint8Array[] = [];
  private count = 0;
  private bytes = 4;
  /** Pages with contents, and zero pages, added. */
  dataPages = 0;
  zeroPages = 0;

  add(pfn: number, page: Uint8Array): void {
    if (page.length !== PAGE_BYTES) throw new Error(`a page is ${PAGE_BYTES} bytes, not ${page.length}`);
    const head = new Uint8Array(4);
    const zero = isZero(page);
    new DataView(head.buffer).setUint32(0, (pfn | (zero ? ZERO_PAGE : 0)) >>> 0, true);
    this.parts.push(head);
    this.bytes += 4;
    if (zero) this.zeroPages++;
    else {
      this.parts.push(page.slice());
      this.bytes += PAGE_BYTES;
      this.dataPages++;
    }
    this.count++;
  }

  get pages(): number {
    return this.count;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    new DataView(out.buffer).setUint32(0, this.count, true);
    let at = 4;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Whether all 4096 bytes are zero (eight at a time where the page is aligned for it). */
export function isZero(page: Uint8Array): boolean {
  if (page.byteOffset % 4 === 0) {
    const words = new Uint32Array(page.buffer, page.byteOffset, PAGE_BYTES / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < page.length; i++) if (page[i] !== 0) return false;
  return true;
}

/**
 * Calls `page(pfn, bytes)` for each page of a pages payload (bytes null for a zero page).
 * Throws SnapshotError for a payload whose length does not match its count, or a page at or
 * above `pfnLimit`.
 */
export function readPageSet(
  data: Uint8Array,
  pfnLimit: number,
  page: (pfn: number, bytes: Uint8Array | null) => void,
  what = 'the snapshot',
): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw new SnapshotError(`${what} is corrupt: a memory section is too short`);
  const count = view.getUint32(0, true);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length)
      throw new SnapshotError(`${what} is corrupt: a memory section ends after ${i} of ${count} pages`);
    const word = view.getUint32(at, true);
    at += 4;
    const pfn = word & ~ZERO_PAGE;
    if (pfn >= pfnLimit) {
      throw new SnapshotError(`${what} does not fit: page ${pfn} is beyond the guest's ${pfnLimit} pages`);
    }
    if (word & ZERO_PAGE) {
      page(pfn, null);
      continue;
    }
    if (at + PAGE_BYTES > data.length)
      throw new SnapshotError(`${what} is corrupt: a memory section ends inside page ${pfn}`);
    page(pfn, data.subarray(at, at + PAGE_BYTES));
    at += PAGE_BYTES;
  }
  if (at !== data.length)
    throw new SnapshotError(`${what} is corrupt: a memory section has ${data.length - at} bytes too many`);
  return count;
}
