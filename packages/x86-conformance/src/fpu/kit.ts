// The FPU differential kit: every x87 form with edge operands (signed zeros, denormals and
// pseudo-denormals, infinities, quiet and signalling NaNs, unsupported encodings, the
// largest and smallest exponents, integer and BCD limits), under every precision and
// rounding control, with masked and unmasked exceptions and with empty registers for the
// stack faults — run on this machine's CPU (oracle.ts) and on a core, compared field by
// field: control, status and tag words, the eight registers, EFLAGS, EAX and memory.

import type { CoreFactory, CpuCore, CpuState } from '@lguest/x86';
import { CR0_PROTECTED, flatMachine, flatProtectedMode } from '../flat';
import { CASE_IN, CASE_OUT, CODE_MAX, IMAGE, MEM, runOracle } from './oracle';
import { Xorshift32 } from '../xorshift';

export type MemKind = 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'cw' | 'env' | 'none';

export interface FpuForm {
  name: string;
  bytes: readonly number[];
  mem: MemKind;
  /** A transcendental: the last bit of a finite result may differ from this CPU. */
  approx?: boolean;
  /** Memory bytes the comparison skips (the FNSTENV instruction and operand pointers). */
  skipMem?: readonly [number, number];
}

export interface FpuCase {
  form: FpuForm;
  input: Uint8Array;
}

// ---------------------------------------------------------------- the forms

const MEM_OF: Record<number, MemKind> = { 0xd8: 'f32', 0xdc: 'f64', 0xda: 'i32', 0xde: 'i16' };
const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
const D9_OPS: Record<number, string> = {
  0xd0: 'fnop',
  0xe0: 'fchs',
  0xe1: 'fabs',
  0xe4: 'ftst',
  0xe5: 'fxam',
  0xe8: 'fld1',
  0xe9: 'fldl2t',
  0xea: 'fldl2e',
  0xeb: 'fldpi',
  0xec: 'fldlg2',
  0xed: 'fldln2',
  0xee: 'fldz',
  0xf0: 'f2xm1',
  0xf1: 'fyl2x',
  0xf2: 'fptan',
  0xf3: 'fpatan',
  0xf4: 'fxtract',
  0xf5: 'fprem1',
  0xf6: 'fdecstp',
  0xf7: 'fincstp',
  0xf8: 'fprem',
  0xf9: 'fyl2xp1',
  0xfa: 'fsqrt',
  0xfb: 'fsincos',
  0xfc: 'frndint',
  0xfd: 'fscale',
  0xfe: 'fsin',
  0xff: 'fcos',
};
const APPROX = new Set(['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fyl2xp1', 'fsincos', 'fsin', 'fcos']);

/**
 * Encodings in the x87 opcode space the kit does not run against this CPU, and why. This
 * machine's CPU has SSE3, whose FISTTP lives at DB /1, DD /1 and DF /1 (memory); our CPUID
 * claims no SSE3, so there the core must raise #UD, and packages/x86's x87 tests check that.
 */
export const NOT_COMPARED: readonly { bytes: readonly number[]; why: string }[] = [0xdb, 0xdd, 0xdf].map((op) => ({
  bytes: [op, (1 << 3) | 3],
  why: 'FISTTP (SSE3): this CPU executes it; ours raises #UD, as a CPU without SSE3 must',
}));

