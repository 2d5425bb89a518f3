// The built guest image and what the tests need to know about it: the ELF bytes, its
// symbols (build/guest.sym.json), and a readable error if `build` has not run.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readElf32 } from '@lguest/elf';

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

/** The file offset of the byte at virtual address `vaddr`, or -1 if no segment has it in the file. */
export function fileOffsetOf(elf: Uint8Array, vaddr: number): number {
  for (const s of readElf32(elf).loads) {
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
  }
  return -1;
}
