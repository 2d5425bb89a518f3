// A host process and its system calls: the whole world as a launcher sees it. The launcher
// is TypeScript, but it lives in the host like a program does: it has a pid, an address
// space whose virtual addresses are its guest's physical addresses, a table of open files,
// and signals. It gets guest memory with mmap (of /dev/zero, at 0, MAP_FIXED), writes the
// kernel into it through readMemory/writeMemory, opens /dev/lguest, writes LHREQ_INITIALIZE
// and then sits in read() — which runs the guest inside lg — until there is output to
// service. Everything fails the way Linux fails: a negative errno as the result.
//
// read and write return Promises: a device operation may sleep (lg's read runs the guest
// for as long as it has nothing to report; LHREQ_BREAK blocks until the launcher lets go).
// File positions, mmap and the memory accessors are synchronous.

import { Errno } from './errno';
import { PAGE_SIZE, TASK_SIZE } from './layout';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type MappedFile,
  type Mm,
} from './mm';
import { HostFileNode } from './hostfs';
import { releaseLocks, writeLock } from './locks';
import type { Vfs } from './namei';
import { ignoredByDefault, NSIG, Signal, type SignalAction } from './signals';
import { shmemFile, TmpfsFile, type TmpfsContext } from './tmpfs';
import {
  CharDevice,
  DirInode,
  File,
  isOpenable,
  O_ACCMODE,
  O_APPEND,
  O_RDONLY,
  O_TRUNC,
  POLLIN,
  POLLOUT,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  type Stat,
} from './vfs';
import type { SignalTarget, Sleeper } from './wait';

/** One section of a readv/writev: an address in the process's memory and a length. */
export interface IoVec {
  readonly addr: number;
  readonly len: number;
}

/** The first descriptor open() hands out (0–2 are the launcher's own terminal, not files here). */
export const FIRST_FD = 3;
/** RLIMIT_NOFILE. */
export const MAX_FDS = 1024;

/** What a process needs from its host. */
export interface ProcessContext {
  readonly vfs: Vfs;
  readonly tmpfs: TmpfsContext;
  readonly ram8: Uint8Array;
  invalidate(phys: number, length: number): void;
  /** The process has exited (remove it from the process table). */
  reap(proc: Process): void;
  /** See Host.holdPacing. */
  holdPacing?(): () => void;
  /** host.clock's time in ns. */
  now(): number;
  /** See Host.sleepUntil. */
  sleepUntil(deadlineNs: number, task: Process, abort?: AbortSignal): Promise<number>;
}

export class Process implements SignalTarget {
  readonly pid: number;
  readonly name: string;
  readonly mm: Mm;
  /** The exit status once the process has exited. */
  exitCode: number | null = null;
  /** The process's FPU state while another process has the FPU (null: never used). */
  fpu: Int32Array | null = null;

  private readonly ctx: ProcessContext;
  private readonly fds: (File | undefined)[] = [];
  private pending = 0;
  private readonly actions: SignalAction[] = new Array<SignalAction>(NSIG).fill('default');
  private readonly sleepers = new Set<Sleeper>();
  private inSyscall = 0;
  private exitRequested: number | null = null;
  private readonly exitWaiters: ((code: number) => void)[] = [];

  constructor(ctx: ProcessContext, pid: number, name: string, mm: Mm) {
    this.ctx = ctx;
    this.pid = pid;
    this.name = name;
    this.mm = mm;
  }

  get exited(): boolean {
    return this.exitCode !== null;
  }

  // ------------------------------------------------------------------ memory

  /**
   * mincore plus /proc/PID/pagemap's soft-dirty bit: `visit(addr, dirty)` for each page of
   * [start, end) that is in memory (a page never touched is not, and reads as zeroes).
   * `dirty`: written since it came in or since the last clearSoftDirty. Faults nothing in.
   */
  residentPages(start: number, end: number, visit: (addr: number, dirty: boolean) => void): number {
    if (this.exited) return -Errno.ESRCH;
    if (start % PAGE_SIZE || end % PAGE_SIZE || !(start <= end && end <= TASK_SIZE)) return -Errno.EINVAL;
    this.mm.scanPresent(start, end, false, (addr, _frame, dirty) => visit(addr, dirty));
    return 0;
  }

