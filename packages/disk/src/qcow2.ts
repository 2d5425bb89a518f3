// qcow2, the QEMU copy-on-write format (versions 2 and 3; no compression, no encryption), as
// its specification describes it. The disk is cut into clusters (2^cluster_bits bytes). A
// two-level table maps a disk cluster to a cluster of the file: the L1 table (in the header's
// l1_table_offset) holds the file offsets of L2 tables, an L2 table holds the file offsets of
// data clusters. A cluster nobody wrote has no entry, and reads of it fall through to the
// backing file (another image, named in the header) or are zeros. Every cluster of the file
// in use — header, tables, data — has a reference count, in refcount blocks listed by the
// refcount table; a count of 1 is marked on the table entries with the COPIED bit (63).
//
// Writing a cluster that has no entry allocates one at the end of the file, in an order that
// never leaves a table pointing at garbage: its refcount first (a crash can only leak a
// cluster, which `qemu-img check` reports and `-r leaks` repairs), then the data — the
// cluster's other bytes copied from the backing file, so the cluster is whole — then the L2
// entry (a new L2 table likewise: refcount, zeros, then the L1 entry). The backing file is
// only ever read.
//
// Images with internal snapshots, a dirty or corrupt flag, an external data file, extended L2
// entries or refcounts other than 16 bits are refused for writing (read-only use is fine for
// the first); compressed clusters fail to read with an I/O error.

import { Errno } from '@lguest/host';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { DiskFile } from './file';
import { RawImage, type DiskImage } from './image';
import { readFile, short, sliceTarget, targetLength, writeFile, zeroTarget, type Target } from './target';

/** "QFI\xfb". */
export const QCOW2_MAGIC = 0x514649fb;

/** Header extension types we read. */
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;

const L1E_OFFSET_MASK_HI = 0x00ffffff; // bits 32-55 of an offset field
const OFFSET_MASK_LO = 0xfffffe00; // bits 9-31
const COPIED = 0x80000000; // bit 63, in the high word
const COMPRESSED = 0x40000000; // bit 62, in the high word
const ZERO_FLAG = 1; // bit 0 of an L2 entry (v3)

const INCOMPAT_DIRTY = 1;
const INCOMPAT_CORRUPT = 2;

/** A qcow2 file we cannot use; the message names it and says why. */
export class Qcow2Error extends Error {
  override readonly name = 'Qcow2Error';
}

/** What the header says. */
export interface Qcow2Header {
  readonly version: number;
  readonly clusterBits: number;
  readonly size: number;
  readonly l1Size: number;
  readonly l1TableOffset: number;
  readonly refcountTableOffset: number;
  readonly refcountTableClusters: number;
  readonly nbSnapshots: number;
  readonly incompatible: number;
  readonly refcountOrder: number;
  readonly headerLength: number;
  /** As stored (relative to the image's directory if not absolute), or null. */
  readonly backingFile: string | null;
  readonly backingFormat: string | null;
}

const u64 = (v: DataView, at: number): number => v.getUint32(at) * 0x100000000 + v.getUint32(at + 4);

/**
 * Parses the first cluster of a qcow2 file (`head`, at least 4 KiB or the whole file) whose
 * length is `fileSize`. Throws Qcow2Error for anything malformed or unsupported.
 */
