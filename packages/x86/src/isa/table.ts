// The instruction-set table: every instruction form the reference core executes, one entry
// per opcode (per ModRM reg field for group opcodes), in the Intel opcode-map notation of
// types.ts. It is the single source of truth the decoder, the disassembler and the
// conformance generator are derived from; table.test.ts checks it against the core by
// executing every form, so the table describes *this* core — its undocumented opcodes
// (SALC, INT1), its aliases (82, F6/F7 /1, the /6 shift) and its host escape included.
//
// Facts (operands, flags, privilege, generation) are Intel's; where the core is known to
// disagree, the table keeps Intel's semantics and the test lists the core bug.

import type { FlagEffect, InstructionForm, Operand } from './types';

/** Condition codes in opcode order (the low nibble of Jcc/SETcc/CMOVcc): Intel's opcode-map
 *  name and the flags the condition reads. */
export const CONDITIONS: readonly { readonly name: string; readonly reads: string }[] = [
  { name: 'o', reads: 'o' },
  { name: 'no', reads: 'o' },
  { name: 'b', reads: 'c' },
  { name: 'nb', reads: 'c' },
  { name: 'z', reads: 'z' },
  { name: 'nz', reads: 'z' },
  { name: 'be', reads: 'zc' },
  { name: 'nbe', reads: 'zc' },
  { name: 's', reads: 's' },
  { name: 'ns', reads: 's' },
  { name: 'p', reads: 'p' },
  { name: 'np', reads: 'p' },
  { name: 'l', reads: 'os' },
  { name: 'nl', reads: 'os' },
  { name: 'le', reads: 'osz' },
  { name: 'nle', reads: 'osz' },
];

// ---- flag effects (Intel SDM vol. 2, "Flags Affected")
const ARITH: FlagEffect = { written: 'oszapc' };
const ARITH_C: FlagEffect = { read: 'c', written: 'oszapc' };
const LOGIC: FlagEffect = { written: 'oszpc', undefined: 'a' };
const INCDEC: FlagEffect = { written: 'oszap' };
const MULF: FlagEffect = { written: 'oc', undefined: 'szap' };
const DIVF: FlagEffect = { undefined: 'oszapc' };
const BITF: FlagEffect = { written: 'c', undefined: 'osap' };
const SCANF: FlagEffect = { written: 'z', undefined: 'osapc' };
const ZF_ONLY: FlagEffect = { written: 'z' };
const DIR: FlagEffect = { read: 'd' };
const DIR_CMP: FlagEffect = { read: 'd', written: 'oszapc' };
const ALL: FlagEffect = { written: 'odiszapc' };
const CRMOV: FlagEffect = { undefined: 'oszapc' };

/** Group 2 flag effects for ROL ROR RCL RCR SHL SHR SAL SAR, by count kind. With a count
 *  of one OF is defined; with a variable count it is defined only when the count is one. */
function shiftFlags(reg: number, countOne: boolean): FlagEffect {
  const rcx = reg === 2 || reg === 3 ? 'c' : undefined;
  if (reg < 4) return countOne ? { read: rcx, written: 'oc' } : { read: rcx, written: 'c', undefined: 'o' };
  return countOne ? { written: 'oszpc', undefined: 'a' } : { written: 'szpc', undefined: 'oa' };
}

const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
const SHIFT_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'] as const;
const SAL_NOTE = '/6 is an undocumented alias of SHL (/4)';

function aluFlags(kind: number): FlagEffect {
  if (kind === 2 || kind === 3) return ARITH_C;
  if (kind === 1 || kind === 4 || kind === 6) return LOGIC;
  return ARITH;
}

/** The six classic ALU encodings of `kind` (00–3D), and LOCK on the memory destinations. */
function aluRow(kind: number): InstructionForm[] {
  const base = kind << 3;
  const mnemonic = ALU_NAMES[kind];
  const flags = aluFlags(kind);
  const lockable = kind !== 7 ? true : undefined;
  const shapes: [Operand, Operand][] = [
    ['Eb', 'Gb'],
    ['Ev', 'Gv'],
    ['Gb', 'Eb'],
    ['Gv', 'Ev'],
    ['AL', 'Ib'],
    ['eAX', 'Iv'],
  ];
  return shapes.map((operands, i) => ({
    opcode: base + i,
    mnemonic,
    operands,
    flags,
    ...(i < 2 && lockable ? { lockable } : {}),
    since: 86,
  }));
}

/** Group 1 (80–83): the ALU with an immediate, selected by ModRM reg. */
function group1(opcode: number, operands: readonly Operand[], note?: string): InstructionForm[] {
  return ALU_NAMES.map((mnemonic, reg) => ({
    opcode,
    reg,
    mnemonic,
    operands,
    flags: aluFlags(reg),
    ...(reg !== 7 ? { lockable: true } : {}),
    since: 86,
    ...(note ? { note } : {}),
  }));
}

/** Group 2 (C0 C1 D0–D3): shifts and rotates with an immediate, one, or CL count. */
function group2(opcode: number, operands: readonly Operand[], countOne: boolean, since: 86 | 186): InstructionForm[] {
  return SHIFT_NAMES.map((mnemonic, reg) => ({
    opcode,
    reg,
    mnemonic,
    operands,
    flags: shiftFlags(reg, countOne),
    since,
    ...(reg === 6 ? { note: SAL_NOTE } : {}),
  }));
}

/** Eight forms whose register is the low three bits of the opcode byte. */
function byRegister(first: number, form: Omit<InstructionForm, 'opcode'>): InstructionForm[] {
  return Array.from({ length: 8 }, (_, r) => ({ opcode: first + r, ...form }));
}

/** Sixteen condition-code forms starting at `first` ('j' + 'o' = 'jo', ...). */
function byCondition(
  first: number,
  prefix: string,
  form: Omit<InstructionForm, 'opcode' | 'mnemonic'>,
): InstructionForm[] {
  return CONDITIONS.map((cc, i) => ({
    opcode: first + i,
    mnemonic: prefix + cc.name,
    ...form,
    flags: { read: cc.reads },
  }));
}

/** Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV on Eb or Ev. */
function group3(opcode: number, e: Operand, imm: Operand): InstructionForm[] {
  return [
    { opcode, reg: 0, mnemonic: 'test', operands: [e, imm], flags: LOGIC, since: 86 },
    { opcode, reg: 1, mnemonic: 'test', operands: [e, imm], flags: LOGIC, since: 86, note: 'undocumented alias of /0' },
    { opcode, reg: 2, mnemonic: 'not', operands: [e], lockable: true, since: 86 },
    { opcode, reg: 3, mnemonic: 'neg', operands: [e], flags: ARITH, lockable: true, since: 86 },
    { opcode, reg: 4, mnemonic: 'mul', operands: [e], flags: MULF, since: 86, note: 'implicit AL/eAX and AH/eDX' },
    { opcode, reg: 5, mnemonic: 'imul', operands: [e], flags: MULF, since: 86, note: 'implicit AL/eAX and AH/eDX' },
    { opcode, reg: 6, mnemonic: 'div', operands: [e], flags: DIVF, since: 86, note: '#DE: zero divisor, overflow' },
    { opcode, reg: 7, mnemonic: 'idiv', operands: [e], flags: DIVF, since: 86, note: '#DE: zero divisor, overflow' },
  ];
}

// ---- the x87 escapes D8–DF: per opcode and ModRM reg, the memory form and the register
// forms (a string means all eight r/m values, with i the register number).
type X87Row = readonly [memory: string | undefined, registers: string | readonly (string | undefined)[] | undefined];
const ARITH_MEM = (t: string): X87Row[] =>
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'].map((m): X87Row => [
    `${t === 'm32fp' || t === 'm64fp' ? m : 'fi' + m.slice(1)} ${t}`,
    undefined,
  ]);
const ONLY = (rm: number, name: string): (string | undefined)[] =>
  Array.from({ length: 8 }, (_, i) => (i === rm ? name : undefined));
