// tmpfs: files whose contents are frames of the host's physical memory. This is where the
// original inter-guest network lives: each launcher opens the same --sharenet file and maps
// it MAP_SHARED, both page tables point at the file's own frames, and the futex keys of
// the two mappings are equal because they name the same (inode, page) — so lg can match a
// DMA one guest sends with the buffers another guest bound. Shared anonymous memory
// (MAP_SHARED of /dev/zero or MAP_ANONYMOUS) is an unnamed tmpfs file too, as shmem is on
// Linux.

import { Errno } from './errno';
import { PAGE_SIZE } from './layout';
import type { PageAllocator } from './page-alloc';
import type { MappedFile, Vma } from './mm';
import { DirInode, Inode, type OpenableFile, type RegularFile } from './vfs';

/** What tmpfs needs from the host. */
export interface TmpfsContext {
  readonly pages: PageAllocator;
  readonly ram8: Uint8Array;
  invalidate(phys: number, length: number): void;
  nextId(): number;
}

/** A tmpfs directory: a name → inode map. */
export class TmpfsDir extends DirInode {
  private readonly entries = new Map<string, Inode>();

  constructor(
    private readonly ctx: TmpfsContext,
    /** Whether files and directories may be created here (false for /proc). */
    private readonly writable = true,
  ) {
    super(ctx.nextId(), 0o755);
  }

  lookup(name: string): Inode | number {
    return this.entries.get(name) ?? -Errno.ENOENT;
  }

  create(name: string, mode: number): Inode | number {
    if (!this.writable) return -Errno.EACCES;
    const file = new TmpfsFile(this.ctx, mode);
    file.nlink = 1;
    this.entries.set(name, file);
    return file;
  }

  mkdir(name: string, mode: number): number {
    if (!this.writable) return -Errno.EACCES;
    if (this.entries.has(name)) return -Errno.EEXIST;
    const dir = new TmpfsDir(this.ctx);
    dir.mode = mode;
    this.entries.set(name, dir);
    return 0;
  }

  unlink(name: string): number {
    const inode = this.entries.get(name);
    if (!inode) return -Errno.ENOENT;
    if (inode instanceof TmpfsDir) {
      if (inode.entries.size > 0) return -Errno.ENOTEMPTY;
    }
    this.entries.delete(name);
    if (inode instanceof TmpfsFile) {
      inode.nlink--;
      inode.maybeEvict();
    }
    return 0;
  }

  override link(name: string, inode: Inode): number {
    if (this.entries.has(name)) return -Errno.EEXIST;
    this.entries.set(name, inode);
    return 0;
  }

  /** Remove an entry added with link() (device unregistration). */
  unlinkEntry(name: string, inode: Inode): boolean {
    if (this.entries.get(name) !== inode) return false;
    this.entries.delete(name);
    return true;
  }

  list(): string[] {
    return [...this.entries.keys()].sort();
  }
}

/** A tmpfs regular file: its size and a sparse page cache of frames. */
export class TmpfsFile extends Inode implements RegularFile, MappedFile, OpenableFile {
  readonly kind = 'file' as const;
  /** Directory entries naming this file; 0 for unlinked or unnamed (shmem) files. */
  nlink = 0;
  /** Open file descriptions referring to it. */
  opens = 0;
  private length = 0;
  private readonly cache = new Map<number, number>();
  private readonly vmas = new Set<Vma>();
  private readonly ctx: TmpfsContext;

  constructor(ctx: TmpfsContext, mode = 0o644) {
    super(ctx.nextId(), mode);
    this.ctx = ctx;
  }

  get inodeId(): number {
    return this.ino;
  }

  /** Frames in the page cache. */
  get cachedPages(): number {
    return this.cache.size;
  }

  size(): number {
    return this.length;
  }

  openRegular(): RegularFile {
    this.opens++;
    return this;
  }

  close(): void {
    this.opens--;
    this.maybeEvict();
  }

