import { CS, SS, DS, ES, FS, GS } from './regs';
import type { Cpu } from './cpu';
import { iret } from './iret';
import {
  A_CODE,
  A_DATA,
  CODE0,
  CODE1,
  CODE3,
  CONF0,
  DATA0,
  DATA1,
  DATA3,
  DPL3,
  F_32,
  enterPm,
  faultsCleanly,
  newCpu,
  seg,
  standardGdt,
  w16,
  w32,
} from './pm-fixture';

const IF = 0x200,
  IOPL3 = 0x3000,
  NT = 0x4000,
  VM = 0x20000,
  RF = 0x10000,
  AC = 0x40000,
  ID = 0x200000;

/** Write a frame of dwords (or words) at `addr`. */
function frame(c: Cpu, addr: number, size: number, values: readonly number[]): void {
  values.forEach((v, i) => (size === 4 ? w32(c, addr + i * 4, v) : w16(c, addr + i * 2, v)));
}

function machine(): Cpu {
  const c = newCpu();
  standardGdt(c);
  return c;
}

describe('IRET in real mode', () => {
  function real(c: Cpu, eflags = 0x2): void {
    const st = c.getState();
    st.cs = { selector: 0x2000, base: 0x20000, limit: 0xffff, access: 0x9b };
    st.ss = { selector: 0, base: 0, limit: 0xffff, access: 0x93 };
    st.esp = 0x100;
    st.eflags = eflags;
    c.setState(st);
  }

  it('pops IP, CS and all of FLAGS with a 16-bit operand size', () => {
    const c = newCpu();
    real(c);
    frame(c, 0x100, 2, [0x1234, 0x3000, 0xffff]);
    c.o32 = 0;
    iret(c);
    expect([c.segSel[CS], c.segBase[CS], c.eip, c.regs[4], c.getEflags()]).toEqual([
      0x3000, 0x30000, 0x1234, 0x106, 0x7fd7,
    ]);
  });

  it('with a 32-bit operand size keeps VM, VIF and VIP but takes RF, AC, ID, IOPL and NT', () => {
    const c = newCpu();
    real(c);
    frame(c, 0x100, 4, [0x1234, 0xffff3000, 0xffffffff]);
    c.o32 = 1;
    iret(c);
    expect([c.segSel[CS], c.regs[4], c.getEflags() >>> 0]).toEqual([0x3000, 0x10c, 0x257fd7]);
    expect(c.v86).toBe(false);
  });

  it('an IP past the CS limit is #GP(0)', () => {
    const c = newCpu();
    real(c);
    frame(c, 0x100, 4, [0x10000, 0x3000, 0x2]);
    c.o32 = 1;
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, 0]);
  });
});

describe('IRET in virtual-8086 mode', () => {
  function v86(c: Cpu, iopl: number): void {
    const st = c.getState();
    st.cr0 = 0x11;
    st.eflags = VM | (iopl << 12) | 0x2;
    st.cpl = 3;
    st.cs = { selector: 0x100, base: 0x1000, limit: 0xffff, access: 0xfb };
    st.ss = { selector: 0, base: 0, limit: 0xffff, access: 0xf3 };
    st.esp = 0x100;
    c.setState(st);
  }

  it('faults to the monitor with #GP(0) unless IOPL is 3', () => {
    const c = newCpu();
    v86(c, 2);
    frame(c, 0x100, 2, [0x10, 0x200, 0x202]);
    c.o32 = 0;
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, 0]);
  });

  it('with IOPL 3 returns like real mode but cannot change IOPL or leave V86', () => {
    const c = newCpu();
    v86(c, 3);
    frame(c, 0x100, 2, [0x10, 0x200, 0x0a02]);
    c.o32 = 0;
    iret(c);
    expect([c.segSel[CS], c.segBase[CS], c.segAccess[CS], c.eip, c.regs[4]]).toEqual([
      0x200, 0x2000, 0xfb, 0x10, 0x106,
    ]);
    expect(c.getEflags()).toBe(VM | IOPL3 | 0x0a02);
    frame(c, 0x106, 4, [0x20, 0x300, 0x2 | RF]);
    c.o32 = 1;
    iret(c);
    expect([c.segSel[CS], c.eip, c.getEflags(), c.v86]).toEqual([0x300, 0x20, VM | IOPL3 | RF | 0x2, true]);
  });

  it('an EIP past 64 KiB is #GP(0)', () => {
    const c = newCpu();
    v86(c, 3);
    frame(c, 0x100, 4, [0x10000, 0x200, 0x2]);
    c.o32 = 1;
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, 0]);
  });
});

