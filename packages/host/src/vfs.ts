// The files a launcher opens. A launcher starts its guest by opening /dev/lguest (or the
// seed's /proc/lguest) — a character device whose read() runs the guest — so modules
// register such entries here with their file operations, exactly as lg registers its
// misc device with the kernel. Guest RAM comes from /dev/zero; a --sharenet file lives in
// tmpfs so that two launchers mapping it share its pages; disks and kernel images are real
// files of the machine we run on, reached through a passthrough mount at /host.
//
// The tree: a tmpfs root (so /tmp and anything else a launcher creates is in memory), with
// /proc (registered entries only), /dev (null, zero, and registered devices; files may be
// created there, as on devtmpfs) and /host (the real file system, see hostfs.ts).

import type { Process } from './process';
import { Errno } from './errno';

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;

/** File types, as in st_mode (S_IFDIR, S_IFREG, S_IFCHR). */
export type InodeKind = 'dir' | 'file' | 'chr';

export interface Stat {
  readonly ino: number;
  readonly kind: InodeKind;
  readonly size: number;
  /** Permission bits (informational: the shim does not enforce ownership). */
  readonly mode: number;
}

/**
 * The operations of a character device or /proc entry (struct file_operations). Each
 * returns a byte count or a negative errno, directly or through a Promise when it may
 * sleep (lg's read runs a guest). `proc` is the calling process (`current`).
 */
export interface FileOps<P = unknown> {
  open?(file: File<P>, proc: Process): number | Promise<number>;
  read?(file: File<P>, buffer: Uint8Array, proc: Process): number | Promise<number>;
  write?(file: File<P>, data: Uint8Array, proc: Process): number | Promise<number>;
  /** Readiness now: POLLIN / POLLOUT bits. Without it a device is always ready. */
  poll?(file: File<P>, proc: Process): number;
  /** The last close of this open file (also at process exit, before its memory goes). */
  release?(file: File<P>): void;
}

/** A regular file's contents, for read/write/pread/pwrite/ftruncate/fsync. */
export interface RegularFile {
  size(): number;
  /** Copy up to dest.length bytes from `pos`: the count (0 at EOF) or -errno. */
  readAt(dest: Uint8Array, pos: number): number;
  /** Write all of `src` at `pos` (growing the file): the count or -errno. */
  writeAt(src: Uint8Array, pos: number): number;
  truncate(length: number): number;
  sync(): number;
  /** fdatasync: the data (and the size) on stable storage; files without it use sync(). */
  datasync?(): number;
  /**
   * Optional fast paths for readv/writev into process memory: like readAt/writeAt on
   * `buf[off, off+len)`, without making a view of it.
   */
  readInto?(buf: Uint8Array, off: number, len: number, pos: number): number;
  writeFrom?(buf: Uint8Array, off: number, len: number, pos: number): number;
  /** The open file description is gone. */
  close(): void;
}

/** Every inode has a number unique among inodes and address spaces, and a kind. */
export abstract class Inode {
  abstract readonly kind: InodeKind;
  constructor(
    readonly ino: number,
    public mode: number,
  ) {}
  abstract size(): number;
  stat(): Stat {
    return { ino: this.ino, kind: this.kind, size: this.size(), mode: this.mode };
  }
}

/** A directory, whatever file system it belongs to. */
export abstract class DirInode extends Inode {
  readonly kind = 'dir' as const;
  size(): number {
    return 0;
  }
  /** The entry `name`, or -ENOENT. */
  abstract lookup(name: string): Inode | number;
  /** A new empty regular file `name` (the caller checked it does not exist), or -errno. */
  abstract create(name: string, mode: number): Inode | number;
  abstract mkdir(name: string, mode: number): number;
  abstract unlink(name: string): number;
  /** Add an existing inode (device registration, mounts); -EEXIST or -EPERM. */
  link(_name: string, _inode: Inode): number {
    return -Errno.EPERM;
  }
  /** Names in this directory. */
  abstract list(): string[];
}

/** A regular file that can be opened: it hands out the RegularFile for one open. */
export interface OpenableFile {
  openRegular(flags: number): RegularFile | number;
}

export function isOpenable(inode: Inode): inode is Inode & OpenableFile {
  return inode.kind === 'file' && 'openRegular' in inode;
}

/** A character device or /proc entry: its inode carries the module's operations. */
export class CharDevice extends Inode {
  readonly kind = 'chr' as const;
  constructor(
    ino: number,
    readonly ops: FileOps,
    /** /dev/zero: mmap gives anonymous memory (private, or shared through an unnamed tmpfs file). */
    readonly mapsAnonymous = false,
  ) {
    super(ino, 0o600);
  }
  size(): number {
    return 0;
  }
}

/** An open file description (struct file): shared by every fd that refers to it. */
export class File<P = unknown> {
  /** File position for read/write on regular files. */
  pos = 0;
  /** The module's per-open state (file->private_data). */
  private: P | undefined = undefined;
  /** fds (and mappings in progress) referring to this description. */
  refs = 1;

  constructor(
    readonly path: string,
    readonly inode: Inode,
    readonly flags: number,
    /** Contents, for regular files. */
    readonly regular: RegularFile | null,
    /** Operations, for character devices. */
    readonly ops: FileOps<P> | null,
  ) {}

  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }

  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }
}

export const NAME_MAX = 255;

/**
 * Split a path into components, dropping "." (".." is left to the walker). Every process's
 * working directory is "/", so a relative path starts there.
 */
export function pathComponents(path: string): string[] | number {
  if (path === '') return -Errno.ENOENT;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p.length > NAME_MAX)) return -Errno.ENAMETOOLONG;
  return parts;
}
