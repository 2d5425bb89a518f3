// The TLB keeps one context per address space across CR3 loads (cpu.ts, "TLB and paging").
// That is only allowed because a kept translation is never staler than the tables it came
// from: each test below changes a table behind a context's back in one of the ways that can
// happen — the CPU writing it (from another address space, through a write entry it cached
// before the page became a table, with a read-modify-write), the host writing it and
// reporting it, a directory entry changing, a page rewritten whole — and checks that the
// address space sees the new mapping when it is current again. Each would read the old
// frame's value if coherence broke.

import { EMPTY_IO_BUS } from '../contract';
import { Cpu, TLB_CONTEXTS } from './cpu';
import { execute } from './exec';
import { CODE0, DATA0, enterPm, newCpu, standardGdt, w32 } from './pm-fixture';
import { EAX } from './regs';

// Two address spaces, A and B, each with its own directory and table mapping the first 4 MiB
// one to one — but for linear page V, which A maps to frame F1 and B to frame F2.
const PD_A = 0x80000,
  PT_A = 0x81000,
  PD_B = 0x82000,
  PT_B = 0x83000,
  F1 = 0x90000,
  F2 = 0x91000,
  F3 = 0x92000,
  V = 0x600000,
  /** Where B sees A's page table (an alias, so the CPU can write A's entries from B). */
  A_TABLE_IN_B = 0x700000,
  CODE = 0x20000;
const SLOT_V = (V >>> 12) & 0x3ff;
const RW = 0x3; // present, writable (supervisor)
const CR0_PG_PE = 0x80000011;

function space(c: Cpu, pd: number, pt: number, frameOfV: number): void {
  c.mem8.fill(0, pd, pd + 4096);
  w32(c, pd, pt | RW);
  for (let i = 0; i < 1024; i++) w32(c, pt + i * 4, (i << 12) | RW);
  // V lives in the second 4 MiB: its own table, right after the first.
  w32(c, pd + (V >>> 22) * 4, (pt + 0x4000) | RW);
  c.mem8.fill(0, pt + 0x4000, pt + 0x5000);
  w32(c, pt + 0x4000 + SLOT_V * 4, frameOfV | RW);
}

function machine(): Cpu {
  const c = newCpu4();
  standardGdt(c);
  space(c, PD_A, PT_A, F1);
  space(c, PD_B, PT_B, F2);
  // B also sees A's table for V at A_TABLE_IN_B.
  w32(c, PT_B + 0x4000 + ((A_TABLE_IN_B >>> 12) & 0x3ff) * 4, (PT_A + 0x4000) | RW);
  w32(c, F1, 0x11111111);
  w32(c, F2, 0x22222222);
  w32(c, F3, 0x33333333);
  enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, esp: 0x9000, cr0: CR0_PG_PE });
  c.loadCr3(PD_A);
  return c;
}

function newCpu4(): Cpu {
  return new Cpu({ memory: new ArrayBuffer(4 << 20), io: EMPTY_IO_BUS });
}

/** Execute one instruction at CODE. */
function run(c: Cpu, bytes: number[]): void {
  c.mem8.set(bytes, CODE);
  c.invalidatePhysical(CODE, bytes.length);
  c.eip = CODE;
  c.fetchLen = 0;
  c.instrStart = c.eip;
  execute(c);
}

/** mov %eax,%cr3 */
function movCr3(c: Cpu, v: number): void {
  c.regs[EAX] = v;
  run(c, [0x0f, 0x22, 0xd8]);
}

const read = (c: Cpu, lin: number): number => c.readLin32(lin) >>> 0;
const cached = (c: Cpu, lin: number): boolean => c.tlbSR[lin >>> 12] !== 0;

