// The state of one case while the generator builds it: registers (and which of them an
// address or a count already depends on), flags, the region's bytes, the prefix and body
// bytes, and what was chosen. Operands are read and written through `Loc`s, so the rest of
// the generator says "the source operand" without caring where it lives.

import type { StackKind } from './case';
import type { InstructionForm } from './isa';
import { EFLAGS_DF, EFLAGS_IF, EFLAGS_RESERVED, REGION_BASE, REGION_OFFSET, REGION_SIZE } from './layout';
import { fillRegion, type Prng } from './prng';

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const OF = 0x800;
export const NT = 0x4000;
export const AC = 0x40000;
export const ID = 0x200000;
export const OSZAPC = OF | SF | ZF | AF | PF | CF;

const FLAG_LETTERS: Readonly<Record<string, number>> = {
  o: OF,
  d: EFLAGS_DF,
  i: EFLAGS_IF,
  t: 0x100,
  s: SF,
  z: ZF,
  a: AF,
  p: PF,
  c: CF,
};

/** EFLAGS bits named by a FlagEffect string such as 'oszapc'. */
export function flagBits(letters: string | undefined): number {
  let bits = 0;
  for (const ch of letters ?? '') bits |= FLAG_LETTERS[ch] ?? 0;
  return bits;
}

const EDGES_8 = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x81];
const EDGES_16 = [...EDGES_8, 0x100, 0x7fff, 0x8000, 0xffff, 0x8001];
const EDGES_32 = [...EDGES_16, 0x7fffffff, 0x80000000, 0xffffffff, 0x80000001, 0x10000];

/** Segments over the region: flat user data, the LDT segment, the expand-down LDT segment. */
export type MemSeg = 'flat' | 'ldt' | 'down';

/** Where an operand's value lives. Register numbers of byte operands use the AL…BH encoding. */
export type Loc =
  { kind: 'reg'; r: number; size: number } | { kind: 'mem'; t: number; size: number } | { kind: 'none' };

export const PREFIX_SEG: Readonly<Record<string, number>> = {
  es: 0x26,
  cs: 0x2e,
  ss: 0x36,
  ds: 0x3e,
  fs: 0x64,
  gs: 0x65,
};

/** The bytes a transfer may jump over: `not r32` (flags untouched) and NOP padding. */
export interface SkipRegion {
  bytes: number[];
  /** Offsets inside the region a transfer may land on (instruction starts, and the end). */
  targets: number[];
}

/** Everything the generator decides for one case, built step by step. */
export class Builder {
  readonly regs = new Uint32Array(8);
  /** Registers whose value an address, a pointer or a count depends on: not to be touched. */
  readonly fixed = [false, false, false, false, false, false, false, false];
  readonly region = new Uint8Array(REGION_SIZE);
  readonly initial = new Uint8Array(REGION_SIZE);
  readonly regMask = new Uint32Array(8).fill(0xffffffff);
  readonly memIgnore: Array<readonly [number, number]> = [];
  readonly notes: string[] = [];
  readonly prefixes: number[] = [];
  readonly body: number[] = [];
  eflags: number;
  seed: number;
  osz: 16 | 32 = 32;
  asz: 16 | 32 = 32;
  esLdt = false;
  stack: StackKind = 'flat';
  gsDown = false;
  /** Region offset ESP points at (-1: at the stack segment's limit, outside the region). */
  stackT = -1;
  /** Segment of the ModRM/moffs memory operand. */
  memSeg: MemSeg = 'flat';
  lock = false;
  rep = 0;
  modrmMemory = false;
  modrmRm = 0;
  regField = 0;
  zReg = 0;
  /** The ModRM memory operand's target offset in the region (-1: none). */
  memT = -1;
  /** The string operands' element offsets (first element). */
  srcT = -1;
  dstT = -1;
  repCount = 1;
  countValue = -1;
  /** ENTER's nesting-level byte (the CPU uses it modulo 32). */
  enterLevel = 0;
  /** ENTER's frame size when a role chose it (-1: the generator draws one). */
  enterSize = -1;
  skip: SkipRegion | undefined;