  /**
   * `echo 4 > /proc/PID/clear_refs` for [start, end): forget which pages were written, so
   * residentPages reports as dirty only what is written from now on. (A module that maps
   * these pages writable for a CPU of its own — lg's shadow page tables — must write-protect
   * those mappings at the same moment, or writes through them go unseen.)
   */
  clearSoftDirty(start: number, end: number): number {
    if (this.exited) return -Errno.ESRCH;
    if (start % PAGE_SIZE || end % PAGE_SIZE || !(start <= end && end <= TASK_SIZE)) return -Errno.EINVAL;
    this.mm.scanPresent(start, end, true, () => {});
    return 0;
  }

  /**
   * mmap: map `length` bytes. `flags` is MAP_SHARED or MAP_PRIVATE, with MAP_ANONYMOUS
   * (fd ignored) and/or MAP_FIXED. Returns the address, or -EINVAL (bad flags, unaligned
   * address or offset, zero length), -EBADF, -EACCES (fd not readable, or not writable for
   * a shared writable mapping), -ENODEV (the file cannot be mapped so), -ENOMEM.
   */
  mmap(addr: number, length: number, prot: number, flags: number, fd = -1, offset = 0): number {
    if (this.exited) return -Errno.ESRCH;
    const shared = (flags & MAP_SHARED) !== 0;
    const fixed = (flags & MAP_FIXED) !== 0;
    if (shared === ((flags & MAP_PRIVATE) !== 0)) return -Errno.EINVAL;
    if (!Number.isInteger(length) || length <= 0 || !Number.isInteger(addr) || addr < 0) return -Errno.EINVAL;
    if (!Number.isInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0) return -Errno.EINVAL;
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return -Errno.EINVAL;
    if (fixed && addr % PAGE_SIZE !== 0) return -Errno.EINVAL;
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    if (len > TASK_SIZE || (fixed && addr + len > TASK_SIZE)) return -Errno.ENOMEM;

    let file: MappedFile | null = null;
    if ((flags & MAP_ANONYMOUS) === 0) {
      const f = this.fds[fd];
      if (!f) return -Errno.EBADF;
      if (!f.readable) return -Errno.EACCES;
      if (shared && (prot & PROT_WRITE) !== 0 && !f.writable) return -Errno.EACCES;
      const inode = f.inode;
      if (inode instanceof CharDevice) {
        if (!inode.mapsAnonymous) return -Errno.ENODEV;
        if (shared) file = shmemFile(this.ctx.tmpfs, len);
      } else if (inode instanceof TmpfsFile) {
        file = inode;
      } else if (inode instanceof HostFileNode) {
        if (shared) return -Errno.ENODEV;
        const mapped = inode.mapFile();
        if (typeof mapped === 'number') return mapped;
        file = mapped;
      } else {
        return -Errno.ENODEV;
      }
    } else if (shared) {
      file = shmemFile(this.ctx.tmpfs, len);
    }
    const r = this.mm.map(addr - (addr % PAGE_SIZE), len, prot, fixed, shared, file, offset / PAGE_SIZE);
    if (r < 0) file?.unused?.();
    return r;
  }

  /** munmap: 0, or -EINVAL for an unaligned address or a zero length. */
  munmap(addr: number, length: number): number {
    if (this.exited) return -Errno.ESRCH;
    if (!Number.isInteger(addr) || addr % PAGE_SIZE !== 0 || !(length > 0)) return -Errno.EINVAL;
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    if (addr + len > TASK_SIZE) return -Errno.EINVAL;
    this.mm.unmap(addr, len);
    return 0;
  }

  /**
   * The launcher reading its own memory (guest-physical = launcher-virtual): `length` bytes
   * at `addr`, or -EFAULT where it is not mapped readable.
   */
  readMemory(addr: number, length: number): Uint8Array | number {
    if (!Number.isInteger(length) || length < 0 || length > TASK_SIZE) return -Errno.EINVAL;
    const out = new Uint8Array(length);
    const r = this.readMemoryInto(addr, out);
    return r < 0 ? r : out;
  }

  /** Like readMemory, into `dest`: 0 or -EFAULT. */
  readMemoryInto(addr: number, dest: Uint8Array): number {
    if (this.exited) return -Errno.ESRCH;
    let done = 0;
    while (done < dest.length) {
      const at = addr + done;
      const phys = this.mm.resolve(at, false);
      if (phys < 0) return -Errno.EFAULT;
      const chunk = Math.min(dest.length - done, PAGE_SIZE - (at % PAGE_SIZE));
      dest.set(this.ctx.ram8.subarray(phys, phys + chunk), done);
      done += chunk;
    }
    return 0;
  }

