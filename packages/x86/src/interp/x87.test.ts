// The x87 and CR0: #NM for EM and TS (and for WAIT only with MP and TS), #MF on the next
// waiting instruction after an unmasked exception when CR0.NE is set, FERR# to the platform
// when it is clear, and the non-waiting forms that never fault. Real-mode programs whose
// every interrupt vector leads to its own HLT, so the halt address names the vector.

import { EMPTY_IO_BUS, type Machine } from '../contract';
import { Cpu } from './cpu';
import { CR0_EM, CR0_ET, CR0_MP, CR0_NE, CR0_TS } from './regs';

const CODE = 0x1000,
  STUBS = 0x8000,
  DATA = 0x3000;

function machineWith(code: number[], cr0: number): { cpu: Cpu; ferr: number[]; mem: Uint8Array } {
  const ferr: number[] = [];
  const machine: Machine = { memory: new ArrayBuffer(1 << 20), io: EMPTY_IO_BUS, ferr: () => ferr.push(1) };
  const mem = new Uint8Array(machine.memory);
  for (let v = 0; v < 32; v++) {
    mem[v * 4] = (STUBS + v) & 0xff;
    mem[v * 4 + 1] = (STUBS + v) >> 8;
    mem[STUBS + v] = 0xf4;
  }
  mem.set([...code, 0xf4], CODE);
  // A control word with the zero-divide exception unmasked.
  mem[DATA] = 0x7b;
  mem[DATA + 1] = 0x03;
  const cpu = new Cpu(machine);
  const s = cpu.getState();
  cpu.setState({
    ...s,
    cs: { selector: 0, base: 0, limit: 0xffff, access: 0x9b },
    eip: CODE,
    cr0: cr0 | CR0_ET,
    esp: 0x7000,
  });
  return { cpu, ferr, mem };
}

/** Where the CPU halted: 'end' after the program, or the vector whose stub it reached. */
function run(code: number[], cr0: number): { at: string; cpu: Cpu; ferr: number } {
  const m = machineWith(code, cr0);
  m.cpu.run(100);
  const eip = m.cpu.eip - 1;
  const at = eip === CODE + code.length ? 'end' : eip >= STUBS && eip < STUBS + 32 ? `#${eip - STUBS}` : `?${eip}`;
  return { at, cpu: m.cpu, ferr: m.ferr.length };
}

const FNINIT = [0xdb, 0xe3];
const FLDCW = [0xd9, 0x2e, DATA & 0xff, DATA >> 8]; // fldcw [DATA]
const DIV0 = [0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9]; // fld1; fldz; fdivp
const FLD1 = [0xd9, 0xe8];
const FWAIT = [0x9b];
const FNSTSW_AX = [0xdf, 0xe0];

describe('the x87 and CR0', () => {
  it('raises #NM for an escape when CR0.EM or CR0.TS is set', () => {
    expect(run(FLD1, CR0_EM).at).toBe('#7');
    expect(run(FLD1, CR0_TS).at).toBe('#7');
    expect(run(FNINIT, CR0_TS | CR0_MP).at).toBe('#7');
    expect(run(FLD1, CR0_MP).at).toBe('end');
  });

  it('raises #NM for WAIT only when CR0.MP and CR0.TS are both set', () => {
    expect(run(FWAIT, CR0_TS).at).toBe('end');
    expect(run(FWAIT, CR0_EM).at).toBe('end');
    expect(run(FWAIT, CR0_TS | CR0_MP).at).toBe('#7');
  });

  it('computes: FNINIT, FLD1, FADD ST, FISTP stores 2', () => {
    const r = machineWith([...FNINIT, ...FLD1, 0xd8, 0xc0, 0xdf, 0x1e, 0x00, 0x40], CR0_NE);
    r.cpu.run(100);
    expect(r.mem[0x4000] | (r.mem[0x4001] << 8)).toBe(2);
    expect(r.cpu.fpu.status()).toBe(0);
  });

  it('raises #MF on the next waiting instruction after an unmasked exception when CR0.NE is set', () => {
    const r = run([...FNINIT, ...FLDCW, ...DIV0], CR0_NE);
    expect(r.at).toBe('end');
    expect(r.cpu.fpu.status() & 0x8084).toBe(0x8084); // B, ES, ZE
    expect(run([...FNINIT, ...FLDCW, ...DIV0, ...FLD1], CR0_NE).at).toBe('#16');
    expect(run([...FNINIT, ...FLDCW, ...DIV0, ...FWAIT], CR0_NE).at).toBe('#16');
    // The non-waiting forms do not look: FNSTSW AX, then FNINIT clears it all.
    const quiet = run([...FNINIT, ...FLDCW, ...DIV0, ...FNSTSW_AX, ...FNINIT, ...FLD1, ...FWAIT], CR0_NE);
    expect(quiet.at).toBe('end');
    expect(quiet.cpu.regs[0] & 0xffff).toBe(0xb084); // B, TOP = 6 after fld1, fldz, fdivp (pop), ES, ZE
  });

  it('signals FERR# instead when CR0.NE is clear, and carries on', () => {
    const r = run([...FNINIT, ...FLDCW, ...DIV0, ...FLD1, ...FWAIT], 0);
    expect(r.at).toBe('end');
    expect(r.ferr).toBe(2);
  });

  it('raises #UD for FISTTP (DB /1, DD /1, DF /1): SSE3, which CPUID does not claim', () => {
    // fld1, then FISTTP m32int / m64int / m16int at DATA+0x10: nothing is stored, nothing popped.
    for (const op of [0xdb, 0xdd, 0xdf]) {
      const r = machineWith([...FNINIT, ...FLD1, op, 0x0e, 0x10, DATA >> 8], CR0_NE);
      r.mem.fill(0xaa, DATA + 0x10, DATA + 0x18);
      r.cpu.run(100);
      expect(r.cpu.eip - 1).toBe(STUBS + 6);
      expect([...r.mem.subarray(DATA + 0x10, DATA + 0x18)]).toEqual(new Array(8).fill(0xaa));
      expect((r.cpu.fpu.status() >> 11) & 7).toBe(7); // TOP after one push: FISTTP did not pop
    }
    // The register forms of those rows are other instructions (FCMOVNE, FXCH4, FXCH7), not #UD.
    expect(run([...FNINIT, ...FLD1, ...FLD1, 0xdb, 0xc9], CR0_NE).at).toBe('end');
  });
});
