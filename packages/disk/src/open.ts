// From `--block=FILE[,ro]` to a disk a launcher serves. Two steps, because they happen in two
// worlds: before any guest starts, the real file is checked (it exists, it is a regular file
// we may read and, unless read-only, write; its format is one we know) and locked, so a bad
// disk is the user's mistake reported up front, not a guest dying later. Then, inside the
// emulated host, the launcher process opens it through the host's file API and the image is
// built on that descriptor.

import { errnoName, O_RDONLY, O_RDWR, type Process } from '@lguest/host';
import * as fs from 'node:fs';
import { Block } from './block';
import { ProcessFile } from './file';
import { lockDisk, type DiskLock } from './lock';
import { isQcow2File, openImage, probeQcow2Chain, Qcow2Error, readQcow2Header } from './qcow2';

/** A disk as the user gave it. */
export interface DiskSpec {
  /** Absolute path of the real file. */
  readonly path: string;
  readonly readOnly: boolean;
}

/** The user gave us a disk we cannot use; the message says which file and what to do. */
export class DiskError extends Error {
  override readonly name = 'DiskError';
}

/** `FILE` or `FILE,ro` (the --block argument). */
export function parseBlockArg(arg: string): { file: string; readOnly: boolean } {
  if (arg.endsWith(',ro')) return { file: arg.slice(0, -3), readOnly: true };
  return { file: arg, readOnly: false };
}

/** A disk checked and locked, ready to be opened by a launcher. */
export class PreparedDisk {
  constructor(
    readonly spec: DiskSpec,
    readonly format: 'raw' | 'qcow2',
    /** The files it reads, top first (a qcow2 overlay, then its backing files). */
    readonly chain: readonly string[],
    private readonly locks: readonly DiskLock[],
  ) {}

  /**
   * Opens the disk in the launcher's process, whose /host mount (`root`) shows the real
   * file system. Resolves to the block device, or rejects with a DiskError.
   */
  async open(proc: Process, root = '/host'): Promise<Block> {
    const { path, readOnly } = this.spec;
    try {
      const image = await openImage(
        async (p, writable) => {
          const f = await ProcessFile.open(proc, root + p, writable ? O_RDWR : O_RDONLY, p);
          if (typeof f === 'number') throw new DiskError(`cannot open disk '${p}': ${errnoName(f)}`);
          return f;
        },
        path,
        readOnly,
      );
      return new Block(image);
    } catch (e) {
      if (e instanceof Qcow2Error) throw new DiskError(e.message);
      throw e;
    }
  }

  /** Lets go of the locks (after the guest ended). */
  async release(): Promise<void> {
    await Promise.all(this.locks.map((l) => l.release()));
  }
}

/**
 * Checks and locks a disk before the guest starts: rejects with a DiskError (missing file, a
 * directory, no permission, a malformed qcow2, a disk in use) whose message says what to do.
 * With `waitForLock`, a disk in use is waited for (the lguest migrating its guest here holds
 * it until its guest has ended).
 */
export async function prepareDisk(spec: DiskSpec, waitForLock = false): Promise<PreparedDisk> {
  const { path, readOnly } = spec;
  checkFile(path, readOnly, 'disk');
  const format = isQcow2File(path) ? 'qcow2' : 'raw';
  let chain: string[];
  try {
    chain = format === 'qcow2' ? probeQcow2Chain(path) : [path];
    if (format === 'qcow2') {
      const h = readQcow2Header(path);
      if (!readOnly && (h.incompatible & 3 || h.nbSnapshots > 0 || h.refcountOrder !== 4)) {
        throw new DiskError(
          `disk '${path}' is a qcow2 image this lguest cannot write (marked dirty or corrupt, internal ` +
            'snapshots, or refcounts other than 16 bits): give ,ro, or repair or convert it with qemu-img',
        );
      }
    }
  } catch (e) {
    if (e instanceof Qcow2Error) throw new DiskError(e.message);
    throw e;
  }
  const locks: DiskLock[] = [];
  try {
    for (let i = 0; i < chain.length; i++) {
      locks.push(await lockDisk(chain[i], i === 0 && !readOnly ? 'exclusive' : 'shared', waitForLock));
    }
  } catch (e) {
    await Promise.all(locks.map((l) => l.release()));
    throw new DiskError((e as Error).message);
  }
  return new PreparedDisk(spec, format, chain, locks);
}

/** The file must be a regular file we can read (and write, unless read-only). */
function checkFile(path: string, readOnly: boolean, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DiskError(
      code === 'ENOENT'
        ? `${what} '${path}': no such file (make one with: lguest disk create ${path} 64M)`
        : `${what} '${path}': ${code ?? (e as Error).message}`,
    );
  }
  if (!st.isFile()) throw new DiskError(`${what} '${path}' is not a regular file`);
  if (st.size < 512) throw new DiskError(`${what} '${path}' is smaller than one 512-byte sector`);
  try {
    fs.accessSync(path, readOnly ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    throw new DiskError(
      `${what} '${path}': permission denied${readOnly ? '' : ' for writing (give ,ro to use it read-only)'}`,
    );
  }
}
