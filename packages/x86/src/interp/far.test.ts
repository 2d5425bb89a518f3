import { CS, SS, DS, ES, FS, GS } from './regs';
import type { Cpu } from './cpu';
import { jmpFar, callFar, retFar } from './far';
import {
  A_CALL16,
  A_CALL32,
  A_CODE,
  A_CONF,
  A_DATA,
  A_TASK,
  CODE0,
  CODE1,
  CODE16,
  CODE3,
  CONF0,
  DATA0,
  DATA1,
  DATA3,
  DPL3,
  F_32,
  LDTSEL,
  TSSA,
  TSSB,
  TSS_A,
  accessByte,
  enterPm,
  faultOf,
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

const GATE = 0x48; // a free GDT slot for the gate under test

/** Real mode with CS=2000, SS=0, SP=0x100. */
function realMode(c: Cpu): void {
  const st = c.getState();
  st.cs = { selector: 0x2000, base: 0x20000, limit: 0xffff, access: 0x9b };
  st.ss = { selector: 0, base: 0, limit: 0xffff, access: 0x93 };
  st.esp = 0x100;
  st.eip = 0x44;
  c.setState(st);
}

function ring0(c: Cpu, esp = 0x9000): void {
  enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, es: DATA0, esp });
}
function ring3(c: Cpu, esp = 0x8000): void {
  enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, ds: DATA3, es: DATA3, esp });
}

/** TSS A names ring 0 and ring 1 stacks. */
function tssStacks(c: Cpu): void {
  w32(c, TSS_A + 4, 0x9000);
  w16(c, TSS_A + 8, DATA0);
  w32(c, TSS_A + 12, 0xa000);
  w16(c, TSS_A + 16, DATA1);
}

function machine(): Cpu {
  const c = newCpu();
  standardGdt(c);
  tssStacks(c);
  return c;
}

describe('far transfers in real mode', () => {
  it('JMP loads CS as a paragraph and truncates a 16-bit offset', () => {
    const c = newCpu();
    realMode(c);
    c.o32 = 0;
    jmpFar(c, 0x1234, 0x15678);
    expect([c.segSel[CS], c.segBase[CS], c.segLimit[CS], c.eip]).toEqual([0x1234, 0x12340, 0xffff, 0x5678]);
  });

  it('a 32-bit offset beyond the CS limit is #GP(0) and changes nothing', () => {
    const c = newCpu();
    realMode(c);
    c.o32 = 1;
    expect(faultsCleanly(c, () => jmpFar(c, 0x1234, 0x10000))).toEqual([13, 0]);
  });

  it('CALL pushes CS then IP; RETF pops them and releases its parameters', () => {
    const c = newCpu();
    realMode(c);
    c.o32 = 0;
    callFar(c, 0x3000, 0x10);
    expect([c.segSel[CS], c.eip, c.regs[4]]).toEqual([0x3000, 0x10, 0xfc]);
    expect([r16(c, 0xfc), r16(c, 0xfe)]).toEqual([0x44, 0x2000]);
    retFar(c, 6);
    expect([c.segSel[CS], c.segBase[CS], c.eip, c.regs[4]]).toEqual([0x2000, 0x20000, 0x44, 0x106]);
  });

  it('a 32-bit CALL pushes CS zero-extended and EIP as dwords', () => {
    const c = newCpu();
    realMode(c);
    w32(c, 0xfc, 0xffffffff);
    c.o32 = 1;
    callFar(c, 0x3000, 0x10);
    expect(c.regs[4]).toBe(0xf8);
    expect([r32(c, 0xf8), r32(c, 0xfc)]).toEqual([0x44, 0x2000]);
  });

  it('CALL with no room below SP wraps within the 64 KiB stack', () => {
    const c = newCpu();
    realMode(c);
    c.regs[4] = 0;
    c.o32 = 0;
    callFar(c, 0x3000, 0x10);
    expect(c.regs[4]).toBe(0xfffc);
    expect([r16(c, 0xfffc), r16(c, 0xfffe)]).toEqual([0x44, 0x2000]);
  });

  it('in V86 mode CS always gets the ring-3 64 KiB cache', () => {
    const c = newCpu();
    const st = c.getState();
    st.cr0 = 0x11;
    st.eflags = 0x20002;
    st.cpl = 3;
    st.cs = { selector: 0x100, base: 0x1000, limit: 0xffff, access: 0xfb };
    st.ss = { selector: 0x200, base: 0x2000, limit: 0xffff, access: 0xf3 };
    c.setState(st);
    c.o32 = 0;
    jmpFar(c, 0x1234, 0x20);
    expect([c.segBase[CS], c.segLimit[CS], c.segAccess[CS], c.eip, c.cpl]).toEqual([0x12340, 0xffff, 0xfb, 0x20, 3]);
    c.o32 = 1;
    expect(faultsCleanly(c, () => jmpFar(c, 0x1234, 0x10000))).toEqual([13, 0]);
  });
});

