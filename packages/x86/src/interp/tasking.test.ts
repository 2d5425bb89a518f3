import { Exit } from '../contract';
import { CS, SS, DS, ES, FS, GS, LDTR, TR } from './regs';
import type { Cpu } from './cpu';
import { jmpFar, callFar } from './far';
import { iret } from './iret';
import { deliver } from './interrupts';
import { taskSwitch, TaskReason } from './tasking';
import {
  A_CODE,
  A_DATA,
  A_INT32,
  A_TASK,
  A_TSS32,
  CODE0,
  CODE16,
  CODE3,
  DATA0,
  DATA16,
  DATA3,
  DPL3,
  F_32,
  IDT,
  LDT,
  LDTSEL,
  TSSA,
  TSSB,
  TSSC,
  TSS_A,
  TSS_B,
  TSS_C,
  accessByte,
  enterPm,
  faultOf,
  faultsCleanly,
  gate,
  gateAt,
  newCpu,
  r16,
  r32,
  seg,
  standardGdt,
  w16,
  w32,
} from './pm-fixture';

const NT = 0x4000,
  VM = 0x20000,
  CR0_TS = 0x8;
const GATE = 0x60;
const B_REGS = [0xb0, 0xb1, 0xb2, 0xb3, 0x6000, 0xb5, 0xb6, 0xb7];

interface Image {
  eip: number;
  eflags: number;
  regs: readonly number[];
  segs: readonly number[]; // ES CS SS DS FS GS (16-bit TSS: the first four)
  ldt?: number;
  cr3?: number;
  link?: number;
}

function tss32(c: Cpu, base: number, t: Image): void {
  w16(c, base, t.link ?? 0);
  w32(c, base + 0x1c, t.cr3 ?? 0);
  w32(c, base + 0x20, t.eip);
  w32(c, base + 0x24, t.eflags);
  t.regs.forEach((v, i) => w32(c, base + 0x28 + i * 4, v));
  t.segs.forEach((v, i) => w16(c, base + 0x48 + i * 4, v));
  w16(c, base + 0x60, t.ldt ?? 0);
}

function tss16(c: Cpu, base: number, t: Image): void {
  w16(c, base, t.link ?? 0);
  w16(c, base + 0x0e, t.eip);
  w16(c, base + 0x10, t.eflags);
  t.regs.forEach((v, i) => w16(c, base + 0x12 + i * 2, v));
  t.segs.forEach((v, i) => w16(c, base + 0x22 + i * 2, v));
  w16(c, base + 0x2a, t.ldt ?? 0);
}

/** Task B: ring 0, flat, EIP 0x5000, stack at 0x6000. */
function imageB(over: Partial<Image> = {}): Image {
  return { eip: 0x5000, eflags: 0x202, regs: B_REGS, segs: [DATA0, CODE0, DATA0, DATA0, DATA0, DATA0], ...over };
}

function machine(b: Partial<Image> = {}): Cpu {
  const c = newCpu();
  standardGdt(c);
  tss32(c, TSS_B, imageB(b));
  return c;
}

/** Run as task A (TR = TSS A, busy) at ring 0 with recognisable registers. */
function taskA(c: Cpu, eflags = 0x2, eip = 0x1007): void {
  enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, ds: DATA0, es: DATA0, fs: DATA0, gs: DATA0, esp: 0x9000, eip, eflags });
  for (let r = 0; r < 8; r++) if (r !== 4) c.regs[r] = 0xa0 + r;
}

const segSels = (c: Cpu): number[] => [ES, CS, SS, DS, FS, GS].map((s) => c.segSel[s]);

