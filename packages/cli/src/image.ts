// Before a host is built for it, a kernel file is looked at once, so the common mistakes get
// a sentence each instead of a launcher failure deep inside a boot: no such file, not a
// kernel at all, a kernel for the wrong machine, a kernel that was not built for lguest. The
// launcher checks the same things again when it loads the image (it must: it is the one that
// trusts nothing); this is only about saying it well.

import { readFileSync, statSync } from 'node:fs';
import { LGUEST_SIGNATURE } from '@lguest/abi';
import { UsageError } from './options';

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ET_EXEC = 2;
const EM_386 = 3;
/** The "HdrS" magic of the x86 boot protocol header in a bzImage. */
const BZIMAGE_HDRS_OFFSET = 0x202;

export type ImageKind = 'elf' | 'bzImage';

export interface KernelImage {
  /** The path as the user gave it (for messages). */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly kind: ImageKind;
}

/**
 * Reads and sniffs the kernel image at `file`, named `path` in messages (as the user wrote
 * it); throws UsageError saying what is wrong with it, followed by `hint` if it is missing.
 */
export function readKernelImage(file: string, path: string, hint: string): KernelImage {
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory())
      throw new UsageError(`kernel '${path}' is a directory: give the image file inside it`);
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`cannot read kernel '${path}': ${why}. ${hint}`);
  }
  const kind = sniff(path, bytes);
  if (kind === 'elf' && indexOf(bytes, signatureBytes()) < 0) {
    throw new UsageError(
      `'${path}' has no GenuineLguest signature: is this image a genuine lguest? ` +
        `Boot a kernel built for lguest (its entry code starts with that string), e.g. packages/guest/build/guest.elf`,
    );
  }
  return { path, bytes, kind };
}

function sniff(path: string, b: Uint8Array): ImageKind {
  if (ELF_MAGIC.every((m, i) => b[i] === m)) {
    const elfClass = b[4];
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const type = b.length >= 20 ? view.getUint16(16, true) : -1;
    const machine = b.length >= 20 ? view.getUint16(18, true) : -1;
    if (elfClass !== 1 || machine !== EM_386 || type !== ET_EXEC) {
      const what = [
        elfClass === 2 ? '64-bit' : elfClass === 1 ? '32-bit' : `class ${elfClass}`,
        machine === 62 ? 'x86-64' : machine === EM_386 ? 'i386' : `machine ${machine}`,
        type === ET_EXEC
          ? 'executable'
          : type === 3
            ? 'shared object'
            : type === 1
              ? 'relocatable object'
              : `type ${type}`,
      ].join(' ');
      throw new UsageError(
        `'${path}' is an ELF file but not an i386 executable (it is a ${what}): lguest boots 32-bit i386 kernels`,
      );
    }
    return 'elf';
  }
  if (
    b.length > BZIMAGE_HDRS_OFFSET + 4 &&
    String.fromCharCode(...b.subarray(BZIMAGE_HDRS_OFFSET, BZIMAGE_HDRS_OFFSET + 4)) === 'HdrS'
  ) {
    return 'bzImage';
  }
  if (b[0] === 0x1f && b[1] === 0x8b) {
    throw new UsageError(
      `'${path}' is gzip-compressed: unpack it first (gunzip -k '${path}') and boot the vmlinux inside`,
    );
  }
  const head = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new UsageError(
    `'${path}' is not a kernel image: neither an ELF vmlinux nor a bzImage ` +
      `(${b.length === 0 ? 'the file is empty' : `it starts with ${head}`}). Give an lguest guest kernel`,
  );
}

function signatureBytes(): Uint8Array {
  return new TextEncoder().encode(LGUEST_SIGNATURE);
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
