// The file tree and path lookup. lg makes its control file appear here
// (registerDevice('/dev/lguest', ops), registerProcEntry('lguest', ops)), the launcher
// finds it here by name, and everything else a launcher opens — /dev/zero for guest
// memory, a tmpfs file for --sharenet, /host/... for disks and kernels — is resolved by
// the same walk.

import * as fs from 'node:fs';
import { Errno } from './errno';
import { errnoOf, HostDir, HostFileNode, type HostMountOptions } from './hostfs';
import { TmpfsDir, type TmpfsContext } from './tmpfs';
import { CharDevice, DirInode, O_CREAT, O_EXCL, pathComponents, type FileOps, type Inode } from './vfs';

/** /dev/null: reads end at once, writes vanish. */
const nullOps: FileOps = {
  read: () => 0,
  write: (_file, data) => data.length,
};

/** /dev/zero: reads give zeros, writes vanish; mmap gives anonymous memory. */
const zeroOps: FileOps = {
  read: (_file, buffer) => {
    buffer.fill(0);
    return buffer.length;
  },
  write: (_file, data) => data.length,
};

export class Vfs {
  readonly root: TmpfsDir;
  readonly proc: TmpfsDir;
  readonly dev: TmpfsDir;
  private readonly ctx: TmpfsContext;

  constructor(ctx: TmpfsContext) {
    this.ctx = ctx;
    this.root = new TmpfsDir(ctx);
    this.proc = new TmpfsDir(ctx, false);
    this.dev = new TmpfsDir(ctx);
    this.root.link('proc', this.proc);
    this.root.link('dev', this.dev);
    this.root.mkdir('tmp', 0o1777);
    this.dev.link('null', new CharDevice(ctx.nextId(), nullOps));
    this.dev.link('zero', new CharDevice(ctx.nextId(), zeroOps, true));
  }

  /** The inode `path` names, or -ENOENT / -ENOTDIR / -ENAMETOOLONG. */
  lookup(path: string): Inode | number {
    const parts = pathComponents(path);
    if (typeof parts === 'number') return parts;
    return this.walk(parts);
  }