describe('JMP to a TSS', () => {
  it('saves the old task, swaps the busy bits and loads the new task whole', () => {
    const c = machine();
    taskA(c, NT | 0x246);
    jmpFar(c, TSSB, 0);
    // The old task's TSS holds where to resume it: after the JMP.
    expect(r32(c, TSS_A + 0x20)).toBe(0x1007);
    expect(r32(c, TSS_A + 0x24)).toBe(NT | 0x246);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => r32(c, TSS_A + 0x28 + i * 4))).toEqual([
      0xa0, 0xa1, 0xa2, 0xa3, 0x9000, 0xa5, 0xa6, 0xa7,
    ]);
    expect([0, 1, 2, 3, 4, 5].map((i) => r16(c, TSS_A + 0x48 + i * 4))).toEqual([
      DATA0,
      CODE0,
      DATA0,
      DATA0,
      DATA0,
      DATA0,
    ]);
    expect([accessByte(c, TSSA), accessByte(c, TSSB)]).toEqual([0x89, 0x8b]);
    expect([c.segSel[TR], c.segBase[TR], c.segAccess[TR] & 0xf]).toEqual([TSSB, TSS_B, 0xb]);
    expect(c.cr0 & CR0_TS).toBe(CR0_TS);
    // The new task: its registers, its flags as saved (a JMP does not nest), no back link.
    expect(Array.from(c.regs, (v) => v >>> 0)).toEqual(B_REGS);
    expect([c.eip, c.instrStart, c.getEflags(), c.cpl, r16(c, TSS_B)]).toEqual([0x5000, 0x5000, 0x202, 0, 0]);
    expect(segSels(c)).toEqual([DATA0, CODE0, DATA0, DATA0, DATA0, DATA0]);
    expect(c.segAccess[CS] & 0xff).toBe(0x9b);
  });

  it('loads the new LDT and segments from it', () => {
    const c = machine({ ldt: LDTSEL, segs: [0x0c, CODE0, DATA0, 0x0c, 0, 0] });
    seg(c, 0x0c, 0x40000, 0xffff, A_DATA, 0x4, LDT);
    taskA(c);
    jmpFar(c, TSSB, 0);
    expect([c.segSel[LDTR], c.segBase[LDTR], c.segLimit[LDTR]]).toEqual([LDTSEL, LDT, 0x3f]);
    expect([c.segSel[DS], c.segBase[DS], c.segBase[ES]]).toEqual([0x0c, 0x40000, 0x40000]);
    expect([c.segSel[FS], c.segAccess[FS]]).toEqual([0, 0]);
    expect(c.mem8[LDT + 8 + 5] & 1).toBe(1);
  });

  it('enters virtual-8086 mode when the image has VM set', () => {
    const c = machine({ eflags: VM | 0x202, segs: [0x100, 0x200, 0x300, 0x400, 0x500, 0x600] });
    taskA(c);
    jmpFar(c, TSSB, 0);
    expect([c.v86, c.cpl, c.segBase[CS], c.segAccess[CS], c.segBase[GS], c.segLimit[SS]]).toEqual([
      true,
      3,
      0x2000,
      0xfb,
      0x6000,
      0xffff,
    ]);
  });

  it('loads CR3 from the TSS when paging is on', () => {
    const c = machine({ cr3: 0x12000 });
    for (let i = 0; i < 256; i++) w32(c, 0x11000 + i * 4, (i << 12) | 7);
    w32(c, 0x10000, 0x11007);
    w32(c, 0x12000, 0x11007);
    enterPm(c, { cpl: 0, cs: CODE0, ss: DATA0, esp: 0x9000, cr0: 0x80000011 });
    c.cr3 = 0x10000;
    c.flushTlb();
    jmpFar(c, TSSB, 0);
    expect(c.cr3).toBe(0x12000);
    expect(c.eip).toBe(0x5000);
  });
});

describe('nested tasks', () => {
  it('CALL through a task gate links the new task back; IRET returns and frees it', () => {
    const c = machine();
    gate(c, GATE, TSSB, 0, A_TASK | DPL3);
    taskA(c, 0x246);
    callFar(c, GATE, 0);
    expect([c.segSel[TR], r16(c, TSS_B), c.getEflags()]).toEqual([TSSB, TSSA, NT | 0x202]);
    expect([accessByte(c, TSSA), accessByte(c, TSSB)]).toEqual([0x8b, 0x8b]);
    // Task B runs for a while, then returns.
    c.regs[0] = 0x1234;
    c.eip = 0x5010;
    c.o32 = 1;
    iret(c);
    expect([c.segSel[TR], c.eip, c.regs[0], c.getEflags()]).toEqual([TSSA, 0x1007, 0xa0, 0x246]);
    expect([accessByte(c, TSSA), accessByte(c, TSSB)]).toEqual([0x8b, 0x89]);
    // B was saved to resume after its IRET, with NT clear so it is not "nested" any more.
    expect([r32(c, TSS_B + 0x20), r32(c, TSS_B + 0x24), r32(c, TSS_B + 0x28)]).toEqual([0x5010, 0x202, 0x1234]);
  });

  it('switches to and back from a 16-bit TSS', () => {
    const c = machine();
    tss16(c, TSS_C, {
      eip: 0x100,
      eflags: 0x2,
      regs: [0xc0, 0xc1, 0xc2, 0xc3, 0x800, 0xc5, 0xc6, 0xc7],
      segs: [DATA16, CODE16, DATA16, DATA16],
    });
    taskA(c);
    c.regs[0] = 0x12340000 | 0;
    callFar(c, TSSC, 0);
    // A 16-bit TSS leaves the upper halves of the general registers 0xFFFF, as a 386 does.
    expect([c.segSel[TR], c.eip, c.segBase[CS], c.cs32, c.regs[0] >>> 0, c.regs[4] >>> 0, c.segSel[FS]]).toEqual([
      TSSC,
      0x100,
      0x10000,
      0,
      0xffff00c0,
      0xffff0800,
      0,
    ]);
    expect([r16(c, TSS_C), c.getEflags()]).toEqual([TSSA, NT | 0x2]);
    c.eip = 0x110;
    c.o32 = 0;
    iret(c);
    expect([c.segSel[TR], c.eip, c.regs[0] >>> 0, accessByte(c, TSSC)]).toEqual([TSSA, 0x1007, 0x12340000, 0x81]);
    expect([r16(c, TSS_C + 0x0e), r16(c, TSS_C + 0x10), r16(c, TSS_C + 0x12)]).toEqual([0x110, 0x2, 0xc0]);
  });
});