/** Every x87 form the kit generates. Memory operands are [EBX] (ModRM mod 0, rm 3). */
export function fpuForms(): FpuForm[] {
  const forms: FpuForm[] = [];
  const m = (reg: number): number => (reg << 3) | 3;
  for (const op of [0xd8, 0xdc, 0xda, 0xde]) {
    const kind = MEM_OF[op];
    for (let reg = 0; reg < 8; reg++) {
      const prefix = kind[0] === 'i' ? 'fi' + ARITH[reg].slice(1) : ARITH[reg];
      forms.push({ name: `${prefix} ${kind}`, bytes: [op, m(reg)], mem: kind });
    }
  }
  for (let reg = 0; reg < 8; reg++) {
    for (const i of [0, 1, 2, 7]) {
      forms.push({ name: `${ARITH[reg]} st,st(${i})`, bytes: [0xd8, 0xc0 + reg * 8 + i], mem: 'none' });
      forms.push({ name: `dc/${reg} st(${i})`, bytes: [0xdc, 0xc0 + reg * 8 + i], mem: 'none' });
      if (reg !== 3) forms.push({ name: `de/${reg} st(${i})`, bytes: [0xde, 0xc0 + reg * 8 + i], mem: 'none' });
    }
  }
  forms.push({ name: 'fcompp', bytes: [0xde, 0xd9], mem: 'none' });
  // D9
  forms.push({ name: 'fld f32', bytes: [0xd9, m(0)], mem: 'f32' });
  forms.push({ name: 'fst f32', bytes: [0xd9, m(2)], mem: 'f32' });
  forms.push({ name: 'fstp f32', bytes: [0xd9, m(3)], mem: 'f32' });
  forms.push({ name: 'fldenv', bytes: [0xd9, m(4)], mem: 'env' });
  forms.push({ name: 'fldcw', bytes: [0xd9, m(5)], mem: 'cw' });
  forms.push({ name: 'fnstenv', bytes: [0xd9, m(6)], mem: 'none', skipMem: [12, 28] });
  forms.push({ name: 'fnstcw', bytes: [0xd9, m(7)], mem: 'none' });
  for (const i of [0, 1, 3, 7]) {
    forms.push({ name: `fld st(${i})`, bytes: [0xd9, 0xc0 + i], mem: 'none' });
    forms.push({ name: `fxch st(${i})`, bytes: [0xd9, 0xc8 + i], mem: 'none' });
    forms.push({ name: `fstp1 st(${i})`, bytes: [0xd9, 0xd8 + i], mem: 'none' });
  }
  for (const [b, name] of Object.entries(D9_OPS)) {
    forms.push({ name, bytes: [0xd9, Number(b)], mem: 'none', ...(APPROX.has(name) ? { approx: true } : {}) });
  }
  // DA, DB: FCMOVcc, FUCOMPP, FUCOMI, FCOMI, FNCLEX, FNINIT and the 8087/287 no-ops.
  const cmov = ['b', 'e', 'be', 'u'];
  for (let reg = 0; reg < 4; reg++) {
    for (const i of [0, 1, 5]) {
      forms.push({ name: `fcmov${cmov[reg]} st(${i})`, bytes: [0xda, 0xc0 + reg * 8 + i], mem: 'none' });
      forms.push({ name: `fcmovn${cmov[reg]} st(${i})`, bytes: [0xdb, 0xc0 + reg * 8 + i], mem: 'none' });
    }
  }
  forms.push({ name: 'fucompp', bytes: [0xda, 0xe9], mem: 'none' });
  for (const [b, name] of [
    [0xe0, 'fneni'],
    [0xe1, 'fndisi'],
    [0xe2, 'fnclex'],
    [0xe3, 'fninit'],
    [0xe4, 'fnsetpm'],
  ] as const) {
    forms.push({ name, bytes: [0xdb, b], mem: 'none' });
  }
  for (const i of [0, 1, 4]) {
    forms.push({ name: `fucomi st(${i})`, bytes: [0xdb, 0xe8 + i], mem: 'none' });
    forms.push({ name: `fcomi st(${i})`, bytes: [0xdb, 0xf0 + i], mem: 'none' });
    forms.push({ name: `fucomip st(${i})`, bytes: [0xdf, 0xe8 + i], mem: 'none' });
    forms.push({ name: `fcomip st(${i})`, bytes: [0xdf, 0xf0 + i], mem: 'none' });
    forms.push({ name: `ffree st(${i})`, bytes: [0xdd, 0xc0 + i], mem: 'none' });
    forms.push({ name: `ffreep st(${i})`, bytes: [0xdf, 0xc0 + i], mem: 'none' });
    forms.push({ name: `fst st(${i})`, bytes: [0xdd, 0xd0 + i], mem: 'none' });
    forms.push({ name: `fstp st(${i})`, bytes: [0xdd, 0xd8 + i], mem: 'none' });
    forms.push({ name: `fucom st(${i})`, bytes: [0xdd, 0xe0 + i], mem: 'none' });
    forms.push({ name: `fucomp st(${i})`, bytes: [0xdd, 0xe8 + i], mem: 'none' });
    forms.push({ name: `fxch4 st(${i})`, bytes: [0xdd, 0xc8 + i], mem: 'none' });
    forms.push({ name: `fxch7 st(${i})`, bytes: [0xdf, 0xc8 + i], mem: 'none' });
    forms.push({ name: `fstp8 st(${i})`, bytes: [0xdf, 0xd0 + i], mem: 'none' });
    forms.push({ name: `fstp9 st(${i})`, bytes: [0xdf, 0xd8 + i], mem: 'none' });
    forms.push({ name: `fcomp5 st(${i})`, bytes: [0xde, 0xd0 + i], mem: 'none' });
  }
  forms.push({ name: 'fild i32', bytes: [0xdb, m(0)], mem: 'i32' });
  forms.push({ name: 'fist i32', bytes: [0xdb, m(2)], mem: 'none' });
  forms.push({ name: 'fistp i32', bytes: [0xdb, m(3)], mem: 'none' });
  forms.push({ name: 'fld f80', bytes: [0xdb, m(5)], mem: 'f80' });
  forms.push({ name: 'fstp f80', bytes: [0xdb, m(7)], mem: 'none' });
  forms.push({ name: 'fld f64', bytes: [0xdd, m(0)], mem: 'f64' });
  forms.push({ name: 'fst f64', bytes: [0xdd, m(2)], mem: 'none' });
  forms.push({ name: 'fstp f64', bytes: [0xdd, m(3)], mem: 'none' });
  forms.push({ name: 'fnstsw m16', bytes: [0xdd, m(7)], mem: 'none' });
  forms.push({ name: 'fild i16', bytes: [0xdf, m(0)], mem: 'i16' });
  forms.push({ name: 'fist i16', bytes: [0xdf, m(2)], mem: 'none' });
  forms.push({ name: 'fistp i16', bytes: [0xdf, m(3)], mem: 'none' });
  forms.push({ name: 'fbld', bytes: [0xdf, m(4)], mem: 'bcd' });
  forms.push({ name: 'fild i64', bytes: [0xdf, m(5)], mem: 'i64' });
  forms.push({ name: 'fbstp', bytes: [0xdf, m(6)], mem: 'none' });
  forms.push({ name: 'fistp i64', bytes: [0xdf, m(7)], mem: 'none' });
  forms.push({ name: 'fnstsw ax', bytes: [0xdf, 0xe0], mem: 'none' });
  return forms;
}

