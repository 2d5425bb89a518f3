// What the guest finds when it wakes: the boot parameters, the command line, an initrd if it
// asked for one, and page tables that map its memory where its kernel expects it.
//
// The Launcher's page tables map all of RAM (up to the 1 GiB above a 3G/1G PAGE_OFFSET) at
// PAGE_OFFSET and nothing else: the kernel runs at its linked addresses from its first
// instruction and builds its own tables later. They sit at the top of RAM, below the initrd
// — the directory in the last page, its page tables just under it — where the guest knows
// to leave them alone. The boot parameters are a Linux "zero page" at physical 0 with just
// what lguest uses filled in: one e820 entry for all of RAM, the command line's address
// (it is at 0x1000), and the initrd's place and size.

import {
  BOOT_PARAMS,
  COMMAND_LINE_SIZE,
  E820ENTRY,
  E820_RAM,
  LGUEST_CMDLINE_ADDR,
  LGUEST_HARDWARE_SUBARCH,
  LGUEST_LOADER_TYPE,
  PAGE_SIZE,
  PTRS_PER_PTE,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
} from '@lguest/abi';
import type { Process } from '@lguest/host';
import { LauncherExit } from './errors';
import { readWholeFile } from './kernel';
import type { GuestMemory } from './memory';

/** Flags of the launcher's page-table entries: present, writable, user. */
const PT_FLAGS = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

/** Round up to a whole page. */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * load_initrd: the file at `path` at the very top of RAM. Returns its size rounded up to a
 * page (which is what the guest is told).
 */
export async function loadInitrd(proc: Process, mem: GuestMemory, path: string): Promise<number> {
  const image = await readWholeFile(proc, path, 'initrd');
  const size = pageAlign(image.length);
  if (size + PAGE_SIZE >= mem.mem) throw new LauncherExit(1, `initrd ${path} does not fit in guest memory`);
  mem.write(mem.mem - size, image);
  return size;
}

/**
 * The guest memory, in MiB, that a kernel ending at `kernelEnd` (guest-physical) and an
 * initrd of `initrdSize` bytes need: the initrd at the top, the page tables and their
 * directory below it, all above the kernel, with at least as much again left for the
 * kernel to run in as the tables take.
 */
export function memoryNeededMiB(kernelEnd: number, initrdSize: number): number {
  for (let mib = 2; ; mib++) {
    const mem = mib * 0x100000;
    const tables = (Math.ceil(mem / PAGE_SIZE / PTRS_PER_PTE) + 1) * PAGE_SIZE;
    if (pageAlign(kernelEnd) + 2 * tables + pageAlign(initrdSize) <= mem) return mib;
  }
}

/**
 * setup_pagetables: map physical [0, mem) at `pageOffset` (at most the 4 GiB above it).
 * Returns the guest-physical address of the page directory.
 */
export function setupPagetables(mem: GuestMemory, initrdSize: number, pageOffset: number): number {
  const mappedPages = Math.min(mem.mem, 0x1_0000_0000 - pageOffset) / PAGE_SIZE;
  const linearPages = Math.ceil(mappedPages / PTRS_PER_PTE);
  const pgdir = mem.mem - initrdSize - PAGE_SIZE;
  const linear = pgdir - linearPages * PAGE_SIZE;
  if (linear <= 0) throw new LauncherExit(1, 'Guest memory is too small for its page tables');

  const ptes = new Uint8Array(linearPages * PAGE_SIZE);
  const ptesView = new DataView(ptes.buffer);
  for (let i = 0; i < mappedPages; i++) ptesView.setUint32(i * 4, (i * PAGE_SIZE) | PT_FLAGS, true);
  mem.write(linear, ptes);

  const dir = new Uint8Array(PAGE_SIZE);
  const dirView = new DataView(dir.buffer);
  for (let i = 0; i < mappedPages; i += PTRS_PER_PTE) {
    const index = (i + pageOffset / PAGE_SIZE) / PTRS_PER_PTE;
    dirView.setUint32(index * 4, (linear + i * 4) | PT_FLAGS, true);
  }
  mem.write(pgdir, dir);
  return pgdir;
}

/** concat_cmdline: every argument followed by one space. */
export function commandLine(args: readonly string[]): Uint8Array {
  const text = new TextEncoder().encode(args.map((a) => `${a} `).join(''));
  if (text.length >= COMMAND_LINE_SIZE) {
    throw new LauncherExit(1, `The kernel command line is ${text.length} bytes; the limit is ${COMMAND_LINE_SIZE - 1}`);
  }
  return text;
}

/**
 * The zero page and the command line: one e820 entry of RAM, the command line at 0x1000,
 * "lguest" in hardware_subarch, and the initrd (if `initrdSize`) at the top of RAM.
 */
export function writeBootParams(mem: GuestMemory, args: readonly string[], initrdSize: number): void {
  const page = new Uint8Array(PAGE_SIZE);
  const view = new DataView(page.buffer);
  BOOT_PARAMS.f.e820_entries.set(view, 0, 1);
  const e820 = BOOT_PARAMS.f.e820_map.at(0);
  E820ENTRY.f.addr.set(view, e820, 0n);
  E820ENTRY.f.size.set(view, e820, BigInt(mem.mem));
  E820ENTRY.f.type.set(view, e820, E820_RAM);
  BOOT_PARAMS.f.cmd_line_ptr.set(view, 0, LGUEST_CMDLINE_ADDR);
  BOOT_PARAMS.f.hardware_subarch.set(view, 0, LGUEST_HARDWARE_SUBARCH);
  if (initrdSize) {
    BOOT_PARAMS.f.type_of_loader.set(view, 0, LGUEST_LOADER_TYPE);
    BOOT_PARAMS.f.ramdisk_image.set(view, 0, mem.mem - initrdSize);
    BOOT_PARAMS.f.ramdisk_size.set(view, 0, initrdSize);
  }
  mem.write(0, page);
  mem.write(LGUEST_CMDLINE_ADDR, commandLine(args));
}
