// The passthrough mount: real files of the machine lguest.ts runs on, seen inside the host
// at /host (by default /host/<absolute real path>). A launcher loads its guest kernel and
// initrd from here (mapping them MAP_PRIVATE, which reads them into private pages) and
// serves a --block disk from here with pread/pwrite.
//
// Disks must never lose a byte: every write goes straight to the real file with a
// positioned write (no cache of our own to lose), ftruncate and fsync are passed through,
// and a file that was written is fsync'ed when its last descriptor closes. There is no
// page cache here, so MAP_SHARED of a passthrough file is refused with -ENODEV (Linux's
// answer for a file system without shared mmap); use pread/pwrite, or copy to tmpfs.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Errno, type ErrnoName } from './errno';
import { PAGE_SIZE } from './layout';
import type { MappedFile, Vma } from './mm';
import { DirInode, Inode, O_ACCMODE, O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_TRUNC, O_WRONLY, O_RDWR } from './vfs';
import type { OpenableFile, RegularFile } from './vfs';

export interface HostMountOptions {
  /** Refuse every write (-EROFS). */
  readOnly?: boolean;
}

/** A Node fs error as a negative errno (EIO for anything unknown). */
export function errnoOf(e: unknown): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in Errno) return -Errno[code as ErrnoName];
  return -Errno.EIO;
}

function nodeFlags(flags: number): number {
  const c = fs.constants;
  const acc = flags & O_ACCMODE;
  let f = acc === O_WRONLY ? c.O_WRONLY : acc === O_RDWR ? c.O_RDWR : c.O_RDONLY;
  if (flags & O_CREAT) f |= c.O_CREAT;
  if (flags & O_EXCL) f |= c.O_EXCL;
  if (flags & O_TRUNC) f |= c.O_TRUNC;
  if (flags & O_APPEND) f |= c.O_APPEND;
  return f;
}

/** A directory of the real file system. */
export class HostDir extends DirInode {
  constructor(
    private readonly nextId: () => number,
    readonly realPath: string,
    readonly readOnly: boolean,
  ) {
    super(nextId(), 0o755);
  }

  lookup(name: string): Inode | number {
    const real = nodePath.join(this.realPath, name);
    try {
      const st = fs.statSync(real);
      if (st.isDirectory()) return new HostDir(this.nextId, real, this.readOnly);
      return new HostFileNode(this.nextId(), real, this.readOnly, st.mode & 0o7777);
    } catch (e) {
      return errnoOf(e);
    }
  }

  create(name: string, mode: number): Inode | number {
    if (this.readOnly) return -Errno.EROFS;
    const real = nodePath.join(this.realPath, name);
    try {
      fs.closeSync(fs.openSync(real, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode));
      return new HostFileNode(this.nextId(), real, this.readOnly, mode);
    } catch (e) {
      return errnoOf(e);
    }
  }

