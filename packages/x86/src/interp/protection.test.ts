// Protected-mode cases found wrong by hardware-validated tests, each pinned here:
//  - POP SS from a 16-bit stack that loads a 32-bit SS increments SP as the 16-bit stack it
//    popped from (the upper half of ESP stays);
//  - ENTER checks that its new stack top is writable through paging at the current privilege
//    (#PF with error code 7 from ring 3 on a read-only user page);
//  - a task switch into a 16-bit TSS leaves the upper halves of the general registers 0xFFFF
//    (tasking.test.ts checks it on the way in and out).

import { Cpu } from './cpu';
import { execute } from './exec';
import { newCpu, standardGdt, enterPm, CODE0, DATA0, CODE3, DATA3, DATA16, faultOf, w32 } from './pm-fixture';
import { EBP, ESP, SS } from './regs';

const AT = 0x20000;

function runCode(c: Cpu, bytes: number[]): void {
  c.mem8.set(bytes, AT);
  c.eip = AT;
  c.fetchLen = 0;
  c.instrStart = c.eip;
  execute(c);
}

describe('POP SS changing the stack size', () => {
  for (const [name, prefix, size] of [
    ['o32', [] as number[], 4],
    ['o16', [0x66], 2],
  ] as const) {
    it(`${name}: increments SP in the 16-bit stack it popped from`, () => {
      const c = newCpu();
      standardGdt(c);
      // A 16-bit stack segment (base 0x20000) with ESP's upper half set.
      enterPm(c, { cpl: 0, cs: CODE0, ss: DATA16, esp: 0x0002fffe - (size - 2) });
      const sp = c.regs[ESP] & 0xffff;
      w32(c, 0x20000 + sp, DATA0);
      runCode(c, [...prefix, 0x17]);
      expect([c.segSel[SS], c.ss32, c.regs[ESP] >>> 0]).toEqual([DATA0, 1, 0x00020000]);
    });
  }
});

describe('ENTER and paging', () => {
  it('raises #PF(7) when the new stack top is on a page ring 3 may not write', () => {
    const c = newCpu();
    standardGdt(c);
    // Identity-map the first 4 MiB for user read/write, except page 0x50000: read-only.
    const PD = 0x70000,
      PT = 0x71000;
    w32(c, PD, PT | 7);
    for (let i = 0; i < 1024; i++) w32(c, PT + i * 4, (i << 12) | (i === 0x50 ? 5 : 7));
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, ds: DATA3, esp: 0x51010, cr0: 0x80000011 });
    c.cr3 = PD;
    c.flushTlb();
    c.regs[EBP] = 0x51100;
    // enter 0x20, 0: EBP goes to 0x5100C (writable), the new top 0x50FEC is not.
    expect(faultOf(c, () => runCode(c, [0xc8, 0x20, 0x00, 0x00]))).toEqual([14, 7]);
    expect(c.cr2 >>> 0).toBe(0x50fec);
  });

  it('raises #AC(0) before #PF when that top is also misaligned (as the hardware does)', () => {
    const c = newCpu();
    standardGdt(c);
    const PD = 0x70000,
      PT = 0x71000;
    w32(c, PD, PT | 7);
    for (let i = 0; i < 1024; i++) w32(c, PT + i * 4, (i << 12) | (i === 0x50 ? 5 : 7));
    // CR0.AM and EFLAGS.AC at CPL 3: alignment checking on.
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, ds: DATA3, esp: 0x51010, cr0: 0x80040011 });
    c.cr3 = PD;
    c.flushTlb();
    c.setEflags(0x40000, 0x40000);
    c.regs[EBP] = 0x51100;
    // enter 0x21, 0: the new top 0x50FEB is on the read-only page and misaligned.
    expect(faultOf(c, () => runCode(c, [0xc8, 0x21, 0x00, 0x00]))).toEqual([17, 0]);
  });
});
