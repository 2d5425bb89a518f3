// Loading the kernel: where a guest's journey starts (chapter L of the original).
//
// A guest kernel comes either as an ELF vmlinux or as a bzImage. The ELF is easy: each
// PT_LOAD segment goes to its physical address, and the difference between its virtual and
// physical addresses is the guest's PAGE_OFFSET. A bzImage is a compressed kernel behind a
// real-mode setup stub we don't run: we find the gzip stream in it, unpack the kernel to
// 1 MiB, and — since nothing in it says where the kernel is linked — guess PAGE_OFFSET from
// its own code. Either way we do not use the kernel's real entry point: lguest guests have
// their own, right after the bytes "GenuineLguest", and we look for them.

import { LGUEST_SIGNATURE, LGUEST_SIGNATURE_LEN } from '@lguest/abi';
import { ElfError, describeElf, isElf, readElf32, type ProgramHeader } from '@lguest/elf';
import { errnoName, O_RDONLY, type Process } from '@lguest/host';
import { inflateRawSync } from 'node:zlib';
import { LauncherExit, hex } from './errors';
import type { GuestMemory } from './memory';

/** Where the kernel proper is loaded (the 1 MiB mark). */
export const KERNEL_LOAD_ADDR = 0x100000;

/** What the launcher needs to know about a loaded kernel. */
export interface LoadedKernel {
  /** The guest's first instruction (virtual): just after "GenuineLguest". */
  start: number;
  /** PAGE_OFFSET of the kernel (virtual minus physical). */
  pageOffset: number;
  /** Guest-physical end of the kernel image, its zeroed bss included. */
  end: number;
}

/** The whole of the file at VFS path `path` (the CLI passes /host/<absolute path>). */
export async function readWholeFile(proc: Process, path: string, what: string): Promise<Uint8Array> {
  const fd = await proc.open(path, O_RDONLY);
  if (fd < 0) throw new LauncherExit(1, `Opening ${what} ${path}: ${errnoName(fd)}`);
  try {
    const st = proc.fstat(fd);
    if (typeof st === 'number') throw new LauncherExit(1, `Examining ${what} ${path}: ${errnoName(st)}`);
    if (st.kind !== 'file') throw new LauncherExit(1, `${what} ${path} is not a regular file`);
    const data = new Uint8Array(st.size);
    let done = 0;
    while (done < data.length) {
      const n = proc.pread(fd, data.subarray(done), done);
      if (n < 0) throw new LauncherExit(1, `Reading ${what} ${path}: ${errnoName(n)}`);
      if (n === 0) break;
      done += n;
    }
    return data.subarray(0, done);
  } finally {
    proc.close(fd);
  }
}

/**
 * entry_point: scan guest memory [start, end) for the signature; the entry is the byte after
 * it, as a virtual address.
 */
export function entryPoint(mem: GuestMemory, start: number, end: number, pageOffset: number): number {
  const image = mem.read(start, end - start);
  const sig = new TextEncoder().encode(LGUEST_SIGNATURE);
  outer: for (let i = 0; i + LGUEST_SIGNATURE_LEN <= image.length; i++) {
    for (let j = 0; j < LGUEST_SIGNATURE_LEN; j++) if (image[i + j] !== sig[j]) continue outer;
    return (start + i + LGUEST_SIGNATURE_LEN + pageOffset) >>> 0;
  }
  throw new LauncherExit(1, 'Is this image a genuine lguest?');
}

// ------------------------------------------------------------------ ELF

/** Whether `image` starts like an ELF file. */
export { isElf };

/**
 * The PT_LOAD segments of an i386 ELF executable, read and checked against the file by the
 * one ELF reader (@lguest/elf), and the PAGE_OFFSET they all agree on. A file it refuses is
 * a LauncherExit with its reason.
 */