export function parseQcow2Header(head: Uint8Array, fileSize: number, path: string): Qcow2Header {
  const bad = (why: string) => new Qcow2Error(`'${path}' is not a usable qcow2 image: ${why}`);
  if (head.length < 72) throw bad('the header is cut short');
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0) !== QCOW2_MAGIC) throw bad('no QFI\\xfb magic');
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) throw bad(`version ${version} (only 2 and 3 are supported)`);
  const backingOffset = u64(v, 8);
  const backingSize = v.getUint32(16);
  const clusterBits = v.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) throw bad(`cluster_bits ${clusterBits} is outside 9..21`);
  const clusterSize = 2 ** clusterBits;
  const size = u64(v, 24);
  if (v.getUint32(32) !== 0) throw bad('it is encrypted (decrypt it with qemu-img convert first)');
  const l1Size = v.getUint32(36);
  const l1TableOffset = u64(v, 40);
  const refcountTableOffset = u64(v, 48);
  const refcountTableClusters = v.getUint32(56);
  const nbSnapshots = v.getUint32(60);
  let incompatible = 0;
  let refcountOrder = 4;
  let headerLength = 72;
  if (version === 3) {
    if (head.length < 104) throw bad('the version 3 header is cut short');
    incompatible = u64(v, 72);
    refcountOrder = v.getUint32(96);
    headerLength = v.getUint32(100);
    if (headerLength < 104 || headerLength > head.length) throw bad(`header_length ${headerLength}`);
    const known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT;
    if (incompatible & ~known) {
      throw bad(
        `it uses features this lguest does not have (incompatible feature bits 0x${incompatible.toString(16)}: ` +
          'an external data file, a compression type or extended L2 entries)',
      );
    }
    if (refcountOrder > 6) throw bad(`refcount_order ${refcountOrder}`);
  }
  const l2Entries = clusterSize / 8;
  const need = Math.ceil(size / clusterSize / l2Entries);
  if (l1Size < need) throw bad(`its L1 table (${l1Size} entries) does not cover its ${size} bytes`);
  const aligned = (off: number) => off % clusterSize === 0;
  if (!aligned(l1TableOffset) || l1TableOffset + l1Size * 8 > fileSize) throw bad('its L1 table is outside the file');
  if (!aligned(refcountTableOffset) || refcountTableOffset + refcountTableClusters * clusterSize > fileSize)
    throw bad('its refcount table is outside the file');

  let backingFile: string | null = null;
  if (backingOffset !== 0) {
    if (backingSize === 0 || backingSize > 1023 || backingOffset + backingSize > head.length)
      throw bad('its backing file name is not in its first cluster');
    backingFile = new TextDecoder().decode(head.subarray(backingOffset, backingOffset + backingSize));
  }
  // Header extensions: after the header, up to the backing file name (or the cluster's end).
  let backingFormat: string | null = null;
  let at = headerLength;
  const end = backingOffset !== 0 ? backingOffset : Math.min(head.length, clusterSize);
  while (at + 8 <= end) {
    const type = v.getUint32(at);
    const len = v.getUint32(at + 4);
    if (type === EXT_END) break;
    if (at + 8 + len > end) throw bad('a header extension runs past its space');
    if (type === EXT_BACKING_FORMAT) backingFormat = new TextDecoder().decode(head.subarray(at + 8, at + 8 + len));
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return {
    version,
    clusterBits,
    size,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters,
    nbSnapshots,
    incompatible,
    refcountOrder,
    headerLength,
    backingFile,
    backingFormat,
  };
}

/** The backing file's real path: relative names are relative to the image's directory. */
export function backingPath(imagePath: string, backing: string): string {
  return nodePath.isAbsolute(backing) ? backing : nodePath.resolve(nodePath.dirname(imagePath), backing);
}

