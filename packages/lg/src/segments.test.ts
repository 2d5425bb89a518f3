import { LHCALL_LOAD_GDT, LHCALL_LOAD_TLS, SWITCHER_ADDR } from '@lguest/abi';
import { testGuest, testLguest, poke32 } from './fixture';
import { doHcall } from './hypercalls';
import { descriptorBase, descriptorLimit, fixupDescriptor, isIgnoredGdt } from './segments';
import { runGuestOnce } from './switcher';

/** Fix up one descriptor and return its two words. */
function fixed(lo: number, hi: number): [number, number] {
  const gdt = Uint32Array.of(lo, hi);
  fixupDescriptor(gdt, 0);
  return [gdt[0], gdt[1]];
}

const hex = (pair: [number, number]): string[] => pair.map((w) => w.toString(16).padStart(8, '0'));

describe('GDT fix-ups (fixup_gdt_table)', () => {
  it('raises DPL 0 to 1 and sets the accessed bit', () => {
    // A small byte-granular kernel code segment: only DPL and accessed change.
    expect(hex(fixed(0x0000ffff, 0x00009a00))).toEqual(hex([0x0000ffff, 0x0000bb00]));
    // DPL 2 and 3 stay.
    expect(fixed(0x0000ffff, 0x0000d200)[1]).toBe(0x0000d300);
    expect(fixed(0x0000ffff, 0x0000f200)[1]).toBe(0x0000f300);
  });

  it('leaves the host-owned entries 10, 11, 16 and 31 alone', () => {
    for (let i = 0; i < 32; i++) expect([i, isIgnoredGdt(i)]).toEqual([i, [10, 11, 16, 31].includes(i)]);
  });
});

describe('the segmentation guard', () => {
  it('cuts flat 4 GiB segments to end just below the switcher', () => {
    for (const hi of [0x00cf9a00, 0x00cf9200, 0x00cff200, 0x00cffa00]) {
      const [lo2, hi2] = fixed(0x0000ffff, hi);
      expect(descriptorBase(lo2, hi2)).toBe(0);
      expect(descriptorLimit(lo2, hi2)).toBe(SWITCHER_ADDR - 1);
      expect(hi2 & 0x8000).toBe(0x8000); // still present
    }
    // The kernel's flat code segment, exactly: limit 0xFFBFF pages, DPL 1, accessed.
    expect(hex(fixed(0x0000ffff, 0x00cf9a00))).toEqual(hex([0x0000fbff, 0x00cfbb00]));
  });

  it('keeps segments that end below the switcher as they are', () => {
    // A TLS segment: base 0x0804a000, 4 KiB, byte granular, DPL 3.
    const lo = 0xa0000fff;
    const hi = 0x0840f204;
    expect(hex(fixed(lo, hi))).toEqual(hex([lo, hi | 0x100]));
    // Flat up to exactly SWITCHER_ADDR - 1 is fine too.
    expect(hex(fixed(0x0000fbff, 0x00cf9300))).toEqual(hex([0x0000fbff, 0x00cfb300]));
  });

  it('cuts a segment based just below the switcher to bytes when less than a page is left', () => {
    const base = SWITCHER_ADDR - 0x800;
    const lo = ((base & 0xffff) << 16) | 0xffff;
    const hi = (base & 0xff000000) | ((base >>> 16) & 0xff) | 0x00cf9200;
    const [lo2, hi2] = fixed(lo, hi);
    expect(descriptorBase(lo2, hi2)).toBe(base);
    expect(hi2 & 0x800000).toBe(0); // byte granular now
    expect(descriptorLimit(lo2, hi2)).toBe(0x7ff);
  });

  it('makes a segment based inside the switcher, or wrapping into it, not present', () => {
    const inside = fixed(0x0000ffff, 0xffcf92ff); // base 0xFFFF0000
    expect(inside[1] & 0x8000).toBe(0);
    // Base 0xFF000000 with a limit reaching past 0xFFC00000 is cut, not refused.
    const [lo2, hi2] = fixed(0x0000ffff, 0xffcf9200);
    expect(descriptorLimit(lo2, hi2)).toBe(SWITCHER_ADDR - 1 - 0xff000000);
  });

  it('refuses expand-down data segments that reach the switcher, keeps small ones', () => {
    // 32-bit expand-down with limit 0xfff: offsets (0xfff, 4 GiB) include the switcher.
    expect(fixed(0x00000000, 0x00c09600)[1] & 0x8000).toBe(0);
    // With the largest limit it is empty: nothing to refuse.
    expect(fixed(0x0000ffff, 0x00cf9600)[1] & 0x8000).toBe(0x8000);
    // 16-bit expand-down at 0x10000: offsets (0xfff, 0xffff] — far below.
    const [, hi] = fixed(0x00000fff, 0x00009601);
    expect(hi & 0x8000).toBe(0x8000);
  });

  it('drops system descriptors: TSS, LDT and call gates', () => {
    expect(fixed(0x20000067, 0x00008900)).toEqual([0, 0]); // 32-bit TSS
    expect(fixed(0x000000ff, 0x00008200)).toEqual([0, 0]); // LDT
    expect(fixed(0x00501000, 0xffc0ec00)).toEqual([0, 0]); // call gate to LGUEST_CS, DPL 3
    expect(fixed(0, 0)).toEqual([0, 0]);
  });
});

