// Booting a bzImage the way a PC boot loader does under the Linux/x86 boot protocol's 32-bit
// entry: we skip the real-mode setup code (it would ask a BIOS for the memory map and the
// video mode; this PC has no BIOS) and do its job ourselves — fill in the "zero page"
// (struct boot_params) with what setup would have found, and jump straight to the
// protected-mode kernel, which unpacks itself and goes on as if setup had run.
//
// The image: sector 0 and `setup_sects` more sectors of real-mode setup, then the
// protected-mode part, loaded at `code32_start` (1 MiB). The setup header, at 0x1F1 of the
// image ("HdrS" at 0x202, the protocol version at 0x206), goes into boot_params at the same
// offset; we then set what a boot loader sets: type_of_loader, cmd_line_ptr, ramdisk_image
// and ramdisk_size. Of what setup would have found we give the memory map (e820 at 0x2D0,
// its count at 0x1E8; ext_mem_k and alt_mem_k too) and the text screen (80x25 colour, so the
// kernel's own "Uncompressing Linux..." lands in RAM at 0xB8000 where a VGA would show it).
//
// At entry: flat 32-bit code at selector 0x10 and data at 0x18 (__BOOT_CS and __BOOT_DS, the
// GDT slots the protocol names), paging off, interrupts off, ESI = boot_params.
//
// Memory:
//   0x6000 GDT      0x7000 stack top (grows down)   0x8000 boot_params   0x9000 command line
//   0x9FC00-0xFFFFF reserved (EBDA, VGA, BIOS), as on a PC     0x100000 the kernel
//   initrd: page-aligned at the top of RAM (below initrd_addr_max), as boot loaders put it.

import type { CpuState } from '@lguest/x86';
import { flatProtectedModeEntry } from './entry-state';

/** "HdrS" at 0x202: the image has a boot protocol header. */
const HDRS = 0x53726448;
const SETUP_SECTS = 0x1f1;
const HEADER_MAGIC = 0x202;
const VERSION = 0x206;
const TYPE_OF_LOADER = 0x210;
const LOADFLAGS = 0x211;
const CODE32_START = 0x214;
const RAMDISK_IMAGE = 0x218;
const RAMDISK_SIZE = 0x21c;
const CMD_LINE_PTR = 0x228;
const INITRD_ADDR_MAX = 0x22c;
const CMDLINE_SIZE = 0x238;
const E820_ENTRIES = 0x1e8;
const E820_MAP = 0x2d0;
const ALT_MEM_K = 0x1e0;
/** loadflags bit 0: the protected-mode part is loaded at 1 MiB (a bzImage). */
const LOADED_HIGH = 0x01;
/** type_of_loader 0xFF: a boot loader without an assigned id. */
const LOADER_UNDEFINED = 0xff;

const GDT_ADDR = 0x6000;
const STACK_TOP = 0x7000;
export const BOOT_PARAMS_ADDR = 0x8000;
const CMDLINE_ADDR = 0x9000;
const CMDLINE_ROOM = 0x1000;
const BOOT_CS = 0x10;
const BOOT_DS = 0x18;
/** Where the low RAM a PC gives ends: the EBDA, the VGA window and the BIOS follow. */
const LOW_RAM_END = 0x9fc00;
const HIGH_RAM_START = 0x100000;
const E820_RAM = 1;
const E820_RESERVED = 2;

/** What `loadBzImage` did. */
export interface LinuxBoot {
  /** The protected-mode entry (code32_start). */
  entry: number;
  /** The boot protocol version, e.g. 0x0206. */
  protocol: number;
  /** boot_params (ESI at entry). */
  bootParams: number;
  /** Where the protected-mode kernel lies. */
  loadStart: number;
  loadEnd: number;
  /** The initrd, if one was given: [start, end). */
  initrd: { start: number; end: number } | null;
  /** The initrd again, as the one module of a multiboot boot's list (for callers of either). */
  modules: { start: number; end: number }[];
}

/** Whether `image` is a bzImage with a boot protocol header (HdrS). */
export function isBzImage(image: Uint8Array): boolean {
  if (image.length < 0x240) return false;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return view.getUint32(HEADER_MAGIC, true) === HDRS;
}

/**
 * Loads the bzImage `image` into `memory` with its command line and optional initrd and
 * writes boot_params. Throws (with what to do) for an image this loader cannot boot: an old
 * protocol, a zImage (loaded low), a kernel or initrd that does not fit, a command line
 * longer than the kernel takes.
 */
