import { DS, EBX, LDTR, TR } from './regs';
import type { Cpu } from './cpu';
import { group6, group7, larLsl, arpl } from './system';
import {
  A_CALL32,
  A_CODE,
  A_DATA,
  A_INT32,
  A_LDT,
  A_TSS32,
  CODE0,
  CODE1,
  CODE3,
  CONF0,
  DATA0,
  DATA1,
  DATA3,
  DPL3,
  F_32,
  GDT_LIMIT,
  LDT,
  LDTSEL,
  TSSA,
  TSSB,
  TSS_B,
  accessByte,
  enterPm,
  faultsCleanly,
  gate,
  newCpu,
  r16,
  r32,
  seg,
  standardGdt,
  w16,
  w32,
} from './pm-fixture';

const ZF = 0x40;
const SCRATCH = 0x7000;

/** ModRM for `/op` with a register operand, or the memory operand [EBX] (32-bit addressing). */
const reg = (op: number, rm: number): number => 0xc0 | (op << 3) | rm;
const mem = (op: number): number => (op << 3) | EBX;

function machine(cpl = 0): Cpu {
  const c = newCpu();
  standardGdt(c);
  const cs = [CODE0, CODE1, CODE1, CODE3][cpl];
  const ds = [DATA0, DATA1, DATA1, DATA3][cpl];
  enterPm(c, { cpl, cs, ss: ds, ds, esp: 0x8000 });
  c.a32 = 1;
  c.o32 = 1;
  c.regs[EBX] = SCRATCH;
  return c;
}

function realMode(c: Cpu): void {
  const st = c.getState();
  st.cs = { selector: 0, base: 0, limit: 0xffff, access: 0x9b };
  st.ds = { selector: 0, base: 0, limit: 0xffff, access: 0x93 };
  c.setState(st);
  c.a32 = 1;
  c.regs[EBX] = SCRATCH;
}

function v86(c: Cpu): void {
  const st = c.getState();
  st.cr0 = 0x11;
  st.eflags = 0x23002;
  st.cpl = 3;
  st.cs = { selector: 0, base: 0, limit: 0xffff, access: 0xfb };
  st.ds = { selector: 0, base: 0, limit: 0xffff, access: 0xf3 };
  c.setState(st);
  c.a32 = 1;
  c.regs[EBX] = SCRATCH;
}

const zf = (c: Cpu): boolean => (c.getEflags() & ZF) !== 0;