function elfLoadSegments(image: Uint8Array): { segments: ProgramHeader[]; pageOffset: number } {
  let elf;
  try {
    elf = readElf32(image);
  } catch (e) {
    if (e instanceof ElfError) throw new LauncherExit(1, `Malformed ELF: ${e.message}`);
    throw e;
  }
  let pageOffset: number | null = null;
  for (const { index, vaddr, paddr } of elf.loads) {
    const segOffset = (vaddr - paddr) >>> 0;
    if (pageOffset !== null && pageOffset !== segOffset) {
      throw new LauncherExit(1, `Page offset of segment ${index} different`);
    }
    pageOffset = segOffset;
  }
  return { segments: elf.loads, pageOffset: pageOffset ?? 0 };
}

/**
 * map_elf: copy every PT_LOAD segment's file bytes to its physical address. The ELF must be
 * an i386 executable, and every segment must agree on PAGE_OFFSET.
 */
export function loadElf(mem: GuestMemory, image: Uint8Array): LoadedKernel {
  const { segments, pageOffset } = elfLoadSegments(image);
  let start = Infinity;
  let end = 0;
  let imageEnd = 0;
  for (const { index, offset, paddr, filesz, memsz } of segments) {
    if (paddr + filesz > mem.mem) {
      throw new LauncherExit(1, `Segment ${index} (${filesz} bytes at ${hex(paddr)}) does not fit in guest memory`);
    }
    mem.write(paddr, image.subarray(offset, offset + filesz));
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + filesz);
    imageEnd = Math.max(imageEnd, paddr + memsz);
  }
  return { start: entryPoint(mem, start, end, pageOffset), pageOffset, end: imageEnd };
}

// ------------------------------------------------------------------ bzImage

/**
 * The offset of the kernel's gzip stream in a bzImage: the first 0x1F 0x8B whose tenth header
 * byte says "compressed under UNIX" (3). Like the original's scanner, a first match with any
 * other OS byte stops the search for good. -1 if there is none.
 */
export function findGzip(image: Uint8Array): number {
  let state = 0;
  for (let i = 0; i < image.length; i++) {
    const c = image[i];
    switch (state) {
      case 0:
        if (c === 0x1f) state++;
        break;
      case 1:
        state = c === 0x8b ? state + 1 : 0;
        break;
      case 9:
        if (c !== 0x03) state = -1;
        else return i - 9;
        break;
      case -1:
        break;
      default:
        state++;
    }
  }
  return -1;
}

/**
 * intuit_page_offset: nothing in a bzImage says where the kernel is linked, but its code is
 * full of `mov address, %eax` (0xA1 and four address bytes); the first top address byte seen
 * more than three times is taken as PAGE_OFFSET's.
 */
export function intuitPageOffset(image: Uint8Array): number {
  const possibilities = new Uint32Array(256);
  for (let i = 0; i + 4 < image.length; i++) {
    if (image[i] === 0xa1 && ++possibilities[image[i + 4]] > 3) return (image[i + 4] << 24) >>> 0;
  }
  throw new LauncherExit(1, 'could not determine page offset');
}

/**
 * Where the deflate data of the gzip member at `at` starts, past its header (RFC 1952: ten
 * bytes, then the optional extra field, name, comment and header CRC); -1 if truncated.
 */