describe('exceptions through task gates', () => {
  it('save the faulting EIP, nest, and push the error code on the new stack', () => {
    const c = machine();
    gateAt(c, IDT + 13 * 8, TSSB, 0, A_TASK);
    taskA(c, 0x202, 0x1000);
    deliver(c, 13, true, 0x18, 1, false);
    expect([c.segSel[TR], c.eip, c.regs[4], r32(c, 0x5ffc), r16(c, TSS_B), c.getEflags() & NT]).toEqual([
      TSSB,
      0x5000,
      0x5ffc,
      0x18,
      TSSA,
      NT,
    ]);
    expect(r32(c, TSS_A + 0x20)).toBe(0x1000);
  });

  it('push a word error code for a 16-bit TSS', () => {
    const c = machine();
    tss16(c, TSS_C, {
      eip: 0x100,
      eflags: 0x2,
      regs: [0, 0, 0, 0, 0x800, 0, 0, 0],
      segs: [DATA16, CODE16, DATA16, DATA16],
    });
    gateAt(c, IDT + 13 * 8, TSSC, 0, A_TASK);
    taskA(c);
    deliver(c, 13, true, 0x18, 1, false);
    expect([c.regs[4] >>> 0, r16(c, 0x20000 + 0x7fe)]).toEqual([0xffff07fe, 0x18]);
  });

  it('an error code that does not fit is #SS(EXT) in the new task', () => {
    const c = machine({ segs: [DATA0, CODE0, 0x50, DATA0, DATA0, DATA0], regs: [0, 0, 0, 0, 2, 0, 0, 0] });
    seg(c, 0x50, 0, 0xfff, A_DATA, 0x4);
    gateAt(c, IDT + 13 * 8, TSSB, 0, A_TASK);
    taskA(c);
    expect(faultOf(c, () => deliver(c, 13, true, 0, 1, false))).toEqual([12, 1]);
    expect(c.segSel[TR]).toBe(TSSB);
  });
});

