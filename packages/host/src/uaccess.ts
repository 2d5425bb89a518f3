// The kernel reaching into a process's memory: copy_from_user, copy_to_user, get_user,
// put_user and get_user_pages. lg lives on these. Every hypercall argument that is a
// pointer, every lguest_data field, every DMA descriptor is a guest-physical address, which
// is a virtual address of the launcher; lg reads and writes them through the launcher's
// page tables with these functions, and pins launcher pages with getUserPages to put them
// in the guest's shadow page tables.
//
// A bad address is never an exception: it is -EFAULT, which lg turns into "bad read
// address" and kills the guest. Pages that are mapped but not yet touched are faulted in,
// exactly as the kernel's own fault handler would when copy_to_user touches them.

import { Errno } from './errno';
import { PAGE_SIZE } from './layout';
import type { Mm } from './mm';
import type { PageAllocator } from './page-alloc';

/** Anything with an address space (a Process). */
export interface HasMm {
  readonly mm: Mm;
}

/** Copy `dest.length` bytes from user address `vaddr` into `dest`: 0 or -EFAULT/-ENOMEM. */
export function copyFromUserInto(ram8: Uint8Array, task: HasMm, vaddr: number, dest: Uint8Array): number {
  let done = 0;
  while (done < dest.length) {
    const addr = vaddr + done;
    const phys = task.mm.resolve(addr, false);
    if (phys < 0) return phys;
    const chunk = Math.min(dest.length - done, PAGE_SIZE - (addr % PAGE_SIZE));
    dest.set(ram8.subarray(phys, phys + chunk), done);
    done += chunk;
  }
  return 0;
}

/** Copy `src` to user address `vaddr`: 0 or -EFAULT/-ENOMEM (earlier pages may be written). */
export function copyToUser(
  ram8: Uint8Array,
  invalidate: (phys: number, length: number) => void,
  task: HasMm,
  vaddr: number,
  src: Uint8Array,
): number {
  let done = 0;
  while (done < src.length) {
    const addr = vaddr + done;
    const phys = task.mm.resolve(addr, true);
    if (phys < 0) return phys;
    const chunk = Math.min(src.length - done, PAGE_SIZE - (addr % PAGE_SIZE));
    ram8.set(src.subarray(done, done + chunk), phys);
    invalidate(phys, chunk);
    done += chunk;
  }
  return 0;
}

/** get_user of a u32: the value (0 … 2^32-1) or a negative errno. */
export function getUser32(ram8: Uint8Array, task: HasMm, vaddr: number): number {
  if (vaddr % PAGE_SIZE <= PAGE_SIZE - 4) {
    const p = task.mm.resolve(vaddr, false);
    if (p < 0) return p;
    return (ram8[p] | (ram8[p + 1] << 8) | (ram8[p + 2] << 16) | (ram8[p + 3] << 24)) >>> 0;
  }
  const bytes = new Uint8Array(4);
  const err = copyFromUserInto(ram8, task, vaddr, bytes);
  if (err < 0) return err;
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
}

/** put_user of a u32: 0 or a negative errno. */
export function putUser32(
  ram8: Uint8Array,
  invalidate: (phys: number, length: number) => void,
  task: HasMm,
  vaddr: number,
  value: number,
): number {
  if (vaddr % PAGE_SIZE <= PAGE_SIZE - 4) {
    const p = task.mm.resolve(vaddr, true);
    if (p < 0) return p;
    ram8[p] = value;
    ram8[p + 1] = value >>> 8;
    ram8[p + 2] = value >>> 16;
    ram8[p + 3] = value >>> 24;
    invalidate(p, 4);
    return 0;
  }
  const bytes = Uint8Array.of(value, value >>> 8, value >>> 16, value >>> 24);
  return copyToUser(ram8, invalidate, task, vaddr, bytes);
}

/**
 * get_user_pages for one page: fault in the page holding `vaddr` (for writing if `write`,
 * which breaks copy-on-write first) and take a reference on its frame, which the caller
 * must drop with putPage. Returns the frame's physical address or a negative errno.
 */
export function getUserPage(pages: PageAllocator, task: HasMm, vaddr: number, write: boolean): number {
  const phys = task.mm.resolve(vaddr, write);
  if (phys < 0) return phys === -Errno.ENOMEM ? phys : -Errno.EFAULT;
  const frame = phys - (phys % PAGE_SIZE);
  pages.get(frame);
  return frame;
}