describe('IRET in protected mode within a ring', () => {
  it('at CPL 0 may change every flag', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000 });
    frame(c, 0x9000, 4, [0x1234, CODE0, 0x3f7fd7 & ~VM]);
    c.o32 = 1;
    iret(c);
    expect([c.segSel[CS], c.eip, c.regs[4], c.cpl]).toEqual([CODE0, 0x1234, 0x900c, 0]);
    expect(c.getEflags() >>> 0).toBe(0x3f7fd7 & ~VM);
  });

  it('at CPL 3 changes neither IOPL nor (with IOPL 0) IF, and ignores VM', () => {
    const c = machine();
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, esp: 0x8000 });
    frame(c, 0x8000, 4, [0x1234, CODE3, VM | IOPL3 | IF | NT | 0x8d5]);
    c.o32 = 1;
    iret(c);
    expect([c.segSel[CS], c.eip, c.cpl, c.v86]).toEqual([CODE3, 0x1234, 3, false]);
    expect(c.getEflags()).toBe(NT | 0x8d5 | 0x2);
  });

  it('at CPL 3 with IOPL 3 may change IF', () => {
    const c = machine();
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, esp: 0x8000, eflags: IOPL3 | 0x2 });
    frame(c, 0x8000, 4, [0x1234, CODE3, IF | 0x2]);
    c.o32 = 1;
    iret(c);
    expect(c.getEflags()).toBe(IOPL3 | IF | 0x2);
  });

  it('a 16-bit IRET leaves the upper EFLAGS bits alone', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000, eflags: AC | ID | 0x2 });
    frame(c, 0x9000, 2, [0x1234, CODE0, 0x0246]);
    c.o32 = 0;
    iret(c);
    expect([c.eip, c.regs[4], c.getEflags()]).toEqual([0x1234, 0x9006, AC | ID | 0x0246]);
  });

  it('returns to a conforming segment with DPL below the RPL', () => {
    const c = machine();
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, esp: 0x8000 });
    frame(c, 0x8000, 4, [0x1234, CONF0 | 3, 0x2]);
    c.o32 = 1;
    iret(c);
    expect([c.segSel[CS], c.cpl]).toEqual([CONF0 | 3, 3]);
  });
});

describe('IRET to an outer ring', () => {
  it('from ring 0 to ring 3 pops SS:ESP and nulls the data segments ring 3 may not use', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, es: DATA3, fs: CONF0, gs: CODE0, esp: 0x9000 });
    frame(c, 0x9000, 4, [0x1234, CODE3, IF | 0x2, 0x7000, DATA3]);
    c.o32 = 1;
    iret(c);
    expect([c.cpl, c.segSel[CS], c.eip, c.segSel[SS], c.regs[4], c.getEflags()]).toEqual([
      3,
      CODE3,
      0x1234,
      DATA3,
      0x7000,
      IF | 0x2,
    ]);
    expect([c.segSel[DS], c.segSel[ES], c.segSel[FS], c.segSel[GS]]).toEqual([0, DATA3, CONF0, 0]);
  });

  it('from ring 1 to ring 3 (the guest kernel returning to a program) cannot touch IOPL, nor IF above IOPL', () => {
    const c = machine();
    enterPm(c, { cpl: 1, cs: CODE1, ss: DATA1, ds: DATA1, esp: 0xa000 });
    frame(c, 0xa000, 4, [0x1234, CODE3, IOPL3 | IF | 0x1, 0x7000, DATA3]);
    c.o32 = 1;
    iret(c);
    expect([c.cpl, c.segSel[SS], c.regs[4], c.segSel[DS], c.getEflags()]).toEqual([3, DATA3, 0x7000, 0, 0x3]);
  });

  it('with a 16-bit operand size pops words and replaces only SP of a 16-bit stack', () => {
    const c = machine();
    // An SS based at -1 MiB, so ESP 0x00109000 addresses linear 0x9000.
    seg(c, 0x48, 0xfff00000, 0xfffff, A_DATA, F_32);
    seg(c, 0x50, 0x20000, 0xffff, A_DATA | DPL3, 0);
    enterPm(c, { cpl: 0, cs: CODE0, ss: 0x48, esp: 0x109000 });
    frame(c, 0x9000, 2, [0x1234, CODE3, 0x2, 0x7000, 0x53]);
    c.o32 = 0;
    iret(c);
    expect([c.segSel[SS], c.segBase[SS], c.regs[4], c.ss32, c.eip]).toEqual([0x53, 0x20000, 0x107000, 0, 0x1234]);
  });

  function outer(c: Cpu, cs: number, ss: number, eip = 0x1234): void {
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000 });
    frame(c, 0x9000, 4, [eip, cs, 0x2, 0x7000, ss]);
    c.o32 = 1;
  }

  it.each([
    ['a null CS', 0, DATA3, [13, 0]],
    ['CS DPL != RPL', CODE0 | 3, DATA3, [13, CODE0]],
    ['a data segment as CS', DATA3, DATA3, [13, DATA3 & ~3]],
    ['a null SS', CODE3, 0, [13, 0]],
    ['SS RPL != CS RPL', CODE3, DATA3 & ~3, [13, DATA3 & ~3]],
    ['SS DPL != CS RPL', CODE3, DATA0 | 3, [13, DATA0]],
    ['a read-only SS', CODE3, 0x53, [13, 0x50]],
  ] as const)('%s is refused and changes nothing', (_name, cs, ss, expected) => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, (A_DATA & ~2) | DPL3, F_32);
    outer(c, cs, ss);
    expect(faultsCleanly(c, () => iret(c))).toEqual(expected);
  });

  it('a CS or SS not present is #NP(selector) (as Bochs and QEMU do), an EIP past the limit #GP(0)', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, (A_CODE | DPL3) & 0x7f, F_32);
    seg(c, 0x58, 0, 0xfffff, (A_DATA | DPL3) & 0x7f, F_32);
    outer(c, 0x53, DATA3);
    expect(faultsCleanly(c, () => iret(c))).toEqual([11, 0x50]);
    outer(c, CODE3, 0x5b);
    expect(faultsCleanly(c, () => iret(c))).toEqual([11, 0x58]);
    seg(c, 0x50, 0, 0xfff, A_CODE | DPL3, 0x4);
    outer(c, 0x53, DATA3);
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, 0]);
  });

  it('never returns inward: CS RPL < CPL is #GP(CS)', () => {
    const c = machine();
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, esp: 0x8000 });
    frame(c, 0x8000, 4, [0x1234, CODE0, 0x2]);
    c.o32 = 1;
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, CODE0]);
  });
});

