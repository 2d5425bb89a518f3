// The boot loader's part of a native boot, per the Multiboot Specification 0.6.96 (v1): check
// the kernel's multiboot header, copy its ELF PT_LOAD segments to their *physical* addresses
// (p_paddr — a higher-half kernel linked at 0xC0100000 loads at 0x100000), leave a
// multiboot information structure in low memory (memory sizes, a memory map, the command
// line, our name), and hand over the CPU as the spec says: 32-bit protected mode, paging off,
// flat 4 GiB code and data segments, EAX = 0x2BADB002, EBX = the info structure, IF = 0.
//
// Low memory used by the loader (all below the 640 KiB the map reports as free, and marked
// as such by nothing — the kernel may reuse it once it has read the info structure):
//   0x0800 GDT (null, code 0x08, data 0x10)      0x9000 multiboot info
//   0x9100 memory map                            0x9200 boot loader name
//   0x9400 command line (at most 3 KiB)

import type { CpuState, SegmentState } from '@lguest/x86';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie, 4-byte aligned, in the first 8 KiB of the file. */
export const MULTIBOOT_SEARCH = 8192;

/** Info structure flags (which fields are valid). */
export const MBI_MEMORY = 1 << 0;
export const MBI_CMDLINE = 1 << 2;
export const MBI_MMAP = 1 << 6;
export const MBI_LOADER_NAME = 1 << 9;

const GDT_ADDR = 0x800;
const INFO_ADDR = 0x9000;
const MMAP_ADDR = 0x9100;
const NAME_ADDR = 0x9200;
const CMDLINE_ADDR = 0x9400;
const CMDLINE_MAX = 0xc00;
const LOW_MEMORY_KIB = 639; // conventional memory below the EBDA
const LOADER_NAME = 'lguest.ts pc';

const CODE_SELECTOR = 0x08;
const DATA_SELECTOR = 0x10;

/** Header flag bits we understand; a required bit (0-15) we don't is a refusal. */
const MBH_PAGE_ALIGN = 1 << 0;
const MBH_MEMORY_INFO = 1 << 1;
const MBH_VIDEO_MODE = 1 << 2;
const MBH_AOUT_KLUDGE = 1 << 16;

/** What `loadMultiboot` did, for the harness and for tests. */
export interface MultibootBoot {
  /** Physical entry point (the ELF e_entry, which the spec takes as physical). */
  entry: number;
  /** Physical address of the multiboot information structure (EBX at entry). */
  infoAddress: number;
  /** The lowest and highest-plus-one physical addresses the segments occupy. */
  loadStart: number;
  loadEnd: number;
  /** Values written into the info structure. */
  memLowerKiB: number;
  memUpperKiB: number;
  /** Offset of the multiboot header in the file. */
  headerOffset: number;
}

/** The multiboot header's offset in `image`, or -1. Checks magic + flags + checksum == 0. */
export function findMultibootHeader(image: Uint8Array): number {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(image.byteLength, MULTIBOOT_SEARCH) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (view.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(off + 4, true);
    const checksum = view.getUint32(off + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) & 0xffffffff) >>> 0 === 0) return off;
  }
  return -1;
}

const ELF_MAGIC = 0x464c457f;
const PT_LOAD = 1;

/**
 * Copies the PT_LOAD segments of a 32-bit i386 ELF executable to their physical addresses
 * (zeroing each segment's memory beyond its file bytes) and returns e_entry and the range
 * loaded. Throws, saying what is wrong, for anything else or a segment outside `memory`.
 */
export function loadElfPhysical(image: Uint8Array, memory: Uint8Array): { entry: number; start: number; end: number } {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.byteLength < 52 || view.getUint32(0, true) !== ELF_MAGIC) throw new Error('not an ELF file');
  if (image[4] !== 1 || image[5] !== 1) throw new Error('not a 32-bit little-endian ELF file');
  if (view.getUint16(16, true) !== 2 || view.getUint16(18, true) !== 3) {
    throw new Error('not an i386 executable (ET_EXEC, EM_386)');
  }
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  let start = Infinity;
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 32 > image.byteLength) throw new Error(`program header ${i} lies outside the file`);
    if (view.getUint32(ph, true) !== PT_LOAD) continue;
    const offset = view.getUint32(ph + 4, true);
    const paddr = view.getUint32(ph + 12, true);
    const filesz = view.getUint32(ph + 16, true);
    const memsz = view.getUint32(ph + 20, true);
    if (filesz > memsz || offset + filesz > image.byteLength) throw new Error(`segment ${i} is malformed`);
    if (paddr + memsz > memory.byteLength) {
      throw new Error(
        `segment ${i} at physical 0x${paddr.toString(16)} (+0x${memsz.toString(16)}) does not fit in ` +
          `${memory.byteLength >> 20} MiB of RAM`,
      );
    }
    memory.set(image.subarray(offset, offset + filesz), paddr);
    memory.fill(0, paddr + filesz, paddr + memsz);
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + memsz);
  }
  if (end === 0) throw new Error('the ELF file has no PT_LOAD segment');
  return { entry, start, end };
}

/**
 * Loads a multiboot v1 ELF kernel into `memory` and writes the GDT and the information
 * structure. Throws if the header is missing, asks for something we can't give (video
 * modes, or any other required feature bit), or uses the a.out kludge.
 */