describe('0F 00: SLDT STR LLDT LTR VERR VERW', () => {
  it('is #UD outside protected mode, and for /6 and /7', () => {
    for (let op = 0; op < 6; op++) {
      const c = newCpu();
      realMode(c);
      expect(faultsCleanly(c, () => group6(c, reg(op, 0)))).toEqual([6, -1]);
      v86(c);
      expect(faultsCleanly(c, () => group6(c, reg(op, 0)))).toEqual([6, -1]);
    }
    const c = machine();
    expect(faultsCleanly(c, () => group6(c, reg(6, 0)))).toEqual([6, -1]);
    expect(faultsCleanly(c, () => group6(c, reg(7, 0)))).toEqual([6, -1]);
  });

  it('SLDT and STR store a word to memory and zero-extend into a 32-bit register', () => {
    const c = machine(3);
    w32(c, SCRATCH, 0xffffffff);
    group6(c, mem(1));
    expect(r32(c, SCRATCH)).toBe((0xffff0000 | TSSA) >>> 0);
    c.regs[2] = -1;
    group6(c, reg(1, 2));
    expect(c.regs[2]).toBe(TSSA);
    c.o32 = 0;
    c.regs[2] = -1;
    group6(c, reg(0, 2));
    expect(c.regs[2] >>> 0).toBe(0xffff0000);
  });

  it('LLDT loads an LDT descriptor, or makes LDTR unusable with a null selector', () => {
    const c = machine();
    w16(c, SCRATCH, LDTSEL);
    group6(c, mem(2));
    expect([c.segSel[LDTR], c.segBase[LDTR], c.segLimit[LDTR], c.segAccess[LDTR]]).toEqual([LDTSEL, LDT, 0x3f, A_LDT]);
    c.regs[1] = 0;
    group6(c, reg(2, 1));
    expect([c.segSel[LDTR], c.segAccess[LDTR]]).toEqual([0, 0]);
  });

  it.each([
    ['at CPL 1', 1, LDTSEL, [13, 0]],
    ['of a data segment', 0, DATA0, [13, DATA0]],
    ['of a selector in the LDT', 0, LDTSEL | 4, [13, LDTSEL | 4]],
    ['past the GDT', 0, 0x400, [13, 0x400]],
  ] as const)('LLDT %s faults', (_name, cpl, sel, expected) => {
    const c = machine(cpl);
    c.regs[1] = sel;
    expect(faultsCleanly(c, () => group6(c, reg(2, 1)))).toEqual(expected);
  });

  it('LLDT of an LDT not present is #NP(sel)', () => {
    const c = machine();
    seg(c, 0x50, LDT, 0x3f, A_LDT & 0x7f, 0);
    c.regs[1] = 0x50;
    expect(faultsCleanly(c, () => group6(c, reg(2, 1)))).toEqual([11, 0x50]);
  });

  it('LTR loads an available TSS and marks it busy', () => {
    const c = machine();
    c.regs[1] = TSSB;
    group6(c, reg(3, 1));
    expect([c.segSel[TR], c.segBase[TR], c.segLimit[TR], c.segAccess[TR], accessByte(c, TSSB)]).toEqual([
      TSSB,
      TSS_B,
      0x67,
      0x8b,
      0x8b,
    ]);
  });

  it.each([
    ['at CPL 3', 3, TSSB, [13, 0]],
    ['of a null selector', 0, 0, [13, 0]],
    ['of a busy TSS', 0, TSSA, [13, TSSA]],
    ['of an LDT', 0, LDTSEL, [13, LDTSEL]],
    ['of a selector in the LDT', 0, TSSB | 4, [13, TSSB | 4]],
  ] as const)('LTR %s faults', (_name, cpl, sel, expected) => {
    const c = machine(cpl);
    c.regs[1] = sel;
    expect(faultsCleanly(c, () => group6(c, reg(3, 1)))).toEqual(expected);
  });

  it('LTR of a TSS not present is #NP(sel)', () => {
    const c = machine();
    seg(c, TSSB, TSS_B, 0x67, A_TSS32 & 0x7f, 0);
    c.regs[1] = TSSB;
    expect(faultsCleanly(c, () => group6(c, reg(3, 1)))).toEqual([11, TSSB]);
  });

  describe('VERR and VERW', () => {
    function verify(cpl: number, sel: number, setup?: (c: Cpu) => void): [boolean, boolean] {
      const c = machine(cpl);
      setup?.(c);
      c.regs[1] = sel;
      c.fl.setStatus(ZF, ZF);
      group6(c, reg(4, 1));
      const r = zf(c);
      c.fl.setStatus(ZF, ZF);
      group6(c, reg(5, 1));
      return [r, zf(c)];
    }
    const ro = (c: Cpu): void => seg(c, 0x50, 0, 0xfffff, (A_DATA & ~2) | DPL3, F_32);
    const xo = (c: Cpu): void => seg(c, 0x50, 0, 0xfffff, (A_CODE & ~2) | DPL3, F_32);
    const absent = (c: Cpu): void => seg(c, 0x50, 0, 0xfffff, (A_DATA | DPL3) & 0x7f, F_32);
    it.each([
      ['a ring-3 data segment from ring 3', 3, DATA3, undefined, [true, true]],
      ['a read-only data segment', 3, 0x53, ro, [true, false]],
      ['a readable code segment', 3, CODE3, undefined, [true, false]],
      ['an execute-only code segment', 3, 0x53, xo, [false, false]],
      ['a ring-0 data segment from ring 3', 3, DATA0 | 3, undefined, [false, false]],
      ['a ring-0 data segment with RPL 3 at ring 0', 0, DATA0 | 3, undefined, [false, false]],
      ['a conforming readable ring-0 segment from ring 3', 3, CONF0 | 3, undefined, [true, false]],
      ['a TSS', 0, TSSA, undefined, [false, false]],
      ['the null selector', 0, 0, undefined, [false, false]],
      ['a selector past the GDT', 0, 0x400, undefined, [false, false]],
      ['a data segment not present (presence is not checked)', 3, 0x53, absent, [true, true]],
    ] as const)('%s', (_name, cpl, sel, setup, expected) => {
      expect(verify(cpl, sel, setup)).toEqual(expected);
    });
  });
});

