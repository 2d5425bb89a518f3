// The P6 additions and what CPUID says about them: SYSENTER/SYSEXIT through their MSRs,
// RDMSR/WRMSR of the MSRs the core models (#GP(0) for the rest), RDPMC, the long NOP and
// the hint NOPs, and the CPUID leaves 0, 1 and 0x80000000–0x80000004.

import { Cpu } from './cpu';
import { CPUID_BRAND, CPUID_FEATURES, CPUID_SIGNATURE } from './exec0f';
import { execute } from './exec';
import { newCpu, standardGdt, enterPm, CODE0, DATA0, CODE3, DATA3, faultOf } from './pm-fixture';
import { EAX, ECX, EDX, EBX, ESP, CS, SS } from './regs';

const AT = 0x20000;

/** Executes the instructions in `bytes` one after another (a fault throws). */
function runCode(c: Cpu, bytes: number[], count = 1): void {
  c.mem8.set(bytes, AT);
  c.eip = AT;
  c.fetchLen = 0;
  for (let i = 0; i < count; i++) {
    c.instrStart = c.eip;
    execute(c);
  }
}

function pmCpu(cpl: 0 | 3 = 0): Cpu {
  const c = newCpu();
  standardGdt(c);
  enterPm(c, cpl === 0 ? { cpl, cs: CODE0, ss: DATA0, esp: 0x8000 } : { cpl, cs: CODE3, ss: DATA3, esp: 0x8000 });
  return c;
}

describe('P6 instructions', () => {
  it('CPUID says family 6 with the FPU, MSR, SEP and CMOV bits, and a brand string', () => {
    const c = pmCpu();
    const ask = (leaf: number): number[] => {
      c.regs[EAX] = leaf;
      runCode(c, [0x0f, 0xa2]);
      return [c.regs[EAX] >>> 0, c.regs[EBX] >>> 0, c.regs[ECX] >>> 0, c.regs[EDX] >>> 0];
    };
    const [max, b, cx, d] = ask(0);
    expect(max).toBe(1);
    const vendor = String.fromCharCode(...new Uint8Array(Uint32Array.of(b, d, cx).buffer));
    expect(vendor).toBe('lguest.ts386');
    const [sig, , , feat] = ask(1);
    expect(sig).toBe(CPUID_SIGNATURE);
    expect((sig >> 8) & 15).toBe(6);
    expect(feat).toBe(CPUID_FEATURES);
    expect(feat & 1).toBe(1); // FPU
    expect(feat & (1 << 11)).toBe(1 << 11); // SEP
    expect(feat & ((1 << 23) | (1 << 24) | (1 << 25) | (1 << 13) | (1 << 6) | (1 << 9))).toBe(0); // no MMX FXSR SSE PGE PAE APIC
    expect(ask(0x80000000)[0]).toBe(0x80000004);
    const brand = [0x80000002, 0x80000003, 0x80000004]
      .flatMap((l) => ask(l))
      .map((w) => String.fromCharCode(w & 0xff, (w >> 8) & 0xff, (w >> 16) & 0xff, w >>> 24))
      .join('');
    expect(brand.replace(/\0+$/, '')).toBe(CPUID_BRAND);
    // Past the last leaf: the last basic leaf again.
    expect(ask(7)).toEqual(ask(1));
  });

  it('SYSENTER enters ring 0 at SYSENTER_CS:EIP with SYSENTER_ESP; SYSEXIT returns to ring 3', () => {
    const c = pmCpu();
    // wrmsr SYSENTER_CS = CODE0, ESP = 0x9000, EIP = 0x30000
    for (const [msr, v] of [
      [0x174, CODE0],
      [0x175, 0x9000],
      [0x176, 0x30000],
    ]) {
      c.regs[ECX] = msr;
      c.regs[EAX] = v;
      c.regs[EDX] = 0;
      runCode(c, [0x0f, 0x30]);
    }
    c.regs[ECX] = 0x175;
    runCode(c, [0x0f, 0x32]);
    expect(c.regs[EAX]).toBe(0x9000);
    // SYSEXIT to ring 3 at EDX with ESP = ECX.
    c.regs[ECX] = 0x7000;
    c.regs[EDX] = 0x21000;
    runCode(c, [0x0f, 0x35]);
    expect([c.cpl, c.segSel[CS], c.segSel[SS], c.eip, c.regs[ESP]]).toEqual([
      3,
      (CODE0 + 16) | 3,
      (CODE0 + 24) | 3,
      0x21000,
      0x7000,
    ]);
    // SYSENTER from ring 3.
    c.mem8.set([0x0f, 0x34], 0x21000);
    c.instrStart = c.eip;
    execute(c);
    expect([c.cpl, c.segSel[CS], c.segSel[SS], c.eip, c.regs[ESP]]).toEqual([0, CODE0, DATA0, 0x30000, 0x9000]);
    expect(c.getEflags() & 0x200).toBe(0);
  });

  it('raises #GP(0) for unmodelled MSRs, at CPL 3, and for SYSENTER with SYSENTER_CS 0', () => {
    const c = pmCpu();
    c.regs[ECX] = 0x1b; // APIC_BASE: not modelled
    expect(faultOf(c, () => runCode(c, [0x0f, 0x32]))).toEqual([13, 0]);
    expect(faultOf(c, () => runCode(c, [0x0f, 0x34]))).toEqual([13, 0]);
    const u = pmCpu(3);
    u.regs[ECX] = 0x174;
    expect(faultOf(u, () => runCode(u, [0x0f, 0x32]))).toEqual([13, 0]);
    expect(faultOf(u, () => runCode(u, [0x0f, 0x33]))).toEqual([13, 0]); // RDPMC without CR4.PCE
  });

  it('runs the long NOP and the hint NOPs without touching memory', () => {
    const c = pmCpu();
    c.regs[EAX] = 0x7ffffff0; // far outside memory and the segment: never accessed
    runCode(c, [0x0f, 0x1f, 0x80, 0, 0, 0, 0x10, 0x0f, 0x18, 0x00, 0x0f, 0x1f, 0x44, 0x00, 0x00], 3);
    expect(c.eip).toBe(AT + 15);
  });
});