  /**
   * open()'s half of the work: the inode for `path`, created as an empty regular file with
   * O_CREAT if missing (-EEXIST with O_EXCL if present).
   */
  lookupOrCreate(path: string, flags: number, mode: number): Inode | number {
    const parts = pathComponents(path);
    if (typeof parts === 'number') return parts;
    if (parts.length === 0) return (flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0 ? -Errno.EEXIST : this.root;
    const dir = this.walk(parts.slice(0, -1));
    if (typeof dir === 'number') return dir;
    if (!(dir instanceof DirInode)) return -Errno.ENOTDIR;
    const name = parts[parts.length - 1];
    const found = name === '..' ? this.walk(parts) : dir.lookup(name);
    if (typeof found !== 'number') {
      return (flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0 ? -Errno.EEXIST : found;
    }
    if (found !== -Errno.ENOENT || (flags & O_CREAT) === 0) return found;
    return dir.create(name, mode);
  }

  mkdir(path: string, mode = 0o755): number {
    const split = this.parentOf(path);
    if (typeof split === 'number') return split;
    const [dir, name] = split;
    if (typeof dir.lookup(name) !== 'number') return -Errno.EEXIST;
    return dir.mkdir(name, mode);
  }

  unlink(path: string): number {
    const split = this.parentOf(path);
    if (typeof split === 'number') return split;
    const [dir, name] = split;
    if (dir === this.root && (name === 'proc' || name === 'dev')) return -Errno.EBUSY;
    return dir.unlink(name);
  }

  /** Make `ops` appear as the character device `path` (under /dev). 0, -EEXIST, -EINVAL. */
  registerDevice(path: string, ops: FileOps): number {
    const parts = pathComponents(path);
    if (typeof parts === 'number' || parts.length < 2 || parts[0] !== 'dev' || parts.includes('..')) {
      return -Errno.EINVAL;
    }
    let dir: TmpfsDir = this.dev;
    for (const name of parts.slice(1, -1)) {
      const next = dir.lookup(name);
      if (typeof next === 'number') {
        const made = dir.mkdir(name, 0o755);
        if (made < 0) return made;
      }
      const sub = dir.lookup(name);
      if (!(sub instanceof TmpfsDir)) return -Errno.ENOTDIR;
      dir = sub;
    }
    return dir.link(parts[parts.length - 1], new CharDevice(this.ctx.nextId(), ops));
  }

  /** Remove a device registered at `path`: 0 or -ENOENT. Files already open keep working. */
  unregisterDevice(path: string): number {
    const split = this.parentOf(path);
    if (typeof split === 'number') return split;
    const [dir, name] = split;
    const inode = dir.lookup(name);
    if (!(dir instanceof TmpfsDir) || !(inode instanceof CharDevice)) return -Errno.ENOENT;
    dir.unlinkEntry(name, inode);
    return 0;
  }

  /** create_proc_entry: /proc/<name> with these operations. 0, -EEXIST, -EINVAL. */
  registerProcEntry(name: string, ops: FileOps): number {
    if (name === '' || name.includes('/') || name === '.' || name === '..') return -Errno.EINVAL;
    return this.proc.link(name, new CharDevice(this.ctx.nextId(), ops));
  }

  /** remove_proc_entry. 0 or -ENOENT. */
  unregisterProcEntry(name: string): number {
    const inode = this.proc.lookup(name);
    if (!(inode instanceof CharDevice)) return -Errno.ENOENT;
    this.proc.unlinkEntry(name, inode);
    return 0;
  }

  /**
   * Make the one real file `realFile` appear at `path` (its directories made as needed, in
   * tmpfs), writable only if `options.readOnly` is false. Nothing else of the real file
   * system becomes visible. 0, -EEXIST, -ENOENT (no such real file), -EISDIR, -EINVAL.
   */
  grantHostFile(path: string, realFile: string, options: HostMountOptions = {}): number {
    const parts = pathComponents(path);
    if (typeof parts === 'number' || parts.length === 0 || parts.includes('..')) return -Errno.EINVAL;
    let st: fs.Stats;
    try {
      st = fs.statSync(realFile);
    } catch (e) {
      return errnoOf(e);
    }
    if (st.isDirectory()) return -Errno.EISDIR;
    let dir: TmpfsDir = this.root;
    for (const name of parts.slice(0, -1)) {
      if (typeof dir.lookup(name) === 'number') {
        const made = dir.mkdir(name, 0o755);
        if (made < 0) return made;
      }
      const sub = dir.lookup(name);
      if (!(sub instanceof TmpfsDir)) return -Errno.ENOTDIR;
      dir = sub;
    }
    const node = new HostFileNode(this.ctx.nextId(), realFile, options.readOnly ?? true, st.mode & 0o7777);
    return dir.link(parts[parts.length - 1], node);
  }

  /**
   * Mount the real directory `realDir` at `path` (a new name directly under an existing
   * tmpfs directory, e.g. "/host"). 0, -EEXIST, -ENOENT, -EINVAL.
   */
  mountHost(path: string, realDir: string, options: HostMountOptions = {}): number {
    const split = this.parentOf(path);
    if (typeof split === 'number') return split;
    const [dir, name] = split;
    if (!(dir instanceof TmpfsDir)) return -Errno.EINVAL;
    return dir.link(name, new HostDir(() => this.ctx.nextId(), realDir, options.readOnly ?? false));
  }

  /** Walk the components from the root. */
  private walk(parts: string[]): Inode | number {
    const stack: Inode[] = [this.root];
    for (const name of parts) {
      const here = stack[stack.length - 1];
      if (!(here instanceof DirInode)) return -Errno.ENOTDIR;
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const next = here.lookup(name);
      if (typeof next === 'number') return next;
      stack.push(next);
    }
    return stack[stack.length - 1];
  }

  /** The directory holding the last component of `path`, and that name. */
  private parentOf(path: string): [DirInode, string] | number {
    const parts = pathComponents(path);
    if (typeof parts === 'number') return parts;
    if (parts.length === 0) return -Errno.EBUSY;
    const name = parts[parts.length - 1];
    if (name === '..') return -Errno.EINVAL;
    const dir = this.walk(parts.slice(0, -1));
    if (typeof dir === 'number') return dir;
    if (!(dir instanceof DirInode)) return -Errno.ENOTDIR;
    return [dir, name];
  }
}