export function loadBzImage(
  image: Uint8Array,
  memory: ArrayBuffer,
  cmdline: string,
  initrd: Uint8Array | null,
): LinuxBoot {
  if (!isBzImage(image)) throw new Error('not a bzImage: no "HdrS" boot protocol header at 0x202');
  const img = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const protocol = img.getUint16(VERSION, true);
  if (protocol < 0x0203) {
    throw new Error(
      `boot protocol ${hex(protocol)} is too old for the 32-bit entry (2.03, Linux 2.4.18, is the oldest we boot)`,
    );
  }
  if ((image[LOADFLAGS] & LOADED_HIGH) === 0) {
    throw new Error('a zImage (loaded below 1 MiB) cannot be booted here: build a bzImage (make bzImage)');
  }
  const ram = new Uint8Array(memory);
  const setupSects = image[SETUP_SECTS] || 4;
  const kernelOffset = (setupSects + 1) * 512;
  const kernel = image.subarray(kernelOffset);
  const entry = img.getUint32(CODE32_START, true) || HIGH_RAM_START;
  if (entry + kernel.length > ram.length) {
    throw new Error(
      `the kernel (${kernel.length} bytes at ${hex(entry)}) does not fit in ${ram.length >> 20} MiB of RAM`,
    );
  }
  ram.fill(0, 0, HIGH_RAM_START);
  ram.set(kernel, entry);

  // boot_params: zero, then the image's setup header where it belongs (it ends at 0x202 plus
  // the byte at 0x201, the offset of the jump over it).
  const params = new DataView(memory, BOOT_PARAMS_ADDR, 0x1000);
  const headerEnd = Math.min(HEADER_MAGIC + image[0x201], 0x1000);
  ram.set(image.subarray(SETUP_SECTS, headerEnd), BOOT_PARAMS_ADDR + SETUP_SECTS);

  // What the real-mode setup would have found: the text screen, the memory.
  params.setUint8(0x06, 3); // orig_video_mode: 80x25 colour text
  params.setUint8(0x07, 80); // orig_video_cols
  params.setUint8(0x0e, 25); // orig_video_lines
  params.setUint8(0x0f, 1); // orig_video_isVGA
  params.setUint16(0x10, 16, true); // orig_video_points: font height
  const extKiB = (ram.length - HIGH_RAM_START) >> 10;
  params.setUint16(0x02, Math.min(extKiB, 0xffff), true); // ext_mem_k
  params.setUint32(ALT_MEM_K, extKiB, true);
  const e820: [number, number, number][] = [
    [0, LOW_RAM_END, E820_RAM],
    [LOW_RAM_END, 0xa0000 - LOW_RAM_END, E820_RESERVED],
    [0xf0000, 0x10000, E820_RESERVED],
    [HIGH_RAM_START, ram.length - HIGH_RAM_START, E820_RAM],
  ];
  e820.forEach(([addr, size, type], i) => {
    const at = E820_MAP + i * 20;
    params.setUint32(at, addr, true);
    params.setUint32(at + 4, 0, true);
    params.setUint32(at + 8, size, true);
    params.setUint32(at + 12, 0, true);
    params.setUint32(at + 16, type, true);
  });
  params.setUint8(E820_ENTRIES, e820.length);

  // What a boot loader sets.
  params.setUint8(TYPE_OF_LOADER, LOADER_UNDEFINED);
  const maxCmdline = protocol >= 0x0206 ? img.getUint32(CMDLINE_SIZE, true) : 255;
  const cmd = Buffer.from(cmdline, 'latin1');
  if (cmd.length > Math.min(maxCmdline, CMDLINE_ROOM - 1)) {
    throw new Error(`the command line is ${cmd.length} bytes; this kernel takes at most ${maxCmdline}`);
  }
  ram.set(cmd, CMDLINE_ADDR);
  ram[CMDLINE_ADDR + cmd.length] = 0;
  params.setUint32(CMD_LINE_PTR, CMDLINE_ADDR, true);

  let placed: LinuxBoot['initrd'] = null;
  if (initrd && initrd.length > 0) {
    const addrMax = img.getUint32(INITRD_ADDR_MAX, true) || 0x37ffffff;
    const top = Math.min(ram.length, addrMax + 1);
    const start = Math.floor((top - initrd.length) / 4096) * 4096;
    const kernelEnd = entry + kernel.length;
    // The kernel unpacks itself to about four times its packed size above 1 MiB; keep clear.
    if (start < kernelEnd + 4 * kernel.length) {
      throw new Error(
        `the initrd (${initrd.length} bytes) does not fit in ${ram.length >> 20} MiB of RAM beside the kernel: give more memory`,
      );
    }
    ram.set(initrd, start);
    params.setUint32(RAMDISK_IMAGE, start, true);
    params.setUint32(RAMDISK_SIZE, initrd.length, true);
    placed = { start, end: start + initrd.length };
  }

  // The GDT the protocol's entry assumes: __BOOT_CS (0x10) and __BOOT_DS (0x18), flat.
  const gdt = new DataView(memory, GDT_ADDR, 32);
  gdt.setUint32(BOOT_CS, 0x0000ffff, true);
  gdt.setUint32(BOOT_CS + 4, 0x00cf9b00, true);
  gdt.setUint32(BOOT_DS, 0x0000ffff, true);
  gdt.setUint32(BOOT_DS + 4, 0x00cf9300, true);

  return {
    entry,
    protocol,
    bootParams: BOOT_PARAMS_ADDR,
    loadStart: entry,
    loadEnd: entry + kernel.length,
    initrd: placed,
    modules: placed ? [placed] : [],
  };
}

/** The CPU at the 32-bit entry: flat ring 0, paging and interrupts off, ESI = boot_params. */
export function linuxEntryState(reset: CpuState, boot: LinuxBoot): CpuState {
  return flatProtectedModeEntry(reset, {
    eip: boot.entry,
    esp: STACK_TOP,
    codeSelector: BOOT_CS,
    dataSelector: BOOT_DS,
    gdtr: { base: GDT_ADDR, limit: 31 },
    registers: { esi: boot.bootParams },
  });
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}