// ---------------------------------------------------------------- operands

type Ext = [se: number, hi: number, lo: number];

/** Edge extended values: zeros, ones, denormals, pseudo-denormals, infinities, NaNs, unsupported. */
const EDGE_EXT: readonly Ext[] = [
  [0x0000, 0, 0],
  [0x8000, 0, 0],
  [0x3fff, 0x80000000, 0],
  [0xbfff, 0x80000000, 0],
  [0x0000, 0x00000000, 1],
  [0x8000, 0x40000000, 0],
  [0x0000, 0x7fffffff, 0xffffffff],
  [0x0000, 0x80000000, 0], // pseudo-denormal
  [0x0001, 0x80000000, 0], // smallest normal
  [0x7ffe, 0xffffffff, 0xffffffff], // largest finite
  [0xfffe, 0xffffffff, 0xffffffff],
  [0x7fff, 0x80000000, 0], // +inf
  [0xffff, 0x80000000, 0], // -inf
  [0x7fff, 0xc0000000, 0], // QNaN
  [0xffff, 0xc0000000, 0], // the indefinite
  [0x7fff, 0xc0001234, 5678],
  [0x7fff, 0xa0000000, 0], // SNaN
  [0xffff, 0x80000001, 0x9],
  [0x4000, 0x40000000, 0], // unnormal: unsupported
  [0x7fff, 0x40000000, 0], // pseudo-NaN
  [0x7fff, 0x00000000, 0], // pseudo-infinity
  [0x403e, 0x80000000, 0], // 2^63
  [0xc03e, 0x80000000, 0], // -2^63
  [0x403d, 0xffffffff, 0xfffffffe],
  [0x401d, 0xffffffff, 0x80000000], // 2^31 - 0.5
  [0x400e, 0xfffe8000, 0], // 32767.5ish
  [0x3ffe, 0x80000000, 0], // 0.5
  [0x4000, 0xc0000000, 0], // 3.0 (for ties, e.g. 2.5 + 0.5)
  [0x4000, 0xa0000000, 0], // 2.5
  [0xc000, 0xa0000000, 0], // -2.5
  [0x3fff, 0x80000000, 0x00000400], // 1 + half an ulp at 53 bits
  [0x3fff, 0x80000000, 0x00000c00],
  [0x3fff, 0x80000080, 0], // ties at 24 bits
  [0x3fff, 0x80000180, 0],
  [0x3fff, 0xffffffff, 0xffffffff],
  [0x3c00, 0x80000000, 0x1], // near the double's smallest normal
  [0x3c01, 0xc0000000, 0],
  [0x3f80, 0x80000000, 0], // near the single's range
  [0x43ff, 0xffffffff, 0xfffff800], // near double max
  [0x407e, 0xffffff00, 0], // single max
  [0x1, 0xc0000000, 0x1],
  [0x7ffe, 0x80000000, 0],
];