function gzipDataStart(image: Uint8Array, at: number): number {
  const FHCRC = 2;
  const FEXTRA = 4;
  const FNAME = 8;
  const FCOMMENT = 16;
  const flags = image[at + 3];
  let p = at + 10;
  if (flags & FEXTRA) {
    if (p + 2 > image.length) return -1;
    p += 2 + (image[p] | (image[p + 1] << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      while (p < image.length && image[p] !== 0) p++;
      p++;
    }
  }
  if (flags & FHCRC) p += 2;
  return p <= image.length ? p : -1;
}

/**
 * load_bzimage: gunzip the kernel to 1 MiB (whatever follows the gzip member is ignored);
 * PAGE_OFFSET guessed, entry found by the signature.
 */
export function loadBzImage(mem: GuestMemory, image: Uint8Array): LoadedKernel {
  const at = findGzip(image);
  const data = at < 0 ? -1 : gzipDataStart(image, at);
  if (data < 0) throw new LauncherExit(1, 'Could not find kernel in bzImage');
  const room = mem.mem - KERNEL_LOAD_ADDR;
  if (room <= 0) throw new LauncherExit(1, 'No room for the kernel above 1 MiB');
  let kernel: Uint8Array;
  try {
    kernel = inflateRawSync(image.subarray(data), { maxOutputLength: room });
  } catch (e) {
    // zlib reports corrupt data, and a kernel bigger than guest memory, by throwing.
    throw new LauncherExit(1, `Unpacking the kernel in the bzImage: ${(e as Error).message}`);
  }
  mem.write(KERNEL_LOAD_ADDR, kernel);
  const pageOffset = intuitPageOffset(kernel);
  return {
    start: entryPoint(mem, KERNEL_LOAD_ADDR, KERNEL_LOAD_ADDR + kernel.length, pageOffset),
    pageOffset,
    end: KERNEL_LOAD_ADDR + kernel.length,
  };
}

// ------------------------------------------------------------------ checking first

/** The "HdrS" magic of the x86 boot protocol header in a bzImage. */
const BZIMAGE_HDRS_OFFSET = 0x202;

/**
 * Looks at a kernel image before anything is built for it, so each common mistake gets one
 * sentence naming the file (`name`) and what to do: not a kernel at all, an ELF for another
 * machine, an ELF whose header or sections are cut short, a bzImage with no kernel inside, a
 * kernel not built for lguest. Throws LauncherExit with that sentence; loading checks the
 * same things again (it trusts nothing), so this only decides how they are said.
 */
export function checkKernelImage(image: Uint8Array, name: string): { end: number | null } {
  const fail = (why: string): never => {
    throw new LauncherExit(1, `${name} ${why}`);
  };
  if (isElf(image)) {
    let end = 0;
    try {
      for (const seg of readElf32(image).loads) end = Math.max(end, seg.paddr + seg.memsz);
      elfLoadSegments(image);
    } catch (e) {
      if (e instanceof ElfError && e.problem === 'not-i386') {
        fail(`is an ELF file but not an i386 executable (it is a ${describeElf(image)}): lguest boots 32-bit i386 kernels`);
      }
      if (e instanceof ElfError) fail(`is a damaged or truncated ELF file (${e.message}): build or copy it again`);
      if (e instanceof LauncherExit) fail(`is a damaged ELF file (${e.message}): build or copy it again`);
      throw e;
    }
    if (indexOf(image, new TextEncoder().encode(LGUEST_SIGNATURE)) < 0) {
      fail(
        'has no GenuineLguest signature: is this image a genuine lguest? ' +
          'Boot a kernel built for lguest (its entry code starts with that string), e.g. packages/guest/build/guest.elf',
      );
    }
    return { end };
  }
  const hdrs =
    image.length > BZIMAGE_HDRS_OFFSET + 4 ? image.subarray(BZIMAGE_HDRS_OFFSET, BZIMAGE_HDRS_OFFSET + 4) : null;
  if (hdrs && String.fromCharCode(...hdrs) === 'HdrS') {
    const at = findGzip(image);
    if (at < 0 || gzipDataStart(image, at) < 0) {
      fail(
        'is a bzImage with no kernel in it (Could not find kernel in bzImage): it is damaged or cut short; build or copy it again',
      );
    }
    return { end: null };
  }
  if (image[0] === 0x1f && image[1] === 0x8b) {
    // A gzip'd vmlinux, as Linux trees ship it for debuggers.
    return fail(`is gzip-compressed: unpack it first (gunzip -k ${name}) and boot the vmlinux inside`);
  }
  const head = Array.from(image.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return fail(
    `is not a kernel image: neither an ELF vmlinux nor a bzImage ` +
      `(${image.length === 0 ? 'the file is empty' : `it starts with ${head}`}). Give an lguest guest kernel`,
  );
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Load the kernel at VFS path `path`: an ELF vmlinux, or else a bzImage. */
export async function loadKernel(proc: Process, mem: GuestMemory, path: string): Promise<LoadedKernel> {
  const image = await readWholeFile(proc, path, 'kernel');
  return isElf(image) ? loadElf(mem, image) : loadBzImage(mem, image);
}
