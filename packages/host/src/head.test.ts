import { testHost } from './fixture';
import {
  ESC_INTERRUPT,
  ESC_RETURN,
  FRAME_ENTRY_STUBS,
  IRQ_STUB_SIZE,
  KERNEL_PGD_INDEX,
  PAGE_OFFSET,
  PAGE_SIZE,
  SWITCHER_PGD_INDEX,
  _PAGE_RW,
  __KERNEL_CS,
  __KERNEL_DS,
} from './layout';
import { translate } from './pgtable';

describe('the host as boot leaves it', () => {
  const host = testHost({ memoryMiB: 32 });
  afterAll(() => host.shutdown());
  const L = host.layout;

  it('has the Linux 2.6.23 i386 GDT', () => {
    expect(host.gdtDescriptor()).toEqual({ base: L.gdtVa, limit: 255 });
    expect(host.gdtEntry(12)).toEqual([0x0000ffff, 0x00cf9b00]); // __KERNEL_CS 0x60 (accessed)
    expect(host.gdtEntry(13)).toEqual([0x0000ffff, 0x00cf9300]); // __KERNEL_DS 0x68
    expect(host.gdtEntry(14)).toEqual([0x0000ffff, 0x00cffb00]); // __USER_CS 0x73
    expect(host.gdtEntry(15)).toEqual([0x0000ffff, 0x00cff300]); // __USER_DS 0x7b
    expect(host.gdtEntry(10)).toEqual([0, 0]); // left for lg: LGUEST_CS
    expect(host.gdtEntry(11)).toEqual([0, 0]); // LGUEST_DS
    const [lo, hi] = host.gdtEntry(16); // the TSS, busy
    expect(lo & 0xffff).toBe(0x67);
    expect(((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0).toBe(L.tssVa);
    expect((hi >>> 8) & 0xff).toBe(0x8b);
  });

  it('has an IDT of DPL-0 interrupt gates, one to each stub', () => {
    expect(host.idtDescriptor()).toEqual({ base: L.idtVa, limit: 2047 });
    for (const v of [0, 13, 14, 0x20, 0x80, 0xff]) {
      const lo = host.view.getUint32(L.idtPhys + v * 8, true);
      const hi = host.view.getUint32(L.idtPhys + v * 8 + 4, true);
      expect(lo >>> 16).toBe(__KERNEL_CS);
      expect((hi >>> 8) & 0xff).toBe(0x8e);
      expect(((lo & 0xffff) | (hi & 0xffff0000)) >>> 0).toBe(L.stubsVa + v * IRQ_STUB_SIZE);
    }
  });

  it('has stubs that store the vector, escape, drop an error code and iret', () => {
    const stub = (v: number): number[] => Array.from(host.readPhys(FRAME_ENTRY_STUBS * PAGE_SIZE + v * 16, 16));
    const slot = L.irqVectorSlotPhys + PAGE_OFFSET;
    const store = (v: number): number[] => [
      0x36,
      0xc6,
      0x05,
      slot & 0xff,
      (slot >>> 8) & 0xff,
      (slot >>> 16) & 0xff,
      slot >>> 24,
      v,
    ];
    expect(stub(0x20).slice(0, 12)).toEqual([...store(0x20), 0x0f, 0x04, ESC_INTERRUPT, 0xcf]);
    expect(stub(14)).toEqual([...store(14), 0x0f, 0x04, ESC_INTERRUPT, 0x8d, 0x64, 0x24, 0x04, 0xcf]);
    const ret = Array.from(host.readPhys(L.returnStubVa - PAGE_OFFSET, 96));
    const escape = ret.findIndex((b, i) => b === 0x0f && ret[i + 1] === 0x04);
    expect(escape).toBeGreaterThan(0);
    expect(ret[escape + 2]).toBe(ESC_RETURN);
  });

  it('has a TSS whose ring-0 stack is the kernel stack', () => {
    expect(host.view.getUint32(L.tssPhys + 4, true)).toBe(L.kernelStackTopVa);
    expect(host.view.getUint32(L.tssPhys + 8, true)).toBe(__KERNEL_DS);
    expect(host.view.getUint16(L.tssPhys + 102, true)).toBe(104);
  });

  it('has swapper_pg_dir with lowmem linearly mapped at PAGE_OFFSET and the switcher slot free', () => {
    const pgd = L.swapperPgdir;
    for (const phys of [0x5000, 0x123000, 32 * 1024 * 1024 - PAGE_SIZE]) {
      expect(translate(host.ram32, pgd, PAGE_OFFSET + phys + 0x10, true, false)).toBe(phys + 0x10);
      expect(translate(host.ram32, pgd, PAGE_OFFSET + phys, false, true)).toBe(-1); // not user
    }
    expect(L.lowmemEnd).toBe(32 << 20);
    expect(host.kernelPde(KERNEL_PGD_INDEX + 8)).toBe(0); // past 32 MiB
    expect(host.kernelPde(SWITCHER_PGD_INDEX)).toBe(0);
    for (let i = 0; i < KERNEL_PGD_INDEX; i++) expect(host.ram32[(pgd >>> 2) + i]).toBe(0);
    // The entry text is read-only, even to the kernel (CR0.WP).
    expect(host.kernelPte(L.stubsVa) & _PAGE_RW).toBe(0);
    expect(translate(host.ram32, pgd, L.stubsVa, true, false)).toBe(-1);
  });

  it('refuses impossible memory sizes with a clear error', () => {
    expect(() => testHost({ memoryMiB: 0 })).toThrow(/whole number of MiB from 1 to 2048/);
    expect(() => testHost({ memoryMiB: 1.5 })).toThrow(/whole number/);
  });
});
