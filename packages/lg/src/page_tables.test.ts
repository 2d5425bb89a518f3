import { LHCALL_FLUSH_TLB, LHCALL_NEW_PGTABLE, LHCALL_SET_PMD, LHCALL_SET_PTE } from '@lguest/abi';
import { HOST_CR0, type Host } from '@lguest/host';
import { interp } from '@lguest/x86';
import type { Lguest } from './core';
import { poke32, peek32, testGuest, testLguest, type TestGuest } from './fixture';
import { doHcall } from './hypercalls';
import { demandPage, freeGuestPagetable, guestVirtToPhys } from './page_tables';

// The guest: 4 MiB at 0; its page directory at 0x3ff000 maps 0xc0000000 through the page
// table at 0x3fe000 (a kernel PGD entry, 0x63) and 0x08048000 through 0x3fd000 (a user one).
const PGDIR = 0x3ff000;
const KTABLE = 0x3fe000;
const UTABLE = 0x3fd000;
const KVA = 0xc0000000;
const UVA = 0x08048000;
const P = 0x001;
const RW = 0x002;
const USER = 0x004;
const ACCESSED = 0x020;
const DIRTY = 0x040;

describe('shadow page tables', () => {
  let host: Host;
  let lg: Lguest;
  let t: TestGuest;

  /** The shadow PTE for `va` in the current shadow directory (0 if none). */
  function shadowPte(va: number, index = t.guest.pgdidx): number {
    const dir = t.guest.pgdirs[index].pgdir;
    const pde = host.ram32[(dir >>> 2) + (va >>> 22)] >>> 0;
    if (!(pde & P)) return 0;
    return host.ram32[((pde & ~0xfff) >>> 2) + ((va >>> 12) & 1023)] >>> 0;
  }
  const kpte = (i: number): number => KTABLE + i * 4;

  beforeEach(async () => {
    ({ host, lg } = testLguest());
    t = await testGuest(lg, { pgdir: PGDIR });
    poke32(t.proc, PGDIR + (KVA >>> 22) * 4, KTABLE | 0x63);
    poke32(t.proc, PGDIR + (UVA >>> 22) * 4, UTABLE | 0x67);
    poke32(t.proc, kpte(0), 0x100000 | P | RW); // writable, not yet dirty
    poke32(t.proc, kpte(1), 0x101000 | P | RW | DIRTY);
    poke32(t.proc, kpte(2), 0x102000 | P); // read-only
    poke32(t.proc, UTABLE + ((UVA >>> 12) & 1023) * 4, 0x200000 | P | RW | USER);
  });
  afterEach(() => host.shutdown());

  it('fills a fault from the guest entry: the launcher frame, read-only until dirty', () => {
    const frame = host.getUserPages(t.proc, 0x100000, false);
    host.putPage(frame);
    expect(demandPage(t.guest, KVA, 0)).toBe(true);
    expect((shadowPte(KVA) & ~0xfff) >>> 0).toBe(frame);
    expect(shadowPte(KVA) & (P | RW)).toBe(P);
    expect(peek32(t.proc, kpte(0)) & (ACCESSED | DIRTY)).toBe(ACCESSED);
    expect(host.pages.refCount(frame)).toBe(2); // the launcher's mapping and our shadow

    // The first write comes back here: now the guest's entry is dirty and ours writable.
    expect(demandPage(t.guest, KVA + 4, 2)).toBe(true);
    expect(shadowPte(KVA) & (P | RW)).toBe(P | RW);
    expect(peek32(t.proc, kpte(0)) & (ACCESSED | DIRTY)).toBe(ACCESSED | DIRTY);
    expect(host.pages.refCount(frame)).toBe(2); // the old reference was dropped

    // An entry that is already dirty is writable at once.
    expect(demandPage(t.guest, KVA + 0x1000, 0)).toBe(true);
    expect(shadowPte(KVA + 0x1000) & RW).toBe(RW);

    freeGuestPagetable(t.guest);
    expect(host.pages.refCount(frame)).toBe(1);
  });

  it('leaves faults the guest tables do not allow to the guest', () => {
    expect(demandPage(t.guest, KVA + 0x2000, 2)).toBe(false); // write to read-only
    expect(demandPage(t.guest, KVA + 0x3000, 0)).toBe(false); // not present
    expect(demandPage(t.guest, KVA, 4)).toBe(false); // user access to a kernel page
    expect(demandPage(t.guest, 0x40000000, 0)).toBe(false); // no page table
    expect(demandPage(t.guest, UVA, 4 | 2)).toBe(true); // user write to a user page
    expect(t.guest.dead).toBeNull();
  });

  it('kills a guest whose entries are bad', async () => {
    poke32(t.proc, kpte(3), 0x100000 | P | 0x080); // PSE in a PTE
    demandPage(t.guest, KVA + 0x3000, 0);
    expect(t.guest.dead).toBe('bad page table entry');

    const b = await testGuest(lg, { pgdir: PGDIR });
    poke32(b.proc, PGDIR + (KVA >>> 22) * 4, KTABLE | 0x63);
    poke32(b.proc, KTABLE, 0x400000 | P); // page 1024: past the guest's 4 MiB
    demandPage(b.guest, KVA, 0);
    expect(b.guest.dead).toBe('bad page table entry');

    const c = await testGuest(lg, { pgdir: PGDIR });
    poke32(c.proc, PGDIR + (KVA >>> 22) * 4, KTABLE | 0xe3); // PSE in a PGD entry
    demandPage(c.guest, KVA, 0);
    expect(c.guest.dead).toBe('bad page directory entry');
  });

  it('kills a guest that touches the switcher slot', async () => {
    demandPage(t.guest, 0xffc00010, 2);
    expect(t.guest.dead).toBe('attempt to access switcher pages');
    const b = await testGuest(lg, { pgdir: PGDIR });
    doHcall(b.guest, LHCALL_SET_PTE, PGDIR, 0xffc01000, 0x100000 | P | RW | ACCESSED);
    expect(b.guest.dead).toBe('attempt to access switcher pages');
    // SET_PMD of the slot is ignored, as in 2.6.23.
    const c = await testGuest(lg, { pgdir: PGDIR });
    doHcall(c.guest, LHCALL_SET_PMD, PGDIR, 1023, 0);
    expect(c.guest.dead).toBeNull();
  });

  it('SET_PTE: kernel addresses in every cached shadow, user addresses in their own', () => {
    expect(demandPage(t.guest, KVA, 0)).toBe(true);
    expect(demandPage(t.guest, UVA, 0)).toBe(true);
    // A second directory sharing the kernel half.
    const PGDIR2 = 0x3fc000;
    poke32(t.proc, PGDIR2 + (KVA >>> 22) * 4, KTABLE | 0x63);
    poke32(t.proc, PGDIR2 + (UVA >>> 22) * 4, UTABLE | 0x67);
    // The slot is picked at random (it may even be the current one); make it slot 1.
    t.guest.evictSeed = 1;
    doHcall(t.guest, LHCALL_NEW_PGTABLE, PGDIR2, 0, 0);
    const second = t.guest.pgdidx;
    expect(t.guest.pgdirs[second].gpgdir).toBe(PGDIR2);
    expect(demandPage(t.guest, KVA, 0)).toBe(true);
    expect(demandPage(t.guest, UVA, 0)).toBe(true);
    const first = t.guest.pgdirs.findIndex((p) => p.gpgdir === PGDIR);

    // A dirty kernel entry goes in everywhere at once; a user one only where it belongs.
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR2, KVA, 0x105000 | P | RW | ACCESSED | DIRTY);
    for (const i of [first, second]) expect(shadowPte(KVA, i) & (P | RW)).toBe(P | RW);
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR, UVA, 0);
    expect(shadowPte(UVA, first)).toBe(0);
    expect(shadowPte(UVA, second) & P).toBe(P);
    // An entry the CPU has not used waits for the fault; one accessed but clean is read-only.
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR, KVA, 0x105000 | P | RW);
    expect(shadowPte(KVA, first)).toBe(0);
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR, KVA, 0x105000 | P | RW | ACCESSED);
    expect(shadowPte(KVA, first) & (P | RW)).toBe(P);

    // SET_PMD drops our page table; FLUSH_TLB(0) the user half; FLUSH_TLB(1) everything.
    doHcall(t.guest, LHCALL_SET_PMD, PGDIR2, UVA >>> 22, 0);
    expect(shadowPte(UVA, second)).toBe(0);
    doHcall(t.guest, LHCALL_NEW_PGTABLE, PGDIR, 0, 0);
    expect(t.guest.pgdidx).toBe(first); // found in the cache
    doHcall(t.guest, LHCALL_FLUSH_TLB, 1, 0, 0);
    expect(shadowPte(KVA, first)).toBe(0);
    expect(shadowPte(KVA, second)).toBe(0);
  });

  it('keeps the CPU coherent with what it writes: a translation the CPU kept is never stale', () => {
    // The CPU reads KVA through the shadow and goes back to the host's page directory, as a
    // trip through the switcher does; the TLB keeps the shadow's translations meanwhile.
    const core = host.core as interp.Cpu;
    const shadow = t.guest.pgdirs[t.guest.pgdidx].pgdir;
    const load = (cr3: number): void => {
      const st = core.getState();
      st.cr0 = HOST_CR0;
      st.cr3 = cr3;
      st.cpl = 0;
      core.setState(st, { keepTranslations: true });
    };
    const hostCr3 = host.currentCr3();
    poke32(t.proc, 0x101000, 0x1111);
    poke32(t.proc, 0x105000, 0x5555);
    expect(demandPage(t.guest, KVA, 0)).toBe(true);
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR, KVA, 0x101000 | P | RW | ACCESSED | DIRTY);
    load(shadow);
    expect(core.readLin32(KVA)).toBe(0x1111);
    load(hostCr3);
    // The guest moves KVA to another page while the host runs; the shadow entry changes.
    doHcall(t.guest, LHCALL_SET_PTE, PGDIR, KVA, 0x105000 | P | RW | ACCESSED | DIRTY);
    load(shadow);
    expect(core.readLin32(KVA)).toBe(0x5555);
    load(hostCr3);
    // Dropped altogether: the CPU must fault (and lg would fill it in again).
    doHcall(t.guest, LHCALL_FLUSH_TLB, 1, 0, 0);
    load(shadow);
    expect(() => core.readLin32(KVA)).toThrow();
    expect([core.excVector, core.cr2 >>> 0]).toEqual([14, KVA]);
  });

  it('keeps at most four shadows, reusing one for a fifth directory', () => {
    const dirs = [0x3f0000, 0x3f1000, 0x3f2000, 0x3f3000, 0x3f4000, 0x3f5000, 0x3f6000];
    for (const d of dirs) doHcall(t.guest, LHCALL_NEW_PGTABLE, d, 0, 0);
    // The slot for a new directory is chosen at random (random32() % 4 in the original).
    const cached = t.guest.pgdirs.filter((p) => p.pgdir !== 0);
    expect(cached.length).toBeGreaterThanOrEqual(2);
    expect(cached.length).toBeLessThanOrEqual(4);
    expect(t.guest.pgdirs[t.guest.pgdidx].gpgdir).toBe(0x3f6000);
    const again = t.guest.pgdidx;
    doHcall(t.guest, LHCALL_NEW_PGTABLE, cached[0].gpgdir, 0, 0);
    doHcall(t.guest, LHCALL_NEW_PGTABLE, 0x3f6000, 0, 0);
    expect(t.guest.pgdidx).toBe(again);
  });

  it('translates guest-virtual addresses through the guest tables for messages', () => {
    expect(guestVirtToPhys(t.guest, KVA + 0x1234)).toBe(0x101234);
    expect(guestVirtToPhys(t.guest, KVA + 0x3000)).toBe(-1);
    expect(guestVirtToPhys(t.guest, 0xffc00000)).toBe(-1);
    expect(t.guest.dead).toBeNull();
  });
});
