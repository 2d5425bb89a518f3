// `lguest initramfs DIR OUT.cpio.gz`: a user's own userland, packed the way Linux's early
// boot unpacks it. An initramfs is a cpio archive in the "newc" format (the SVR4 ASCII
// header, magic 070701, no CRC), usually gzip'd; the kernel unpacks it into its root file
// system and runs /init as pid 1. The bundled guest reads the same format (uncompressed).
//
// Each member is a 110-byte header of 13 eight-digit hex fields — ino, mode, uid, gid,
// nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check — then
// the NUL-terminated name, padded to a multiple of 4 counted from the header's start, then
// the data, padded to 4. A member named TRAILER!!! ends the archive.
//
// What we write: every directory, regular file, symbolic link (its data is the target),
// device node, FIFO and socket under DIR, parents before their contents, names sorted, so
// the same tree gives the same archive. Owner and group are root (0): an initramfs is the
// kernel's root file system, whoever packed it. Permissions and modification times are the
// files'. Hard links are written as separate copies (the kernel does not need them shared).

import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UsageError } from './options';

/** One member of the archive, as it goes into its header. */
export interface CpioEntry {
  /** The path inside the archive, without a leading '/' ("bin/sh"). */
  readonly name: string;
  /** st_mode: the file type bits and the permissions. */
  readonly mode: number;
  readonly mtime: number;
  /** The contents: a regular file's bytes, a symbolic link's target. */
  readonly data: Uint8Array;
  /** A device node's major and minor number. */
  readonly rdevMajor?: number;
  readonly rdevMinor?: number;
}

const NEWC_MAGIC = '070701';
const NEWC_HEADER = 110;
const TRAILER = 'TRAILER!!!';
/** The largest file a newc header can describe (its size field is 32 bits). */
const NEWC_MAX_FILE = 0xffffffff;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** Writes `entries` as a newc archive ending in the trailer, padded to a 512-byte block. */
export function writeNewc(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    length += bytes.length;
  };
  const pad = () => {
    if (length % 4) push(new Uint8Array(4 - (length % 4)));
  };
  const member = (ino: number, e: CpioEntry, nlink: number) => {
    const name = Buffer.from(`${e.name}\0`, 'utf8');
    const fields = [
      ino,
      e.mode,
      0, // uid
      0, // gid
      nlink,
      e.mtime,
      e.data.length,
      0, // devmajor
      0, // devminor
      e.rdevMajor ?? 0,
      e.rdevMinor ?? 0,
      name.length,
      0, // check: newc has none
    ];
    push(Buffer.from(NEWC_MAGIC + fields.map((f) => (f >>> 0).toString(16).padStart(8, '0')).join(''), 'latin1'));
    push(name);
    pad();
    push(e.data);
    pad();
  };
  entries.forEach((e, i) => {
    if (e.name === '' || e.name.startsWith('/')) throw new Error(`cpio: bad member name '${e.name}'`);
    if (e.data.length > NEWC_MAX_FILE) throw new Error(`cpio: '${e.name}' is bigger than a newc archive can hold`);
    member(i + 1, e, (e.mode & S_IFMT) === S_IFDIR ? 2 : 1);
  });
  member(0, { name: TRAILER, mode: 0, mtime: 0, data: new Uint8Array(0) }, 1);
  if (length % 512) push(new Uint8Array(512 - (length % 512)));
  return Buffer.concat(parts, length);
}

/** One member read back by `readNewc`. */
export interface CpioMember extends CpioEntry {
  readonly ino: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
}

/**
 * Parses a newc archive up to its trailer (the inverse of `writeNewc`, and what the tests
 * check it with); throws on anything that is not newc.
 */