function randomExt(r: Xorshift32, wide: boolean): Ext {
  const sign = r.below(2) << 15;
  const e = wide ? 1 + r.below(0x7ffd) : 0x3fff + r.below(128) - 64;
  let hi = (r.u32() | 0x80000000) >>> 0;
  let lo = r.u32();
  switch (r.below(4)) {
    case 0:
      lo = 0;
      break;
    case 1:
      lo &= 0xfffff800;
      break;
    case 2:
      hi = (hi & 0xffffff00) >>> 0;
      lo = 0;
      break;
  }
  return [sign | e, hi, lo];
}

function ext(r: Xorshift32): Ext {
  const k = r.below(10);
  if (k < 4) return r.pick(EDGE_EXT);
  if (k < 5) return randomExt(r, true);
  if (k < 6) {
    // integers and halves, for rounding to integers
    const v = r.below(1 << 20) / (r.below(2) ? 1 : 2);
    return fromDouble(r.below(2) ? -v : v);
  }
  return randomExt(r, false);
}

const F64 = new Float64Array(1);
const F64U = new Uint32Array(F64.buffer);

function fromDouble(v: number): Ext {
  if (v === 0) return [Object.is(v, -0) ? 0x8000 : 0, 0, 0];
  F64[0] = v;
  const hi = F64U[1],
    lo = F64U[0];
  const e = ((hi >>> 20) & 0x7ff) - 1023 + 16383;
  return [((hi >>> 31) << 15) | e, (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0];
}

const EDGE_F32 = [
  0, 0x80000000, 0x3f800000, 0x1, 0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
  0x7f800001, 0x7fa00000, 0x40200000, 0xc0200000, 0x3f000000,
];
const EDGE_F64: readonly [number, number][] = [
  [0, 0],
  [0x80000000, 0],
  [0x3ff00000, 0],
  [0, 1],
  [0x800fffff, 0xffffffff],
  [0x00100000, 0],
  [0x7fefffff, 0xffffffff],
  [0x7ff00000, 0],
  [0xfff00000, 0],
  [0x7ff80000, 0],
  [0xfff80000, 0],
  [0x7ff00000, 1],
  [0x7ff40000, 0],
  [0x40040000, 0],
  [0x3fe00000, 0],
];
const EDGE_INT = [0, 1, -1, 0x7fff, -0x8000, 0x7fffffff, -0x80000000, 12345, -2];

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

function fillMemory(r: Xorshift32, kind: MemKind, b: Uint8Array, at: number): void {
  for (let i = 0; i < MEM; i++) b[at + i] = r.below(256);
  switch (kind) {
    case 'f32':
      if (r.below(2)) writeU32(b, at, r.pick(EDGE_F32));
      else {
        const [se, hi] = ext(r);
        const e = (se & 0x7fff) - 16383 + 127;
        writeU32(
          b,
          at,
          (((se >> 15) << 31) | ((Math.max(1, Math.min(254, e)) & 0xff) << 23) | ((hi >>> 8) & 0x7fffff)) >>> 0,
        );
      }
      return;
    case 'f64': {
      let hi: number, lo: number;
      if (r.below(2)) [hi, lo] = r.pick(EDGE_F64);
      else {
        const [se, h, l] = ext(r);
        const e = Math.max(1, Math.min(2046, (se & 0x7fff) - 16383 + 1023));
        hi = (((se >> 15) << 31) | (e << 20) | ((h >>> 11) & 0xfffff)) >>> 0;
        lo = ((h << 21) | (l >>> 11)) >>> 0;
      }
      writeU32(b, at, lo);
      writeU32(b, at + 4, hi);
      return;
    }
    case 'f80': {
      const [se, hi, lo] = ext(r);
      writeU32(b, at, lo);
      writeU32(b, at + 4, hi);
      writeU16(b, at + 8, se);
      return;
    }
    case 'i16':
    case 'i32':
      if (r.below(2)) {
        const v = r.pick(EDGE_INT);
        if (kind === 'i16') writeU16(b, at, v);
        else writeU32(b, at, v);
      }
      return;
    case 'i64':
      if (r.below(2)) {
        const v = r.pick(EDGE_INT);
        writeU32(b, at, v);
        writeU32(b, at + 4, r.below(3) === 0 ? (v < 0 ? 0x7fffffff : 0x80000000) : v < 0 ? -1 : 0);
      }
      return;
    case 'bcd':
      for (let i = 0; i < 9; i++) b[at + i] = (r.below(10) << 4) | r.below(10);
      if (r.below(3) === 0) b.fill(0x99, at, at + 9);
      b[at + 9] = r.below(2) ? 0x80 : 0;
      return;
    case 'cw':
      writeU16(b, at, controlWord(r));
      return;
    case 'env': {
      // A valid 32-bit protected-mode environment: words with the reserved halves set.
      writeU32(b, at, controlWord(r) | 0xffff0000);
      writeU32(b, at + 4, ((r.u32() & 0x7f7f) | 0xffff0000) >>> 0);
      writeU32(b, at + 8, (r.u32() | 0xffff0000) >>> 0);
      return;
    }
  }
}

function controlWord(r: Xorshift32): number {
  const pc = r.pick([0, 1, 2, 3, 3]);
  const rc = r.below(4);
  const masks = r.below(5) === 0 ? r.below(64) : 0x3f;
  return 0x40 | masks | (pc << 8) | (rc << 10);
}

/** A finite value in the domain of a transcendental's operand ST(i). */
function domainValue(r: Xorshift32, name: string, i: number): Ext {
  const [se0, hi, lo] = randomExt(r, r.below(4) === 0);
  let se = se0;
  const sign = se & 0x8000;
  let e = se & 0x7fff;
  if (i === 0) {
    if (name === 'f2xm1') e = Math.min(e, 0x3ffe);
    else if (name === 'fyl2xp1') e = Math.min(e, 0x3ffc);
    else if (name === 'fyl2x') se = e;
    else if (name !== 'fpatan') e = Math.min(e, 0x403d);
    if (name !== 'fyl2x') se = sign | e;
  }
  return [se, hi, lo];
}

/** One case: an FRSTOR image, EFLAGS, the code and the memory. */
export function makeCase(r: Xorshift32, form: FpuForm): FpuCase {
  const b = new Uint8Array(CASE_IN);
  const cw = controlWord(r);
  const top = r.below(8);
  // Sticky exception flags only where masked, so nothing is pending before the instruction.
  const sticky = r.below(3) === 0 ? r.below(64) & cw & 0x3f : 0;
  const cc = r.u32() & 0x4700;
  const sw = cc | sticky | (top << 11);
  // Empty registers now and then (stack faults): ST(0), ST(1), ST(7) or several.
  let emptySt = 0;
  const k = r.below(12);
  if (k === 0) emptySt = 1;
  else if (k === 1) emptySt = 2;
  else if (k === 2) emptySt = 0x80;
  else if (k === 3) emptySt = r.below(256);
  let tw = 0;
  for (let i = 0; i < 8; i++) if (emptySt & (1 << i)) tw |= 3 << (((top + i) & 7) * 2);
  writeU32(b, 0, cw | 0xffff0000);
  writeU32(b, 4, sw | 0xffff0000);
  writeU32(b, 8, tw | 0xffff0000);
  for (let i = 12; i < 28; i += 4) writeU32(b, i, 0);
  for (let i = 0; i < 8; i++) {
    const [se, hi, lo] = ext(r);
    writeU32(b, 28 + i * 10, lo);
    writeU32(b, 28 + i * 10 + 4, hi);
    writeU16(b, 28 + i * 10 + 8, se);
  }
  if (form.approx && r.below(5) !== 0) {
    // Operands inside the instruction's documented domain (outside it results are undefined).
    for (let i = 0; i < 2; i++) {
      const [se, hi, lo] = domainValue(r, form.name, i);
      writeU32(b, 28 + i * 10, lo);
      writeU32(b, 28 + i * 10 + 4, hi);
      writeU16(b, 28 + i * 10 + 8, se);
    }
  }
  writeU32(b, IMAGE, r.u32() & 0x8d5);
  b[IMAGE + 4] = form.bytes.length;
  b.set(form.bytes, IMAGE + 5);
  fillMemory(r, form.mem, b, IMAGE + 5 + CODE_MAX);
  return { form, input: b };
}

export function generateFpuCases(seed: number, perForm: number): FpuCase[] {
  const r = new Xorshift32(seed);
  const out: FpuCase[] = [];
  for (const form of fpuForms()) for (let i = 0; i < perForm; i++) out.push(makeCase(r, form));
  return out;
}

// ---------------------------------------------------------------- running a core

const MEMORY = 1 << 20;
const CODE = 0x1000,
  IMG_IN = 0x2000,
  IMG_OUT = 0x3000,
  DATA = 0x4000,
  STACK = 0x8000;

/** A core in flat 32-bit protected mode, ring 0, ready to run cases. */
export class CoreRunner {
  readonly mem: Uint8Array;
  readonly core: CpuCore;

  /** The core's reset state in flat protected mode, ring 0: each case starts from it. */
  private readonly start: CpuState;

  constructor(factory: CoreFactory) {
    const { core, mem } = flatMachine(factory, MEMORY);
    this.core = core;
    this.mem = mem;
    core.reset();
    this.start = flatProtectedMode(core.getState());
  }

  /** Runs one case: FRSTOR [ESI]; the instruction; FNSAVE [EDI]; HLT. Returns CASE_OUT bytes. */
  run(input: Uint8Array): Uint8Array {
    const mem = this.mem;
    mem.set(input.subarray(0, IMAGE), IMG_IN);
    const clen = input[IMAGE + 4];
    const code = [0xdd, 0x26, ...input.subarray(IMAGE + 5, IMAGE + 5 + clen), 0xdd, 0x37, 0xf4];
    mem.set(code, CODE);
    mem.set(input.subarray(IMAGE + 5 + CODE_MAX, IMAGE + 5 + CODE_MAX + MEM), DATA);
    const eflags = (input[IMAGE] | (input[IMAGE + 1] << 8)) & 0x8d5;
    const state: CpuState = {
      ...this.start,
      eax: 0,
      ecx: 0,
      edx: 0,
      ebx: DATA,
      esp: STACK,
      ebp: 0,
      esi: IMG_IN,
      edi: IMG_OUT,
      eip: CODE,
      eflags: eflags | 0x2,
      ldtr: { selector: 0, base: 0, limit: 0, access: 0 },
      tr: { selector: 0x18, base: 0x6000, limit: 0x67, access: 0x8b },
      gdtr: { base: 0x5000, limit: 0x1f },
      idtr: { base: 0x7000, limit: 0 },
      cr0: CR0_PROTECTED | 0x20, // and NE: an unmasked exception is #MF, never FERR#
      cr2: 0,
      cr3: 0,
      cr4: 0,
      dr: [0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400],
      instructions: 0,
    };
    this.core.setState(state);
    this.core.run(10);
    const after = this.core.getState();
    const out = new Uint8Array(CASE_OUT);
    out.set(mem.subarray(IMG_OUT, IMG_OUT + IMAGE), 0);
    writeU32(out, IMAGE, after.eflags);
    writeU32(out, IMAGE + 4, after.eax);
    out.set(mem.subarray(DATA, DATA + MEM), IMAGE + 8);
    if (!after.halted || after.eip !== CODE + code.length) {
      // The instruction faulted (or never finished): mark the answer.
      out.fill(0xee, 0, IMAGE);
    }
    mem.fill(0, IMG_OUT, IMG_OUT + IMAGE);
    return out;
  }
}

// ---------------------------------------------------------------- comparing

export interface Mismatch {
  form: string;
  index: number;
  fields: string[];
  /** Only the last bit of a transcendental's result differs. */
  lastBit: boolean;
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function regText(b: Uint8Array, at: number): string {
  return `${u16(b, at + 8)
    .toString(16)
    .padStart(4, '0')}:${u32(b, at + 4)
    .toString(16)
    .padStart(8, '0')}${u32(b, at).toString(16).padStart(8, '0')}`;
}

/** Whether two 80-bit registers are one unit apart in the last place (same sign). */
function oneUlp(a: Uint8Array, x: number, b: Uint8Array, y: number): boolean {
  const ea = u16(a, x + 8),
    eb = u16(b, y + 8);
  if (ea >> 15 !== eb >> 15) return false;
  const va = (BigInt(ea & 0x7fff) << 64n) | (BigInt(u32(a, x + 4)) << 32n) | BigInt(u32(a, x));
  const vb = (BigInt(eb & 0x7fff) << 64n) | (BigInt(u32(b, y + 4)) << 32n) | BigInt(u32(b, y));
  const d = va > vb ? va - vb : vb - va;
  // Across a binade the integer bit makes the fields jump by 2^63 + 1.
  return d === 1n || d === (1n << 63n) + 1n || d === (1n << 63n) - 1n;
}

/** Compares the hardware's answer `want` with a core's `got` for case `c`. */
export function compareCase(c: FpuCase, index: number, want: Uint8Array, got: Uint8Array): Mismatch | undefined {
  const fields: string[] = [];
  let approxOnly = true;
  const cw = [u16(want, 0), u16(got, 0)];
  if (cw[0] !== cw[1]) fields.push(`cw ${cw[0].toString(16)} != ${cw[1].toString(16)}`);
  let regsDiffer = false;
  let regsDifferC1 = false;
  for (let i = 0; i < 8; i++) {
    const at = 28 + i * 10;
    let same = true;
    for (let k = 0; k < 10; k++) if (want[at + k] !== got[at + k]) same = false;
    if (!same) {
      regsDiffer = true;
      fields.push(`st${i} ${regText(want, at)} != ${regText(got, at)}`);
      if (!(c.form.approx && oneUlp(want, at, got, at))) approxOnly = false;
    }
  }
  // A transcendental's C1 says which way its last bit was rounded: compared as that bit.
  const swMask = c.form.approx ? (regsDiffer ? ~0x220 : ~0x200) & 0xffff : 0xffff;
  if (c.form.approx && (u16(want, 4) ^ u16(got, 4)) === 0x200) regsDifferC1 = true;
  const sw = [u16(want, 4) & swMask, u16(got, 4) & swMask];
  if (sw[0] !== sw[1]) {
    fields.push(`sw ${sw[0].toString(16)} != ${sw[1].toString(16)}`);
    approxOnly = false;
  }
  const tw = [u16(want, 8), u16(got, 8)];
  if (tw[0] !== tw[1]) {
    fields.push(`tw ${tw[0].toString(16)} != ${tw[1].toString(16)}`);
    approxOnly = false;
  }
  for (const at of [2, 6, 10]) {
    if (u16(want, at) !== u16(got, at)) {
      fields.push(`reserved +${at} ${u16(want, at).toString(16)} != ${u16(got, at).toString(16)}`);
      approxOnly = false;
    }
  }
  const fl = [u32(want, IMAGE) & 0x8d5, u32(got, IMAGE) & 0x8d5];
  if (fl[0] !== fl[1]) {
    fields.push(`eflags ${fl[0].toString(16)} != ${fl[1].toString(16)}`);
    approxOnly = false;
  }
  const ax = [u32(want, IMAGE + 4), u32(got, IMAGE + 4)];
  if (ax[0] !== ax[1]) {
    fields.push(`eax ${ax[0].toString(16)} != ${ax[1].toString(16)}`);
    approxOnly = false;
  }
  const skip = c.form.skipMem;
  for (let i = 0; i < MEM; i++) {
    if (skip && i >= skip[0] && i < skip[1]) continue;
    if (want[IMAGE + 8 + i] !== got[IMAGE + 8 + i]) {
      fields.push(
        `memory ${Array.from(want.subarray(IMAGE + 8, IMAGE + 8 + 12), (x) => x.toString(16).padStart(2, '0')).join('')} != ${Array.from(
          got.subarray(IMAGE + 8, IMAGE + 8 + 12),
          (x) => x.toString(16).padStart(2, '0'),
        ).join('')}`,
      );
      approxOnly = false;
      break;
    }
  }
  if (fields.length === 0) return undefined;
  if (fields.length === 0 && regsDifferC1) {
    return { form: c.form.name, index, fields: ['C1 (the direction of the last rounding)'], lastBit: true };
  }
  return { form: c.form.name, index, fields, lastBit: approxOnly && regsDiffer };
}

const TRIG = new Set(['fsin', 'fcos', 'fsincos', 'fptan']);

/**
 * Why this CPU's answer to a case is known to differ from the correctly rounded one, or
 * undefined. FSIN/FPTAN/FSINCOS of a normal argument below 2^-40 come back from this CPU up
 * to about 2^-53 away from the argument (its small-argument path); the core returns the
 * correctly rounded value.
 */
export function knownDifference(c: FpuCase): string | undefined {
  if (!TRIG.has(c.form.name)) return undefined;
  const b = c.input;
  const top = (u16(b, 4) >> 11) & 7;
  if (((u16(b, 8) >> (top * 2)) & 3) === 3) return undefined;
  const e = u16(b, 28 + 8) & 0x7fff;
  return e > 0 && e < 16383 - 40 ? 'small-argument sine/tangent' : undefined;
}

export function describeInput(c: FpuCase): string {
  const b = c.input;
  const regs = Array.from({ length: 8 }, (_, i) => regText(b, 28 + i * 10));
  return (
    `cw=${u16(b, 0).toString(16)} sw=${u16(b, 4).toString(16)} tw=${u16(b, 8).toString(16)} ` +
    `eflags=${u32(b, IMAGE).toString(16)} st=[${regs.join(' ')}] mem=${Array.from(
      b.subarray(IMAGE + 5 + CODE_MAX, IMAGE + 5 + CODE_MAX + 12),
      (x) => x.toString(16).padStart(2, '0'),
    ).join('')}`
  );
}

export interface FpuDiffResult {
  cases: number;
  mismatches: Mismatch[];
  lastBit: Mismatch[];
  /** Mismatches of knownDifference() cases. */
  known: Mismatch[];
}

/** Runs `cases` on this CPU and on the core; reports every mismatch. */
export function runFpuDiff(cases: readonly FpuCase[], factory: CoreFactory): FpuDiffResult {
  const input = new Uint8Array(cases.length * CASE_IN);
  cases.forEach((c, i) => input.set(c.input, i * CASE_IN));
  const hw = runOracle(input);
  const runner = new CoreRunner(factory);
  const mismatches: Mismatch[] = [];
  const lastBit: Mismatch[] = [];
  const known: Mismatch[] = [];
  cases.forEach((c, i) => {
    const got = runner.run(c.input);
    const m = compareCase(c, i, hw.subarray(i * CASE_OUT, (i + 1) * CASE_OUT), got);
    if (!m) return;
    if (m.lastBit) lastBit.push(m);
    else if (knownDifference(c)) known.push(m);
    else mismatches.push(m);
  });
  return { cases: cases.length, mismatches, lastBit, known };
}