  /** The launcher writing its own memory: 0, or -EFAULT where it is not mapped writable. */
  writeMemory(addr: number, bytes: Uint8Array): number {
    if (this.exited) return -Errno.ESRCH;
    let done = 0;
    while (done < bytes.length) {
      const at = addr + done;
      const phys = this.mm.resolve(at, true);
      if (phys < 0) return -Errno.EFAULT;
      const chunk = Math.min(bytes.length - done, PAGE_SIZE - (at % PAGE_SIZE));
      this.ctx.ram8.set(bytes.subarray(done, done + chunk), phys);
      this.ctx.invalidate(phys, chunk);
      done += chunk;
    }
    return 0;
  }

  // ------------------------------------------------------------------ files

  /** open: the new fd, or -ENOENT, -EEXIST, -EISDIR, -ENOTDIR, -EROFS, -EMFILE, … */
  async open(path: string, flags: number, mode = 0o644): Promise<number> {
    if (this.exited) return -Errno.ESRCH;
    const inode = this.ctx.vfs.lookupOrCreate(path, flags, mode);
    if (typeof inode === 'number') return inode;
    const fd = this.freeFd();
    if (fd < 0) return fd;
    const writing = (flags & O_ACCMODE) !== O_RDONLY;
    let file: File;
    if (inode instanceof DirInode) {
      if (writing) return -Errno.EISDIR;
      file = new File(path, inode, flags, null, null);
    } else if (inode instanceof CharDevice) {
      const ops = inode.ops;
      const open = ops.open;
      const dev = new File(path, inode, flags, null, ops);
      file = dev;
      if (open) {
        const r = await this.syscall(() => open.call(ops, dev, this));
        if (r < 0) return r;
      }
    } else if (isOpenable(inode)) {
      const regular = inode.openRegular(flags);
      if (typeof regular === 'number') return regular;
      file = new File(path, inode, flags, regular, null);
      if (writing && (flags & O_TRUNC) !== 0) {
        const r = regular.truncate(0);
        if (r < 0) {
          regular.close();
          return r;
        }
      }
    } else {
      return -Errno.ENXIO;
    }
    if (this.exited) {
      this.put(file);
      return -Errno.ESRCH;
    }
    // The slot may have been taken while a device's open slept.
    const slot = this.fds[fd] ? this.freeFd() : fd;
    if (slot < 0) {
      this.put(file);
      return slot;
    }
    this.fds[slot] = file;
    return slot;
  }

  /** read into `buffer`: bytes read (0 at end of file) or -errno. */
  read(fd: number, buffer: Uint8Array): Promise<number>;
  /** read up to `length` bytes: the bytes read, or -errno. */
  read(fd: number, length: number): Promise<Uint8Array | number>;
  async read(fd: number, bufferOrLength: Uint8Array | number): Promise<Uint8Array | number> {
    if (typeof bufferOrLength === 'number') {
      if (!Number.isInteger(bufferOrLength) || bufferOrLength < 0) return -Errno.EINVAL;
      const buffer = new Uint8Array(bufferOrLength);
      const n = await this.readInto(fd, buffer);
      return n < 0 ? n : buffer.subarray(0, n);
    }
    return this.readInto(fd, bufferOrLength);
  }

  private async readInto(fd: number, buffer: Uint8Array): Promise<number> {
    const file = this.get(fd);
    if (!file || !file.readable) return file ? this.putThen(file, -Errno.EBADF) : this.badFd();
    try {
      if (file.regular) {
        const n = file.regular.readAt(buffer, file.pos);
        if (n > 0) file.pos += n;
        return n;
      }
      if (file.inode instanceof DirInode) return -Errno.EISDIR;
      const ops = file.ops;
      const read = ops?.read;
      if (!ops || !read) return -Errno.EINVAL;
      return await this.syscall(() => read.call(ops, file, buffer, this));
    } finally {
      this.put(file);
    }
  }

