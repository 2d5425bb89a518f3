// How a guest starts (2.6.23: Documentation/lguest/lguest.c, drivers/lguest/lguest_asm.S,
// lguest_user.c). The Launcher fills guest-physical page 0 with a Linux "zero page" — just
// the fields lguest needs: a one-entry e820 map, the command line pointer and the initrd —
// puts the command line at 0x1000, finds the guest's entry point by the `GenuineLguest`
// signature in the loaded image, and starts it at ring 1 with %esi = 0 pointing at page 0.
// (lguest-abi.md §3.1–§3.4.)

import { __KERNEL_CS, __KERNEL_DS, X86_EFLAGS_IF } from './i386';
import { GUEST_PL } from './lguest';
import { defineStruct } from './struct';

/** Marks the lguest entry code; the entry point is the byte after it (13 bytes, no NUL). */
export const LGUEST_SIGNATURE = 'GenuineLguest';
export const LGUEST_SIGNATURE_LEN = LGUEST_SIGNATURE.length;

/** Guest-physical address of the zero page (the guest finds it through %esi = 0). */
export const LGUEST_BOOT_PARAMS_ADDR = 0;
/** Guest-physical address where the Launcher writes the kernel command line. */
export const LGUEST_CMDLINE_ADDR = 0x1000;
/** Bytes of command line the guest copies. */
export const COMMAND_LINE_SIZE = 2048;
/** Written to type_of_loader (only with an initrd, for the guest's initrd check). */
export const LGUEST_LOADER_TYPE = 0xff;
/** Written at the offset that boot protocol 2.07 calls hardware_subarch: "lguest". */
export const LGUEST_HARDWARE_SUBARCH = 1;

/** e820 entry type of usable RAM; the Launcher writes one such entry covering [0, mem). */
export const E820_RAM = 1;
/** Capacity of the zero page's e820 map. */
export const E820MAX = 128;

// The registers the guest starts with; everything else is zero (so %esi = 0 = boot params).
export const LGUEST_BOOT_CS = __KERNEL_CS | GUEST_PL;
export const LGUEST_BOOT_DS = __KERNEL_DS | GUEST_PL;
/** IF set, plus the always-one bit 1. */
export const LGUEST_BOOT_EFLAGS = X86_EFLAGS_IF | 0x2;

export const E820ENTRY = defineStruct('e820entry', [
  ['addr', 'u64'],
  ['size', 'u64'],
  ['type', 'u32'],
], { packed: true, doc: 'One BIOS-style memory map entry.' });

/**
 * The zero page at guest-physical 0, reduced to what lguest writes and reads; everything in
 * between is reserved (`pad_XXX` names the hex offset where the padding starts).
 */
export const BOOT_PARAMS = defineStruct('boot_params', [
  ['pad_000', 'u8', 0x1e8],
  ['e820_entries', 'u8'],
  ['pad_1e9', 'u8', 0x210 - 0x1e9],
  ['type_of_loader', 'u8'],
  ['pad_211', 'u8', 0x218 - 0x211],
  ['ramdisk_image', 'u32'],
  ['ramdisk_size', 'u32'],
  ['pad_220', 'u8', 0x228 - 0x220],
  ['cmd_line_ptr', 'u32'],
  ['pad_22c', 'u8', 0x23c - 0x22c],
  ['hardware_subarch', 'u32'],
  ['pad_240', 'u8', 0x2d0 - 0x240],
  ['e820_map', E820ENTRY, E820MAX],
  ['pad_cd0', 'u8', 0x1000 - (0x2d0 + E820MAX * E820ENTRY.size)],
], {
  packed: true,
  doc:
    'The Linux zero page (boot_params) at guest-physical 0, with only the members lguest uses ' +
    'named; pad_XXX are reserved bytes starting at offset 0xXXX.',
});