describe('0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG', () => {
  it('SGDT and SIDT store limit and base; a 16-bit operand size zeroes the top base byte', () => {
    const c = machine(3);
    c.gdtBase = 0x12345678;
    group7(c, mem(0));
    expect([r16(c, SCRATCH), r32(c, SCRATCH + 2)]).toEqual([GDT_LIMIT, 0x12345678]);
    c.o32 = 0;
    c.idtBase = 0x87654321 | 0;
    c.idtLimit = 0x7ff;
    group7(c, mem(1));
    expect([r16(c, SCRATCH), r32(c, SCRATCH + 2)]).toEqual([0x7ff, 0x654321]);
  });

  it('LGDT and LIDT load 6 bytes; a 16-bit operand size takes a 24-bit base', () => {
    const c = machine();
    w16(c, SCRATCH, 0x1ff);
    w32(c, SCRATCH + 2, 0xc0012345);
    group7(c, mem(2));
    expect([c.gdtLimit, c.gdtBase >>> 0]).toEqual([0x1ff, 0xc0012345]);
    c.o32 = 0;
    group7(c, mem(3));
    expect([c.idtLimit, c.idtBase]).toEqual([0x1ff, 0x012345]);
  });

  it('LGDT works in real mode and is #GP(0) at CPL > 0 and in V86 mode', () => {
    const c = newCpu();
    realMode(c);
    w16(c, SCRATCH, 0x27);
    w32(c, SCRATCH + 2, 0x5000);
    c.o32 = 1;
    group7(c, mem(2));
    expect([c.gdtLimit, c.gdtBase]).toEqual([0x27, 0x5000]);
    v86(c);
    expect(faultsCleanly(c, () => group7(c, mem(2)))).toEqual([13, 0]);
    const d = machine(1);
    expect(faultsCleanly(d, () => group7(d, mem(3)))).toEqual([13, 0]);
  });

  it('register forms of SGDT/LGDT/INVLPG and /5 are #UD', () => {
    const c = machine();
    for (const op of [0, 1, 2, 3, 5, 7]) expect(faultsCleanly(c, () => group7(c, reg(op, 0)))).toEqual([6, -1]);
  });

  it('SMSW gives the low word of CR0, or all of it to a 32-bit register, at any CPL', () => {
    const c = machine(3);
    c.cr0 = 0x8005003b | 0;
    c.regs[2] = -1;
    c.o32 = 0;
    group7(c, reg(4, 2));
    expect(c.regs[2] >>> 0).toBe(0xffff003b);
    c.o32 = 1;
    group7(c, reg(4, 2));
    expect(c.regs[2] >>> 0).toBe(0x8005003b);
    w32(c, SCRATCH, 0xffffffff);
    group7(c, mem(4));
    expect(r32(c, SCRATCH)).toBe(0xffff003b);
  });

  it('LMSW loads PE MP EM TS, can enter protected mode but never leave it', () => {
    const c = newCpu();
    realMode(c);
    c.regs[1] = 0xfffb; // PE, MP, TS, and high bits LMSW must ignore
    group7(c, reg(6, 1));
    expect([c.cr0, c.protectedMode]).toEqual([0x10 | 0xb, true]);
    // The real-mode caches carry on, now checked as protected-mode segments.
    expect(c.segAccess[DS]).toBe(0x93);
    c.regs[1] = 0x0004;
    group7(c, reg(6, 1));
    expect([c.cr0, c.protectedMode]).toEqual([0x10 | 0x5, true]);
  });

  it('LMSW is #GP(0) above ring 0', () => {
    const c = machine(1);
    expect(faultsCleanly(c, () => group7(c, reg(6, 1)))).toEqual([13, 0]);
  });

  it('INVLPG drops the translation of its linear address; #GP(0) above ring 0', () => {
    const c = machine();
    c.readLin8(0x6123);
    expect(c.tlbSR[6]).not.toBe(0);
    c.regs[EBX] = 0x6000;
    group7(c, mem(7));
    expect(c.tlbSR[6]).toBe(0);
    const d = machine(3);
    expect(faultsCleanly(d, () => group7(d, mem(7)))).toEqual([13, 0]);
  });
});