  readAt(dest: Uint8Array, pos: number): number {
    if (pos < 0) return -Errno.EINVAL;
    const n = Math.max(0, Math.min(dest.length, this.length - pos));
    let done = 0;
    while (done < n) {
      const at = pos + done;
      const off = at % PAGE_SIZE;
      const chunk = Math.min(n - done, PAGE_SIZE - off);
      const frame = this.cache.get(Math.floor(at / PAGE_SIZE));
      if (frame === undefined) dest.fill(0, done, done + chunk);
      else dest.set(this.ctx.ram8.subarray(frame + off, frame + off + chunk), done);
      done += chunk;
    }
    return n;
  }

  writeAt(src: Uint8Array, pos: number): number {
    if (pos < 0) return -Errno.EINVAL;
    let done = 0;
    while (done < src.length) {
      const at = pos + done;
      const off = at % PAGE_SIZE;
      const chunk = Math.min(src.length - done, PAGE_SIZE - off);
      const frame = this.page(Math.floor(at / PAGE_SIZE));
      if (frame < 0) return done > 0 ? done : -Errno.ENOSPC;
      this.ctx.ram8.set(src.subarray(done, done + chunk), frame + off);
      this.ctx.invalidate(frame + off, chunk);
      done += chunk;
      this.length = Math.max(this.length, at + chunk);
    }
    return done;
  }

  /**
   * Set the size. Shrinking unmaps the pages past the new end from every mapping (as
   * truncate does on Linux) and frees them; the tail of the last page is zeroed.
   */
  truncate(length: number): number {
    if (length < 0) return -Errno.EINVAL;
    if (length < this.length) {
      const keep = Math.ceil(length / PAGE_SIZE);
      for (const v of this.vmas) {
        const from = v.start + (keep - v.pgoff) * PAGE_SIZE;
        if (from < v.end) v.mm.zapRange(Math.max(v.start, from), v.end);
      }
      for (const [index, frame] of [...this.cache]) {
        if (index >= keep) {
          this.cache.delete(index);
          this.ctx.pages.put(frame);
        }
      }
      const tail = length % PAGE_SIZE;
      const last = this.cache.get(Math.floor(length / PAGE_SIZE));
      if (tail !== 0 && last !== undefined) {
        this.ctx.ram8.fill(0, last + tail, last + PAGE_SIZE);
        this.ctx.invalidate(last + tail, PAGE_SIZE - tail);
      }
    }
    this.length = length;
    return 0;
  }

  sync(): number {
    return 0;
  }

  // --- MappedFile ---

  cachePage = (index: number): number => {
    if (index * PAGE_SIZE >= this.length) return -Errno.EFAULT;
    return this.page(index);
  };

  readPage(index: number, dest: Uint8Array): number {
    if (index * PAGE_SIZE >= this.length) return -Errno.EFAULT;
    const frame = this.cache.get(index);
    if (frame === undefined) dest.fill(0);
    else dest.set(this.ctx.ram8.subarray(frame, frame + PAGE_SIZE));
    return 0;
  }

  addMapping(vma: Vma): void {
    this.vmas.add(vma);
  }

  removeMapping(vma: Vma): void {
    this.vmas.delete(vma);
    this.maybeEvict();
  }

  /** Free the pages once nothing names, opens or maps the file. */
  maybeEvict(): void {
    if (this.nlink > 0 || this.opens > 0 || this.vmas.size > 0) return;
    for (const frame of this.cache.values()) this.ctx.pages.put(frame);
    this.cache.clear();
  }

  /** The cache frame of page `index`, allocating a zeroed one; or -ENOMEM. */
  private page(index: number): number {
    const have = this.cache.get(index);
    if (have !== undefined) return have;
    const frame = this.ctx.pages.alloc({ zero: true, highmem: true });
    if (frame < 0) return frame;
    this.cache.set(index, frame);
    return frame;
  }
}

/** An unnamed tmpfs file of `length` bytes backing a shared anonymous mapping. */
export function shmemFile(ctx: TmpfsContext, length: number): TmpfsFile {
  const file = new TmpfsFile(ctx, 0o600);
  file.truncate(length);
  return file;
}
