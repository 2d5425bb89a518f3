// The guest image against the boot protocols, checked on the ELF itself (the lguest path
// cannot run until the lg module exists, but what the Launcher will look for can be checked
// now): the GenuineLguest signature once, with lguest_entry right after it; PAGE_OFFSET
// 0xC0000000 from every PT_LOAD's p_vaddr - p_paddr; a valid multiboot header in the first
// 8 KiB and a physical ELF entry; lguest_data initialised as the ABI requires; and the
// no-interrupt window around lguest_iret's final instructions.

import { LGUEST_DATA, LGUEST_SIGNATURE } from '@lguest/abi';
import { readElf32 } from '@lguest/elf';
import { fileOffsetOf, loadGuestImage } from './image';

const PAGE_OFFSET = 0xc0000000;
const { elf, symbols } = loadGuestImage();
const sym = (name: string): number => {
  const value = symbols[name];
  if (value === undefined) throw new Error(`symbol ${name} is not in build/guest.sym.json`);
  return value;
};

function indicesOf(haystack: Uint8Array, needle: Uint8Array): number[] {
  const found: number[] = [];
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    found.push(i);
  }
  return found;
}

describe('the guest image', () => {
  const info = readElf32(elf);

  it('is an i386 executable whose every PT_LOAD says PAGE_OFFSET 0xC0000000 and loads at 1 MiB', () => {
    expect(info.type).toBe(2);
    expect(info.machine).toBe(3);
    expect(info.loads.length).toBeGreaterThan(0);
    for (const s of info.loads) expect((s.vaddr - s.paddr) >>> 0).toBe(PAGE_OFFSET);
    expect(Math.min(...info.loads.map((s) => s.paddr))).toBe(0x100000);
  });

  it('carries "GenuineLguest" exactly once, right before lguest_entry', () => {
    const signature = new TextEncoder().encode(LGUEST_SIGNATURE);
    expect(signature.length).toBe(13);
    const hits = indicesOf(elf, signature);
    expect(hits).toHaveLength(1);
    // The Launcher starts at the virtual address just after the signature.
    expect(hits[0] + 13).toBe(fileOffsetOf(elf, sym('lguest_entry')));
  });

  it('has a multiboot header in the first 8 KiB and a physical entry point', () => {
    const v = new DataView(elf.buffer, elf.byteOffset);
    const at = indicesOf(elf.subarray(0, 8192), Uint8Array.of(0x02, 0xb0, 0xad, 0x1b)).find((o) => o % 4 === 0);
    expect(at).toBeDefined();
    const flags = v.getUint32(at! + 4, true);
    expect((0x1badb002 + flags + v.getUint32(at! + 8, true)) >>> 0).toBe(0);
    expect(flags & 0x10000).toBe(0); // an ELF: no a.out kludge
    expect(info.entry).toBe(sym('native_entry') - PAGE_OFFSET);
  });

  it('starts lguest_data with every async ring slot free and only the timer IRQ blocked', () => {
    const at = fileOffsetOf(elf, sym('lguest_data'));
    expect(at).toBeGreaterThan(0);
    const data = new DataView(elf.buffer, elf.byteOffset + at, LGUEST_DATA.size);
    expect(LGUEST_DATA.f.irq_enabled.get(data, 0)).toBe(0);
    expect(LGUEST_DATA.f.blocked_interrupts.get(data, 0, 0)).toBe(1);
    for (let i = 0; i < 64; i++) expect(LGUEST_DATA.f.hcall_status.get(data, 0, i)).toBe(0xff);
  });

  it('brackets the irq_enabled store and the iret of lguest_iret as the no-interrupt window', () => {
    const start = sym('lguest_noirq_start');
    const end = sym('lguest_noirq_end');
    expect(start).toBeGreaterThan(sym('lguest_iret'));
    const code = elf.subarray(fileOffsetOf(elf, start), fileOffsetOf(elf, end));
    expect(code[0]).toBe(0x36); // the %ss: override of the store
    expect(code.at(-1)).toBe(0xcf); // iret is the last instruction inside
    expect(code.length).toBeLessThanOrEqual(12);
  });

  it('keeps its kernel below the 4 MiB the Switcher takes at the top', () => {
    expect(sym('_end')).toBeLessThan(0xffc00000);
  });
});