/** Reads the header of a real qcow2 file (Node fs). Throws Qcow2Error. */
export function readQcow2Header(path: string): Qcow2Header {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Qcow2Error(`cannot open '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 2 * 1024 * 1024));
    fs.readSync(fd, head, 0, head.length, 0);
    return parseQcow2Header(head, size, path);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a real file starts with the qcow2 magic. */
export function isQcow2File(path: string): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === QCOW2_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/** The most backing files one disk may stack. */
export const MAX_CHAIN = 16;

/**
 * The files a qcow2 disk reads: the image, its backing file, that one's backing file, …
 * (absolute real paths). Throws Qcow2Error for a malformed header, a missing backing file or
 * a loop.
 */
export function probeQcow2Chain(path: string): string[] {
  const chain = [path];
  let at = path;
  while (isQcow2File(at)) {
    const h = readQcow2Header(at);
    if (!h.backingFile) break;
    const next = backingPath(at, h.backingFile);
    if (!fs.existsSync(next))
      throw new Qcow2Error(`the backing file '${next}' of '${at}' does not exist (was it moved or renamed?)`);
    if (chain.includes(next)) throw new Qcow2Error(`'${path}' has a loop of backing files through '${next}'`);
    chain.push(next);
    if (chain.length > MAX_CHAIN) throw new Qcow2Error(`'${path}' has more than ${MAX_CHAIN} backing files`);
    at = next;
  }
  return chain;
}

/** Opens a file of the chain: (real path, writable) → the file; throws to refuse. */
export type OpenFile = (path: string, writable: boolean) => Promise<DiskFile>;

/**
 * Opens the image at `path` (raw or qcow2, by its magic) with its backing chain read-only.
 * Throws Qcow2Error for anything it cannot use.
 */
export async function openImage(open: OpenFile, path: string, readOnly: boolean, depth = 0): Promise<DiskImage> {
  if (depth > MAX_CHAIN) throw new Qcow2Error(`'${path}': more than ${MAX_CHAIN} backing files`);
  const file = await open(path, !readOnly);
  try {
    const magic = new Uint8Array(4);
    if (file.pread(magic, 0) !== 4 || new DataView(magic.buffer).getUint32(0) !== QCOW2_MAGIC) {
      return new RawImage(file, readOnly);
    }
    const size = file.size();
    const head = new Uint8Array(Math.min(size, 2 * 1024 * 1024));
    if (file.pread(head, 0) !== head.length) throw new Qcow2Error(`'${path}': cannot read its header`);
    const header = parseQcow2Header(head, size, path);
    const backing = header.backingFile
      ? await openImage(open, backingPath(path, header.backingFile), true, depth + 1)
      : null;
    return new Qcow2Image(file, header, backing, readOnly);
  } catch (e) {
    file.close();
    throw e;
  }
}

/** A small cache of tables (L2 tables, refcount blocks) by file offset, oldest out first. */
interface Table {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

class TableCache {
  private readonly tables = new Map<number, Table>();
  constructor(private readonly max: number) {}
  get(offset: number): Table | undefined {
    const t = this.tables.get(offset);
    if (t && this.tables.size > 1) {
      this.tables.delete(offset);
      this.tables.set(offset, t);
    }
    return t;
  }
  set(offset: number, bytes: Uint8Array): Table {
    const table = { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    this.tables.set(offset, table);
    if (this.tables.size > this.max) this.tables.delete(this.tables.keys().next().value as number);
    return table;
  }
}

/** Where a disk cluster's bytes are. */
enum Kind {
  /** In the file at `host`. */
  Data,
  /** Not allocated: the backing file's, or zeros. */
  Unallocated,
  /** Reads as zeros (v3 zero flag). */
  Zero,
  /** Compressed: we cannot read it. */
  Compressed,
  /** Allocated but shared (refcount > 1, a snapshot's): readable, not writable in place. */
  Shared,
}

export class Qcow2Image implements DiskImage {
  readonly format = 'qcow2' as const;
  readonly path: string;
  readonly size: number;
  readonly clusterSize: number;
  private readonly l2Bits: number;
  private readonly l1: Uint8Array;
  private readonly l1v: DataView;
  private refTable: Uint8Array;
  private refTablev: DataView;
  /** Where the refcount table is (it moves when it grows). */
  private refTableOffset: number;
  private readonly l2Cache = new TableCache(64);
  private readonly refCache = new TableCache(16);
  /** Where the next allocated cluster goes: the end of the file, cluster-aligned. */
  private nextFree: number;
  /** A cluster of our own for copy-on-write. */
  private scratch: Uint8Array | null = null;
  /** Result of the last lookup (no object per cluster on the data path). */
  private kind = Kind.Unallocated;
  private host = 0;
  /** The entry's COPIED bit: the cluster at `host` is ours alone. */
  private copied = false;

  constructor(
    readonly file: DiskFile,
    readonly header: Qcow2Header,
    readonly backing: DiskImage | null,
    readonly readOnly: boolean,
  ) {
    this.path = file.path;
    this.size = header.size;
    this.clusterSize = 2 ** header.clusterBits;
    this.l2Bits = header.clusterBits - 3;
    if (!readOnly) {
      const why =
        header.incompatible & INCOMPAT_CORRUPT
          ? 'it is marked corrupt'
          : header.incompatible & INCOMPAT_DIRTY
            ? 'it is marked dirty (its refcounts may be stale)'
            : header.nbSnapshots > 0
              ? 'it has internal snapshots'
              : header.refcountOrder !== 4
                ? `its refcounts are ${2 ** header.refcountOrder} bits wide, not 16`
                : null;
      if (why) {
        throw new Qcow2Error(
          `'${this.path}' cannot be written by this lguest: ${why}; use it read-only (,ro), or repair or ` +
            'convert it with qemu-img (check -r all, or convert -O qcow2)',
        );
      }
    }
    this.l1 = this.readTable(header.l1TableOffset, header.l1Size * 8, 'L1 table');
    this.l1v = new DataView(this.l1.buffer);
    this.refTable = this.readTable(
      header.refcountTableOffset,
      header.refcountTableClusters * this.clusterSize,
      'refcount table',
    );
    this.refTablev = new DataView(this.refTable.buffer);
    this.refTableOffset = header.refcountTableOffset;
    this.nextFree = Math.ceil(file.size() / this.clusterSize) * this.clusterSize;
  }

  read(t: Target, offset: number): number {
    const len = targetLength(t);
    if (offset < 0 || offset + len > this.size) return -Errno.EINVAL;
    let done = 0;
    while (done < len) {
      const pos = offset + done;
      const r = this.lookup(pos);
      if (r < 0) return r;
      // Extend the run over following clusters of the same kind that follow on in the file.
      const kind = this.kind;
      const within = pos % this.clusterSize;
      // Where in the file the run starts (for a cluster in the file).
      const at = this.host + within;
      let n = Math.min(len - done, this.clusterSize - within);
      while (done + n < len) {
        const r2 = this.lookup(pos + n);
        if (r2 < 0) return r2;
        if (this.kind !== kind || ((kind === Kind.Data || kind === Kind.Shared) && this.host !== at + n)) break;
        n += Math.min(len - done - n, this.clusterSize);
      }
      const part = sliceTarget(t, done, n);
      let got: number;
      if (kind === Kind.Data || kind === Kind.Shared) got = short(readFile(this.file, part, at), n);
      else if (kind === Kind.Compressed) {
        return -Errno.EIO;
      } else if (kind === Kind.Zero) got = zeroTarget(this.file, part);
      else got = this.readBacking(part, pos, n);
      if (got < 0) return got;
      done += n;
    }
    return done;
  }

  write(t: Target, offset: number): number {
    if (this.readOnly) return -Errno.EROFS;
    const len = targetLength(t);
    if (offset < 0 || offset + len > this.size) return -Errno.EINVAL;
    let done = 0;
    while (done < len) {
      const pos = offset + done;
      const within = pos % this.clusterSize;
      const n = Math.min(len - done, this.clusterSize - within);
      const w = this.writeCluster(pos - within, within, sliceTarget(t, done, n), n);
      if (w < 0) return done > 0 ? done : w;
      done += n;
    }
    return done;
  }

  flush(): number {
    return this.readOnly ? 0 : this.file.datasync();
  }

  close(): void {
    this.file.close();
    this.backing?.close();
  }

  // ------------------------------------------------------------------ lookups

  /** Sets kind and host for the cluster holding disk byte `pos`. 0 or -errno. */
  private lookup(pos: number): number {
    const cluster = Math.floor(pos / this.clusterSize);
    const l1i = Math.floor(cluster / 2 ** this.l2Bits);
    const l2i = cluster % 2 ** this.l2Bits;
    const l2Offset = this.tableOffset(this.l1v, l1i * 8);
    if (l2Offset === 0) {
      this.kind = Kind.Unallocated;
      return 0;
    }
    const l2 = this.l2Table(l2Offset);
    if (typeof l2 === 'number') return l2;
    const v = l2.view;
    const hi = v.getUint32(l2i * 8);
    const lo = v.getUint32(l2i * 8 + 4);
    if (hi & COMPRESSED) {
      this.kind = Kind.Compressed;
      return 0;
    }
    const host = (hi & L1E_OFFSET_MASK_HI) * 0x100000000 + (lo & OFFSET_MASK_LO);
    this.copied = (hi & COPIED) !== 0;
    if (this.header.version === 3 && lo & ZERO_FLAG) this.kind = Kind.Zero;
    else if (host === 0) this.kind = Kind.Unallocated;
    else if (host % this.clusterSize !== 0 || host + this.clusterSize > this.nextFree) return this.corrupt('data');
    else this.kind = hi & COPIED ? Kind.Data : Kind.Shared;
    this.host = host;
    return 0;
  }

  /** The offset in an L1 or refcount table entry at `at`, checked to be a cluster in the file (0: none). */
  private tableOffset(v: DataView, at: number): number {
    if (at + 8 > v.byteLength) return 0;
    const off = (v.getUint32(at) & L1E_OFFSET_MASK_HI) * 0x100000000 + (v.getUint32(at + 4) & OFFSET_MASK_LO);
    return off;
  }

  private l2Table(offset: number): Table | number {
    const cached = this.l2Cache.get(offset);
    if (cached) return cached;
    if (offset % this.clusterSize !== 0 || offset + this.clusterSize > this.nextFree)
      return this.corrupt('an L2 table');
    const table = new Uint8Array(this.clusterSize);
    const n = this.file.pread(table, offset);
    if (n !== this.clusterSize) return n < 0 ? n : -Errno.EIO;
    return this.l2Cache.set(offset, table);
  }

  private corrupt(what: string): number {
    process.stderr.write(`lguest: ${this.path}: qcow2 metadata points ${what} outside the file\n`);
    return -Errno.EIO;
  }

  /** Reads disk bytes [pos, pos+n) that this image does not have: the backing file's, or zeros. */
  private readBacking(t: Target, pos: number, n: number): number {
    const backing = this.backing;
    const have = backing ? Math.max(0, Math.min(n, backing.size - pos)) : 0;
    if (have > 0 && backing) {
      const r = short(backing.read(have === n ? t : sliceTarget(t, 0, have), pos), have);
      if (r < 0) return r;
    }
    if (have < n) {
      const z = zeroTarget(this.file, have === 0 ? t : sliceTarget(t, have, n - have));
      if (z < 0) return z;
    }
    return n;
  }

  // ------------------------------------------------------------------ allocating writes

  /**
   * Writes `part` (`n` bytes) at `within` of the disk cluster at `start` (cluster-aligned):
   * in place if the cluster is ours alone, else into a new cluster whose other bytes are
   * copied from where the disk's bytes were, and only then pointed at by the L2 table.
   * `n` or -errno.
   */
  private writeCluster(start: number, within: number, part: Target, n: number): number {
    const r = this.lookup(start);
    if (r < 0) return r;
    if (this.kind === Kind.Data) return short(writeFile(this.file, part, this.host + within), n);
    if (this.kind === Kind.Compressed || this.kind === Kind.Shared) return -Errno.EIO;
    const wasZero = this.kind === Kind.Zero;
    // A zero cluster with a cluster of its own already (preallocated, ours alone) is reused.
    const reuse = wasZero && this.host !== 0 && this.copied && this.host + this.clusterSize <= this.nextFree;
    const reused = this.host;
    const cluster = Math.floor(start / this.clusterSize);
    const l1i = Math.floor(cluster / 2 ** this.l2Bits);
    const l2i = cluster % 2 ** this.l2Bits;
    let l2Offset = this.tableOffset(this.l1v, l1i * 8);
    if (l2Offset === 0) {
      l2Offset = this.allocate();
      if (l2Offset < 0) return l2Offset;
      const zeros = new Uint8Array(this.clusterSize);
      const z = short(this.file.pwrite(zeros, l2Offset), this.clusterSize);
      if (z < 0) return z;
      this.l2Cache.set(l2Offset, zeros);
      const e = this.setEntry(this.l1, this.l1v, this.header.l1TableOffset, l1i * 8, l2Offset);
      if (e < 0) return e;
    }
    const data = reuse ? reused : this.allocate();
    if (data < 0) return data;
    // Copy-on-write: the cluster's bytes around the write, from the backing file (or zeros).
    if (within > 0 || within + n < this.clusterSize) {
      const buf = (this.scratch ??= new Uint8Array(this.clusterSize));
      const have = Math.min(this.clusterSize, this.size - start);
      if (wasZero) buf.fill(0);
      else {
        const got = this.readBacking({ buf: buf.subarray(0, have) }, start, have);
        if (got < 0) return got;
        buf.fill(0, have);
      }
      if (within > 0) {
        const h = short(this.file.pwrite(buf.subarray(0, within), data), within);
        if (h < 0) return h;
      }
      const tail = within + n;
      if (tail < this.clusterSize) {
        const t = short(this.file.pwrite(buf.subarray(tail), data + tail), this.clusterSize - tail);
        if (t < 0) return t;
      }
    }
    const w = short(writeFile(this.file, part, data + within), n);
    if (w < 0) return w;
    const l2 = this.l2Table(l2Offset);
    if (typeof l2 === 'number') return l2;
    const e = this.setEntry(l2.bytes, l2.view, l2Offset, l2i * 8, data);
    return e < 0 ? e : n;
  }

  /** Writes `offset | COPIED` into a table entry, in the cached table and in the file. */
  private setEntry(table: Uint8Array, v: DataView, tableOffset: number, at: number, offset: number): number {
    v.setUint32(at, (Math.floor(offset / 0x100000000) | COPIED) >>> 0);
    v.setUint32(at + 4, offset % 0x100000000);
    return short(this.file.pwrite(table.subarray(at, at + 8), tableOffset + at), 8);
  }

  /** A new cluster at the end of the file, its refcount set to 1: its offset, or -errno. */
  private allocate(): number {
    const offset = this.nextFree;
    this.nextFree += this.clusterSize;
    const r = this.setRefcount(offset, 1);
    return r < 0 ? r : offset;
  }

  /** Sets the (16-bit) refcount of the cluster at `offset`, making a refcount block if needed. */
  private setRefcount(offset: number, count: number): number {
    const cluster = Math.floor(offset / this.clusterSize);
    const perBlock = this.clusterSize / 2;
    const ti = Math.floor(cluster / perBlock);
    const bi = cluster % perBlock;
    if ((ti + 1) * 8 > this.refTable.length) {
      const g = this.growRefcountTable(ti);
      if (g < 0) return g;
    }
    let blockOffset = this.tableOffset(this.refTablev, ti * 8);
    let block: Table;
    if (blockOffset === 0) {
      // A new refcount block, in the next free cluster; it counts itself if it can.
      blockOffset = this.nextFree;
      this.nextFree += this.clusterSize;
      block = this.refCache.set(blockOffset, new Uint8Array(this.clusterSize));
      const self = Math.floor(blockOffset / this.clusterSize);
      if (Math.floor(self / perBlock) === ti) block.view.setUint16((self % perBlock) * 2, 1);
      const w = short(this.file.pwrite(block.bytes, blockOffset), this.clusterSize);
      if (w < 0) return w;
      this.refTablev.setUint32(ti * 8, Math.floor(blockOffset / 0x100000000));
      this.refTablev.setUint32(ti * 8 + 4, blockOffset % 0x100000000);
      const e = short(this.file.pwrite(this.refTable.subarray(ti * 8, ti * 8 + 8), this.refTableOffset + ti * 8), 8);
      if (e < 0) return e;
      if (Math.floor(self / perBlock) !== ti) {
        const s = this.setRefcount(blockOffset, 1);
        if (s < 0) return s;
      }
    } else {
      const cached = this.refCache.get(blockOffset);
      if (cached) block = cached;
      else {
        if (blockOffset % this.clusterSize !== 0) return this.corrupt('a refcount block');
        const bytes = new Uint8Array(this.clusterSize);
        const n = this.file.pread(bytes, blockOffset);
        if (n !== this.clusterSize) return n < 0 ? n : -Errno.EIO;
        block = this.refCache.set(blockOffset, bytes);
      }
    }
    block.view.setUint16(bi * 2, count);
    return short(this.file.pwrite(block.bytes.subarray(bi * 2, bi * 2 + 2), blockOffset + bi * 2), 2);
  }

  /**
   * A bigger refcount table, able to hold entry `need`: written at the end of the file with
   * the refcount blocks that count it (and themselves), then the header points at it, then
   * the old table's clusters are freed. Until the header is written the old table stands, so
   * a crash leaks the new clusters at worst. 0 or -errno.
   */
  private growRefcountTable(need: number): number {
    const cs = this.clusterSize;
    const perBlock = cs / 2;
    const perTableCluster = cs / 8;
    const oldClusters = this.refTable.length / cs;
    const start = this.nextFree;
    let tableClusters = Math.max(2 * oldClusters, Math.ceil((need + 1) / perTableCluster));
    let newBlocks: number[] = [];
    // The table and the new blocks after it need counting; blocks may need blocks: settle it.
    for (;;) {
      const end = start + (tableClusters + newBlocks.length) * cs;
      const first = Math.floor(start / cs / perBlock);
      const last = Math.floor((end - 1) / cs / perBlock);
      if (last + 1 > tableClusters * perTableCluster) {
        tableClusters = Math.ceil((last + 1) / perTableCluster);
        continue;
      }
      const missing: number[] = [];
      for (let ti = first; ti <= last; ti++) if (this.tableOffset(this.refTablev, ti * 8) === 0) missing.push(ti);
      if (missing.length === newBlocks.length) {
        newBlocks = missing;
        break;
      }
      newBlocks = missing;
    }
    const table = new Uint8Array(tableClusters * cs);
    table.set(this.refTable);
    const tablev = new DataView(table.buffer);
    const blocksAt = start + tableClusters * cs;
    const end = blocksAt + newBlocks.length * cs;
    const blocks = new Map<number, Uint8Array>();
    newBlocks.forEach((ti, i) => {
      const at = blocksAt + i * cs;
      tablev.setUint32(ti * 8, Math.floor(at / 0x100000000));
      tablev.setUint32(ti * 8 + 4, at % 0x100000000);
      blocks.set(ti, new Uint8Array(cs));
    });
    // New blocks count the new clusters in their range; clusters counted by old blocks are
    // set through them once the new table is in place.
    const viaOld: number[] = [];
    for (let at = start; at < end; at += cs) {
      const c = at / cs;
      const b = blocks.get(Math.floor(c / perBlock));
      if (b) new DataView(b.buffer).setUint16((c % perBlock) * 2, 1);
      else viaOld.push(at);
    }
    this.nextFree = end;
    for (const [i, ti] of newBlocks.entries()) {
      const b = blocks.get(ti)!;
      const w = short(this.file.pwrite(b, blocksAt + i * cs), cs);
      if (w < 0) return w;
      this.refCache.set(blocksAt + i * cs, b);
    }
    const w = short(this.file.pwrite(table, start), table.length);
    if (w < 0) return w;
    const oldOffset = this.refTableOffset;
    this.refTable = table;
    this.refTablev = tablev;
    this.refTableOffset = start;
    for (const at of viaOld) {
      const r = this.setRefcount(at, 1);
      if (r < 0) return r;
    }
    const h = new Uint8Array(12);
    const hv = new DataView(h.buffer);
    hv.setUint32(0, Math.floor(start / 0x100000000));
    hv.setUint32(4, start % 0x100000000);
    hv.setUint32(8, tableClusters);
    const hw = short(this.file.pwrite(h, 48), 12);
    if (hw < 0) return hw;
    for (let i = 0; i < oldClusters; i++) {
      const r = this.setRefcount(oldOffset + i * cs, 0);
      if (r < 0) return r;
    }
    return 0;
  }

  // ------------------------------------------------------------------ whole-image walks

  /** Disk offsets of the clusters this image holds itself (data or zero), in order. */
  *allocatedClusters(): Generator<{ offset: number; zero: boolean }> {
    for (let c = 0; c * this.clusterSize < this.size; c++) {
      if (this.lookup(c * this.clusterSize) < 0) throw new Qcow2Error(`'${this.path}': cannot read its tables`);
      if (this.kind === Kind.Data || this.kind === Kind.Shared) yield { offset: c * this.clusterSize, zero: false };
      else if (this.kind === Kind.Zero) yield { offset: c * this.clusterSize, zero: true };
      else if (this.kind === Kind.Compressed)
        throw new Qcow2Error(`'${this.path}' has compressed clusters, which this lguest cannot read`);
    }
  }

  private readTable(offset: number, length: number, what: string): Uint8Array {
    const table = new Uint8Array(length);
    if (length > 0 && this.file.pread(table, offset) !== length)
      throw new Qcow2Error(`'${this.path}': cannot read its ${what}`);
    return table;
  }
}

/** Writes an empty qcow2 version 3 image of `size` bytes to a real file, with 64 KiB clusters. */
export function createQcow2(
  path: string,
  size: number,
  backing?: { name: string; format: 'raw' | 'qcow2' },
  clusterBits = 16,
): void {
  const cs = 2 ** clusterBits;
  const l2Entries = cs / 8;
  const l1Size = Math.max(1, Math.ceil(size / cs / l2Entries));
  const l1Clusters = Math.ceil((l1Size * 8) / cs);
  // Clusters: 0 header, 1 refcount table, 2 refcount block, 3… L1 table.
  const total = 3 + l1Clusters;
  if (total > cs / 2) throw new Qcow2Error(`'${path}': ${size} bytes is too big for one refcount block`);
  const image = new Uint8Array(total * cs);
  const v = new DataView(image.buffer);
  const set64 = (at: number, value: number) => {
    v.setUint32(at, Math.floor(value / 0x100000000));
    v.setUint32(at + 4, value % 0x100000000);
  };
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, 3);
  v.setUint32(20, clusterBits);
  set64(24, size);
  v.setUint32(32, 0);
  v.setUint32(36, l1Size);
  set64(40, 3 * cs);
  set64(48, cs);
  v.setUint32(56, 1);
  v.setUint32(60, 0);
  set64(64, 0);
  set64(72, 0); // incompatible features
  set64(80, 0); // compatible features
  set64(88, 0); // autoclear features
  v.setUint32(96, 4); // refcount_order: 16-bit refcounts
  v.setUint32(100, 104); // header_length
  let at = 104;
  if (backing) {
    const fmt = new TextEncoder().encode(backing.format);
    v.setUint32(at, EXT_BACKING_FORMAT);
    v.setUint32(at + 4, fmt.length);
    image.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
  }
  v.setUint32(at, EXT_END);
  v.setUint32(at + 4, 0);
  at += 8;
  if (backing) {
    const name = new TextEncoder().encode(backing.name);
    if (name.length > 1023 || at + name.length > cs)
      throw new Qcow2Error(`the backing file name '${backing.name}' is too long`);
    set64(8, at);
    v.setUint32(16, name.length);
    image.set(name, at);
  }
  set64(cs, 2 * cs); // refcount table entry 0 → the block in cluster 2
  for (let c = 0; c < total; c++) v.setUint16(2 * cs + c * 2, 1);
  fs.writeFileSync(path, image, { flag: 'wx' });
}
