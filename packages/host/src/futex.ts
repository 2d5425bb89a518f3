// Futex keys: the trick inter-guest DMA is built on. A guest names a DMA endpoint by a
// guest-physical address, i.e. a launcher virtual address; lg turns it into the key the
// futex code would use for that address. For a private mapping the key is (mm, address),
// meaningful only inside that launcher. For a shared mapping of a file it is (inode, page
// index in the file), so two launchers that map the same --sharenet file — at whatever
// addresses — get *equal* keys for the same offset, and lg can match one guest's
// SEND_DMA with another guest's BIND_DMA. (lguest-abi.md §6.2.)

import { Errno } from './errno';
import { PAGE_SIZE } from './layout';
import { PROT_READ } from './mm';
import type { HasMm } from './uaccess';

/** union futex_key: {word, ptr, offset}, compared as a whole. */
export interface FutexKey {
  /** True for an inode-based key (shared mapping), false for an mm-based one. */
  readonly shared: boolean;
  /** Shared: page index in the file. Private: the page-aligned virtual address. */
  readonly word: number;
  /** Shared: the inode number. Private: the mm id. (Inode and mm ids never collide.) */
  readonly ptr: number;
  /** Offset in the page, with bit 0 set for a shared key and bit 1 for a private one. */
  readonly offset: number;
}

/**
 * get_futex_key for user address `vaddr`: the key, or -EINVAL (not 4-byte aligned),
 * -EFAULT (not mapped), -EACCES (mapped without read permission).
 */
export function futexKey(task: HasMm, vaddr: number): FutexKey | number {
  if (!Number.isInteger(vaddr) || vaddr % 4 !== 0) return -Errno.EINVAL;
  const vma = task.mm.findVma(vaddr);
  if (!vma) return -Errno.EFAULT;
  if ((vma.prot & PROT_READ) === 0) return -Errno.EACCES;
  const inPage = vaddr % PAGE_SIZE;
  if (vma.shared && vma.file) {
    return { shared: true, word: vma.pageIndex(vaddr), ptr: vma.file.inodeId, offset: inPage | 1 };
  }
  return { shared: false, word: vaddr - inPage, ptr: task.mm.id, offset: inPage | 2 };
}

/** Whether two keys name the same futex (match_futex). */
export function keyEquals(a: FutexKey, b: FutexKey): boolean {
  return a.word === b.word && a.ptr === b.ptr && a.offset === b.offset;
}

/** A string form, equal exactly when the keys are (for Map keys). */
export function keyString(key: FutexKey): string {
  return `${key.shared ? 'inode' : 'mm'}:${key.ptr}:${key.word}:${key.offset}`;
}