describe('IRET to virtual-8086 mode', () => {
  it('from ring 0 with VM in the image loads every segment as a paragraph at CPL 3', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, esp: 0x9000 });
    frame(c, 0x9000, 4, [0x100, 0x1000, VM | IF | 0x2, 0xfffe, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
    c.o32 = 1;
    iret(c);
    expect([c.v86, c.cpl, c.eip, c.regs[4], c.getEflags()]).toEqual([true, 3, 0x100, 0xfffe, VM | IF | 0x2]);
    const segs = [CS, SS, ES, DS, FS, GS].map((s) => [c.segSel[s], c.segBase[s], c.segLimit[s], c.segAccess[s]]);
    expect(segs).toEqual([
      [0x1000, 0x10000, 0xffff, 0xfb],
      [0x2000, 0x20000, 0xffff, 0xf3],
      [0x3000, 0x30000, 0xffff, 0xf3],
      [0x4000, 0x40000, 0xffff, 0xf3],
      [0x5000, 0x50000, 0xffff, 0xf3],
      [0x6000, 0x60000, 0xffff, 0xf3],
    ]);
    expect([c.cs32, c.ss32]).toEqual([0, 0]);
  });

  it('an EIP past 64 KiB is #GP(0); a short frame #SS(0)', () => {
    const c = machine();
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000 });
    frame(c, 0x9000, 4, [0x10000, 0x1000, VM | 0x2, 0, 0, 0, 0, 0, 0]);
    c.o32 = 1;
    expect(faultsCleanly(c, () => iret(c))).toEqual([13, 0]);
    seg(c, DATA0, 0, 0x901f, A_DATA, 0x4);
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000 });
    frame(c, 0x9000, 4, [0x100, 0x1000, VM | 0x2]);
    expect(faultsCleanly(c, () => iret(c))).toEqual([12, 0]);
  });

  it('only ring 0 can enter V86: elsewhere VM in the image is ignored', () => {
    const c = machine();
    enterPm(c, { cpl: 1, cs: CODE1, ss: DATA1, esp: 0xa000 });
    frame(c, 0xa000, 4, [0x100, CODE1, VM | 0x2]);
    c.o32 = 1;
    iret(c);
    expect([c.v86, c.cpl, c.segSel[CS]]).toEqual([false, 1, CODE1]);
  });
});