describe('TLB contexts across CR3 loads', () => {
  it('keep an address space’s translations while another runs, and give each its own', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    expect(cached(c, V)).toBe(false);
    expect(read(c, V)).toBe(0x22222222);
    movCr3(c, PD_A);
    expect(cached(c, V)).toBe(true); // not walked again
    expect(read(c, V)).toBe(0x11111111);
  });

  it('see an entry the CPU rewrote from another address space (no INVLPG)', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    c.writeLin32(A_TABLE_IN_B + SLOT_V * 4, F3 | RW);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x33333333);
  });

  it('see an entry rewritten by a read-modify-write instruction (xchg) and by a byte store', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    // xchg %eax,(A_TABLE_IN_B + SLOT_V*4)
    c.regs[EAX] = F3 | RW;
    const at = A_TABLE_IN_B + SLOT_V * 4;
    run(c, [0x87, 0x05, at & 0xff, (at >>> 8) & 0xff, (at >>> 16) & 0xff, at >>> 24]);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x33333333);
    movCr3(c, PD_B);
    // The second byte of the entry: frame F3 (0x92000) becomes F2 (0x91000).
    c.writeLin8(at + 1, (F2 >>> 8) & 0xff);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x22222222);
  });

  it('see a write through a write entry cached before its page became a page table', () => {
    const c = machine();
    // In B, write the page that is A's table for V while it is nobody's table yet: B caches a
    // write entry for it. Then A walks through it, and B writes the entry again.
    movCr3(c, PD_B);
    c.writeLin32(A_TABLE_IN_B + 4 * 1023, 0);
    expect(c.tlbSW[A_TABLE_IN_B >>> 12]).not.toBe(0);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    expect(c.tlbSW[A_TABLE_IN_B >>> 12]).toBe(0); // writes to a table take the slow path
    c.writeLin32(A_TABLE_IN_B + SLOT_V * 4, F3 | RW);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x33333333);
  });

  it('see an entry the host rewrote and reported with invalidatePhysical', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    w32(c, PT_A + 0x4000 + SLOT_V * 4, F3 | RW);
    c.invalidatePhysical(PT_A + 0x4000 + SLOT_V * 4, 4);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x33333333);
  });

  it('drop the 4 MiB a rewritten directory entry covered', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    // A's directory entry for V's 4 MiB now names B's table (V → F2 there).
    w32(c, PD_A + (V >>> 22) * 4, (PT_B + 0x4000) | RW);
    c.invalidatePhysical(PD_A + (V >>> 22) * 4, 4);
    movCr3(c, PD_A);
    expect(cached(c, V)).toBe(false);
    expect(cached(c, CODE)).toBe(true); // the first 4 MiB stays
    expect(read(c, V)).toBe(0x22222222);
  });

  it('forget an address space whose directory page the host rewrote whole', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    const saved = c.mem8.slice(PD_A, PD_A + 4096);
    saved.set([0, 0, 0, 0], (V >>> 22) * 4); // V's 4 MiB unmapped
    c.mem8.set(saved, PD_A);
    c.invalidatePhysical(PD_A, 4096);
    movCr3(c, PD_A);
    expect(cached(c, 0x1000)).toBe(false);
    expect(() => c.readLin32(V)).toThrow();
    expect(c.excVector).toBe(14);
  });

  it('keep translations when only accessed or dirty bits are set', () => {
    const c = machine();
    expect(read(c, V)).toBe(0x11111111);
    movCr3(c, PD_B);
    const at = A_TABLE_IN_B + SLOT_V * 4;
    c.writeLin32(at, c.readLin32(at) | 0x60);
    movCr3(c, PD_A);
    expect(cached(c, V)).toBe(true);
    // Clearing them is a change: the next access walks (and sets A again).
    movCr3(c, PD_B);
    c.writeLin32(at, F1 | RW);
    movCr3(c, PD_A);
    expect(cached(c, V)).toBe(false);
    expect(read(c, V)).toBe(0x11111111);
    expect(c.mem32[(PT_A + 0x4000 + SLOT_V * 4) >>> 2] & 0x20).toBe(0x20);
  });

  it('see a table entry rewritten in the current address space, with or without a CR3 reload', () => {
    const c = machine();
    const at = PT_A + 0x4000 + SLOT_V * 4;
    // A maps its own table for V at A_TABLE_IN_B too.
    w32(c, PT_A + 0x4000 + ((A_TABLE_IN_B >>> 12) & 0x3ff) * 4, (PT_A + 0x4000) | RW);
    c.flushTlb();
    expect(read(c, V)).toBe(0x11111111);
    c.writeLin32(A_TABLE_IN_B + SLOT_V * 4, F2 | RW);
    // Architecturally the old translation may linger until INVLPG or a CR3 load; ours never
    // does, so a reload of the same CR3 (which must flush) sees what a flushed TLB would.
    expect(read(c, V)).toBe(0x22222222);
    c.writeLin32(A_TABLE_IN_B + SLOT_V * 4, F3 | RW);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x33333333);
    expect(c.mem32[at >>> 2] >>> 0).toBe((F3 | RW | 0x20) >>> 0);
  });

  it('see a change to a table used under two directory indexes', () => {
    const c = machine();
    // B maps A's table for V also at directory index 3 (linear 0xC00000).
    w32(c, PD_B + 3 * 4, (PT_A + 0x4000) | RW);
    movCr3(c, PD_B);
    const alias = 0xc00000 + SLOT_V * 0x1000;
    expect(read(c, alias)).toBe(0x11111111);
    movCr3(c, PD_A);
    expect(read(c, V)).toBe(0x11111111);
    w32(c, PT_A + 0x4000 + SLOT_V * 4, F3 | RW);
    c.invalidatePhysical(PT_A + 0x4000 + SLOT_V * 4, 4);
    expect(read(c, V)).toBe(0x33333333);
    movCr3(c, PD_B);
    expect(read(c, alias)).toBe(0x33333333);
  });

  it('stop watching a page table once the directory entry naming it changes', () => {
    const c = machine();
    const table = (PT_A + 0x4000) >>> 12;
    // B sees A's directory at 0x7ff000 (in its table for V's 4 MiB), to rewrite it.
    w32(c, PT_B + 0x4000 + 0x3ff * 4, PD_A | RW);
    expect(read(c, V)).toBe(0x11111111);
    expect(c.tableUse[table]).not.toBe(0);
    movCr3(c, PD_B);
    c.writeLin32(0x7ff000 + (V >>> 22) * 4, 0);
    // Nothing of A comes through the table now: writes to it need not take the slow path.
    expect(c.tableUse[table]).toBe(0);
    movCr3(c, PD_A);
    expect(() => c.readLin32(V)).toThrow();
  });

  it('INVLPG drops one translation of the current address space only', () => {
    const c = machine();
    read(c, V);
    read(c, 0x1000);
    c.invlpg(V);
    expect([cached(c, V), cached(c, 0x1000)]).toEqual([false, true]);
  });

  it(`keep at most ${TLB_CONTEXTS} address spaces, the least recently used giving way`, () => {
    const c = machine();
    const dirs: number[] = [];
    for (let i = 0; i <= TLB_CONTEXTS; i++) {
      const pd = 0x100000 + i * 0x10000;
      space(c, pd, pd + 0x1000, F1);
      dirs.push(pd);
    }
    for (const pd of dirs) {
      movCr3(c, pd);
      read(c, V);
    }
    expect(c.tlbContexts.length).toBe(TLB_CONTEXTS);
    // The first went when the last came.
    movCr3(c, dirs[dirs.length - 1]);
    expect(cached(c, V)).toBe(true);
    movCr3(c, dirs[0]);
    expect(cached(c, V)).toBe(false);
    expect(read(c, V)).toBe(0x11111111);
  });

  it('setState keeps translations only when asked (and paging is unchanged)', () => {
    const c = machine();
    read(c, V);
    c.setState(c.getState(), { keepTranslations: true });
    expect(cached(c, V)).toBe(true);
    const st = c.getState();
    st.cr3 = PD_B;
    c.setState(st, { keepTranslations: true });
    st.cr3 = PD_A;
    c.setState(st, { keepTranslations: true });
    expect(cached(c, V)).toBe(true);
    c.setState(st);
    expect(cached(c, V)).toBe(false);
    read(c, V);
    st.cr0 = (st.cr0 | 0x10000) >>> 0; // WP changes what a supervisor may write
    c.setState(st, { keepTranslations: true });
    expect(cached(c, V)).toBe(false);
  });
});

describe('TLB context memory', () => {
  it('a core with one address space has one context', () => {
    const c = newCpu();
    standardGdt(c);
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000 });
    c.readLin32(0x1000);
    expect(c.tlbContexts.length).toBe(1);
  });
});