describe('checks before the switch point leave the old task untouched', () => {
  it.each([
    ['a busy TSS (JMP)', TSSA, TaskReason.Jump, [13, TSSA]],
    ['a TSS in the LDT', TSSB | 4, TaskReason.Jump, [13, TSSB | 4]],
    ['a code segment', CODE0, TaskReason.Call, [13, CODE0]],
    ['a selector past the GDT', 0x400, TaskReason.Call, [13, 0x400]],
    ['an available TSS (IRET)', TSSB, TaskReason.Iret, [10, TSSB]],
    ['an LDT selector (IRET)', TSSB | 4, TaskReason.Iret, [10, TSSB | 4]],
    ['the null selector (IRET)', 0, TaskReason.Iret, [10, 0]],
  ] as const)('%s is refused', (_name, sel, reason, expected) => {
    const c = machine();
    taskA(c);
    expect(faultsCleanly(c, () => taskSwitch(c, sel, reason, false, 0, 0))).toEqual(expected);
  });

  it('an IRET with NT set and a bad back link is #TS(link)', () => {
    const c = machine();
    taskA(c, NT | 0x2);
    w16(c, TSS_A, TSSB);
    c.o32 = 1;
    expect(faultsCleanly(c, () => iret(c))).toEqual([10, TSSB]);
  });

  it('a TSS not present is #NP; one shorter than 0x68 bytes #TS', () => {
    const c = machine();
    taskA(c);
    seg(c, TSSB, TSS_B, 0x67, A_TSS32 & 0x7f, 0);
    expect(faultsCleanly(c, () => jmpFar(c, TSSB, 0))).toEqual([11, TSSB]);
    seg(c, TSSB, TSS_B, 0x66, A_TSS32, 0);
    expect(faultsCleanly(c, () => jmpFar(c, TSSB, 0))).toEqual([10, TSSB]);
  });

  it('a task gate must name a TSS in the GDT', () => {
    const c = machine();
    taskA(c);
    gate(c, GATE, TSSB | 4, 0, A_TASK);
    expect(faultsCleanly(c, () => jmpFar(c, GATE, 0))).toEqual([13, TSSB | 4]);
    gate(c, GATE, DATA0, 0, A_TASK);
    expect(faultsCleanly(c, () => jmpFar(c, GATE, 0))).toEqual([13, DATA0]);
  });

  it('errors raised for an external event carry EXT', () => {
    const c = machine();
    seg(c, TSSB, TSS_B, 0x67, A_TSS32 & 0x7f, 0);
    taskA(c);
    expect(faultsCleanly(c, () => taskSwitch(c, TSSB, TaskReason.Interrupt, false, 0, 1))).toEqual([11, TSSB | 1]);
  });
});

describe('faults after the switch point happen in the new task', () => {
  function afterSwitch(c: Cpu, expected: [number, number], eip = 0x5000): void {
    taskA(c);
    expect(faultOf(c, () => jmpFar(c, TSSB, 0))).toEqual(expected);
    expect([c.segSel[TR], c.eip, c.instrStart, accessByte(c, TSSA), accessByte(c, TSSB)]).toEqual([
      TSSB,
      eip,
      eip,
      0x89,
      0x8b,
    ]);
    expect(r32(c, TSS_A + 0x20)).toBe(0x1007);
  }

  it('a CS whose DPL is not its RPL is #TS(CS), with the new SS already loaded', () => {
    const c = machine({ segs: [DATA0, CODE3 & ~3, DATA0, DATA0, DATA0, DATA0] });
    afterSwitch(c, [10, CODE3 & ~3]);
    expect(c.segSel[SS]).toBe(DATA0);
    expect(c.segAccess[SS]).not.toBe(0);
  });

  it('a null CS or SS is #TS(0); an SS not present #SS(SS)', () => {
    afterSwitch(machine({ segs: [DATA0, 0, DATA0, DATA0, DATA0, DATA0] }), [10, 0]);
    afterSwitch(machine({ segs: [DATA0, CODE0, 0, DATA0, DATA0, DATA0] }), [10, 0]);
    const c = machine({ segs: [DATA0, CODE0, 0x50, DATA0, DATA0, DATA0] });
    seg(c, 0x50, 0, 0xfffff, A_DATA & 0x7f, F_32);
    afterSwitch(c, [12, 0x50]);
  });

  it('a CS not present is #NP(CS); a data segment not present #NP(sel)', () => {
    const c = machine({ segs: [DATA0, 0x50, DATA0, DATA0, DATA0, DATA0] });
    seg(c, 0x50, 0, 0xfffff, A_CODE & 0x7f, F_32);
    afterSwitch(c, [11, 0x50]);
    const d = machine({ segs: [DATA0, CODE0, DATA0, 0x50, DATA0, DATA0] });
    seg(d, 0x50, 0, 0xfffff, A_DATA & 0x7f, F_32);
    afterSwitch(d, [11, 0x50]);
  });

  it('a ring-3 task cannot hold a ring-0 data segment: #TS(sel)', () => {
    afterSwitch(machine({ segs: [DATA3, CODE3, DATA3, DATA0, 0, 0] }), [10, DATA0]);
  });

  it('an LDT selector that is not an LDT is #TS(sel)', () => {
    afterSwitch(machine({ ldt: DATA0 }), [10, DATA0]);
  });

  it('an EIP past the new CS limit is #GP(0)', () => {
    afterSwitch(machine({ segs: [DATA0, CODE16, DATA0, DATA0, DATA0, DATA0], eip: 0x10000 }), [13, 0], 0x10000);
  });
});