describe('JMP and CALL to code segments in protected mode', () => {
  it('JMP loads CS with RPL = CPL, sets the accessed bit in the GDT and the cache', () => {
    const c = machine();
    ring0(c);
    c.o32 = 1;
    seg(c, 0x50, 0, 0xfffff, A_CODE, F_32);
    jmpFar(c, 0x50, 0x12345678);
    expect([c.segSel[CS], c.eip >>> 0, c.cpl]).toEqual([0x50, 0x12345678, 0]);
    expect(accessByte(c, 0x50)).toBe(0x9b);
    expect(c.segAccess[CS] & 0xff).toBe(0x9b);
    expect(c.cs32).toBe(1);
  });

  it('a 16-bit operand size truncates the offset', () => {
    const c = machine();
    ring0(c);
    c.o32 = 0;
    jmpFar(c, CODE16, 0x12345);
    expect([c.segSel[CS], c.segBase[CS], c.eip, c.cs32]).toEqual([CODE16, 0x10000, 0x2345, 0]);
  });

  it('a conforming segment keeps CPL and takes RPL = CPL', () => {
    const c = machine();
    ring3(c);
    c.o32 = 1;
    jmpFar(c, CONF0, 0x4000);
    expect([c.segSel[CS], c.cpl, c.eip]).toEqual([CONF0 | 3, 3, 0x4000]);
  });

  it.each([
    ['a null selector', 0, [13, 0]],
    ['a selector past the GDT limit', 0x400, [13, 0x400]],
    ['RPL > CPL on a non-conforming segment', CODE0 | 3, [13, CODE0]],
    ['DPL != CPL on a non-conforming segment', CODE3 & ~3, [13, CODE3 & ~3]],
    ['a data segment', DATA0, [13, DATA0]],
    ['an LDT descriptor', LDTSEL, [13, LDTSEL]],
  ] as const)('JMP to %s faults', (_name, sel, expected) => {
    const c = machine();
    ring0(c);
    c.o32 = 1;
    expect(faultsCleanly(c, () => jmpFar(c, sel, 0))).toEqual(expected);
  });

  it('a conforming segment with DPL > CPL is #GP(sel)', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, A_CONF | DPL3, F_32);
    ring0(c);
    expect(faultsCleanly(c, () => jmpFar(c, 0x50, 0))).toEqual([13, 0x50]);
  });

  it('a segment not present is #NP(sel); an offset past the limit #GP(0)', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, A_CODE & 0x7f, F_32);
    ring0(c);
    c.o32 = 1;
    expect(faultsCleanly(c, () => jmpFar(c, 0x50, 0))).toEqual([11, 0x50]);
    expect(faultsCleanly(c, () => jmpFar(c, CODE16, 0x10000))).toEqual([13, 0]);
    expect(faultsCleanly(c, () => callFar(c, CODE16, 0x10000))).toEqual([13, 0]);
  });

  it('CALL pushes CS:EIP with the operand size', () => {
    const c = machine();
    ring0(c);
    c.eip = 0x1007;
    c.o32 = 1;
    callFar(c, CODE0, 0x2000);
    expect([c.regs[4], r32(c, 0x8ff8), r32(c, 0x8ffc), c.eip]).toEqual([0x8ff8, 0x1007, CODE0, 0x2000]);
    c.o32 = 0;
    c.eip = 0x2005;
    callFar(c, CODE16, 0x30);
    expect([c.regs[4], r16(c, 0x8ff4), r16(c, 0x8ff6), c.eip]).toEqual([0x8ff4, 0x2005, CODE0, 0x30]);
  });

  it('CALL with no stack room is #SS(0) and changes nothing', () => {
    const c = machine();
    seg(c, DATA0, 0, 0x8fff, A_DATA, 0x4);
    ring0(c, 4);
    c.o32 = 1;
    expect(faultsCleanly(c, () => callFar(c, CODE0, 0x2000))).toEqual([12, 0]);
  });
});

