// Where a disk's bytes live. A launcher serves its disk from a host file opened through its
// own process (the host shim's file API: pread/pwrite for metadata, preadv/pwritev between
// the file and guest memory, so a sector goes straight from the file into the guest's page
// and back, with no copy of our own in between). The `lguest disk` tools work on the same
// formats without a guest: there the "memory" the iovecs point into is a buffer of ours.
//
// Every operation returns a byte count or a negative errno, like the system calls under it.

import { Errno, type IoVec, type Process } from '@lguest/host';
import * as fs from 'node:fs';

export type { IoVec };

/** A file a disk image is stored in, and the memory its data moves to and from. */
export interface DiskFile {
  /** The real file's path, for messages. */
  readonly path: string;
  /** Current length in bytes. */
  size(): number;
  /** Metadata I/O through a buffer of ours: bytes moved or -errno. */
  pread(buf: Uint8Array, pos: number): number;
  pwrite(buf: Uint8Array, pos: number): number;
  /** Data I/O between the file and memory (guest RAM for a launcher): bytes or -errno. */
  preadv(iov: readonly IoVec[], pos: number): number;
  pwritev(iov: readonly IoVec[], pos: number): number;
  /** Fill memory with zeros (a hole, a cluster nobody wrote): 0 or -errno. */
  zeroMemory(iov: readonly IoVec[]): number;
  truncate(length: number): number;
  /** fdatasync. */
  datasync(): number;
  close(): void;
}

/** One page of zeros for filling holes into memory. */
const ZEROS = new Uint8Array(4096);

/** A file opened by a host process (the launcher); memory is that process's address space. */
export class ProcessFile implements DiskFile {
  constructor(
    private readonly proc: Process,
    private readonly fd: number,
    readonly path: string,
  ) {}

  /** Opens `vfsPath` (e.g. /host/<real path>) in `proc`: the file, or -errno. */
  static async open(proc: Process, vfsPath: string, flags: number, path: string): Promise<ProcessFile | number> {
    const fd = await proc.open(vfsPath, flags);
    return fd < 0 ? fd : new ProcessFile(proc, fd, path);
  }

  size(): number {
    const st = this.proc.fstat(this.fd);
    return typeof st === 'number' ? st : st.size;
  }
  pread(buf: Uint8Array, pos: number): number {
    return this.proc.pread(this.fd, buf, pos);
  }
  pwrite(buf: Uint8Array, pos: number): number {
    return this.proc.pwrite(this.fd, buf, pos);
  }
  preadv(iov: readonly IoVec[], pos: number): number {
    return this.proc.preadv(this.fd, iov, pos);
  }
  pwritev(iov: readonly IoVec[], pos: number): number {
    return this.proc.pwritev(this.fd, iov, pos);
  }
  zeroMemory(iov: readonly IoVec[]): number {
    for (const v of iov) {
      for (let at = 0; at < v.len; at += ZEROS.length) {
        const n = Math.min(ZEROS.length, v.len - at);
        const r = this.proc.writeMemory(v.addr + at, n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n));
        if (r < 0) return r;
      }
    }
    return 0;
  }
  truncate(length: number): number {
    return this.proc.ftruncate(this.fd, length);
  }
  datasync(): number {
    return this.proc.fdatasync(this.fd);
  }
  close(): void {
    this.proc.close(this.fd);
  }
}

/** A Node fs error as a negative errno. */
function errnoOf(e: unknown): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in Errno) return -Errno[code as keyof typeof Errno];
  return -Errno.EIO;
}

/**
 * A real file opened by this program itself (the `lguest disk` tools); the memory the
 * iovecs address is `memory`, a buffer the caller owns.
 */
export class NodeFile implements DiskFile {
  constructor(
    private readonly fd: number,
    readonly path: string,
    readonly memory: Uint8Array,
  ) {}

  /** Opens a real file; throws Node's error (the tools turn it into a message). */
  static open(path: string, writable: boolean, memory: Uint8Array): NodeFile {
    return new NodeFile(fs.openSync(path, writable ? 'r+' : 'r'), path, memory);
  }

  size(): number {
    try {
      return fs.fstatSync(this.fd).size;
    } catch (e) {
      return errnoOf(e);
    }
  }
  pread(buf: Uint8Array, pos: number): number {
    return this.io(buf, 0, buf.length, pos, false);
  }
  pwrite(buf: Uint8Array, pos: number): number {
    return this.io(buf, 0, buf.length, pos, true);
  }
  preadv(iov: readonly IoVec[], pos: number): number {
    return this.vector(iov, pos, false);
  }
  pwritev(iov: readonly IoVec[], pos: number): number {
    return this.vector(iov, pos, true);
  }
  zeroMemory(iov: readonly IoVec[]): number {
    for (const v of iov) {
      if (v.addr < 0 || v.addr + v.len > this.memory.length) return -Errno.EFAULT;
      this.memory.fill(0, v.addr, v.addr + v.len);
    }
    return 0;
  }
  truncate(length: number): number {
    try {
      fs.ftruncateSync(this.fd, length);
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }
  datasync(): number {
    try {
      fs.fdatasyncSync(this.fd);
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }
  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }

  private vector(iov: readonly IoVec[], pos: number, write: boolean): number {
    let done = 0;
    for (const v of iov) {
      if (v.addr < 0 || v.addr + v.len > this.memory.length) return done > 0 ? done : -Errno.EFAULT;
      const n = this.io(this.memory, v.addr, v.len, pos + done, write);
      if (n < 0) return done > 0 ? done : n;
      done += n;
      if (n < v.len) break;
    }
    return done;
  }

  private io(buf: Uint8Array, off: number, len: number, pos: number, write: boolean): number {
    let done = 0;
    try {
      while (done < len) {
        const n = write
          ? fs.writeSync(this.fd, buf, off + done, len - done, pos + done)
          : fs.readSync(this.fd, buf, off + done, len - done, pos + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    } catch (e) {
      return done > 0 ? done : errnoOf(e);
    }
  }
}
