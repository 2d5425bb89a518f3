// A disk image: the bytes a guest sees as its disk, whatever file format keeps them. The
// block device asks an image for reads and writes at byte offsets, with the data in guest
// memory (a Target of iovecs), and for a flush; it has already checked the request lies
// inside the disk. A raw image is the file itself; a qcow2 image (qcow2.ts) maps the disk
// onto clusters of its file and falls back to a backing image for clusters it has not written.

import { Errno } from '@lguest/host';
import type { DiskFile, IoVec } from './file';
import { readFile, writeFile, type Target } from './target';

export interface DiskImage {
  readonly format: 'raw' | 'qcow2';
  /** The file's path, for messages. */
  readonly path: string;
  /** Bytes of disk the guest sees. */
  readonly size: number;
  /** Writes are refused (-EROFS) and the file is never written. */
  readonly readOnly: boolean;
  /** Read the target's length of disk at `offset` into it: bytes read (all) or -errno. */
  read(t: Target, offset: number): number;
  /** Write the target at `offset`: bytes written (all, once they are in the file) or -errno. */
  write(t: Target, offset: number): number;
  /** Everything written so far onto stable storage (fdatasync). 0 or -errno. */
  flush(): number;
  close(): void;
}

/** Total length of an iovec list. */
export function iovLength(iov: readonly IoVec[]): number {
  let n = 0;
  for (const v of iov) n += v.len;
  return n;
}

/** A raw image: disk byte N is file byte N. */
export class RawImage implements DiskImage {
  readonly format = 'raw' as const;
  readonly path: string;
  readonly size: number;

  constructor(
    readonly file: DiskFile,
    readonly readOnly: boolean,
    size?: number,
  ) {
    this.path = file.path;
    this.size = size ?? file.size();
  }

  read(t: Target, offset: number): number {
    return readFile(this.file, t, offset);
  }

  write(t: Target, offset: number): number {
    if (this.readOnly) return -Errno.EROFS;
    return writeFile(this.file, t, offset);
  }

  flush(): number {
    return this.readOnly ? 0 : this.file.datasync();
  }

  close(): void {
    this.file.close();
  }
}
