// The one reader of ELF32 files in the tree. Everything that loads an i386 executable — the
// launcher's vmlinux, the PC's multiboot kernel, the benchmark's bare-metal workload, the
// tests that look inside the guest image — reads its header and program headers here, and
// every byte it reads is checked against the file first: a file cut short, a file for another
// machine or a segment pointing past the end is an ElfError that says which, never a read of
// garbage or a RangeError from a DataView. (Layouts: the System V ABI, "ELF header" and
// "Program header", with the i386 supplement.)

export const ELF32_HEADER_SIZE = 52;
export const ELF32_PHDR_SIZE = 32;

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

export const EM_386 = 3;
export const EM_X86_64 = 62;

export const PT_NULL = 0;
export const PT_LOAD = 1;

/** What was wrong with a file `readElf32` refused; the message says it in words. */
export type ElfProblem =
  | 'not-elf' // no \x7fELF magic
  | 'truncated-header' // shorter than the 52-byte ELF32 header
  | 'not-i386' // another class, byte order or machine, or not an executable
  | 'program-headers' // the program header table is malformed or outside the file
  | 'segment' // a PT_LOAD segment is malformed or outside the file
  | 'no-load' // nothing to load
  | 'does-not-fit'; // a segment lies outside the memory it is loaded into

/** A file `readElf32` or `loadElfPhysical` refused. `message` is a phrase without the file's name. */
export class ElfError extends Error {
  constructor(
    readonly problem: ElfProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ElfError';
  }
}

/** One program header. */
export interface ProgramHeader {
  /** Its index in the program header table. */
  index: number;
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

/** A checked ELF32 i386 executable. */
export interface Elf32 {
  type: number;
  machine: number;
  entry: number;
  programHeaders: ProgramHeader[];
  /** The PT_LOAD entries of `programHeaders`, in table order: at least one. */
  loads: ProgramHeader[];
}

/** Whether `image` starts with the ELF magic (any class, any machine). */
export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/**
 * What an ELF file is, in words: "64-bit x86-64 shared object", "32-bit i386 executable".
 * Reads only the identification bytes and the two header fields it names, each if present.
 */
export function describeElf(image: Uint8Array): string {
  const v = view(image);
  const elfClass = image.length > 4 ? image[4] : -1;
  const bigEndian = image.length > 5 && image[5] === ELFDATA2MSB;
  const half = (at: number) => (image.length >= at + 2 ? v.getUint16(at, !bigEndian) : -1);
  const type = half(16);
  const machine = half(18);
  const words = [
    elfClass === ELFCLASS32 ? '32-bit' : elfClass === ELFCLASS64 ? '64-bit' : `class ${elfClass}`,
    ...(bigEndian ? ['big-endian'] : []),
    machine === EM_386 ? 'i386' : machine === EM_X86_64 ? 'x86-64' : `machine ${machine}`,
    type === ET_EXEC
      ? 'executable'
      : type === ET_DYN
        ? 'shared object'
        : type === ET_REL
          ? 'relocatable object'
          : type === ET_CORE
            ? 'core dump'
            : `type ${type}`,
  ];
  return words.join(' ');
}

/**
 * Reads and checks the header and program headers of a 32-bit little-endian i386 executable
 * (ET_EXEC, EM_386): the program header table and every PT_LOAD segment's file bytes lie
 * inside the file, no segment has more file bytes than memory bytes, and there is at least
 * one PT_LOAD. Throws ElfError saying what is wrong otherwise.
 */
export function readElf32(image: Uint8Array): Elf32 {
  if (!isElf(image)) {
    const head = Array.from(image.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new ElfError(
      'not-elf',
      `not an ELF file: it does not start with 7f 45 4c 46 (${image.length === 0 ? 'it is empty' : `it starts with ${head}`})`,
    );
  }
  if (image.length < ELF32_HEADER_SIZE) {
    throw new ElfError(
      'truncated-header',
      `the ELF header is cut short: the file has ${image.length} bytes, the header needs ${ELF32_HEADER_SIZE}`,
    );
  }
  const v = view(image);
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  if (image[4] !== ELFCLASS32 || image[5] !== ELFDATA2LSB || machine !== EM_386 || type !== ET_EXEC) {
    throw new ElfError('not-i386', `it is a ${describeElf(image)}, not a 32-bit i386 executable`);
  }
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phnum === 0) throw new ElfError('no-load', 'it has no program headers: there is nothing to load');
  if (phentsize !== ELF32_PHDR_SIZE) {
    throw new ElfError(
      'program-headers',
      `its program headers are ${phentsize} bytes each; ELF32 program headers are ${ELF32_PHDR_SIZE}`,
    );
  }
  if (phoff + phnum * ELF32_PHDR_SIZE > image.length) {
    throw new ElfError(
      'program-headers',
      `its program header table (${phnum} entries at offset ${phoff}) runs past the end of the file (${image.length} bytes)`,
    );
  }
  const programHeaders: ProgramHeader[] = [];
  const loads: ProgramHeader[] = [];
  for (let index = 0; index < phnum; index++) {
    const ph = phoff + index * ELF32_PHDR_SIZE;
    const header: ProgramHeader = {
      index,
      type: v.getUint32(ph, true),
      offset: v.getUint32(ph + 4, true),
      vaddr: v.getUint32(ph + 8, true),
      paddr: v.getUint32(ph + 12, true),
      filesz: v.getUint32(ph + 16, true),
      memsz: v.getUint32(ph + 20, true),
      flags: v.getUint32(ph + 24, true),
    };
    programHeaders.push(header);
    if (header.type !== PT_LOAD) continue;
    if (header.offset + header.filesz > image.length) {
      throw new ElfError(
        'segment',
        `segment ${index} (${header.filesz} bytes at file offset ${header.offset}) runs past the end of the file ` +
          `(${image.length} bytes)`,
      );
    }
    if (header.filesz > header.memsz) {
      throw new ElfError(
        'segment',
        `segment ${index} has more bytes in the file (${header.filesz}) than in memory (${header.memsz})`,
      );
    }
    loads.push(header);
  }
  if (loads.length === 0) throw new ElfError('no-load', 'it has no PT_LOAD segment: there is nothing to load');
  return { type, machine, entry, programHeaders, loads };
}

/**
 * Copies the PT_LOAD segments of an i386 executable to their physical addresses in `memory`
 * (zeroing each segment's memory beyond its file bytes), as a multiboot loader does, and
 * returns e_entry and the physical range loaded. Throws ElfError for a file `readElf32`
 * refuses or a segment outside `memory`.
 */
export function loadElfPhysical(image: Uint8Array, memory: Uint8Array): { entry: number; start: number; end: number } {
  const elf = readElf32(image);
  for (const { index, paddr, memsz } of elf.loads) {
    if (paddr + memsz > memory.length) {
      throw new ElfError(
        'does-not-fit',
        `segment ${index} at physical 0x${paddr.toString(16)} (+0x${memsz.toString(16)}) does not fit in ` +
          `${formatSize(memory.length)} of memory`,
      );
    }
  }
  let start = Infinity;
  let end = 0;
  for (const { offset, paddr, filesz, memsz } of elf.loads) {
    memory.set(image.subarray(offset, offset + filesz), paddr);
    memory.fill(0, paddr + filesz, paddr + memsz);
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + memsz);
  }
  return { entry: elf.entry, start, end };
}

function view(image: Uint8Array): DataView {
  return new DataView(image.buffer, image.byteOffset, image.byteLength);
}

function formatSize(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : `${bytes} bytes`;
}