export function loadMultiboot(image: Uint8Array, memory: ArrayBuffer, cmdline = ''): MultibootBoot {
  const headerOffset = findMultibootHeader(image);
  if (headerOffset < 0) {
    throw new Error('no multiboot header in the first 8 KiB of the image: is this a multiboot kernel?');
  }
  const flags = new DataView(image.buffer, image.byteOffset).getUint32(headerOffset + 4, true);
  const unknownRequired = flags & 0xffff & ~(MBH_PAGE_ALIGN | MBH_MEMORY_INFO);
  if (unknownRequired & MBH_VIDEO_MODE) throw new Error('the kernel asks for a video mode; this PC has no display');
  if (unknownRequired) throw new Error(`the kernel requires multiboot features 0x${unknownRequired.toString(16)}`);
  if (flags & MBH_AOUT_KLUDGE) throw new Error('a.out-kludge multiboot images are not supported; link an ELF');

  const bytes = new Uint8Array(memory);
  const view = new DataView(memory);
  const { entry, start, end } = loadElfPhysical(image, bytes);
  if (start < 0x100000)
    throw new Error(`the kernel loads at 0x${start.toString(16)}, below 1 MiB where the loader lives`);

  const memUpperKiB = (memory.byteLength >> 10) - 1024;
  const cmd = new TextEncoder().encode(cmdline);
  if (cmd.length >= CMDLINE_MAX)
    throw new Error(`command line too long (${cmd.length} bytes, at most ${CMDLINE_MAX - 1})`);
  bytes.fill(0, INFO_ADDR, CMDLINE_ADDR + CMDLINE_MAX);
  bytes.set(cmd, CMDLINE_ADDR);
  bytes.set(new TextEncoder().encode(LOADER_NAME), NAME_ADDR);

  // The memory map: conventional memory, then everything above 1 MiB. Each entry is
  // {u32 size (of the rest: 20), u64 base, u64 length, u32 type (1 = RAM)}.
  const regions: [number, number][] = [
    [0, LOW_MEMORY_KIB * 1024],
    [0x100000, memUpperKiB * 1024],
  ];
  regions.forEach(([base, length], i) => {
    const e = MMAP_ADDR + i * 24;
    view.setUint32(e, 20, true);
    view.setUint32(e + 4, base, true);
    view.setUint32(e + 12, length, true);
    view.setUint32(e + 20, 1, true);
  });

  view.setUint32(INFO_ADDR, MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME, true);
  view.setUint32(INFO_ADDR + 4, LOW_MEMORY_KIB, true); // mem_lower
  view.setUint32(INFO_ADDR + 8, memUpperKiB, true); // mem_upper
  view.setUint32(INFO_ADDR + 16, CMDLINE_ADDR, true); // cmdline
  view.setUint32(INFO_ADDR + 44, regions.length * 24, true); // mmap_length
  view.setUint32(INFO_ADDR + 48, MMAP_ADDR, true); // mmap_addr
  view.setUint32(INFO_ADDR + 64, NAME_ADDR, true); // boot_loader_name

  // A flat GDT like a boot loader leaves (the kernel must load its own before reloading
  // segment registers, but this one is valid in case it doesn't).
  view.setUint32(GDT_ADDR, 0, true);
  view.setUint32(GDT_ADDR + 4, 0, true);
  view.setUint32(GDT_ADDR + 8, 0x0000ffff, true);
  view.setUint32(GDT_ADDR + 12, 0x00cf9b00, true);
  view.setUint32(GDT_ADDR + 16, 0x0000ffff, true);
  view.setUint32(GDT_ADDR + 20, 0x00cf9300, true);

  return {
    entry,
    infoAddress: INFO_ADDR,
    loadStart: start,
    loadEnd: end,
    memLowerKiB: LOW_MEMORY_KIB,
    memUpperKiB,
    headerOffset,
  };
}

function flat(selector: number, access: number): SegmentState {
  return { selector, base: 0, limit: 0xffffffff, access };
}

/**
 * The machine state at a multiboot kernel's entry, built on `reset` (the core's power-on
 * state): flat ring-0 32-bit code and data, PE on and paging off, EFLAGS with only the
 * reserved bit (IF = 0), EAX = the boot loader magic, EBX = the info structure.
 */
export function multibootEntryState(reset: CpuState, boot: MultibootBoot): CpuState {
  const code = flat(CODE_SELECTOR, 0xc09b);
  const data = (): SegmentState => flat(DATA_SELECTOR, 0xc093);
  return {
    ...reset,
    eax: MULTIBOOT_BOOTLOADER_MAGIC,
    ebx: boot.infoAddress,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    esp: 0x7000, // the spec leaves ESP undefined; this one at least points at free RAM
    eip: boot.entry >>> 0,
    eflags: 0x2,
    cs: code,
    ds: data(),
    es: data(),
    fs: data(),
    gs: data(),
    ss: data(),
    gdtr: { base: GDT_ADDR, limit: 23 },
    idtr: { base: 0, limit: 0x3ff },
    cr0: 0x11, // PE | ET
    cr2: 0,
    cr3: 0,
    cr4: 0,
    cpl: 0,
    halted: false,
  };
}