  /** write: bytes written or -errno (a device may sleep before answering). */
  async write(fd: number, bytes: Uint8Array): Promise<number> {
    const file = this.get(fd);
    if (!file || !file.writable) return file ? this.putThen(file, -Errno.EBADF) : this.badFd();
    try {
      if (file.regular) {
        const at = (file.flags & O_APPEND) !== 0 ? file.regular.size() : file.pos;
        const n = file.regular.writeAt(bytes, at);
        if (n > 0) file.pos = at + n;
        return n;
      }
      const ops = file.ops;
      const write = ops?.write;
      if (!ops || !write) return -Errno.EINVAL;
      return await this.syscall(() => write.call(ops, file, bytes, this));
    } finally {
      this.put(file);
    }
  }

  /** pread on a regular file: bytes read or -errno (-ESPIPE for devices). */
  pread(fd: number, buffer: Uint8Array, offset: number): number {
    const file = this.fds[fd];
    if (!file || !file.readable) return file ? -Errno.EBADF : this.badFd();
    if (!file.regular) return -Errno.ESPIPE;
    if (!Number.isInteger(offset) || offset < 0) return -Errno.EINVAL;
    return file.regular.readAt(buffer, offset);
  }

  /** pwrite on a regular file: bytes written or -errno. Written through to the file. */
  pwrite(fd: number, bytes: Uint8Array, offset: number): number {
    const file = this.fds[fd];
    if (!file || !file.writable) return file ? -Errno.EBADF : this.badFd();
    if (!file.regular) return -Errno.ESPIPE;
    if (!Number.isInteger(offset) || offset < 0) return -Errno.EINVAL;
    return file.regular.writeAt(bytes, offset);
  }

  /**
   * preadv: read the file from `offset` straight into this process's own memory, the
   * sections of `iov` in order. Bytes read (short at end of file) or -errno; -EFAULT if a
   * section is not mapped writable (nothing after it is read).
   */
  preadv(fd: number, iov: readonly IoVec[], offset: number): number {
    return this.transferv(fd, iov, offset, true);
  }

  /**
   * pwritev: write the sections of `iov` (this process's own memory) to the file from
   * `offset`. Bytes written or -errno; -EFAULT if a section is not mapped readable.
   */
  pwritev(fd: number, iov: readonly IoVec[], offset: number): number {
    return this.transferv(fd, iov, offset, false);
  }

  /** preadv (`toMemory`) and pwritev: page by page between the file and physical RAM. */
  private transferv(fd: number, iov: readonly IoVec[], offset: number, toMemory: boolean): number {
    const file = this.fds[fd];
    if (!file || !(toMemory ? file.readable : file.writable)) return file ? -Errno.EBADF : this.badFd();
    if (!file.regular) return -Errno.ESPIPE;
    if (!Number.isInteger(offset) || offset < 0) return -Errno.EINVAL;
    const regular = file.regular;
    const ram8 = this.ctx.ram8;
    let done = 0;
    for (const v of iov) {
      let at = 0;
      while (at < v.len) {
        const addr = v.addr + at;
        // Reading the file writes memory: the page must be mapped writable.
        const phys = this.mm.resolve(addr, toMemory);
        if (phys < 0) return done > 0 ? done : -Errno.EFAULT;
        const chunk = Math.min(v.len - at, PAGE_SIZE - (addr % PAGE_SIZE));
        let n: number;
        if (toMemory) {
          n = regular.readInto
            ? regular.readInto(ram8, phys, chunk, offset + done)
            : regular.readAt(ram8.subarray(phys, phys + chunk), offset + done);
          if (n > 0) this.ctx.invalidate(phys, n);
        } else {
          n = regular.writeFrom
            ? regular.writeFrom(ram8, phys, chunk, offset + done)
            : regular.writeAt(ram8.subarray(phys, phys + chunk), offset + done);
        }
        if (n < 0) return done > 0 ? done : n;
        done += n;
        if (n < chunk) return done;
        at += chunk;
      }
    }
    return done;
  }

  /** lseek: the new position or -errno. */
  lseek(fd: number, offset: number, whence: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    if (!file.regular) return -Errno.ESPIPE;
    const base =
      whence === SEEK_SET ? 0 : whence === SEEK_CUR ? file.pos : whence === SEEK_END ? file.regular.size() : NaN;
    const pos = base + offset;
    if (!Number.isInteger(pos) || pos < 0) return -Errno.EINVAL;
    file.pos = pos;
    return pos;
  }