  constructor(
    readonly rng: Prng,
    readonly form: InstructionForm,
    readonly codeOffset: number,
  ) {
    for (let r = 0; r < 8; r++) this.regs[r] = this.randomValue(32);
    this.eflags = EFLAGS_RESERVED | EFLAGS_IF | (rng.u32() & OSZAPC) | (rng.chance(0.5) ? EFLAGS_DF : 0);
    this.seed = rng.u32() | 1;
    fillRegion(this.seed, this.region);
    this.initial.set(this.region);
  }

  // --- values ---------------------------------------------------------------------------

  /** An edge value (45 %) or a uniform one, of `bits` bits. */
  randomValue(bits: number): number {
    const rng = this.rng;
    if (rng.chance(0.45)) {
      const edges = bits === 8 ? EDGES_8 : bits === 16 ? EDGES_16 : EDGES_32;
      return rng.pick(edges) >>> 0;
    }
    const v = rng.u32();
    return bits === 32 ? v : v & ((1 << bits) - 1);
  }

  fix(r: number): void {
    this.fixed[r] = true;
  }

  readReg(r: number, size: number): number {
    if (size === 1) return r < 4 ? this.regs[r] & 0xff : (this.regs[r - 4] >>> 8) & 0xff;
    if (size === 2) return this.regs[r] & 0xffff;
    return this.regs[r];
  }

  /** Writes part of a register unless it is fixed; returns whether it did. */
  writeReg(r: number, size: number, v: number, force = false): boolean {
    const full = size === 1 ? r & 3 : r;
    if (this.fixed[full] && !force) return false;
    if (size === 1) {
      if (r < 4) this.regs[r] = ((this.regs[r] & ~0xff) | (v & 0xff)) >>> 0;
      else this.regs[r - 4] = ((this.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8)) >>> 0;
    } else if (size === 2) this.regs[r] = ((this.regs[r] & ~0xffff) | (v & 0xffff)) >>> 0;
    else this.regs[r] = v >>> 0;
    return true;
  }

  readMem(t: number, size: number): number {
    let v = 0;
    for (let i = Math.min(size, 4) - 1; i >= 0; i--) v = (v * 256 + this.region[t + i]) >>> 0;
    return v;
  }

  writeMem(t: number, size: number, v: number): void {
    for (let i = 0; i < size; i++) this.region[t + i] = (v >>> (8 * (i & 3))) & 0xff;
  }

  read(loc: Loc): number {
    if (loc.kind === 'reg') return this.readReg(loc.r, loc.size);
    if (loc.kind === 'mem') return this.readMem(loc.t, loc.size);
    return 0;
  }

  write(loc: Loc, v: number): boolean {
    if (loc.kind === 'reg') return this.writeReg(loc.r, loc.size, v);
    if (loc.kind === 'mem') {
      this.writeMem(loc.t, loc.size, v);
      return true;
    }
    return false;
  }

  /** Offset of region byte `t` within the segment an access goes through. */
  segOffset(seg: MemSeg, t: number): number {
    return seg === 'flat' ? REGION_BASE + t : REGION_OFFSET + t;
  }

  /** Adds an FS or GS override and returns the segment it names. */
  ldtOverride(): MemSeg {
    const gs = this.rng.chance(0.5);
    this.prefixes.push(gs ? PREFIX_SEG.gs : PREFIX_SEG.fs);
    return gs && this.gsDown ? 'down' : 'ldt';
  }

  /** Sets register `r` to point at region offset `t` through `seg` (low 16 bits only when `a16`). */
  pointAt(r: number, seg: MemSeg, t: number, a16: boolean): void {
    const o = this.segOffset(seg, t);
    if (a16) this.regs[r] = ((this.regs[r] & 0xffff0000) | (o & 0xffff)) >>> 0;
    else this.regs[r] = o >>> 0;
    this.fix(r);
  }
}
