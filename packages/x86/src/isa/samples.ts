// Sample instances of every table form, for the tests that hold the table, the decoder and
// the disassembler against outside truth (GNU objdump, the executing core). One factor is
// varied at a time from a plain instance: the r/m register, addressing forms (SIB scales,
// negative and 32-bit displacements, no base), segment overrides, the 66 and 67 prefixes,
// immediates, LOCK and REP — enough to reach every branch of the decoder.

import { encode, type Encoding, type MemoryOperand } from './encode';
import { usesAddressSize, usesOperandSize } from './table';
import type { InstructionForm, Operand } from './types';

export interface Sample {
  form: InstructionForm;
  mode32: boolean;
  bytes: Uint8Array;
  /** What was varied, for failure messages. */
  label: string;
}

const MEM32: MemoryOperand[] = [
  { base: 0, index: -1 },
  { base: 5, index: -1, disp: -8 },
  { base: 6, index: -1, disp: 0x12345678 },
  { base: 3, index: 1, scale: 4, disp: 0x10 },
  { base: 4, index: -1 },
  { base: 4, index: 0, scale: 2, disp: -0x80 },
  { base: -1, index: 1, scale: 8, disp: 0x1000 },
  { base: -1, index: -1, disp: 0x12345678 },
  { base: 0, index: -1, sib: true },
  { base: 7, index: 6, scale: 1, disp: -0x12345 },
];

const MEM16: MemoryOperand[] = [
  { base: 3, index: 6 },
  { base: 5, index: 7, disp: -8 },
  { base: 6, index: -1, disp: 0x1234 },
  { base: -1, index: -1, disp: 0x1234 },
  { base: 5, index: -1 },
  { base: 3, index: -1, disp: -0x100 },
  { base: 7, index: -1, disp: 0x7f },
];

const MEMORY_ONLY = new Set<Operand>(['M', 'Mp', 'Ma', 'Mq', 'Mw', 'Ms']);
const RM_OPERANDS = new Set<Operand>(['Eb', 'Ew', 'Ed', 'Ev', 'Ef', 'M', 'Mp', 'Ma', 'Mq', 'Mw', 'Ms', 'Rd']);
/** The ModRM reg values that are operands of `form` (G/S/C/D), or [0] when reg is not one. */
export function regChoices(form: InstructionForm): number[] {
  const ops = form.operands;
  if (ops.includes('Sw')) return ops[0] === 'Sw' ? [0, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5];
  if (ops.includes('Cd')) return [0, 2, 3, 4];
  if (ops.includes('Dd')) return [0, 1, 2, 3, 6, 7];
  if (ops.some((o) => o[0] === 'G')) return [2, 5];
  return [form.reg ?? 0];
}

/** Plausible immediates for `form` in encoding order, two choices each. */
function immediates(form: InstructionForm, o32: boolean, a32: boolean, second: boolean): number[] {
  const out: number[] = [];
  for (const op of form.operands) {
    switch (op) {
      case 'Ib':
        out.push(second ? 0x80 : 0x7f);
        break;
      case 'Ibs':
        out.push(second ? 0x80 : 0x7f);
        break;
      case 'Iw':
        out.push(second ? 0x8001 : 0x1234);
        break;
      case 'Iv':
        out.push(o32 ? (second ? 0x80000001 : 0x12345678) : second ? 0x8001 : 0x1234);
        break;
      case 'Jb':
        out.push(second ? -0x10 : 0x10);
        break;
      case 'Jv':
        out.push(second ? -0x100 : 0x100);
        break;
      case 'Ap':
        out.push(o32 ? 0x12345678 : 0x1234, second ? 0x1b : 0x10);
        break;
      case 'Ob':
      case 'Ov':
        out.push(a32 ? 0x12345678 : 0x1234);
        break;
    }
  }
  return out;
}

/** Sample instances of `form` as code of the given default size. */
export function samplesOf(form: InstructionForm, mode32: boolean): Sample[] {
  const out: Sample[] = [];
  const hasRm = form.operands.some((o) => RM_OPERANDS.has(o));
  // An x87 row may have only register forms, only a memory form, or a few register forms.
  const x87Regs = form.x87 ? [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => form.x87?.registers[i] !== undefined) : [];
  const memOnly = form.operands.some((o) => MEMORY_ONLY.has(o)) || (form.x87 !== undefined && x87Regs.length === 0);
  const regOnly = form.operands.includes('Rd') || (form.x87 !== undefined && form.x87.memory === undefined);
  const regs = regChoices(form);
  const add = (label: string, e: Omit<Encoding, 'mode32'>): void => {
    const o32 = mode32 !== !!e.opsizePrefix;
    const a32 = mode32 !== !!e.addrsizePrefix;
    const full: Encoding = { mode32, imm: immediates(form, o32, a32, false), ...e };
    out.push({ form, mode32, bytes: encode(form, full), label });
  };
  const mems = mode32 ? MEM32 : MEM16;
  const otherMems = mode32 ? MEM16 : MEM32;
  const plainMem = mems[0];
  const firstReg = form.x87 ? (x87Regs.includes(1) ? 1 : x87Regs[0]) : 1;
  const plain: Omit<Encoding, 'mode32'> = hasRm
    ? { rm: memOnly ? plainMem : firstReg, reg: regs[0] }
    : { reg: regs[0] };

  add('plain', plain);
  for (const reg of regs.slice(1)) add(`reg ${reg}`, { ...plain, reg });
  const rmChoices = form.x87 ? x87Regs.filter((i) => i !== firstReg) : [0, 4, 7];
  if (hasRm && !memOnly) for (const rm of rmChoices) add(`rm register ${rm}`, { ...plain, rm });
  if (hasRm && !regOnly) {
    mems.forEach((m, i) => add(`memory ${i}`, { ...plain, rm: m }));
    otherMems.forEach((m, i) => add(`67 memory ${i}`, { ...plain, rm: m, addrsizePrefix: true }));
    for (let s = 0; s < 6; s++) add(`segment ${s}`, { ...plain, rm: mems[3], segment: s });
  }
  if (usesOperandSize(form, memOnly)) add('66', { ...plain, opsizePrefix: true });
  if (hasRm && !regOnly && usesOperandSize(form, true)) add('66 memory', { ...plain, rm: mems[1], opsizePrefix: true });
  if (usesAddressSize(form, false)) {
    add('67', { ...plain, addrsizePrefix: true });
    add('segment 4', { ...plain, segment: 4 });
    add('67 segment 0', { ...plain, addrsizePrefix: true, segment: 0 });
  }
  if (form.operands.some((o) => o[0] === 'I' || o[0] === 'J' || o === 'Ap')) {
    const o32 = mode32;
    add('second immediates', { ...plain, imm: immediates(form, o32, mode32, true) });
    if (usesOperandSize(form, memOnly)) {
      add('66 second immediates', { ...plain, opsizePrefix: true, imm: immediates(form, !o32, mode32, true) });
    }
  }
  if (form.lockable) add('lock', { ...plain, rm: mems[2], lock: true });
  if (form.rep) {
    add('rep', { ...plain, rep: 0xf3 });
    if (form.rep === 'cc') add('repne', { ...plain, rep: 0xf2 });
  }
  return out;
}
