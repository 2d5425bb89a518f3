// The built guest image and what the tests need to know about it: the ELF bytes, its
// symbols (build/guest.sym.json), and a readable error if `build` has not run.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface GuestImage {
  elf: Uint8Array;
  symbols: Record<string, number>;
}

/** The package directory (this file lives in src/). */
export const PACKAGE_DIR = resolve(__dirname, '..');

/** Reads build/guest.elf and its symbols; throws saying how to build them if missing. */
export function loadGuestImage(name = 'guest'): GuestImage {
  const elfPath = join(PACKAGE_DIR, 'build', `${name}.elf`);
  const symPath = join(PACKAGE_DIR, 'build', `${name}.sym.json`);
  if (!existsSync(elfPath) || !existsSync(symPath)) {
    throw new Error(
      `${elfPath} is missing: build the guest first (npx nx build guest, or npm run build in packages/guest)`,
    );
  }
  return {
    elf: new Uint8Array(readFileSync(elfPath)),
    symbols: JSON.parse(readFileSync(symPath, 'utf8')) as Record<string, number>,
  };
}

/** One PT_LOAD program header. */
export interface LoadSegment {
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

/** e_entry and the PT_LOAD segments of a 32-bit little-endian ELF. */
export function readElf(elf: Uint8Array): { type: number; machine: number; entry: number; loads: LoadSegment[] } {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const loads: LoadSegment[] = [];
  for (let i = 0; i < v.getUint16(44, true); i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== 1) continue;
    loads.push({
      offset: v.getUint32(ph + 4, true),
      vaddr: v.getUint32(ph + 8, true),
      paddr: v.getUint32(ph + 12, true),
      filesz: v.getUint32(ph + 16, true),
      memsz: v.getUint32(ph + 20, true),
    });
  }
  return { type: v.getUint16(16, true), machine: v.getUint16(18, true), entry: v.getUint32(24, true), loads };
}

/** The file offset of the byte at virtual address `vaddr`, or -1 if no segment has it in the file. */
export function fileOffsetOf(elf: Uint8Array, vaddr: number): number {
  for (const s of readElf(elf).loads) {
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
  }
  return -1;
}