  fstat(fd: number): Stat | number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    const st = file.inode.stat();
    return file.regular ? { ...st, size: file.regular.size() } : st;
  }

  ftruncate(fd: number, length: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    if (!file.regular || !file.writable) return -Errno.EINVAL;
    if (!Number.isInteger(length) || length < 0) return -Errno.EINVAL;
    return file.regular.truncate(length);
  }

  /** fsync: 0 or -errno; for passthrough files the data is on the real disk afterwards. */
  fsync(fd: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    return file.regular ? file.regular.sync() : 0;
  }

  /** fdatasync: 0 or -errno; the file's data (not every bit of metadata) is on the real disk. */
  fdatasync(fd: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    if (!file.regular) return 0;
    return file.regular.datasync ? file.regular.datasync() : file.regular.sync();
  }

  /** poll one fd now: POLLIN/POLLOUT bits, or -EBADF. */
  poll(fd: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    if (file.ops?.poll) return file.ops.poll(file, this);
    return POLLIN | POLLOUT;
  }

  /** close: 0 or -EBADF. The device's release runs when the last reference goes. */
  close(fd: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    this.fds[fd] = undefined;
    releaseLocks(file.inode, this.pid);
    this.put(file);
    return 0;
  }

  /**
   * fcntl(fd, F_SETLK, {F_WRLCK, SEEK_SET, start, len}): a write lock on a byte range of a
   * file, held until this process closes a descriptor of the file or exits. 0, -EAGAIN
   * (another process holds part of it), -EBADF (not open for writing), -EINVAL.
   */
  setWriteLock(fd: number, start: number, len: number): number {
    const file = this.fds[fd];
    if (!file) return this.badFd();
    if (!file.writable) return -Errno.EBADF;
    return writeLock(file.inode, this.pid, start, len);
  }

  mkdir(path: string, mode = 0o755): number {
    return this.exited ? -Errno.ESRCH : this.ctx.vfs.mkdir(path, mode);
  }

  unlink(path: string): number {
    return this.exited ? -Errno.ESRCH : this.ctx.vfs.unlink(path);
  }

  /**
   * This process waits on the world outside the host (sockets, a TAP device): while held, a
   * virtual clock passes idle time at wall-clock speed instead of skipping it. Returns the
   * release.
   */
  holdPacing(): () => void {
    return this.ctx.holdPacing?.() ?? (() => {});
  }

  /**
   * nanosleep on the host's clock (CLOCK_MONOTONIC): 0 once `ns` have passed, -EINVAL for a
   * negative or non-finite `ns`, -EINTR if a signal that does not restart it comes first or
   * `abort` fires (what killing a sleeping child would do to it in a C launcher). A restarted
   * sleep keeps its first deadline. Under a virtual clock the deadline is a host timer like
   * any other, so an idle host skips straight to it.
   */
  nanosleep(ns: number, abort?: AbortSignal): Promise<number> {
    if (this.exited) return Promise.resolve(-Errno.ESRCH);
    if (!Number.isFinite(ns) || ns < 0) return Promise.resolve(-Errno.EINVAL);
    const deadline = this.ctx.now() + ns;
    return this.syscall(() => this.ctx.sleepUntil(deadline, this, abort));
  }

  /** The file description behind `fd` (for modules and tests). */
  file(fd: number): File | undefined {
    return this.fds[fd];
  }

  // ------------------------------------------------------------------ signals

  /**
   * kill(getpid(), sig): 0, -EINVAL for a bad signal, -ESRCH after exit. Signal 0 only
   * checks the process exists. Ignored signals are dropped; others become pending, end
   * any interruptible sleep of this process, and are acted on when its system call
   * returns (at once if it is not in one).
   */
  kill(sig: number): number {
    if (this.exited) return -Errno.ESRCH;
    if (sig === 0) return 0;
    if (!Number.isInteger(sig) || sig < 1 || sig >= NSIG) return -Errno.EINVAL;
    const action = this.actions[sig];
    if (sig !== Signal.SIGKILL && (action === 'ignore' || (action === 'default' && ignoredByDefault(sig)))) return 0;
    this.pending |= 1 << sig;
    this.interruptSleepers();
    if (this.inSyscall === 0) queueMicrotask(() => this.deliverSignals());
    return 0;
  }

  /** sigaction: 0, or -EINVAL for a bad signal or for catching/ignoring SIGKILL. */
  signal(sig: number, action: SignalAction): number {
    if (!Number.isInteger(sig) || sig < 1 || sig >= NSIG) return -Errno.EINVAL;
    if (sig === Signal.SIGKILL && action !== 'default') return -Errno.EINVAL;
    this.actions[sig] = action;
    if (action === 'ignore') this.pending &= ~(1 << sig);
    return 0;
  }

  /** signal_pending(current): what lg's run_guest checks each time round its loop. */
  signalPending(): boolean {
    return this.pending !== 0;
  }

  addSleeper(sleeper: Sleeper): void {
    this.sleepers.add(sleeper);
  }

  removeSleeper(sleeper: Sleeper): void {
    this.sleepers.delete(sleeper);
  }

  // ------------------------------------------------------------------ exit

  /**
   * exit: close every file (device releases run while the address space still exists, so
   * lg can drop its page references), then free the address space. Inside a system call
   * the process is first told to die (a SIGKILL) and exits when the call returns.
   */
  exit(code = 0): void {
    if (this.exited) return;
    if (this.inSyscall > 0) {
      this.exitRequested ??= code;
      this.pending |= 1 << Signal.SIGKILL;
      this.interruptSleepers();
      return;
    }
    this.exitCode = code;
    for (let fd = 0; fd < this.fds.length; fd++) {
      const file = this.fds[fd];
      if (file) {
        this.fds[fd] = undefined;
        releaseLocks(file.inode, this.pid);
        this.put(file);
      }
    }
    this.mm.destroy();
    this.pending = 0;
    this.ctx.reap(this);
    for (const w of this.exitWaiters.splice(0)) w(code);
  }

  /** Resolves with the exit status when the process has exited. */
  waitExit(): Promise<number> {
    if (this.exitCode !== null) return Promise.resolve(this.exitCode);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  // ------------------------------------------------------------------ internals

  /**
   * Run a device operation as a system call: restart it or turn -ERESTARTSYS into -EINTR
   * as the pending signals' actions say, and act on signals on the way out.
   */
  private async syscall(op: () => number | Promise<number>): Promise<number> {
    this.inSyscall++;
    try {
      for (;;) {
        const r = await op();
        if (r !== -Errno.ERESTARTSYS) return r;
        if (this.pending === 0 || this.deliverSignals() !== 'restart' || this.exited || this.exitRequested !== null) {
          return -Errno.EINTR;
        }
      }
    } finally {
      this.inSyscall--;
      if (this.inSyscall === 0) {
        if (this.pending !== 0) this.deliverSignals();
        if (this.exitRequested !== null) this.exit(this.exitRequested);
      }
    }
  }

  /** Act on every pending signal: 'restart' if all allow restarting the interrupted call. */
  private deliverSignals(): 'restart' | 'interrupted' {
    let restart = true;
    for (let sig = 1; sig < NSIG && this.pending !== 0; sig++) {
      const bit = 1 << sig;
      if ((this.pending & bit) === 0) continue;
      this.pending &= ~bit;
      const action = this.actions[sig];
      if (sig === Signal.SIGKILL || (action === 'default' && !ignoredByDefault(sig))) {
        // Default action: terminate, as killed by this signal.
        this.pending = 0;
        if (this.inSyscall > 0) this.exitRequested ??= 128 + sig;
        else this.exit(128 + sig);
        return 'interrupted';
      }
      if (typeof action === 'object') {
        action.handler(sig);
        if (!action.restart) restart = false;
      }
    }
    return restart ? 'restart' : 'interrupted';
  }

  private interruptSleepers(): void {
    for (const s of [...this.sleepers]) s.interrupt();
  }

  private freeFd(): number {
    for (let fd = FIRST_FD; fd < MAX_FDS; fd++) if (!this.fds[fd]) return fd;
    return -Errno.EMFILE;
  }

  /** fget: the file behind `fd` with a reference held for the duration of a call. */
  private get(fd: number): File | undefined {
    if (this.exited) return undefined;
    const file = this.fds[fd];
    if (file) file.refs++;
    return file;
  }

  /** fput: drop a reference; the last one releases the file. */
  private put(file: File): void {
    if (--file.refs > 0) return;
    if (file.regular) file.regular.close();
    file.ops?.release?.(file);
  }

  private putThen(file: File, result: number): number {
    this.put(file);
    return result;
  }

  private badFd(): number {
    return this.exited ? -Errno.ESRCH : -Errno.EBADF;
  }
}