export function readNewc(archive: Uint8Array): CpioMember[] {
  const bytes = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const members: CpioMember[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    if (at + NEWC_HEADER > bytes.length) throw new Error(`cpio: truncated header at offset ${at}`);
    const magic = bytes.toString('latin1', at, at + 6);
    if (magic !== NEWC_MAGIC) throw new Error(`cpio: bad magic '${magic}' at offset ${at} (not a newc archive)`);
    const field = (i: number) => {
      const text = bytes.toString('latin1', at + 6 + i * 8, at + 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new Error(`cpio: bad header field '${text}' at offset ${at}`);
      return parseInt(text, 16);
    };
    const [ino, mode, uid, gid, nlink, mtime, size] = [0, 1, 2, 3, 4, 5, 6].map(field);
    const [rdevMajor, rdevMinor, nameSize] = [9, 10, 11].map(field);
    const nameStart = at + NEWC_HEADER;
    const name = bytes.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = align(nameStart + nameSize);
    if (dataStart + size > bytes.length) throw new Error(`cpio: '${name}' runs past the end of the archive`);
    if (name === TRAILER) return members;
    const data = new Uint8Array(bytes.subarray(dataStart, dataStart + size));
    members.push({ name, mode, mtime, data, rdevMajor, rdevMinor, ino, uid, gid, nlink });
    at = align(dataStart + size);
  }
}

/** The kernel's major/minor of a Linux dev_t as Node gives it (a number). */
function majorMinor(rdev: number): { rdevMajor: number; rdevMinor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { rdevMajor: major, rdevMinor: minor };
}

/**
 * The members for the tree at `root`, parents first and names sorted; `skip` (an absolute
 * path) is left out — the archive being written, if it is inside the tree. Throws
 * UsageError naming the file that cannot be read.
 */
export function collectTree(root: string, skip?: string): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const fail = (path: string, e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOENT' ? 'it vanished' : err.message;
    throw new UsageError(`cannot read '${path}': ${why}; make it readable or move it out of the directory`);
  };
  const visit = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      return fail(dir, e);
    }
    for (const name of names) {
      const path = join(dir, name);
      if (skip !== undefined && path === skip) continue;
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch (e) {
        return fail(path, e);
      }
      const entry = {
        name: relative(root, path).split('\\').join('/'),
        mode: st.mode,
        mtime: Math.floor(st.mtimeMs / 1000),
      };
      const type = st.mode & S_IFMT;
      let data = new Uint8Array(0);
      try {
        if (type === S_IFREG) {
          if (st.size > NEWC_MAX_FILE) {
            throw new UsageError(`'${path}' is ${st.size} bytes: a newc cpio holds files up to 4 GiB - 1`);
          }
          data = readFileSync(path);
        } else if (type === S_IFLNK) {
          data = Buffer.from(readlinkSync(path), 'utf8');
        }
      } catch (e) {
        if (e instanceof UsageError) throw e;
        return fail(path, e);
      }
      const device = st.isCharacterDevice() || st.isBlockDevice() ? majorMinor(st.rdev) : {};
      entries.push({ ...entry, data, ...device });
      if (type === S_IFDIR) visit(path);
    }
  };
  visit(root);
  return entries;
}

/** What `packInitramfs` did, for the command to report. */
export interface PackResult {
  readonly members: number;
  readonly bytes: number;
  readonly compressed: boolean;
  /** Whether the tree has an /init for the kernel to run. */
  readonly hasInit: boolean;
}

/**
 * Packs the directory `dirArg` into the archive `outArg` (both as the user gave them,
 * resolved against `cwd`): gzip'd unless OUT ends in ".cpio". Throws UsageError for a
 * missing or unreadable directory or an output that cannot be written.
 */
export function packInitramfs(dirArg: string, outArg: string, cwd: string): PackResult {
  const dir = resolve(cwd, dirArg);
  const out = resolve(cwd, outArg);
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    throw new UsageError(`initramfs: no such directory '${dirArg}': give the directory to pack (it becomes /)`);
  }
  if (!st.isDirectory()) {
    throw new UsageError(`initramfs: '${dirArg}' is not a directory: give the directory to pack (it becomes /)`);
  }
  if (out === dir) throw new UsageError(`initramfs: OUT '${outArg}' is the directory itself: name a file to write`);
  const entries = collectTree(dir, out);
  const archive = writeNewc(entries);
  const compressed = !/\.cpio$/i.test(basename(out));
  const bytes = compressed ? gzipSync(archive, { level: 9 }) : archive;
  let fd: number;
  try {
    fd = openSync(out, 'w', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `its directory '${dirname(outArg)}' does not exist`
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new UsageError(`initramfs: cannot write '${outArg}': ${why}`);
  }
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  const init = entries.find((e) => e.name === 'init');
  return { members: entries.length, bytes: bytes.length, compressed, hasInit: init !== undefined };
}
