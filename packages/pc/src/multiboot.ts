// The boot loader's part of a native boot, per the Multiboot Specification 0.6.96 (v1): check
// the kernel's multiboot header, copy its ELF PT_LOAD segments to their *physical* addresses
// (p_paddr — a higher-half kernel linked at 0xC0100000 loads at 0x100000), leave a
// multiboot information structure in low memory (memory sizes, a memory map, the command
// line, our name, the boot modules), and hand over the CPU as the spec says: 32-bit protected
// mode, paging off, flat 4 GiB code and data segments, EAX = 0x2BADB002, EBX = the info
// structure, IF = 0.
//
// Low memory used by the loader (all below the 640 KiB the map reports as free, and marked
// as such by nothing — the kernel may reuse it once it has read the info structure):
//   0x0800 GDT (null, code 0x08, data 0x10)      0x9000 multiboot info
//   0x9100 memory map                            0x9200 boot loader name
//   0xA000 module list (at most 64 entries)      0xA400 module strings (at most 3 KiB)
//
// The command line (at most 3 KiB) goes on the first page past the kernel image, before the
// modules, much as QEMU puts it past the kernel: RAM the memory map calls free and a kernel's
// page allocator hands out first. A kernel must copy its command line before it allocates; one that keeps
// pointing into loader memory loses it here as it would on QEMU (ours once did).
//
// Modules (an initrd, for our kernel) go in RAM right after the kernel image (and its command
// line), each starting on a page boundary. That is where GRUB Legacy and QEMU put them too, and it is deliberate:
// low addresses are ones every kernel can reach early (ours maps only the first 16 MiB until
// its own page tables are up, and never more than 512 MiB), whereas the top of a large RAM
// may be out of its reach. The price is that a module sits exactly where a kernel's page
// allocator would begin, past its image — so the kernel must read the module list and keep
// its allocator off the modules, as the spec expects of it (the memory map calls that RAM
// free). Ours does, in page_alloc_init.

import { loadElfPhysical } from '@lguest/elf';
import type { CpuState } from '@lguest/x86';
import { flatProtectedModeEntry } from './entry-state';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie, 4-byte aligned, in the first 8 KiB of the file. */
export const MULTIBOOT_SEARCH = 8192;

/** Info structure flags (which fields are valid). */
export const MBI_MEMORY = 1 << 0;
export const MBI_CMDLINE = 1 << 2;
export const MBI_MODS = 1 << 3;
export const MBI_MMAP = 1 << 6;
export const MBI_LOADER_NAME = 1 << 9;

const GDT_ADDR = 0x800;
const INFO_ADDR = 0x9000;
const MMAP_ADDR = 0x9100;
const NAME_ADDR = 0x9200;
const CMDLINE_MAX = 0xc00;
const MODS_ADDR = 0xa000;
const MODS_MAX = 64;
/** One module list entry: mod_start, mod_end, string, reserved. */
const MOD_ENTRY_BYTES = 16;
const MOD_STRINGS_ADDR = 0xa400;
const MOD_STRINGS_MAX = 0xc00;
const PAGE_SIZE = 4096;
const LOW_MEMORY_KIB = 639; // conventional memory below the EBDA
const LOADER_NAME = 'lguest.ts pc';

const CODE_SELECTOR = 0x08;
const DATA_SELECTOR = 0x10;

/** Header flag bits we understand; a required bit (0-15) we don't is a refusal. */
const MBH_PAGE_ALIGN = 1 << 0;
const MBH_MEMORY_INFO = 1 << 1;
const MBH_VIDEO_MODE = 1 << 2;
const MBH_AOUT_KLUDGE = 1 << 16;

/** A boot module, as a boot loader's `module FILE ARGS` line gives it. */
export interface MultibootModule {
  /** The module's bytes, copied into RAM as they are. */
  readonly data: Uint8Array;
  /** Its string: what the kernel is told about it (GRUB passes the module's command line). */
  readonly string: string;
}

/** Where `loadMultiboot` put a module: the values of its module list entry. */
export interface LoadedModule {
  /** Physical address of the first byte (page-aligned). */
  start: number;
  /** Physical address one past the last byte (mod_end, as the spec defines it). */
  end: number;
  /** Physical address of the NUL-terminated string. */
  stringAddress: number;
}

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
  /** The modules, in the order given (the order of the module list). */
  modules: LoadedModule[];
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

/**
 * Loads a multiboot v1 ELF kernel into `memory` with its `modules` after it, and writes the
 * GDT and the information structure. Throws if the header is missing, asks for something we
 * can't give (video modes, or any other required feature bit), uses the a.out kludge, or if
 * the kernel, the command line or the modules do not fit.
 */
