import type { Host } from '@lguest/host';
import type { Lguest } from './core';
import { poke32, testGuest, testLguest, type TestGuest } from './fixture';
import { bindDma } from './io';
import { demandPage } from './page_tables';
import { loadGuestState, saveGuestState, unsavable, writeProtectShadows } from './snapshot';

// As in page_tables.test.ts: 4 MiB at 0, the directory at 0x3ff000 mapping 0xc0000000
// through the page table at 0x3fe000.
const PGDIR = 0x3ff000;
const KTABLE = 0x3fe000;
const KVA = 0xc0000000;
const P = 0x001;
const RW = 0x002;
const DIRTY = 0x040;

describe("lg's half of a snapshot", () => {
  let host: Host;
  let lg: Lguest;
  let t: TestGuest;

  beforeEach(async () => {
    ({ host, lg } = testLguest());
    t = await testGuest(lg, { pgdir: PGDIR });
    poke32(t.proc, PGDIR + (KVA >>> 22) * 4, KTABLE | 0x63);
    poke32(t.proc, KTABLE, 0x100000 | P | RW | DIRTY);
  });
  afterEach(() => host.shutdown());

  it('gives a new guest the saved registers, tables, bindings, interrupts and clock event', async () => {
    const g = t.guest;
    g.lguestData = 0x5000;
    g.irqsPending = 0b1010;
    g.idt[2 * 14] = 0x00601234;
    g.gdt[2 * 12 + 1] = 0x00cfbb00;
    g.halted = true;
    host.view.setUint32(g.regs + 0x20, 0xdeadbeef, true);
    expect(bindDma(g, 0x8000, 0x9000, 1, 3)).toBe(1);
    g.clock.start(123_456_789);
    const state = saveGuestState(g);
    // Through JSON, as in a snapshot file.
    const copy = JSON.parse(JSON.stringify(state)) as typeof state;

    const other = await testGuest(lg, { pgdir: PGDIR });
    expect(loadGuestState(other.guest, copy, { sec: 0, nsec: 0 })).toBeNull();
    const h = other.guest;
    expect(host.view.getUint32(h.regs + 0x20, true)).toBe(0xdeadbeef);
    expect([h.lguestData, h.irqsPending, h.idt[2 * 14], h.gdt[2 * 12 + 1], h.halted]).toEqual([
      0x5000,
      0b1010,
      0x00601234,
      0x00cfbb00,
      true,
    ]);
    expect(h.dma.filter((d) => d.interrupt).map((d) => [d.dmas, d.interrupt])).toEqual([[0x9000, 3]]);
    expect([h.clock.active, h.clock.expires]).toEqual([true, 123_456_789]);
  });

  it('refuses a state of another version or for other memory, changing nothing', async () => {
    const state = saveGuestState(t.guest);
    const other = await testGuest(lg, { pgdir: PGDIR });
    expect(loadGuestState(other.guest, { ...state, version: 99 }, { sec: 0, nsec: 0 })).toMatch(/version 99/);
    expect(loadGuestState(other.guest, { ...state, pfnLimit: 5 }, { sec: 0, nsec: 0 })).toMatch(/not the saved one/);
    expect(other.guest.lguestData).toBe(0);
  });

  it('cannot save a guest that is running or dead', () => {
    t.guest.inRead = true;
    expect(unsavable(t.guest)).toMatch(/running/);
    t.guest.inRead = false;
    t.guest.dead = 'CRASH: Power down';
    expect(() => saveGuestState(t.guest)).toThrow(/dead/);
  });

  it("write-protects the shadows, so the guest's next write is a fault that dirties the launcher's page", () => {
    const g = t.guest;
    expect(demandPage(g, KVA, 2)).toBe(true);
    const spte = () => host.ram32[(host.ram32[(g.pgdirs[g.pgdidx].pgdir >>> 2) + (KVA >>> 22)] & ~0xfff) >>> 2] >>> 0;
    expect(spte() & RW).toBe(RW);
    const dirtyPages = () => {
      const out: number[] = [];
      t.proc.residentPages(0, 4 << 20, (addr, dirty) => dirty && out.push(addr));
      return out;
    };
    t.proc.clearSoftDirty(0, 4 << 20);
    writeProtectShadows(g);
    expect(spte() & RW).toBe(0);
    expect(dirtyPages()).not.toContain(0x100000);
    // The guest writes: the CPU faults on the read-only shadow, lg maps it writable again.
    expect(demandPage(g, KVA, 2)).toBe(true);
    expect(spte() & RW).toBe(RW);
    expect(dirtyPages()).toContain(0x100000);
  });
});
