// `lguest disk`: making and looking after the files --block serves.
//
//   lguest disk create FILE SIZE              a raw disk of SIZE (sparse: holes until written)
//   lguest disk create -b BASE OVERLAY [SIZE] a qcow2 overlay on BASE (raw or qcow2), which
//                                             is never written through it
//   lguest disk commit OVERLAY                write the overlay's clusters into its base
//   lguest disk info FILE                     format, sizes, qcow2 details, backing chain
//
// These run on the real files directly (no guest), with the same image code the launcher
// uses. commit locks both files as a guest would, so it cannot pull a disk from under one.

import * as fs from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  createQcow2,
  DiskError,
  isQcow2File,
  lockDisk,
  NodeFile,
  openImage,
  probeQcow2Chain,
  Qcow2Error,
  Qcow2Image,
  readQcow2Header,
  type DiskImage,
  type DiskLock,
} from '@lguest/disk';
import { UsageError } from './options';

export const DISK_USAGE = `usage:
  lguest disk create FILE SIZE               a raw disk of SIZE bytes (K, M, G, T suffixes), sparse
  lguest disk create -b BASE OVERLAY [SIZE]  a qcow2 overlay of BASE: the guest's writes go to
                                             OVERLAY, BASE is only read (and may be shared)
  lguest disk commit OVERLAY                 copy what was written to OVERLAY into its base
                                             (OVERLAY is left as it was: still valid)
  lguest disk info FILE                      format, size, allocation and backing files`;

interface Out {
  write(chunk: string): unknown;
}

/** Runs `lguest disk ARGS`; returns the exit status. Throws UsageError for bad input. */
export async function diskCommand(args: readonly string[], cwd: string, out: Out): Promise<number> {
  const [verb, ...rest] = args;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  try {
    switch (verb) {
      case 'create':
        return create(rest, abs, out);
      case 'commit':
        if (rest.length !== 1) throw new UsageError('disk commit takes one OVERLAY, e.g. lguest disk commit run.qcow2');
        return await commit(abs(rest[0]), out);
      case 'info':
        if (rest.length !== 1) throw new UsageError('disk info takes one FILE, e.g. lguest disk info disk.img');
        return await info(abs(rest[0]), out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(`${DISK_USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown disk command '${verb}': the disk commands are create, commit and info`);
    }
  } catch (e) {
    if (e instanceof Qcow2Error || e instanceof DiskError) throw new UsageError(e.message);
    throw e;
  }
}

/** "64M" → bytes: a whole number of 512-byte sectors. */
export function parseSize(text: string): number {
  const m = /^(\d+)([kKmMgGtT]?)(i?B)?$/.exec(text);
  if (!m)
    throw new UsageError(`SIZE must be a number of bytes with an optional K, M, G or T, such as 64M, not '${text}'`);
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(m[1]) * 2 ** shift;
  if (bytes < 512 || bytes % 512 !== 0)
    throw new UsageError(`SIZE must be a whole number of 512-byte sectors, not ${text}`);
  if (bytes > 0xffffffff * 512)
    throw new UsageError(`SIZE ${text} is more than lguest's block device can address (2 TiB)`);
  return bytes;
}

function create(args: readonly string[], abs: (p: string) => string, out: Out): number {
  let base: string | null = null;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-b') {
      if (i + 1 >= args.length)
        throw new UsageError('-b needs the base file, e.g. lguest disk create -b base.img run.qcow2');
      base = args[++i];
    } else if (args[i].startsWith('-b=')) base = args[i].slice(3);
    else words.push(args[i]);
  }
  if (base === null) {
    if (words.length !== 2)
      throw new UsageError('disk create takes FILE and SIZE, e.g. lguest disk create disk.img 64M');
    const [file, sizeText] = words;
    const size = parseSize(sizeText);
    const path = abs(file);
    refuseExisting(path, file);
    const fd = fs.openSync(path, 'wx');
    try {
      fs.ftruncateSync(fd, size);
    } finally {
      fs.closeSync(fd);
    }
    out.write(`created ${file}: raw, ${size} bytes (${size / 512} sectors), sparse\n`);
    return 0;
  }
  if (words.length < 1 || words.length > 2) {
    throw new UsageError(
      'disk create -b takes BASE, OVERLAY and an optional SIZE, e.g. lguest disk create -b base.img run.qcow2',
    );
  }
  const basePath = abs(base);
  if (!fs.existsSync(basePath)) throw new UsageError(`base '${base}': no such file`);
  const baseQcow2 = isQcow2File(basePath);
  if (baseQcow2) probeQcow2Chain(basePath); // its own chain must be whole
  const baseSize = baseQcow2 ? readQcow2Header(basePath).size : fs.statSync(basePath).size;
  const size = words[1] === undefined ? baseSize - (baseSize % 512) : parseSize(words[1]);
  if (size < baseSize - (baseSize % 512)) {
    throw new UsageError(`SIZE ${words[1]} is smaller than the base (${baseSize} bytes): an overlay cannot shrink it`);
  }
  const overlay = abs(words[0]);
  refuseExisting(overlay, words[0]);
  // The name stored in the overlay is relative to the overlay's directory, as qcow2 reads it.
  const name = relative(dirname(overlay), basePath) || basePath;
  createQcow2(overlay, size, { name, format: baseQcow2 ? 'qcow2' : 'raw' });
  out.write(`created ${words[0]}: qcow2 overlay of ${name} (${baseQcow2 ? 'qcow2' : 'raw'}), ${size} bytes\n`);
  return 0;
}