describe('task switches run by the decoder', () => {
  // Code lives at 0x4000 (task A) and 0x5000 (task B); the GDT is at 0x1000.
  function code(c: Cpu, at: number, bytes: readonly number[]): void {
    c.mem8.set(bytes, at);
  }

  it('a double fault through a task gate reaches a fresh task', () => {
    const c = machine();
    seg(c, 0x50, 0, 0xfffff, A_CODE & 0x7f, F_32); // the #GP handler's code: not present
    gateAt(c, IDT + 13 * 8, 0x50, 0x100, A_INT32);
    gateAt(c, IDT + 8 * 8, TSSB, 0, A_TASK);
    code(c, 0x4000, [0xea, 0, 0, 0, 0, 0, 0]); // jmp far 0000:00000000 -> #GP(0)
    code(c, 0x5000, [0x0f, 0x04, 0x2a]); // host escape 0x2a
    taskA(c, 0x2, 0x4000);
    expect(c.run(10)).toBe(Exit.HostEscape);
    expect([c.escapeCode, c.segSel[TR], c.regs[4], r32(c, 0x5ffc), r16(c, TSS_B)]).toEqual([
      0x2a,
      TSSB,
      0x5ffc,
      0,
      TSSA,
    ]);
    expect([r32(c, TSS_A + 0x20), c.getEflags() & NT]).toEqual([0x4000, NT]);
  });

  it('CALL to a TSS and IRET back', () => {
    const c = machine();
    code(c, 0x4000, [0x9a, 0, 0, 0, 0, TSSB, 0, 0x0f, 0x04, 0x01]); // call far TSSB:0; escape 1
    code(c, 0x5000, [0xb8, 0x78, 0x56, 0x34, 0x12, 0xcf]); // mov eax, 0x12345678; iret
    taskA(c, 0x2, 0x4000);
    expect(c.run(10)).toBe(Exit.HostEscape);
    expect([c.escapeCode, c.segSel[TR], c.regs[0], c.eip]).toEqual([1, TSSA, 0xa0, 0x400a]);
    expect([r32(c, TSS_B + 0x28), r32(c, TSS_B + 0x20), accessByte(c, TSSB)]).toEqual([0x12345678, 0x5006, 0x89]);
  });

  it('JMP from task to task and back', () => {
    const c = machine();
    code(c, 0x4000, [0xea, 0, 0, 0, 0, TSSB, 0, 0x0f, 0x04, 0x02]); // jmp far TSSB:0; escape 2
    code(c, 0x5000, [0xea, 0, 0, 0, 0, TSSA, 0]); // jmp far TSSA:0
    taskA(c, 0x2, 0x4000);
    expect(c.run(10)).toBe(Exit.HostEscape);
    expect([c.escapeCode, c.segSel[TR], accessByte(c, TSSA), accessByte(c, TSSB), r32(c, TSS_B + 0x20)]).toEqual([
      2,
      TSSA,
      0x8b,
      0x89,
      0x5007,
    ]);
  });

  it('a switch into a TSS with the T bit set raises #DB (DR6.BT) before the first instruction of the new task', () => {
    for (const t of [0, 1]) {
      const c = machine();
      w16(c, TSS_B + 0x64, t); // the debug-trap bit
      // #DB's handler, in task B's context: escape 0x31 with the interrupted EIP at [esp].
      gateAt(c, IDT + 1 * 8, CODE0, 0x5800, A_INT32);
      code(c, 0x5800, [0x0f, 0x04, 0x31]);
      code(c, 0x4000, [0xea, 0, 0, 0, 0, TSSB, 0]); // jmp far TSSB:0
      code(c, 0x5000, [0x0f, 0x04, 0x2b]); // task B's first instruction: escape 0x2b
      taskA(c, 0x2, 0x4000);
      c.dr[6] = 0xffff0ff0 | 0;
      expect(c.run(10)).toBe(Exit.HostEscape);
      if (t) {
        // The trap came after the switch (TR is B's) and saved B's first EIP, not A's.
        expect([c.escapeCode, c.segSel[TR], r32(c, c.regs[4]), (c.dr[6] >>> 0).toString(16)]).toEqual([
          0x31,
          TSSB,
          0x5000,
          'ffff8ff0',
        ]);
      } else {
        expect([c.escapeCode, c.segSel[TR], (c.dr[6] >>> 0).toString(16)]).toEqual([0x2b, TSSB, 'ffff0ff0']);
      }
    }
  });
});