const X87_ROWS: Record<number, readonly X87Row[]> = {
  0xd8: ARITH_MEM('m32fp').map(([mem], reg): X87Row => [
    mem,
    [
      'fadd st,st(i)',
      'fmul st,st(i)',
      'fcom st(i)',
      'fcomp st(i)',
      'fsub st,st(i)',
      'fsubr st,st(i)',
      'fdiv st,st(i)',
      'fdivr st,st(i)',
    ][reg],
  ]),
  0xd9: [
    ['fld m32fp', 'fld st(i)'],
    [undefined, 'fxch st(i)'],
    ['fst m32fp', ONLY(0, 'fnop')],
    ['fstp m32fp', 'fstp1 st(i)'],
    ['fldenv m14/28byte', ['fchs', 'fabs', undefined, undefined, 'ftst', 'fxam', undefined, undefined]],
    ['fldcw m2byte', ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', undefined]],
    ['fnstenv m14/28byte', ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp']],
    ['fnstcw m2byte', ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos']],
  ],
  0xda: ARITH_MEM('m32int').map(([mem], reg): X87Row => [
    mem,
    reg < 4 ? `${['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu'][reg]} st,st(i)` : reg === 5 ? ONLY(1, 'fucompp') : undefined,
  ]),
  0xdb: [
    ['fild m32int', 'fcmovnb st,st(i)'],
    [undefined, 'fcmovne st,st(i)'],
    ['fist m32int', 'fcmovnbe st,st(i)'],
    ['fistp m32int', 'fcmovnu st,st(i)'],
    [undefined, ['fneni', 'fndisi', 'fnclex', 'fninit', 'fnsetpm', undefined, undefined, undefined]],
    ['fld m80fp', 'fucomi st,st(i)'],
    [undefined, 'fcomi st,st(i)'],
    ['fstp m80fp', undefined],
  ],
  0xdc: ARITH_MEM('m64fp').map(([mem], reg): X87Row => [
    mem,
    [
      'fadd st(i),st',
      'fmul st(i),st',
      'fcom2 st(i)',
      'fcomp3 st(i)',
      'fsubr st(i),st',
      'fsub st(i),st',
      'fdivr st(i),st',
      'fdiv st(i),st',
    ][reg],
  ]),
  0xdd: [
    ['fld m64fp', 'ffree st(i)'],
    [undefined, 'fxch4 st(i)'],
    ['fst m64fp', 'fst st(i)'],
    ['fstp m64fp', 'fstp st(i)'],
    ['frstor m94/108byte', 'fucom st(i)'],
    [undefined, 'fucomp st(i)'],
    ['fnsave m94/108byte', undefined],
    ['fnstsw m2byte', undefined],
  ],
  0xde: ARITH_MEM('m16int').map(([mem], reg): X87Row => [
    mem,
    reg === 3
      ? ONLY(1, 'fcompp')
      : [
          'faddp st(i),st',
          'fmulp st(i),st',
          'fcomp5 st(i)',
          '',
          'fsubrp st(i),st',
          'fsubp st(i),st',
          'fdivrp st(i),st',
          'fdivp st(i),st',
        ][reg],
  ]),
  0xdf: [
    ['fild m16int', 'ffreep st(i)'],
    [undefined, 'fxch7 st(i)'],
    ['fist m16int', 'fstp8 st(i)'],
    ['fistp m16int', 'fstp9 st(i)'],
    ['fbld m80bcd', ONLY(0, 'fnstsw ax')],
    ['fild m64int', 'fucomip st,st(i)'],
    ['fbstp m80bcd', 'fcomip st,st(i)'],
    ['fistp m64int', undefined],
  ],
};
/** Flags the register forms of a row write or read (FCOMI/FUCOMI(P), FCMOVcc). */
function x87Flags(op: number, reg: number): FlagEffect | undefined {
  if ((op === 0xdb || op === 0xdf) && (reg === 5 || reg === 6)) return { written: 'oszapc' };
  if (op === 0xda || (op === 0xdb && reg < 4)) return { read: ['c', 'z', 'zc', 'p'][reg & 3] };
  return undefined;
}
const X87_FORMS: InstructionForm[] = Object.entries(X87_ROWS).flatMap(([opText, rows]) =>
  rows.map(([memory, regs], reg): InstructionForm => {
    const op = Number(opText);
    const registers = Array.from({ length: 8 }, (_, i) => {
      const r = typeof regs === 'string' ? regs : regs?.[i];
      return r ? r.replace('(i)', `(${i})`) : undefined;
    });
    const mnemonic = (memory ?? registers.find((r) => r) ?? 'f').split(' ')[0];
    const flags = x87Flags(op, reg);
    return {
      opcode: op,
      reg,
      mnemonic,
      operands: ['Ef'],
      ...(flags ? { flags } : {}),
      since: /cmov|comi/.test(registers.join(' ')) ? 686 : 86,
      note: 'x87: #NM when CR0.EM or CR0.TS is set; #MF (CR0.NE) or FERR# when an unmasked exception is pending',
      x87: { ...(memory ? { memory } : {}), registers },
    };
  }),
);

// Fragments many rows share, to keep each row on one line.
const IO_NOTE = 'CPL <= IOPL, or the TSS I/O permission bitmap allows the ports';
const PORT = { privilege: 'iopl', since: 86, note: IO_NOTE } as const;
const STRING_PORT = { flags: DIR, rep: 'rep', privilege: 'iopl', since: 186, note: IO_NOTE } as const;
const SREG_NOTE = 'a memory operand is always 16 bits; a register takes the operand size';
const XCHG = { lockable: true, since: 86, note: 'locked with memory even without LOCK' } as const;
const LOOP = { ends: 'branch', since: 86, note: 'counts eCX by address size' } as const;
const V86_IOPL = 'IOPL-sensitive in virtual-8086 mode';
const ASCII_ADJUST = { written: 'szp', undefined: 'oac' } as const;
const SYSTEM = { ends: 'system', privilege: 'cpl0' } as const;
const PROTECTED = { protectedOnly: true, since: 286 } as const;
const TABLE_STORE = { since: 286, note: 'with 16-bit operand size the base is stored as 24 bits' } as const;
const TABLE_LOAD = { ...SYSTEM, since: 286, note: 'with 16-bit operand size only 24 bits of base are loaded' } as const;
const CR = { flags: CRMOV, privilege: 'cpl0', since: 386, note: 'CR0 CR2 CR3 CR4; the mod field is ignored' } as const;
const DR = {
  flags: CRMOV,
  privilege: 'cpl0',
  since: 386,
  note: 'DR4/DR5 alias DR6/DR7; the mod field is ignored',
} as const;
const DOUBLE_SHIFT: FlagEffect = { written: 'szpc', undefined: 'oa' };

/** The one-byte opcode map (prefix bytes and 0F are not forms). */
const ONE_BYTE_FORMS: InstructionForm[] = [
  ...aluRow(0),
  { opcode: 0x06, mnemonic: 'push', operands: ['ES'], since: 86 },
  { opcode: 0x07, mnemonic: 'pop', operands: ['ES'], since: 86 },
  ...aluRow(1),
  { opcode: 0x0e, mnemonic: 'push', operands: ['CS'], since: 86 },
  ...aluRow(2),
  { opcode: 0x16, mnemonic: 'push', operands: ['SS'], since: 86 },
  {
    opcode: 0x17,
    mnemonic: 'pop',
    operands: ['SS'],
    ends: 'system',
    since: 86,
    note: 'holds off interrupts until after the next instruction',
  },
  ...aluRow(3),
  { opcode: 0x1e, mnemonic: 'push', operands: ['DS'], since: 86 },
  { opcode: 0x1f, mnemonic: 'pop', operands: ['DS'], since: 86 },
  ...aluRow(4),
  { opcode: 0x27, mnemonic: 'daa', operands: [], flags: { read: 'ac', written: 'szapc', undefined: 'o' }, since: 86 },
  ...aluRow(5),
  { opcode: 0x2f, mnemonic: 'das', operands: [], flags: { read: 'ac', written: 'szapc', undefined: 'o' }, since: 86 },
  ...aluRow(6),
  { opcode: 0x37, mnemonic: 'aaa', operands: [], flags: { read: 'a', written: 'ac', undefined: 'oszp' }, since: 86 },
  ...aluRow(7),
  { opcode: 0x3f, mnemonic: 'aas', operands: [], flags: { read: 'a', written: 'ac', undefined: 'oszp' }, since: 86 },
  ...byRegister(0x40, { mnemonic: 'inc', operands: ['Zv'], flags: INCDEC, since: 86 }),
  ...byRegister(0x48, { mnemonic: 'dec', operands: ['Zv'], flags: INCDEC, since: 86 }),
  ...byRegister(0x50, { mnemonic: 'push', operands: ['Zv'], since: 86 }),
  ...byRegister(0x58, { mnemonic: 'pop', operands: ['Zv'], since: 86 }),
  { opcode: 0x60, mnemonic: 'pushad', mnemonic16: 'pusha', operands: [], since: 186 },
  { opcode: 0x61, mnemonic: 'popad', mnemonic16: 'popa', operands: [], since: 186, note: 'the ESP slot is skipped' },
  {
    opcode: 0x62,
    mnemonic: 'bound',
    operands: ['Gv', 'Ma'],
    ends: 'interrupt',
    since: 186,
    note: '#BR when out of bounds',
  },
  { opcode: 0x63, mnemonic: 'arpl', operands: ['Ew', 'Gw'], flags: ZF_ONLY, protectedOnly: true, since: 286 },
  { opcode: 0x68, mnemonic: 'push', operands: ['Iv'], since: 186 },
  { opcode: 0x69, mnemonic: 'imul', operands: ['Gv', 'Ev', 'Iv'], flags: MULF, since: 186 },
  { opcode: 0x6a, mnemonic: 'push', operands: ['Ibs'], since: 186 },
  { opcode: 0x6b, mnemonic: 'imul', operands: ['Gv', 'Ev', 'Ibs'], flags: MULF, since: 186 },
  { opcode: 0x6c, mnemonic: 'ins', operands: ['Yb', 'DX'], ...STRING_PORT },
  { opcode: 0x6d, mnemonic: 'ins', operands: ['Yv', 'DX'], ...STRING_PORT },
  { opcode: 0x6e, mnemonic: 'outs', operands: ['DX', 'Xb'], ...STRING_PORT },
  { opcode: 0x6f, mnemonic: 'outs', operands: ['DX', 'Xv'], ...STRING_PORT },
  ...byCondition(0x70, 'j', { operands: ['Jb'], ends: 'branch', since: 86 }),
  ...group1(0x80, ['Eb', 'Ib']),
  ...group1(0x81, ['Ev', 'Iv']),
  ...group1(0x82, ['Eb', 'Ib'], 'alias of 80 (invalid only in 64-bit mode)'),
  ...group1(0x83, ['Ev', 'Ibs']),
  { opcode: 0x84, mnemonic: 'test', operands: ['Eb', 'Gb'], flags: LOGIC, since: 86 },
  { opcode: 0x85, mnemonic: 'test', operands: ['Ev', 'Gv'], flags: LOGIC, since: 86 },
  { opcode: 0x86, mnemonic: 'xchg', operands: ['Eb', 'Gb'], ...XCHG },
  { opcode: 0x87, mnemonic: 'xchg', operands: ['Ev', 'Gv'], ...XCHG },
  { opcode: 0x88, mnemonic: 'mov', operands: ['Eb', 'Gb'], since: 86 },
  { opcode: 0x89, mnemonic: 'mov', operands: ['Ev', 'Gv'], since: 86 },
  { opcode: 0x8a, mnemonic: 'mov', operands: ['Gb', 'Eb'], since: 86 },
  { opcode: 0x8b, mnemonic: 'mov', operands: ['Gv', 'Ev'], since: 86 },
  { opcode: 0x8c, mnemonic: 'mov', operands: ['Ev', 'Sw'], since: 86, note: SREG_NOTE },
  { opcode: 0x8d, mnemonic: 'lea', operands: ['Gv', 'M'], since: 86 },
  {
    opcode: 0x8e,
    mnemonic: 'mov',
    operands: ['Sw', 'Ew'],
    ends: 'system',
    since: 86,
    note: 'CS is not a valid destination (#UD); loading SS holds off interrupts for one instruction',
  },
  {
    opcode: 0x8f,
    reg: 0,
    mnemonic: 'pop',
    operands: ['Ev'],
    since: 86,
    note: 'the address is computed after ESP is incremented',
  },
  { opcode: 0x90, mnemonic: 'nop', operands: [], since: 86, note: 'XCHG eAX,eAX' },
  ...byRegister(0x91, { mnemonic: 'xchg', operands: ['Zv', 'eAX'], since: 86 }).slice(0, 7),
  { opcode: 0x98, mnemonic: 'cwde', mnemonic16: 'cbw', operands: [], since: 86 },
  { opcode: 0x99, mnemonic: 'cdq', mnemonic16: 'cwd', operands: [], since: 86 },
  { opcode: 0x9a, mnemonic: 'callf', operands: ['Ap'], ends: 'call', since: 86 },
  { opcode: 0x9b, mnemonic: 'wait', operands: [], since: 86, note: '#NM when CR0.MP and CR0.TS are both set' },
  {
    opcode: 0x9c,
    mnemonic: 'pushfd',
    mnemonic16: 'pushf',
    operands: [],
    flags: { read: 'odiszapc' },
    since: 86,
    note: 'IOPL-sensitive in virtual-8086 mode; VM and RF are stored clear',
  },
  {
    opcode: 0x9d,
    mnemonic: 'popfd',
    mnemonic16: 'popf',
    operands: [],
    flags: ALL,
    ends: 'system',
    since: 86,
    note: 'IOPL and IF change only with enough privilege; IOPL-sensitive in virtual-8086 mode',
  },
  { opcode: 0x9e, mnemonic: 'sahf', operands: [], flags: { written: 'szapc' }, since: 86 },
  { opcode: 0x9f, mnemonic: 'lahf', operands: [], flags: { read: 'szapc' }, since: 86 },
  { opcode: 0xa0, mnemonic: 'mov', operands: ['AL', 'Ob'], since: 86 },
  { opcode: 0xa1, mnemonic: 'mov', operands: ['eAX', 'Ov'], since: 86 },
  { opcode: 0xa2, mnemonic: 'mov', operands: ['Ob', 'AL'], since: 86 },
  { opcode: 0xa3, mnemonic: 'mov', operands: ['Ov', 'eAX'], since: 86 },
  { opcode: 0xa4, mnemonic: 'movs', operands: ['Yb', 'Xb'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xa5, mnemonic: 'movs', operands: ['Yv', 'Xv'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xa6, mnemonic: 'cmps', operands: ['Xb', 'Yb'], flags: DIR_CMP, rep: 'cc', since: 86 },
  { opcode: 0xa7, mnemonic: 'cmps', operands: ['Xv', 'Yv'], flags: DIR_CMP, rep: 'cc', since: 86 },
  { opcode: 0xa8, mnemonic: 'test', operands: ['AL', 'Ib'], flags: LOGIC, since: 86 },
  { opcode: 0xa9, mnemonic: 'test', operands: ['eAX', 'Iv'], flags: LOGIC, since: 86 },
  { opcode: 0xaa, mnemonic: 'stos', operands: ['Yb', 'AL'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xab, mnemonic: 'stos', operands: ['Yv', 'eAX'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xac, mnemonic: 'lods', operands: ['AL', 'Xb'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xad, mnemonic: 'lods', operands: ['eAX', 'Xv'], flags: DIR, rep: 'rep', since: 86 },
  { opcode: 0xae, mnemonic: 'scas', operands: ['AL', 'Yb'], flags: DIR_CMP, rep: 'cc', since: 86 },
  { opcode: 0xaf, mnemonic: 'scas', operands: ['eAX', 'Yv'], flags: DIR_CMP, rep: 'cc', since: 86 },
  ...byRegister(0xb0, { mnemonic: 'mov', operands: ['Zb', 'Ib'], since: 86 }),
  ...byRegister(0xb8, { mnemonic: 'mov', operands: ['Zv', 'Iv'], since: 86 }),
  ...group2(0xc0, ['Eb', 'Ib'], false, 186),
  ...group2(0xc1, ['Ev', 'Ib'], false, 186),
  { opcode: 0xc2, mnemonic: 'ret', operands: ['Iw'], ends: 'return', since: 86 },
  { opcode: 0xc3, mnemonic: 'ret', operands: [], ends: 'return', since: 86 },
  { opcode: 0xc4, mnemonic: 'les', operands: ['Gv', 'Mp'], since: 86 },
  { opcode: 0xc5, mnemonic: 'lds', operands: ['Gv', 'Mp'], since: 86 },
  { opcode: 0xc6, reg: 0, mnemonic: 'mov', operands: ['Eb', 'Ib'], since: 86 },
  { opcode: 0xc7, reg: 0, mnemonic: 'mov', operands: ['Ev', 'Iv'], since: 86 },
  { opcode: 0xc8, mnemonic: 'enter', operands: ['Iw', 'Ib'], since: 186, note: 'the nesting level is taken modulo 32' },
  { opcode: 0xc9, mnemonic: 'leave', operands: [], since: 186 },
  { opcode: 0xca, mnemonic: 'retf', operands: ['Iw'], ends: 'return', since: 86 },
  { opcode: 0xcb, mnemonic: 'retf', operands: [], ends: 'return', since: 86 },
  { opcode: 0xcc, mnemonic: 'int3', operands: [], ends: 'interrupt', since: 86 },
  { opcode: 0xcd, mnemonic: 'int', operands: ['Ib'], ends: 'interrupt', since: 86, note: V86_IOPL },
  { opcode: 0xce, mnemonic: 'into', operands: [], flags: { read: 'o' }, ends: 'interrupt', since: 86 },
  {
    opcode: 0xcf,
    mnemonic: 'iretd',
    mnemonic16: 'iret',
    operands: [],
    flags: ALL,
    ends: 'interrupt',
    since: 86,
    note: 'IOPL-sensitive in virtual-8086 mode; a task return when NT is set',
  },
  ...group2(0xd0, ['Eb', '1'], true, 86),
  ...group2(0xd1, ['Ev', '1'], true, 86),
  ...group2(0xd2, ['Eb', 'CL'], false, 86),
  ...group2(0xd3, ['Ev', 'CL'], false, 86),
  {
    opcode: 0xd4,
    mnemonic: 'aam',
    operands: ['Ib'],
    flags: ASCII_ADJUST,
    since: 86,
    note: 'the immediate is the base (0x0a for decimal); #DE when it is zero',
  },
  {
    opcode: 0xd5,
    mnemonic: 'aad',
    operands: ['Ib'],
    flags: ASCII_ADJUST,
    since: 86,
    note: 'the immediate is the base',
  },
  {
    opcode: 0xd6,
    mnemonic: 'salc',
    operands: [],
    flags: { read: 'c' },
    since: 86,
    note: 'undocumented: AL = CF ? FF : 0',
  },
  { opcode: 0xd7, mnemonic: 'xlat', operands: [], since: 86, note: 'AL = [seg:(E)BX + AL], DS unless overridden' },
  ...X87_FORMS,
  { opcode: 0xe0, mnemonic: 'loopne', operands: ['Jb'], flags: { read: 'z' }, ...LOOP },
  { opcode: 0xe1, mnemonic: 'loope', operands: ['Jb'], flags: { read: 'z' }, ...LOOP },
  { opcode: 0xe2, mnemonic: 'loop', operands: ['Jb'], ...LOOP },
  { opcode: 0xe3, mnemonic: 'jecxz', mnemonic16: 'jcxz', operands: ['Jb'], ...LOOP, note: 'tests eCX by address size' },
  { opcode: 0xe4, mnemonic: 'in', operands: ['AL', 'Ib'], ...PORT },
  { opcode: 0xe5, mnemonic: 'in', operands: ['eAX', 'Ib'], ...PORT },
  { opcode: 0xe6, mnemonic: 'out', operands: ['Ib', 'AL'], ...PORT },
  { opcode: 0xe7, mnemonic: 'out', operands: ['Ib', 'eAX'], ...PORT },
  { opcode: 0xe8, mnemonic: 'call', operands: ['Jv'], ends: 'call', since: 86 },
  { opcode: 0xe9, mnemonic: 'jmp', operands: ['Jv'], ends: 'jump', since: 86 },
  { opcode: 0xea, mnemonic: 'jmpf', operands: ['Ap'], ends: 'jump', since: 86 },
  { opcode: 0xeb, mnemonic: 'jmp', operands: ['Jb'], ends: 'jump', since: 86 },
  { opcode: 0xec, mnemonic: 'in', operands: ['AL', 'DX'], ...PORT },
  { opcode: 0xed, mnemonic: 'in', operands: ['eAX', 'DX'], ...PORT },
  { opcode: 0xee, mnemonic: 'out', operands: ['DX', 'AL'], ...PORT },
  { opcode: 0xef, mnemonic: 'out', operands: ['DX', 'eAX'], ...PORT },
  {
    opcode: 0xf1,
    mnemonic: 'int1',
    operands: [],
    ends: 'interrupt',
    since: 386,
    note: 'ICEBP: #DB regardless of gate DPL',
  },
  { opcode: 0xf4, mnemonic: 'hlt', operands: [], ends: 'halt', privilege: 'cpl0', since: 86 },
  { opcode: 0xf5, mnemonic: 'cmc', operands: [], flags: { read: 'c', written: 'c' }, since: 86 },
  ...group3(0xf6, 'Eb', 'Ib'),
  ...group3(0xf7, 'Ev', 'Iv'),
  { opcode: 0xf8, mnemonic: 'clc', operands: [], flags: { written: 'c' }, since: 86 },
  { opcode: 0xf9, mnemonic: 'stc', operands: [], flags: { written: 'c' }, since: 86 },
  { opcode: 0xfa, mnemonic: 'cli', operands: [], flags: { written: 'i' }, privilege: 'iopl', since: 86 },
  {
    opcode: 0xfb,
    mnemonic: 'sti',
    operands: [],
    flags: { written: 'i' },
    ends: 'system',
    privilege: 'iopl',
    since: 86,
    note: 'interrupts are recognised only after the next instruction',
  },
  { opcode: 0xfc, mnemonic: 'cld', operands: [], flags: { written: 'd' }, since: 86 },
  { opcode: 0xfd, mnemonic: 'std', operands: [], flags: { written: 'd' }, since: 86 },
  { opcode: 0xfe, reg: 0, mnemonic: 'inc', operands: ['Eb'], flags: INCDEC, lockable: true, since: 86 },
  { opcode: 0xfe, reg: 1, mnemonic: 'dec', operands: ['Eb'], flags: INCDEC, lockable: true, since: 86 },
  { opcode: 0xff, reg: 0, mnemonic: 'inc', operands: ['Ev'], flags: INCDEC, lockable: true, since: 86 },
  { opcode: 0xff, reg: 1, mnemonic: 'dec', operands: ['Ev'], flags: INCDEC, lockable: true, since: 86 },
  { opcode: 0xff, reg: 2, mnemonic: 'call', operands: ['Ev'], ends: 'call', since: 86 },
  { opcode: 0xff, reg: 3, mnemonic: 'callf', operands: ['Mp'], ends: 'call', since: 86 },
  { opcode: 0xff, reg: 4, mnemonic: 'jmp', operands: ['Ev'], ends: 'jump', since: 86 },
  { opcode: 0xff, reg: 5, mnemonic: 'jmpf', operands: ['Mp'], ends: 'jump', since: 86 },
  { opcode: 0xff, reg: 6, mnemonic: 'push', operands: ['Ev'], since: 86 },
];

const T = 0x0f00;

/** The two-byte (0F xx) opcode map. */
const TWO_BYTE_FORMS: InstructionForm[] = [
  { opcode: T | 0x00, reg: 0, mnemonic: 'sldt', operands: ['Ev'], ...PROTECTED, note: SREG_NOTE },
  { opcode: T | 0x00, reg: 1, mnemonic: 'str', operands: ['Ev'], ...PROTECTED, note: SREG_NOTE },
  { opcode: T | 0x00, reg: 2, mnemonic: 'lldt', operands: ['Ew'], ...SYSTEM, ...PROTECTED },
  { opcode: T | 0x00, reg: 3, mnemonic: 'ltr', operands: ['Ew'], ...SYSTEM, ...PROTECTED },
  { opcode: T | 0x00, reg: 4, mnemonic: 'verr', operands: ['Ew'], flags: ZF_ONLY, ...PROTECTED },
  { opcode: T | 0x00, reg: 5, mnemonic: 'verw', operands: ['Ew'], flags: ZF_ONLY, ...PROTECTED },
  { opcode: T | 0x01, reg: 0, mnemonic: 'sgdt', operands: ['Ms'], ...TABLE_STORE },
  { opcode: T | 0x01, reg: 1, mnemonic: 'sidt', operands: ['Ms'], ...TABLE_STORE },
  { opcode: T | 0x01, reg: 2, mnemonic: 'lgdt', operands: ['Ms'], ...TABLE_LOAD },
  { opcode: T | 0x01, reg: 3, mnemonic: 'lidt', operands: ['Ms'], ...TABLE_LOAD },
  { opcode: T | 0x01, reg: 4, mnemonic: 'smsw', operands: ['Ev'], since: 286, note: SREG_NOTE },
  { opcode: T | 0x01, reg: 6, mnemonic: 'lmsw', operands: ['Ew'], ...SYSTEM, since: 286, note: 'cannot clear PE' },
  { opcode: T | 0x01, reg: 7, mnemonic: 'invlpg', operands: ['M'], ...SYSTEM, since: 486 },
  { opcode: T | 0x02, mnemonic: 'lar', operands: ['Gv', 'Ew'], flags: ZF_ONLY, ...PROTECTED },
  { opcode: T | 0x03, mnemonic: 'lsl', operands: ['Gv', 'Ew'], flags: ZF_ONLY, ...PROTECTED },
  {
    opcode: T | 0x04,
    mnemonic: 'hostescape',
    operands: ['Ib'],
    ...SYSTEM,
    note: 'lguest host escape: run() returns Exit.HostEscape with the code; #UD at CPL > 0 and in virtual-8086 mode',
  },
  { opcode: T | 0x06, mnemonic: 'clts', operands: [], ...SYSTEM, since: 286 },
  { opcode: T | 0x08, mnemonic: 'invd', operands: [], privilege: 'cpl0', since: 486 },
  { opcode: T | 0x09, mnemonic: 'wbinvd', operands: [], privilege: 'cpl0', since: 486 },
  { opcode: T | 0x0b, mnemonic: 'ud2', operands: [], ends: 'interrupt', since: 686, note: 'raises #UD by definition' },
  ...['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2', 'nop', 'nop', 'nop', 'nop'].map(
    (mnemonic, reg): InstructionForm => ({
      opcode: T | 0x18,
      reg,
      mnemonic,
      operands: ['Ev'],
      since: 686,
      note: 'a hint: the operand is decoded, never accessed',
    }),
  ),
  ...[0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f].map((b): InstructionForm => ({
    opcode: T | b,
    mnemonic: 'nop',
    operands: ['Ev'],
    since: 686,
    note: b === 0x1f ? 'the long NOP (/0); the operand is never accessed' : 'a hint NOP; the operand is never accessed',
  })),
  { opcode: T | 0x20, mnemonic: 'mov', operands: ['Rd', 'Cd'], ...CR },
  { opcode: T | 0x21, mnemonic: 'mov', operands: ['Rd', 'Dd'], ...DR },
  { opcode: T | 0x22, mnemonic: 'mov', operands: ['Cd', 'Rd'], ...CR, ends: 'system' },
  { opcode: T | 0x23, mnemonic: 'mov', operands: ['Dd', 'Rd'], ...DR, ends: 'system' },
  {
    opcode: T | 0x30,
    mnemonic: 'wrmsr',
    operands: [],
    privilege: 'cpl0',
    since: 586,
    note: 'SYSENTER_CS/ESP/EIP, PERFCTR0/1, EVNTSEL0/1; #GP(0) for any other MSR',
  },
  { opcode: T | 0x31, mnemonic: 'rdtsc', operands: [], since: 586, note: '#GP(0) at CPL > 0 when CR4.TSD is set' },
  {
    opcode: T | 0x32,
    mnemonic: 'rdmsr',
    operands: [],
    privilege: 'cpl0',
    since: 586,
    note: 'SYSENTER_CS/ESP/EIP, PERFCTR0/1, EVNTSEL0/1; #GP(0) for any other MSR',
  },
  {
    opcode: T | 0x33,
    mnemonic: 'rdpmc',
    operands: [],
    privilege: 'cpl0',
    since: 686,
    note: 'any CPL when CR4.PCE is set; ECX 0 or 1, else #GP(0); the counters count no events',
  },
  {
    opcode: T | 0x34,
    mnemonic: 'sysenter',
    operands: [],
    ends: 'system',
    since: 686,
    note: '#GP(0) in real mode or with SYSENTER_CS 0',
  },
  {
    opcode: T | 0x35,
    mnemonic: 'sysexit',
    operands: [],
    ends: 'system',
    privilege: 'cpl0',
    since: 686,
    note: '#GP(0) in real mode or with SYSENTER_CS 0',
  },
  ...byCondition(T | 0x40, 'cmov', {
    operands: ['Gv', 'Ev'],
    since: 686,
    note: 'a memory source is read even when the condition is false',
  }),
  ...byCondition(T | 0x80, 'j', { operands: ['Jv'], ends: 'branch', since: 386 }),
  ...byCondition(T | 0x90, 'set', { operands: ['Eb'], since: 386 }),
  { opcode: T | 0xa0, mnemonic: 'push', operands: ['FS'], since: 386 },
  { opcode: T | 0xa1, mnemonic: 'pop', operands: ['FS'], since: 386 },
  {
    opcode: T | 0xa2,
    mnemonic: 'cpuid',
    operands: [],
    since: 586,
    note: '"lguest.ts386", family 6 model 3: FPU PSE TSC MSR CX8 SEP CMOV; a brand string',
  },
  {
    opcode: T | 0xa3,
    mnemonic: 'bt',
    operands: ['Ev', 'Gv'],
    flags: BITF,
    since: 386,
    note: 'the offset may leave Ev',
  },
  { opcode: T | 0xa4, mnemonic: 'shld', operands: ['Ev', 'Gv', 'Ib'], flags: DOUBLE_SHIFT, since: 386 },
  { opcode: T | 0xa5, mnemonic: 'shld', operands: ['Ev', 'Gv', 'CL'], flags: DOUBLE_SHIFT, since: 386 },
  { opcode: T | 0xa8, mnemonic: 'push', operands: ['GS'], since: 386 },
  { opcode: T | 0xa9, mnemonic: 'pop', operands: ['GS'], since: 386 },
  { opcode: T | 0xab, mnemonic: 'bts', operands: ['Ev', 'Gv'], flags: BITF, lockable: true, since: 386 },
  { opcode: T | 0xac, mnemonic: 'shrd', operands: ['Ev', 'Gv', 'Ib'], flags: DOUBLE_SHIFT, since: 386 },
  { opcode: T | 0xad, mnemonic: 'shrd', operands: ['Ev', 'Gv', 'CL'], flags: DOUBLE_SHIFT, since: 386 },
  { opcode: T | 0xaf, mnemonic: 'imul', operands: ['Gv', 'Ev'], flags: MULF, since: 386 },
  { opcode: T | 0xb0, mnemonic: 'cmpxchg', operands: ['Eb', 'Gb'], flags: ARITH, lockable: true, since: 486 },
  { opcode: T | 0xb1, mnemonic: 'cmpxchg', operands: ['Ev', 'Gv'], flags: ARITH, lockable: true, since: 486 },
  {
    opcode: T | 0xb2,
    mnemonic: 'lss',
    operands: ['Gv', 'Mp'],
    ends: 'system',
    since: 386,
    note: 'holds off interrupts for one instruction',
  },
  { opcode: T | 0xb3, mnemonic: 'btr', operands: ['Ev', 'Gv'], flags: BITF, lockable: true, since: 386 },
  { opcode: T | 0xb4, mnemonic: 'lfs', operands: ['Gv', 'Mp'], since: 386 },
  { opcode: T | 0xb5, mnemonic: 'lgs', operands: ['Gv', 'Mp'], since: 386 },
  { opcode: T | 0xb6, mnemonic: 'movzx', operands: ['Gv', 'Eb'], since: 386 },
  { opcode: T | 0xb7, mnemonic: 'movzx', operands: ['Gv', 'Ew'], since: 386 },
  { opcode: T | 0xba, reg: 4, mnemonic: 'bt', operands: ['Ev', 'Ib'], flags: BITF, since: 386 },
  { opcode: T | 0xba, reg: 5, mnemonic: 'bts', operands: ['Ev', 'Ib'], flags: BITF, lockable: true, since: 386 },
  { opcode: T | 0xba, reg: 6, mnemonic: 'btr', operands: ['Ev', 'Ib'], flags: BITF, lockable: true, since: 386 },
  { opcode: T | 0xba, reg: 7, mnemonic: 'btc', operands: ['Ev', 'Ib'], flags: BITF, lockable: true, since: 386 },
  { opcode: T | 0xbb, mnemonic: 'btc', operands: ['Ev', 'Gv'], flags: BITF, lockable: true, since: 386 },
  {
    opcode: T | 0xbc,
    mnemonic: 'bsf',
    operands: ['Gv', 'Ev'],
    flags: SCANF,
    since: 386,
    note: 'a zero source leaves the destination unchanged',
  },
  {
    opcode: T | 0xbd,
    mnemonic: 'bsr',
    operands: ['Gv', 'Ev'],
    flags: SCANF,
    since: 386,
    note: 'a zero source leaves the destination unchanged',
  },
  { opcode: T | 0xbe, mnemonic: 'movsx', operands: ['Gv', 'Eb'], since: 386 },
  { opcode: T | 0xbf, mnemonic: 'movsx', operands: ['Gv', 'Ew'], since: 386 },
  { opcode: T | 0xc0, mnemonic: 'xadd', operands: ['Eb', 'Gb'], flags: ARITH, lockable: true, since: 486 },
  { opcode: T | 0xc1, mnemonic: 'xadd', operands: ['Ev', 'Gv'], flags: ARITH, lockable: true, since: 486 },
  { opcode: T | 0xc7, reg: 1, mnemonic: 'cmpxchg8b', operands: ['Mq'], flags: ZF_ONLY, lockable: true, since: 586 },
  ...byRegister(T | 0xc8, {
    mnemonic: 'bswap',
    operands: ['Zv'],
    since: 486,
    note: '16-bit operand size is undefined; this core writes 0',
  }),
];

export const FORMS: readonly InstructionForm[] = Object.freeze([...ONE_BYTE_FORMS, ...TWO_BYTE_FORMS]);

/**
 * One opcode's entry in a map: its forms, by ModRM reg for a group (`group` true, holes
 * are undefined), or the single form at index 0.
 */
export interface OpcodeEntry {
  readonly opcode: number;
  readonly group: boolean;
  /** Whether a ModRM byte follows the opcode. */
  readonly modrm: boolean;
  readonly forms: readonly (InstructionForm | undefined)[];
}

const MODRM_OPERANDS: ReadonlySet<Operand> = new Set<Operand>([
  'Eb',
  'Ew',
  'Ed',
  'Ev',
  'Gb',
  'Gw',
  'Gd',
  'Gv',
  'M',
  'Mp',
  'Ma',
  'Mq',
  'Mw',
  'Ms',
  'Rd',
  'Sw',
  'Cd',
  'Dd',
  'Ef',
]);

/** Whether `form` is encoded with a ModRM byte. */
export function hasModrm(form: InstructionForm): boolean {
  return form.reg !== undefined || form.operands.some((o) => MODRM_OPERANDS.has(o));
}

const SIZED_BY_OPERAND_SIZE: ReadonlySet<Operand> = new Set<Operand>([
  'Ev',
  'Gv',
  'Iv',
  'Jv',
  'Ov',
  'Xv',
  'Yv',
  'Zv',
  'eAX',
  'Mp',
  'Ma',
  'Ms',
  'Ap',
  'Ibs',
]);
const STACK_MNEMONICS: ReadonlySet<string> = new Set(['push', 'pop', 'ret', 'retf', 'enter', 'leave', 'callf', 'jmpf']);

/**
 * Whether the operand size changes what `form` does, so that a 66 prefix means something.
 * `memory` says whether its r/m operand is memory: MOV from a segment register, SLDT, STR
 * and SMSW store 16 bits to memory whatever the operand size.
 */
export function usesOperandSize(form: InstructionForm, memory: boolean): boolean {
  if (form.opcode === 0xe3) return false; // JECXZ: sized by the address size
  // FLDENV, FNSTENV, FRSTOR, FNSAVE: the operand size picks the 16- or 32-bit layout.
  if (memory && form.x87?.memory?.includes('/')) return true;
  if (
    memory &&
    (form.opcode === 0x8c || form.mnemonic === 'sldt' || form.mnemonic === 'str' || form.mnemonic === 'smsw')
  ) {
    return false;
  }
  return (
    form.operands.some((o) => SIZED_BY_OPERAND_SIZE.has(o)) ||
    form.mnemonic16 !== undefined ||
    STACK_MNEMONICS.has(form.mnemonic)
  );
}

/**
 * Whether the address size changes what `form` does, so that a 67 prefix means something:
 * a memory operand (`memory`), a string or moffs operand, XLAT, LOOP and JECXZ.
 */
export function usesAddressSize(form: InstructionForm, memory: boolean): boolean {
  if (memory) return true;
  if (form.operands.some((o) => o[0] === 'X' || o[0] === 'Y' || o[0] === 'O')) return true;
  return form.mnemonic === 'xlat' || (form.opcode >= 0xe0 && form.opcode <= 0xe3);
}

/**
 * Whether a segment override prefix changes what `form` does: it has a memory operand
 * (`memory`), a moffs or DS:(E)SI string operand, or is XLAT. ES:(E)DI cannot be overridden.
 */
export function usesSegment(form: InstructionForm, memory: boolean): boolean {
  if (memory) return true;
  return form.mnemonic === 'xlat' || form.operands.some((o) => o[0] === 'X' || o[0] === 'O');
}

function buildMap(forms: readonly InstructionForm[], twoByte: boolean): readonly (OpcodeEntry | undefined)[] {
  const map: (OpcodeEntry | undefined)[] = new Array(256).fill(undefined);
  for (const f of forms) {
    if (f.opcode >= T !== twoByte) continue;
    const b = f.opcode & 0xff;
    const group = f.reg !== undefined;
    let e = map[b];
    if (!e) {
      e = { opcode: f.opcode, group, modrm: hasModrm(f), forms: group ? new Array(8).fill(undefined) : [] };
      map[b] = e;
    }
    if (e.group !== group) throw new Error(`table: opcode ${f.opcode.toString(16)} mixes group and plain forms`);
    const slots = e.forms as (InstructionForm | undefined)[];
    const at = group ? (f.reg as number) : 0;
    if (slots[at] !== undefined) throw new Error(`table: duplicate form for opcode ${f.opcode.toString(16)} /${at}`);
    slots[at] = f;
  }
  return Object.freeze(map);
}

/** The one-byte opcode map, indexed by opcode byte (prefixes and 0F are undefined). */
export const ONE_BYTE_MAP: readonly (OpcodeEntry | undefined)[] = buildMap(FORMS, false);
/** The 0F map, indexed by the second opcode byte. */
export const TWO_BYTE_MAP: readonly (OpcodeEntry | undefined)[] = buildMap(FORMS, true);

/** The map entry for `opcode` (0x00–0xFF, or 0x0F00 | byte), or undefined. */
export function entryFor(opcode: number): OpcodeEntry | undefined {
  return opcode >= T ? TWO_BYTE_MAP[opcode & 0xff] : ONE_BYTE_MAP[opcode & 0xff];
}

/**
 * The form for `opcode` (0x00–0xFF, or 0x0F00 | byte). A group opcode needs `reg` (the
 * ModRM reg field); for other opcodes `reg` is ignored. Undefined when nothing is defined.
 */
export function formFor(opcode: number, reg?: number): InstructionForm | undefined {
  if (opcode < 0 || opcode > 0x0fff || (opcode > 0xff && opcode < T)) return undefined;
  const e = entryFor(opcode);
  if (!e) return undefined;
  if (!e.group) return e.forms[0];
  return reg === undefined ? undefined : e.forms[reg & 7];
}