  mkdir(name: string, mode: number): number {
    if (this.readOnly) return -Errno.EROFS;
    try {
      fs.mkdirSync(nodePath.join(this.realPath, name), { mode });
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  unlink(name: string): number {
    if (this.readOnly) return -Errno.EROFS;
    const real = nodePath.join(this.realPath, name);
    try {
      if (fs.statSync(real).isDirectory()) fs.rmdirSync(real);
      else fs.unlinkSync(real);
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  list(): string[] {
    try {
      return fs.readdirSync(this.realPath).sort();
    } catch {
      return [];
    }
  }
}

/** A real file. Each open gets its own OS descriptor; each mapping too. */
export class HostFileNode extends Inode implements OpenableFile {
  readonly kind = 'file' as const;

  constructor(
    ino: number,
    readonly realPath: string,
    readonly readOnly: boolean,
    mode: number,
  ) {
    super(ino, mode);
  }

  size(): number {
    try {
      return fs.statSync(this.realPath).size;
    } catch {
      return 0;
    }
  }

  openRegular(flags: number): RegularFile | number {
    if (this.readOnly && ((flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0)) return -Errno.EROFS;
    try {
      return new HostOpenFile(fs.openSync(this.realPath, nodeFlags(flags & ~(O_CREAT | O_EXCL))));
    } catch (e) {
      return errnoOf(e);
    }
  }

  /** What a private mapping of this file reads its pages from. */
  mapFile(): MappedFile | number {
    try {
      return new HostMapping(this.ino, fs.openSync(this.realPath, fs.constants.O_RDONLY));
    } catch (e) {
      return errnoOf(e);
    }
  }
}

/** One open of a real file: positioned reads and writes straight through to it. */
class HostOpenFile implements RegularFile {
  private dirty = false;
  private fd: number | null;

  constructor(fd: number) {
    this.fd = fd;
  }

  size(): number {
    if (this.fd === null) return 0;
    try {
      return fs.fstatSync(this.fd).size;
    } catch {
      return 0;
    }
  }

  readAt(dest: Uint8Array, pos: number): number {
    return this.readInto(dest, 0, dest.length, pos);
  }

  writeAt(src: Uint8Array, pos: number): number {
    return this.writeFrom(src, 0, src.length, pos);
  }

  /** Straight from the real file into `buf[off, off+len)`: a disk read lands in guest RAM. */
  readInto(buf: Uint8Array, off: number, len: number, pos: number): number {
    if (this.fd === null) return -Errno.EBADF;
    if (pos < 0) return -Errno.EINVAL;
    let done = 0;
    try {
      while (done < len) {
        const n = fs.readSync(this.fd, buf, off + done, len - done, pos + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    } catch (e) {
      return done > 0 ? done : errnoOf(e);
    }
  }

  writeFrom(buf: Uint8Array, off: number, len: number, pos: number): number {
    if (this.fd === null) return -Errno.EBADF;
    if (pos < 0) return -Errno.EINVAL;
    let done = 0;
    try {
      while (done < len) {
        done += fs.writeSync(this.fd, buf, off + done, len - done, pos + done);
        this.dirty = true;
      }
      return done;
    } catch (e) {
      return done > 0 ? done : errnoOf(e);
    }
  }

  truncate(length: number): number {
    if (this.fd === null) return -Errno.EBADF;
    try {
      fs.ftruncateSync(this.fd, length);
      this.dirty = true;
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  sync(): number {
    if (this.fd === null) return -Errno.EBADF;
    try {
      fs.fsyncSync(this.fd);
      this.dirty = false;
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  datasync(): number {
    if (this.fd === null) return -Errno.EBADF;
    try {
      fs.fdatasyncSync(this.fd);
      this.dirty = false;
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  close(): void {
    if (this.fd === null) return;
    if (this.dirty) this.sync();
    try {
      fs.closeSync(this.fd);
    } catch {
      // Nothing left to do for a descriptor the OS already considers closed.
    }
    this.fd = null;
  }
}

/** The file a private mapping of a real file reads from; closed with its last VMA. */
class HostMapping implements MappedFile {
  private readonly vmas = new Set<Vma>();
  private fd: number | null;

  constructor(
    readonly inodeId: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  readPage(index: number, dest: Uint8Array): number {
    if (this.fd === null) return -Errno.EBADF;
    try {
      const size = fs.fstatSync(this.fd).size;
      if (index * PAGE_SIZE >= size) return -Errno.EFAULT;
      let done = 0;
      while (done < PAGE_SIZE) {
        const n = fs.readSync(this.fd, dest, done, PAGE_SIZE - done, index * PAGE_SIZE + done);
        if (n === 0) break;
        done += n;
      }
      dest.fill(0, done);
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  addMapping(vma: Vma): void {
    this.vmas.add(vma);
  }

  removeMapping(vma: Vma): void {
    this.vmas.delete(vma);
    if (this.vmas.size === 0) this.unused();
  }

  unused(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
    this.fd = null;
  }
}