describe('call gates', () => {
  it('CALL from ring 3 into ring 0 switches stacks and copies dword parameters', () => {
    const c = machine();
    gate(c, GATE, CODE0, 0x123456, A_CALL32 | DPL3, 2);
    ring3(c);
    w32(c, 0x8000, 0x11111111);
    w32(c, 0x8004, 0x22222222);
    c.eip = 0x1007;
    c.o32 = 0; // the gate's size decides, not the operand size
    callFar(c, GATE | 3, 0xdead);
    expect([c.cpl, c.segSel[CS], c.eip, c.segSel[SS], c.regs[4]]).toEqual([0, CODE0, 0x123456, DATA0, 0x9000 - 24]);
    const frame = [0, 4, 8, 12, 16, 20].map((o) => r32(c, 0x9000 - 24 + o));
    expect(frame).toEqual([0x1007, CODE3, 0x11111111, 0x22222222, 0x8000, DATA3]);
    expect(accessByte(c, CODE0) & 1).toBe(1);
    expect(accessByte(c, DATA0) & 1).toBe(1);
    // ...and RETF 8 comes back out, releasing the parameters on both stacks.
    c.o32 = 1;
    retFar(c, 8);
    expect([c.cpl, c.segSel[CS], c.eip, c.segSel[SS], c.regs[4], c.segSel[DS]]).toEqual([
      3,
      CODE3,
      0x1007,
      DATA3,
      0x8008,
      DATA3,
    ]);
  });

  it('a 16-bit gate builds a frame of words', () => {
    const c = machine();
    gate(c, GATE, CODE0, 0x2345, A_CALL16 | DPL3, 1);
    ring3(c);
    w16(c, 0x8000, 0xbeef);
    c.eip = 0x11007;
    c.o32 = 1;
    callFar(c, GATE | 3, 0);
    expect([c.cpl, c.eip, c.regs[4]]).toEqual([0, 0x2345, 0x9000 - 10]);
    const frame = [0, 2, 4, 6, 8].map((o) => r16(c, 0x9000 - 10 + o));
    expect(frame).toEqual([0x1007, CODE3, 0xbeef, 0x8000, DATA3]);
  });

  it('from ring 3 to ring 1 uses the ring-1 stack (a guest kernel entry)', () => {
    const c = machine();
    gate(c, GATE, CODE1, 0x500, A_CALL32 | DPL3, 0);
    ring3(c);
    callFar(c, GATE | 3, 0);
    expect([c.cpl, c.segSel[CS], c.segSel[SS], c.regs[4]]).toEqual([1, CODE1, DATA1, 0xa000 - 16]);
  });

  it('to a conforming segment stays in the caller ring and on its stack', () => {
    const c = machine();
    gate(c, GATE, CONF0, 0x500, A_CALL32 | DPL3, 3);
    ring3(c);
    c.eip = 0x1007;
    callFar(c, GATE | 3, 0);
    expect([c.cpl, c.segSel[CS], c.segSel[SS], c.regs[4], r32(c, 0x7ff8)]).toEqual([
      3,
      CONF0 | 3,
      DATA3,
      0x7ff8,
      0x1007,
    ]);
  });

  it('JMP through a gate never changes privilege', () => {
    const c = machine();
    gate(c, GATE, CODE3, 0x700, A_CALL32 | DPL3);
    ring3(c);
    jmpFar(c, GATE | 3, 0);
    expect([c.cpl, c.segSel[CS], c.eip, c.regs[4]]).toEqual([3, CODE3, 0x700, 0x8000]);
    gate(c, GATE, CODE0, 0x700, A_CALL32 | DPL3);
    expect(faultsCleanly(c, () => jmpFar(c, GATE | 3, 0))).toEqual([13, CODE0]);
  });

  it.each([
    ['gate DPL < CPL', 3, A_CALL32, CODE0, GATE | 3, [13, GATE]],
    ['gate DPL < RPL', 0, A_CALL32 | 0x40, CODE0, GATE | 3, [13, GATE]],
    ['gate not present', 3, (A_CALL32 | DPL3) & 0x7f, CODE0, GATE | 3, [11, GATE]],
    ['a null target', 3, A_CALL32 | DPL3, 0, GATE | 3, [13, 0]],
    ['a data target', 3, A_CALL32 | DPL3, DATA0, GATE | 3, [13, DATA0]],
    ['an outward target', 0, A_CALL32 | DPL3, CODE3, GATE, [13, CODE3 & ~3]],
  ] as const)('%s is refused', (_name, ring, access, target, sel, expected) => {
    const c = machine();
    gate(c, GATE, target, 0x500, access);
    if (ring === 0) ring0(c);
    else ring3(c);
    expect(faultsCleanly(c, () => callFar(c, sel, 0))).toEqual(expected);
  });

  it('a target not present is #NP(target); an entry past its limit #GP(0)', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xffff, A_CODE & 0x7f, 0x4);
    seg(c, 0x58, 0, 0xffff, A_CODE, 0x4);
    ring3(c);
    gate(c, GATE, 0x50, 0x500, A_CALL32 | DPL3);
    expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([11, 0x50]);
    gate(c, GATE, 0x58, 0x10000, A_CALL32 | DPL3);
    expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([13, 0]);
  });

  describe('a bad inner stack', () => {
    function setup(ss0: number, esp0 = 0x9000): Cpu {
      const c = machine();
      gate(c, GATE, CODE0, 0x500, A_CALL32 | DPL3, 2);
      w32(c, TSS_A + 4, esp0);
      w16(c, TSS_A + 8, ss0);
      return c;
    }
    it.each([
      ['a null SS', 0, [10, 0]],
      ['SS RPL != target DPL', DATA3, [10, DATA3 & ~3]],
      ['SS DPL != target DPL', DATA1 & ~3, [10, DATA1 & ~3]],
      ['a code segment as SS', CODE0, [10, CODE0]],
      ['SS past the GDT', 0x400, [10, 0x400]],
    ] as const)('%s is #TS', (_name, ss0, expected) => {
      const c = setup(ss0);
      ring3(c);
      expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual(expected);
    });
    it('SS not present is #SS(SS)', () => {
      const c = setup(0x50);
      seg(c, 0x50, 0, 0xfffff, A_DATA & 0x7f, F_32);
      ring3(c);
      expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([12, 0x50]);
    });
    it('a frame that does not fit is #SS(SS)', () => {
      const c = setup(0x50);
      seg(c, 0x50, 0, 0x8fef, A_DATA, 0x4);
      ring3(c);
      expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([12, 0x50]);
    });
    it('a TSS too short to hold the ring-0 stack is #TS(TR)', () => {
      const c = machine();
      gate(c, GATE, CODE0, 0x500, A_CALL32 | DPL3);
      seg(c, TSSA, TSS_A, 0x08, 0x89, 0);
      ring3(c);
      expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([10, TSSA]);
    });
    it('parameters beyond the caller stack limit are #SS(0)', () => {
      const c = machine();
      gate(c, GATE, CODE0, 0x500, A_CALL32 | DPL3, 4);
      seg(c, DATA3, 0, 0x8007, A_DATA | DPL3, 0x4);
      ring3(c);
      expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([12, 0]);
    });
  });
});