export function loadMultiboot(
  image: Uint8Array,
  memory: ArrayBuffer,
  cmdline = '',
  modules: readonly MultibootModule[] = [],
): MultibootBoot {
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
  bytes.fill(0, INFO_ADDR, MOD_STRINGS_ADDR + MOD_STRINGS_MAX);
  bytes.set(new TextEncoder().encode(LOADER_NAME), NAME_ADDR);
  const cmdlineAddress = pageAlign(end);
  if (cmdlineAddress + cmd.length + 1 > bytes.length) {
    throw new Error(`no room for the command line past the kernel in ${bytes.length >> 20} MiB of RAM`);
  }
  bytes.set(cmd, cmdlineAddress);
  bytes[cmdlineAddress + cmd.length] = 0;
  const loaded = loadModules(modules, bytes, cmdlineAddress + cmd.length + 1);

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

  loaded.forEach((m, i) => {
    const e = MODS_ADDR + i * MOD_ENTRY_BYTES;
    view.setUint32(e, m.start, true);
    view.setUint32(e + 4, m.end, true);
    view.setUint32(e + 8, m.stringAddress, true);
    view.setUint32(e + 12, 0, true);
  });

  const mods = loaded.length > 0 ? MBI_MODS : 0;
  view.setUint32(INFO_ADDR, MBI_MEMORY | MBI_CMDLINE | mods | MBI_MMAP | MBI_LOADER_NAME, true);
  view.setUint32(INFO_ADDR + 4, LOW_MEMORY_KIB, true); // mem_lower
  view.setUint32(INFO_ADDR + 8, memUpperKiB, true); // mem_upper
  view.setUint32(INFO_ADDR + 16, cmdlineAddress, true); // cmdline
  if (mods) {
    view.setUint32(INFO_ADDR + 20, loaded.length, true); // mods_count
    view.setUint32(INFO_ADDR + 24, MODS_ADDR, true); // mods_addr
  }
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
    modules: loaded,
  };
}

/**
 * Copies `modules` into RAM one after another from the first page boundary at or past
 * `kernelEnd` (see the header comment for why there), and their strings into low memory.
 * Throws, naming the module, if one does not fit in RAM or the strings in their area.
 */
function loadModules(modules: readonly MultibootModule[], bytes: Uint8Array, kernelEnd: number): LoadedModule[] {
  if (modules.length > MODS_MAX) {
    throw new Error(`${modules.length} boot modules are more than this loader takes (at most ${MODS_MAX})`);
  }
  const encoder = new TextEncoder();
  const loaded: LoadedModule[] = [];
  let at = pageAlign(kernelEnd);
  let stringAt = MOD_STRINGS_ADDR;
  modules.forEach((m, i) => {
    const what = `module ${i + 1} ('${m.string}', ${m.data.byteLength} bytes)`;
    const end = at + m.data.byteLength;
    if (end > bytes.byteLength) {
      throw new Error(
        `${what} does not fit in ${bytes.byteLength >> 20} MiB of RAM: it would occupy ` +
          `0x${at.toString(16)}-0x${end.toString(16)}, after the kernel and its command line, which end at 0x${kernelEnd.toString(16)}; ` +
          `give the machine more memory`,
      );
    }
    const string = encoder.encode(m.string);
    if (stringAt + string.length + 1 > MOD_STRINGS_ADDR + MOD_STRINGS_MAX) {
      throw new Error(
        `the module strings are too long: ${what} overflows the ${MOD_STRINGS_MAX} bytes there are for them`,
      );
    }
    bytes.set(m.data, at);
    bytes.set(string, stringAt); // the area was zeroed, so the NUL is already there
    loaded.push({ start: at, end, stringAddress: stringAt });
    stringAt += string.length + 1;
    at = pageAlign(end);
  });
  return loaded;
}

function pageAlign(address: number): number {
  return Math.ceil(address / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * The machine state at a multiboot kernel's entry, built on `reset` (the core's power-on
 * state): flat ring-0 32-bit code and data, PE on and paging off, EFLAGS with only the
 * reserved bit (IF = 0), EAX = the boot loader magic, EBX = the info structure.
 */
export function multibootEntryState(reset: CpuState, boot: MultibootBoot): CpuState {
  return flatProtectedModeEntry(reset, {
    eip: boot.entry,
    esp: 0x7000, // the spec leaves ESP undefined; this one at least points at free RAM
    codeSelector: CODE_SELECTOR,
    dataSelector: DATA_SELECTOR,
    gdtr: { base: GDT_ADDR, limit: 23 },
    registers: { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: boot.infoAddress },
  });
}
