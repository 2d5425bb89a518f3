// Where the data of one disk request is: guest memory (the iovecs of a DMA, for a launcher)
// or a buffer of ours (copy-on-write of a partly written qcow2 cluster, the `lguest disk`
// tools). Image formats cut a request into pieces — one per cluster, say — and move each
// piece with these helpers, so the same code serves both.

import { Errno } from '@lguest/host';
import type { DiskFile, IoVec } from './file';

export type Target = { readonly iov: readonly IoVec[] } | { readonly buf: Uint8Array };

/** Bytes of the target. */
export function targetLength(t: Target): number {
  if ('buf' in t) return t.buf.length;
  let n = 0;
  for (const v of t.iov) n += v.len;
  return n;
}

/** The part [start, start+len) of a target. */
export function sliceTarget(t: Target, start: number, len: number): Target {
  if ('buf' in t) return { buf: t.buf.subarray(start, start + len) };
  const out: IoVec[] = [];
  let at = 0;
  for (const v of t.iov) {
    const end = at + v.len;
    if (end > start && at < start + len) {
      const from = Math.max(start, at);
      const to = Math.min(start + len, end);
      out.push({ addr: v.addr + (from - at), len: to - from });
    }
    at = end;
    if (at >= start + len) break;
  }
  return { iov: out };
}

/** Read the file at `pos` into the whole target: bytes read or -errno. */
export function readFile(file: DiskFile, t: Target, pos: number): number {
  return 'buf' in t ? file.pread(t.buf, pos) : file.preadv(t.iov, pos);
}

/** Write the whole target to the file at `pos`: bytes written or -errno. */
export function writeFile(file: DiskFile, t: Target, pos: number): number {
  return 'buf' in t ? file.pwrite(t.buf, pos) : file.pwritev(t.iov, pos);
}

/** Zeros into the whole target (memory through `file`'s owner): 0 or -errno. */
export function zeroTarget(file: DiskFile, t: Target): number {
  if ('buf' in t) {
    t.buf.fill(0);
    return 0;
  }
  return file.zeroMemory(t.iov);
}

/** A short transfer as an errno. */
export function short(n: number, want: number): number {
  return n < 0 ? n : n === want ? n : -Errno.EIO;
}
