// POSIX record locks (fcntl F_SETLK with F_WRLCK / F_UNLCK): byte ranges of a file that one
// process holds against every other. The 2.6.23 launcher picks its --sharenet slot this way:
// it takes a one-byte write lock at file offset = slot, the first one nobody holds, and
// keeps it for as long as it lives. As in Linux, a process's locks on a file go when it
// closes *any* descriptor of that file, and all of them when it exits.

import { Errno } from './errno';
import type { Inode } from './vfs';

/** One held range [start, end) of an inode. */
interface RecordLock {
  readonly owner: number;
  readonly start: number;
  readonly end: number;
}

/** Every inode's locks (inodes without locks have no entry). */
const held = new WeakMap<Inode, RecordLock[]>();

/**
 * F_SETLK, F_WRLCK: lock [start, start+len) of `inode` for process `owner`. 0, -EAGAIN when
 * another process holds an overlapping range, -EINVAL for a bad range.
 */
export function writeLock(inode: Inode, owner: number, start: number, len: number): number {
  if (!Number.isInteger(start) || !Number.isInteger(len) || start < 0 || len <= 0) return -Errno.EINVAL;
  const end = start + len;
  const locks = held.get(inode) ?? [];
  if (locks.some((l) => l.owner !== owner && l.start < end && start < l.end)) return -Errno.EAGAIN;
  locks.push({ owner, start, end });
  held.set(inode, locks);
  return 0;
}

/** Drops every lock `owner` holds on `inode` (close of any of its descriptors of it, exit). */
export function releaseLocks(inode: Inode, owner: number): void {
  const locks = held.get(inode);
  if (!locks) return;
  const kept = locks.filter((l) => l.owner !== owner);
  if (kept.length) held.set(inode, kept);
  else held.delete(inode);
}