describe('RETF in protected mode', () => {
  it('returns within the ring, releasing parameters', () => {
    const c = machine();
    ring0(c, 0x8000);
    w32(c, 0x8000, 0x3000);
    w32(c, 0x8004, CODE0);
    c.o32 = 1;
    retFar(c, 4);
    expect([c.segSel[CS], c.eip, c.regs[4]]).toEqual([CODE0, 0x3000, 0x800c]);
    w16(c, 0x800c, 0x40);
    w16(c, 0x800e, CODE16);
    c.o32 = 0;
    retFar(c, 0);
    expect([c.segSel[CS], c.eip, c.regs[4]]).toEqual([CODE16, 0x40, 0x8010]);
  });

  it('returns to ring 3, popping SS:ESP and nulling data segments ring 3 may not use', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, es: DATA3, fs: CONF0, gs: CODE0, esp: 0x9000 });
    w32(c, 0x9000, 0x1234);
    w32(c, 0x9004, CODE3);
    w32(c, 0x9010, 0x7000);
    w32(c, 0x9014, DATA3);
    c.o32 = 1;
    retFar(c, 8);
    expect([c.cpl, c.segSel[CS], c.eip, c.segSel[SS], c.regs[4]]).toEqual([3, CODE3, 0x1234, DATA3, 0x7008]);
    expect([c.segSel[DS], c.segSel[ES], c.segSel[FS], c.segSel[GS]]).toEqual([0, DATA3, CONF0, 0]);
    expect(c.segAccess[DS]).toBe(0);
  });

  it('returns from ring 1 to ring 3 with a 16-bit frame', () => {
    const c = machine();
    enterPm(c, { cpl: 1, cs: CODE1, ss: DATA1, ds: DATA1, esp: 0xa000 });
    w16(c, 0xa000, 0x1234);
    w16(c, 0xa002, CODE3);
    w16(c, 0xa004, 0x7000);
    w16(c, 0xa006, DATA3);
    c.o32 = 0;
    retFar(c, 0);
    expect([c.cpl, c.segSel[CS], c.eip, c.segSel[SS], c.regs[4], c.segSel[DS]]).toEqual([
      3,
      CODE3,
      0x1234,
      DATA3,
      0x7000,
      0,
    ]);
  });

  function outer(c: Cpu, cs: number, ss: number): void {
    ring0(c);
    w32(c, 0x9000, 0x1234);
    w32(c, 0x9004, cs);
    w32(c, 0x9008, 0x7000);
    w32(c, 0x900c, ss);
    c.o32 = 1;
  }

  it.each([
    ['a null CS', 0, DATA3, [13, 0]],
    ['CS DPL != RPL', CODE0 | 3, DATA3, [13, CODE0]],
    ['a data segment as CS', DATA3, DATA3, [13, DATA3 & ~3]],
    ['a null SS', CODE3, 0, [13, 0]],
    ['SS RPL != CS RPL', CODE3, DATA3 & ~3, [13, DATA3 & ~3]],
    ['SS DPL != CS RPL', CODE3, DATA0 | 3, [13, DATA0]],
    ['a code segment as SS', CODE3, CODE3, [13, CODE3 & ~3]],
  ] as const)('%s is refused', (_name, cs, ss, expected) => {
    const c = machine();
    outer(c, cs, ss);
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual(expected);
  });

  it('never returns inward: CS RPL < CPL is #GP(CS)', () => {
    const c = machine();
    ring3(c);
    w32(c, 0x8000, 0x1234);
    w32(c, 0x8004, CODE0);
    c.o32 = 1;
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual([13, CODE0]);
  });

  it('an SS not present is #SS(SS); a CS not present #NP(CS); EIP past the limit #GP(0)', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, (A_DATA | DPL3) & 0x7f, F_32);
    outer(c, CODE3, 0x53);
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual([12, 0x50]);
    seg(c, 0x58, 0, 0xfffff, (A_CODE | DPL3) & 0x7f, F_32);
    outer(c, 0x5b, DATA3);
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual([11, 0x58]);
    seg(c, 0x58, 0, 0xfff, A_CODE | DPL3, 0x4);
    outer(c, 0x5b, DATA3);
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual([13, 0]);
  });

  it('marks CS and SS accessed before committing: a read-only GDT page faults cleanly', () => {
    const c = machine();
    // Identity-map 1 MiB with the GDT's page read-only, and let CR0.WP enforce it on ring 0.
    for (let i = 0; i < 256; i++) w32(c, 0x11000 + i * 4, (i << 12) | (i === 1 ? 0x1 : 0x3));
    w32(c, 0x10000, 0x11003);
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, esp: 0x9000, cr0: 0x80010011 });
    c.cr3 = 0x10000;
    c.flushTlb();
    w32(c, 0x9000, 0x1234);
    w32(c, 0x9004, CODE3);
    w32(c, 0x9008, 0x7000);
    w32(c, 0x900c, DATA3);
    c.o32 = 1;
    const before = c.getState();
    expect(faultOf(c, () => retFar(c, 0))).toEqual([14, 3]);
    expect({ ...c.getState(), cr2: 0 }).toEqual({ ...before, cr2: 0 });
    expect(c.cr2).toBe(0x1000 + (DATA3 & ~7) + 5);
  });

  it('a frame beyond the stack limit is #SS(0)', () => {
    const c = machine();
    seg(c, DATA0, 0, 0x9005, A_DATA, 0x4);
    outer(c, CODE3, DATA3);
    expect(faultsCleanly(c, () => retFar(c, 0))).toEqual([12, 0]);
  });
});

describe('far transfers to tasks', () => {
  it('a TSS or task gate must be reachable from CPL and RPL', () => {
    const c = machine();
    ring3(c);
    expect(faultsCleanly(c, () => jmpFar(c, TSSB | 3, 0))).toEqual([13, TSSB]);
    gate(c, GATE, TSSB, 0, A_TASK);
    expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([13, GATE]);
    gate(c, GATE, TSSB, 0, (A_TASK | DPL3) & 0x7f);
    expect(faultsCleanly(c, () => callFar(c, GATE | 3, 0))).toEqual([11, GATE]);
  });

  it('the running (busy) task cannot be called', () => {
    const c = machine();
    ring0(c);
    expect(faultsCleanly(c, () => callFar(c, TSSA, 0))).toEqual([13, TSSA]);
  });
});