function refuseExisting(path: string, given: string): void {
  if (fs.existsSync(path)) throw new UsageError(`'${given}' already exists: remove it first, or choose another name`);
}

/** Opens an image and its chain on real files; the iovecs of reads and writes index `memory`. */
function openReal(path: string, readOnly: boolean, memory: Uint8Array): Promise<DiskImage> {
  return openImage(async (p, writable) => NodeFile.open(p, writable, memory), path, readOnly);
}

async function commit(overlay: string, out: Out): Promise<number> {
  if (!fs.existsSync(overlay)) throw new UsageError(`overlay '${overlay}': no such file`);
  if (!isQcow2File(overlay)) throw new UsageError(`'${overlay}' is not a qcow2 overlay: there is nothing to commit`);
  const chain = probeQcow2Chain(overlay);
  if (chain.length < 2) throw new UsageError(`'${overlay}' has no backing file: there is nothing to commit it into`);
  const basePath = chain[1];
  const locks: DiskLock[] = [];
  try {
    locks.push(await lockDisk(overlay, 'shared'));
    locks.push(await lockDisk(basePath, 'exclusive'));
  } catch (e) {
    await Promise.all(locks.map((l) => l.release()));
    throw new UsageError((e as Error).message);
  }
  try {
    const top = (await openReal(overlay, true, new Uint8Array(0))) as Qcow2Image;
    const cs = top.clusterSize;
    const memory = new Uint8Array(cs);
    const base = await openReal(basePath, false, memory);
    let clusters = 0;
    let bytes = 0;
    try {
      for (const { offset } of top.allocatedClusters()) {
        const len = Math.min(cs, top.size - offset, Math.max(0, base.size - offset));
        if (len <= 0) continue; // beyond the base: it cannot hold it
        const r = top.read({ buf: memory.subarray(0, len) }, offset);
        if (r !== len) throw new UsageError(`reading '${overlay}' at ${offset} failed (${r})`);
        const w = base.write({ iov: [{ addr: 0, len }] }, offset);
        if (w !== len) throw new UsageError(`writing '${basePath}' at ${offset} failed (${w})`);
        clusters++;
        bytes += len;
      }
      const f = base.flush();
      if (f < 0) throw new UsageError(`flushing '${basePath}' failed (${f})`);
    } finally {
      top.close();
      base.close();
    }
    out.write(`committed ${clusters} clusters (${bytes} bytes) of ${overlay} into ${basePath}\n`);
    return 0;
  } finally {
    await Promise.all(locks.map((l) => l.release()));
  }
}

async function info(path: string, out: Out): Promise<number> {
  if (!fs.existsSync(path)) throw new UsageError(`'${path}': no such file`);
  const st = fs.statSync(path);
  if (!st.isFile()) throw new UsageError(`'${path}' is not a regular file`);
  const lines = [`file: ${path}`];
  if (!isQcow2File(path)) {
    lines.push('format: raw', `size: ${st.size} bytes (${Math.floor(st.size / 512)} sectors)`);
    lines.push(`on disk: ${st.blocks * 512} bytes`);
  } else {
    const h = readQcow2Header(path);
    const chain = probeQcow2Chain(path);
    const img = (await openReal(path, true, new Uint8Array(0))) as Qcow2Image;
    let allocated = 0;
    try {
      for (const _ of img.allocatedClusters()) allocated++;
    } finally {
      img.close();
    }
    lines.push(
      `format: qcow2 version ${h.version} (compat=${h.version === 2 ? '0.10' : '1.1'})`,
      `size: ${h.size} bytes (${Math.floor(h.size / 512)} sectors)`,
      `cluster size: ${2 ** h.clusterBits} bytes; ${allocated} clusters allocated here`,
      `file size: ${st.size} bytes`,
    );
    if (h.backingFile) lines.push(`backing file: ${h.backingFile}${h.backingFormat ? ` (${h.backingFormat})` : ''}`);
    for (const b of chain.slice(1)) lines.push(`  reads through to: ${b}`);
    if (h.nbSnapshots) lines.push(`internal snapshots: ${h.nbSnapshots} (the disk can only be used read-only)`);
  }
  out.write(`${lines.join('\n')}\n`);
  return 0;
}