describe('LOAD_GDT and LOAD_TLS', () => {
  it('copies the guest GDT, fixed up, into the switcher page except the host entries', async () => {
    const { host, lg } = testLguest();
    const { guest, proc } = await testGuest(lg);
    const table = 0x10000;
    for (let i = 0; i < 32; i++) {
      poke32(proc, table + i * 8, 0x0000ffff);
      poke32(proc, table + i * 8 + 4, 0x00cf9200 | (i << 24)); // base i << 24, data, DPL 0
    }
    doHcall(guest, LHCALL_LOAD_GDT, table, 32, 0);
    expect(guest.dead).toBeNull();
    // Entry 5: base 0x05000000 flat: DPL 1, accessed, cut below the switcher.
    expect(descriptorBase(guest.gdt[10], guest.gdt[11])).toBe(0x05000000);
    expect(descriptorLimit(guest.gdt[10], guest.gdt[11])).toBe(SWITCHER_ADDR - 1 - 0x05000000);
    expect(guest.gdt[11] & 0x6100).toBe(0x2100);

    // Entering copies the table into page B; the host's entries keep their values.
    const sw = lg.switcher;
    await host.runOnCpu(proc, () => runGuestOnce(sw, guest));
    const gdt = (i: number): number => host.view.getUint32(sw.guestGdtPhys + i * 8 + 4, true);
    expect(gdt(5)).toBe(guest.gdt[11]);
    expect(gdt(10)).toBe(0x00cf9b00); // LGUEST_CS
    expect(gdt(11)).toBe(0x00cf9300); // LGUEST_DS
    expect(gdt(16) & 0xff00).toBe(0x8900); // our TSS (the switcher left it not busy)
    expect(gdt(31)).toBe(0);
    host.shutdown();
  });

  it('kills a guest that loads more than 32 entries, and fixes up TLS entries', async () => {
    const { host, lg } = testLguest();
    const a = await testGuest(lg);
    poke32(a.proc, 0x10000 + 8 * 1, 0x0000ffff);
    poke32(a.proc, 0x10000 + 8 * 1 + 4, 0x00cff200);
    doHcall(a.guest, LHCALL_LOAD_TLS, 0x10000, 0, 0);
    expect(descriptorLimit(a.guest.gdt[14], a.guest.gdt[15])).toBe(SWITCHER_ADDR - 1);
    doHcall(a.guest, LHCALL_LOAD_GDT, 0x10000, 33, 0);
    expect(a.guest.dead).toBe('too many gdt entries 33');
    host.shutdown();
  });
});
