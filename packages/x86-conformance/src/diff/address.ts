// Effective addresses: given a ModRM memory encoding (mod, r/m, SIB, displacement) chosen at
// random, solve base + index·scale + disp for a target the generator picked — an offset in
// the region, anything at all (LEA), or a spot straddling a segment limit — by choosing the
// value of one free address register (any register with an odd coefficient is invertible
// modulo 2³²) or the displacement. Registers an address depends on are fixed afterwards.

import { type Builder } from './builder';
import { EBP, EBX, EDI, ESI, ESP } from './layout';
import type { Prng } from './prng';

const RM16: readonly (readonly number[])[] = [
  [EBX, ESI],
  [EBX, EDI],
  [EBP, ESI],
  [EBP, EDI],
  [ESI],
  [EDI],
  [EBP],
  [EBX],
];

/** x⁻¹ mod 2³² for odd x (Newton's iteration). */
function inverseOdd(x: number): number {
  let y = x;
  for (let i = 0; i < 5; i++) y = Math.imul(y, 2 - Math.imul(x, y));
  return y >>> 0;
}

function int8(rng: Prng): number {
  return (rng.u32() << 24) >> 24;
}

export interface Placement {
  mod: number;
  rm: number;
  tail: number[];
  /** Region offset of the operand, or -1 when it is not in the region (LEA, limit tests). */
  t: number;
}

/** Where a memory operand must point: into region offsets [lo, hi], anywhere (LEA), or
 *  across the limit of the LDT segment (a #GP test). */
export type Aim =
  { kind: 'region'; lo: number; hi: number } | { kind: 'anywhere' } | { kind: 'limit'; size: number; edge: number };

/**
 * Chooses a ModRM memory encoding whose effective address meets `aim` and sets the address
 * registers accordingly. `espBias` is added to ESP when it is the base (POP Ev computes the
 * address after incrementing ESP). Throws when no encoding can be found (a generator bug).
 */
export function placeMemory(b: Builder, aim: Aim, espBias: number): Placement {
  const rng = b.rng;
  const base = b.segOffset(b.memSeg, 0);
  const mask = b.asz === 16 ? 0xffff : 0xffffffff;
  for (let attempt = 0; attempt < 64; attempt++) {
    const mod = rng.below(3);
    const rm = rng.below(8);
    let target: number;
    let accept: (ea: number) => boolean;
    if (aim.kind === 'region') {
      target = b.segOffset(b.memSeg, rng.range(aim.lo, aim.hi));
      accept = (ea) => ea - base >= aim.lo && ea - base <= aim.hi;
    } else if (aim.kind === 'anywhere') {
      target = rng.u32() & mask;
      accept = () => true;
    } else {
      // The access straddles `edge`: the end of the segment, or an expand-down limit.
      target = aim.edge - rng.range(1, aim.size - 1);
      accept = (ea) => ea > aim.edge - aim.size && ea < aim.edge;
    }
    const got = b.asz === 16 ? solve16(b, mod, rm, target, accept) : solve32(b, mod, rm, target, accept, espBias);
    if (got) return { mod, rm, tail: got.tail, t: aim.kind === 'region' ? got.ea - base : -1 };
  }
  throw new Error(`generator: no memory encoding meets the aim for ${b.form.mnemonic}`);
}

export function dispBytes(v: number, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

/** 32-bit addressing: returns the encoding tail (SIB, displacement) and the effective address. */
function solve32(
  b: Builder,
  mod: number,
  rm: number,
  target: number,
  accept: (ea: number) => boolean,
  espBias: number,
): { tail: number[]; ea: number } | undefined {
  const rng = b.rng;
  const coef = new Map<number, number>();
  const add = (r: number, k: number): void => {
    coef.set(r, (coef.get(r) ?? 0) + k);
  };
  const tail: number[] = [];
  let dispSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) {
    const scale = rng.below(4);
    const index = rng.below(8);
    const base = rng.below(8);
    tail.push((scale << 6) | (index << 3) | base);
    if (index !== 4) add(index, 1 << scale);
    if (base === 5 && mod === 0) dispSize = 4;
    else add(base, 1);
  } else if (rm === 5 && mod === 0) dispSize = 4;
  else add(rm, 1);

  const value = (r: number): number => (r === ESP ? b.regs[ESP] + espBias : b.regs[r]) >>> 0;
  const free = [...coef.keys()].filter((r) => !b.fixed[r]);
  const odd = free.filter((r) => (coef.get(r) ?? 0) & 1);
  const solver = odd.length ? rng.pick(odd) : undefined;
  for (const r of free) {
    if (r === solver) continue;
    b.regs[r] = rng.chance(0.5) ? rng.below(0x400) : b.randomValue(32);
  }
  let disp = dispSize === 1 ? int8(rng) : dispSize === 4 ? rng.u32() : 0;
  let sum = 0;
  for (const [r, k] of coef) if (r !== solver) sum = (sum + Math.imul(value(r), k)) | 0;
  if (solver !== undefined) {
    const k = coef.get(solver) ?? 1;
    let v = Math.imul((target - sum - disp) | 0, inverseOdd(k));
    if (solver === ESP) v -= espBias;
    b.regs[solver] = v >>> 0;
  } else if (dispSize === 4) {
    disp = (target - sum) | 0;
  } else {
    // Every address register is already fixed: take the address they give, if usable.
    const want = (target - sum) | 0;
    if (dispSize === 1 && want >= -128 && want <= 127) disp = want;
  }
  let ea = 0;
  for (const [r, k] of coef) ea = (ea + Math.imul(value(r), k)) | 0;
  ea = (ea + disp) >>> 0;
  if (!accept(ea)) return undefined;
  for (const r of coef.keys()) b.fix(r);
  tail.push(...dispBytes(disp, dispSize));
  return { tail, ea };
}

/** 16-bit addressing: the same, modulo 64 KiB. */
function solve16(
  b: Builder,
  mod: number,
  rm: number,
  target: number,
  accept: (ea: number) => boolean,
): { tail: number[]; ea: number } | undefined {
  const rng = b.rng;
  const direct = mod === 0 && rm === 6;
  const regs = direct ? [] : RM16[rm];
  const dispSize = direct ? 2 : mod === 1 ? 1 : mod === 2 ? 2 : 0;
  const free = regs.filter((r) => !b.fixed[r]);
  const solver = free.length ? rng.pick(free) : undefined;
  for (const r of free) if (r !== solver) b.regs[r] = b.randomValue(32);
  let disp = dispSize === 1 ? int8(rng) : dispSize === 2 ? rng.below(0x10000) : 0;
  let sum = 0;
  for (const r of regs) if (r !== solver) sum += b.regs[r] & 0xffff;
  if (solver !== undefined) {
    const v = (target - sum - disp) & 0xffff;
    b.regs[solver] = ((b.regs[solver] & 0xffff0000) | v) >>> 0;
  } else if (dispSize === 2) {
    disp = (target - sum) & 0xffff;
  } else {
    const want = (((target - sum) & 0xffff) << 16) >> 16;
    if (dispSize === 1 && want >= -128 && want <= 127) disp = want;
  }
  let ea = disp;
  for (const r of regs) ea += b.regs[r] & 0xffff;
  ea &= 0xffff;
  if (!accept(ea)) return undefined;
  for (const r of regs) b.fix(r);
  return { tail: dispBytes(disp, dispSize), ea };
}