describe('LAR and LSL', () => {
  function probe(cpl: number, sel: number, lsl: boolean, o32 = true, setup?: (c: Cpu) => void): [boolean, number] {
    const c = machine(cpl);
    setup?.(c);
    c.o32 = o32 ? 1 : 0;
    c.regs[1] = sel;
    c.regs[2] = 0x5a5a5a5a;
    c.fl.setStatus(lsl ? 0 : ZF, ZF);
    larLsl(c, reg(2, 1), lsl);
    return [zf(c), c.regs[2] >>> 0];
  }

  it('are #UD outside protected mode', () => {
    const c = newCpu();
    realMode(c);
    expect(faultsCleanly(c, () => larLsl(c, reg(2, 1), false))).toEqual([6, -1]);
    v86(c);
    expect(faultsCleanly(c, () => larLsl(c, reg(2, 1), true))).toEqual([6, -1]);
  });

  it('LAR returns the access rights masked to 00FxFF00 (a word with 16-bit operands)', () => {
    expect(probe(3, DATA3, false)).toEqual([true, 0x00c0f200]);
    expect(probe(3, DATA3, false, false)).toEqual([true, 0x5a5af200]);
    expect(probe(0, TSSA, false)).toEqual([true, 0x00008b00]);
  });

  it('LSL returns the byte-granular limit', () => {
    expect(probe(3, DATA3, true)).toEqual([true, 0xffffffff]);
    expect(probe(3, DATA3, true, false)).toEqual([true, 0x5a5affff]);
    expect(probe(0, TSSA, true)).toEqual([true, 0x67]);
  });

  const callGate = (c: Cpu): void => gate(c, 0x50, CODE0, 0, A_CALL32 | DPL3);
  const intGate = (c: Cpu): void => gate(c, 0x50, CODE0, 0, A_INT32 | DPL3);
  it.each([
    ['a call gate (LAR only)', 3, 0x53, callGate, [true, false]],
    ['an interrupt gate', 3, 0x53, intGate, [false, false]],
    ['a ring-0 segment from ring 3', 3, DATA0 | 3, undefined, [false, false]],
    ['a ring-0 segment with RPL 3', 0, DATA0 | 3, undefined, [false, false]],
    ['a conforming ring-0 segment from ring 3', 3, CONF0 | 3, undefined, [true, true]],
    ['the null selector', 0, 0, undefined, [false, false]],
    ['a selector past the GDT', 0, 0x400, undefined, [false, false]],
  ] as const)('see %s', (_name, cpl, sel, setup, expected) => {
    const lar = probe(cpl, sel, false, true, setup);
    const lsl = probe(cpl, sel, true, true, setup);
    expect([lar[0], lsl[0]]).toEqual(expected);
    // A miss leaves the destination alone.
    if (!lar[0]) expect(lar[1]).toBe(0x5a5a5a5a);
  });
});

describe('ARPL', () => {
  it('is #UD outside protected mode', () => {
    const c = newCpu();
    realMode(c);
    expect(faultsCleanly(c, () => arpl(c, reg(0, 1)))).toEqual([6, -1]);
  });

  it('raises the destination RPL to the source RPL and says so in ZF', () => {
    const c = machine();
    c.regs[0] = 0x10;
    c.regs[1] = 0x23;
    arpl(c, reg(1, 0)); // arpl ax, cx
    expect([c.regs[0], zf(c)]).toEqual([0x13, true]);
    arpl(c, reg(1, 0));
    expect([c.regs[0], zf(c)]).toEqual([0x13, false]);
    w16(c, SCRATCH, 0x0808);
    arpl(c, mem(1)); // arpl [ebx], cx
    expect([r16(c, SCRATCH), zf(c)]).toEqual([0x080b, true]);
  });

  it('writes a memory operand only when it raises the RPL (a read-only one is fine otherwise)', () => {
    // What the hardware does (the differential test's host CPU); Bochs faults either way.
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, A_DATA & ~2, F_32);
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: 0x50, esp: 0x8000 });
    c.a32 = 1;
    c.regs[EBX] = SCRATCH;
    c.regs[1] = 0;
    expect(() => arpl(c, mem(1))).not.toThrow();
    c.regs[1] = 3;
    expect(faultsCleanly(c, () => arpl(c, mem(1)))).toEqual([13, 0]);
  });
});
