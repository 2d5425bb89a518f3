// Integer arithmetic: the eight classic ALU operations, INC/DEC, shifts and rotates,
// multiply and divide, decimal adjusts and bit scans. Operands arrive as JavaScript numbers
// holding the operand's bits (upper bits may be garbage for 8/16-bit sizes); `sb` is the
// sign-bit index of the operand size (7, 15 or 31). Results are returned unmasked where the
// caller's store truncates anyway.

import { Vector } from '../contract';
import type { Cpu } from './cpu';
import { CF, PF, AF, ZF, SF, OF, OSZAPC, OSZAP, LazyOp, PARITY, sizeMask } from './flags';

export const ALU_ADD = 0,
  ALU_OR = 1,
  ALU_ADC = 2,
  ALU_SBB = 3,
  ALU_AND = 4,
  ALU_SUB = 5,
  ALU_XOR = 6,
  ALU_CMP = 7;

/** SF, ZF and PF of a result. */
export function szp(res: number, sb: number): number {
  return ((res >>> sb) & 1 ? SF : 0) | ((res & sizeMask(sb)) === 0 ? ZF : 0) | PARITY[res & 0xff];
}

/**
 * One of ADD OR ADC SBB AND SUB XOR CMP; returns the result (CMP's is discarded). Written
 * flat, with the lazy-flag record stored in place, because it sits on the hottest path.
 */
export function alu(c: Cpu, kind: number, a: number, b: number, sb: number): number {
  let r: number, op: number;
  switch (kind) {
    case ALU_ADD:
      r = (a + b) | 0;
      op = LazyOp.Add;
      break;
    case ALU_OR:
      r = a | b;
      op = LazyOp.Logic;
      break;
    case ALU_AND:
      r = a & b;
      op = LazyOp.Logic;
      break;
    case ALU_XOR:
      r = a ^ b;
      op = LazyOp.Logic;
      break;
    case ALU_ADC:
      return adc(c, a, b, sb);
    case ALU_SBB:
      return sbb(c, a, b, sb);
    default:
      r = (a - b) | 0;
      op = LazyOp.Sub;
  }
  const f = c.fl;
  f.op = op;
  f.a = a;
  f.b = b;
  f.res = r;
  f.sizeBit = sb;
  f.lazy = OSZAPC;
  return r;
}

function adc(c: Cpu, a: number, b: number, sb: number): number {
  const cin = c.fl.cf();
  const m = sizeMask(sb);
  const r = (a + b + cin) | 0;
  const carry = ((a & m) >>> 0) + ((b & m) >>> 0) + cin > m >>> 0;
  let f = szp(r, sb) | ((a ^ b ^ r) & AF) | (carry ? CF : 0);
  if ((((a ^ r) & (b ^ r)) >>> sb) & 1) f |= OF;
  c.fl.flags = (c.fl.flags & ~OSZAPC) | f;
  c.fl.lazy = 0;
  return r;
}

function sbb(c: Cpu, a: number, b: number, sb: number): number {
  const cin = c.fl.cf();
  const m = sizeMask(sb);
  const r = (a - b - cin) | 0;
  const borrow = (a & m) >>> 0 < ((b & m) >>> 0) + cin;
  let f = szp(r, sb) | ((a ^ b ^ r) & AF) | (borrow ? CF : 0);
  if ((((a ^ b) & (a ^ r)) >>> sb) & 1) f |= OF;
  c.fl.flags = (c.fl.flags & ~OSZAPC) | f;
  c.fl.lazy = 0;
  return r;
}

export function inc(c: Cpu, a: number, sb: number): number {
  const f = c.fl;
  f.flags = (f.flags & ~CF) | f.cf();
  const r = (a + 1) | 0;
  f.set(LazyOp.Inc, a, 1, r, sb, OSZAP);
  return r;
}

export function dec(c: Cpu, a: number, sb: number): number {
  const f = c.fl;
  f.flags = (f.flags & ~CF) | f.cf();
  const r = (a - 1) | 0;
  f.set(LazyOp.Dec, a, 1, r, sb, OSZAP);
  return r;
}

export function neg(c: Cpu, a: number, sb: number): number {
  const r = (0 - a) | 0;
  c.fl.set(LazyOp.Sub, 0, a, r, sb, OSZAPC);
  return r;
}

function setFlags(c: Cpu, f: number, mask: number): void {
  const fl = c.fl;
  fl.settle();
  fl.flags = (fl.flags & ~mask) | (f & mask);
}

/**
 * Group-2 shifts and rotates: kind is the ModRM reg field (ROL ROR RCL RCR SHL SHR SAL SAR).
 * The count is masked to 5 bits as on every CPU since the 286; a masked count of zero
 * changes nothing, flags included.
 */
export function shift(c: Cpu, kind: number, v: number, count: number, sb: number): number {
  count &= 31;
  if (count === 0) return v;
  const bits = sb + 1;
  const m = sizeMask(sb);
  v &= m;
  let r: number, cf: number, of: number;
  switch (kind) {
    case 0: {
      // ROL
      const n = count % bits;
      r = n === 0 ? v : ((v << n) | (v >>> (bits - n))) & m;
      cf = r & 1;
      of = ((r >>> sb) ^ cf) & 1;
      setFlags(c, (cf ? CF : 0) | (of ? OF : 0), CF | OF);
      return r;
    }
    case 1: {
      // ROR
      const n = count % bits;
      r = n === 0 ? v : ((v >>> n) | (v << (bits - n))) & m;
      cf = (r >>> sb) & 1;
      of = ((r >>> sb) ^ (r >>> (sb - 1))) & 1;
      setFlags(c, (cf ? CF : 0) | (of ? OF : 0), CF | OF);
      return r;
    }
    case 2: {
      // RCL: rotate through carry, a (bits+1)-bit rotation.
      // Step by step over the whole masked count: OF is that of the last 1-bit step.
      cf = c.fl.cf();
      r = v;
      for (let i = 0; i < count; i++) {
        const out = (r >>> sb) & 1;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      of = ((r >>> sb) ^ cf) & 1;
      setFlags(c, (cf ? CF : 0) | (of ? OF : 0), CF | OF);
      return r;
    }
    case 3: {
      // RCR
      // Step by step; each 1-bit step sets OF from the operand before it.
      cf = c.fl.cf();
      r = v;
      of = 0;
      for (let i = 0; i < count; i++) {
        of = ((r >>> sb) ^ cf) & 1;
        const out = r & 1;
        r = ((r >>> 1) | (cf << sb)) & m;
        cf = out;
      }
      setFlags(c, (cf ? CF : 0) | (of ? OF : 0), CF | OF);
      return r;
    }
    case 4:
    case 6: {
      // SHL / SAL
      if (count <= sb) {
        cf = (v >>> (bits - count)) & 1;
        r = (v << count) & m;
      } else {
        cf = count === bits ? v & 1 : 0;
        r = 0;
      }
      of = ((r >>> sb) ^ cf) & 1;
      shiftFlags(c, r, cf, of, sb);
      return r;
    }
    case 5: {
      // SHR
      if (count <= sb) {
        cf = (v >>> (count - 1)) & 1;
        r = v >>> count;
      } else {
        cf = count === bits ? (v >>> sb) & 1 : 0;
        r = 0;
      }
      // OF is that of the last 1-bit step: the sign of the operand before it.
      of = count === 1 ? (v >>> sb) & 1 : 0;
      shiftFlags(c, r, cf, of, sb);
      return r;
    }
    default: {
      // SAR
      const sv = (v << (31 - sb)) >> (31 - sb);
      if (count <= sb) {
        cf = (sv >> (count - 1)) & 1;
        r = (sv >> count) & m;
      } else {
        cf = (sv >>> 31) & 1;
        r = sv < 0 ? m : 0;
      }
      shiftFlags(c, r, cf, 0, sb);
      return r;
    }
  }
}

/** Shifts set CF and OF now and leave SF, ZF and PF to the lazy record (AF is undefined: 0). */
function shiftFlags(c: Cpu, r: number, cf: number, of: number, sb: number): void {
  const fl = c.fl;
  fl.flags = (fl.flags & ~(CF | OF | AF)) | cf | (of << 11);
  fl.set(LazyOp.Logic, 0, 0, r, sb, SF | ZF | PF);
}

/** SHLD/SHRD: shift `dst` by `count`, filling from `src`. Sizes 16 and 32. */
export function shiftDouble(c: Cpu, left: boolean, dst: number, src: number, count: number, sb: number): number {
  count &= 31;
  if (count === 0) return dst;
  const bits = sb + 1;
  const m = sizeMask(sb);
  dst &= m;
  src &= m;
  let r: number, cf: number;
  if (bits === 32) {
    if (left) {
      r = (dst << count) | (src >>> (32 - count));
      cf = (dst >>> (32 - count)) & 1;
    } else {
      r = (dst >>> count) | (src << (32 - count));
      cf = (dst >>> (count - 1)) & 1;
    }
  } else {
    // 16-bit operands: a count above 16 shifts through the concatenation (as the 486 does).
    const big = left ? ((dst << 16) | src) >>> 0 : ((src << 16) | dst) >>> 0;
    if (left) {
      const x = count <= 16 ? big : ((big << 16) | (dst & 0xffff)) >>> 0;
      const n = count <= 16 ? count : count - 16;
      r = ((x << n) >>> 16) & m;
      cf = (x >>> (32 - n)) & 1;
    } else {
      const x = count <= 16 ? big : ((dst << 16) | (src & 0xffff)) >>> 0;
      const n = count <= 16 ? count : count - 16;
      r = (x >>> n) & m;
      cf = (x >>> (n - 1)) & 1;
    }
  }
  r &= m;
  const of = (((r ^ dst) >>> sb) & 1) !== 0;
  setFlags(c, szp(r, sb) | (cf ? CF : 0) | (of ? OF : 0), OSZAPC);
  return r;
}

/** MUL: unsigned AL/AX/EAX × operand into AX, DX:AX or EDX:EAX. */
export function mul(c: Cpu, v: number, sb: number): void {
  const r = c.regs;
  let high: number;
  let low: number;
  if (sb === 7) {
    const p = c.r8[0] * (v & 0xff);
    c.r16[0] = p;
    high = p >>> 8;
    low = p & 0xff;
  } else if (sb === 15) {
    const p = c.r16[0] * (v & 0xffff);
    c.r16[0] = p;
    c.r16[4] = p >>> 16;
    high = p >>> 16;
    low = p & 0xffff;
  } else {
    const p = BigInt(r[0] >>> 0) * BigInt(v >>> 0);
    low = Number(p & 0xffffffffn) | 0;
    high = Number(p >> 32n) | 0;
    r[0] = low;
    r[2] = high;
  }
  const ov = high !== 0 ? CF | OF : 0;
  setFlags(c, ov | szp(low, sb), OSZAPC);
}

/** One-operand IMUL: signed AL/AX/EAX × operand. */
export function imul1(c: Cpu, v: number, sb: number): void {
  const r = c.regs;
  let ov: boolean;
  let low: number;
  if (sb === 7) {
    const p = ((c.r8[0] << 24) >> 24) * ((v << 24) >> 24);
    c.r16[0] = p;
    ov = p !== (p << 24) >> 24;
    low = p;
  } else if (sb === 15) {
    const p = ((c.r16[0] << 16) >> 16) * ((v << 16) >> 16);
    c.r16[0] = p;
    c.r16[4] = p >> 16;
    ov = p !== (p << 16) >> 16;
    low = p;
  } else {
    const p = BigInt(r[0]) * BigInt(v | 0);
    low = Number(BigInt.asIntN(32, p));
    r[0] = low;
    r[2] = Number(BigInt.asIntN(32, p >> 32n));
    ov = BigInt(low) !== p;
  }
  setFlags(c, (ov ? CF | OF : 0) | szp(low, sb), OSZAPC);
}

/** Two- and three-operand IMUL: returns the truncated product. */
export function imul2(c: Cpu, a: number, b: number, sb: number): number {
  let low: number;
  let ov: boolean;
  if (sb === 15) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    low = (p << 16) >> 16;
    ov = low !== p;
  } else {
    low = Math.imul(a, b);
    const p = (a | 0) * (b | 0);
    ov = Number.isSafeInteger(p) ? low !== p : BigInt(low) !== BigInt(a | 0) * BigInt(b | 0);
  }
  setFlags(c, (ov ? CF | OF : 0) | szp(low, sb), OSZAPC);
  return low;
}

/** DIV: unsigned divide of AX, DX:AX or EDX:EAX; #DE on zero or an oversized quotient. */
export function div(c: Cpu, v: number, sb: number): void {
  if (sb === 7) {
    const d = v & 0xff;
    if (d === 0) c.fault(Vector.DE);
    const n = c.r16[0];
    const q = Math.floor(n / d);
    if (q > 0xff) c.fault(Vector.DE);
    c.r8[0] = q;
    c.r8[1] = n % d;
  } else if (sb === 15) {
    const d = v & 0xffff;
    if (d === 0) c.fault(Vector.DE);
    const n = ((c.r16[4] << 16) | c.r16[0]) >>> 0;
    const q = Math.floor(n / d);
    if (q > 0xffff) c.fault(Vector.DE);
    c.r16[0] = q;
    c.r16[4] = n % d;
  } else {
    const d = v >>> 0;
    if (d === 0) c.fault(Vector.DE);
    const hi = c.regs[2] >>> 0,
      lo = c.regs[0] >>> 0;
    if (hi === 0) {
      c.regs[0] = Math.floor(lo / d);
      c.regs[2] = lo % d;
    } else {
      if (hi >= d) c.fault(Vector.DE);
      const n = (BigInt(hi) << 32n) | BigInt(lo);
      const bd = BigInt(d);
      c.regs[0] = Number(n / bd);
      c.regs[2] = Number(n % bd);
    }
  }
}

/** IDIV: signed divide; #DE on zero or a quotient out of range. */
export function idiv(c: Cpu, v: number, sb: number): void {
  if (sb === 7) {
    const d = (v << 24) >> 24;
    if (d === 0) c.fault(Vector.DE);
    const n = (c.r16[0] << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) c.fault(Vector.DE);
    c.r8[0] = q;
    c.r8[1] = n % d;
  } else if (sb === 15) {
    const d = (v << 16) >> 16;
    if (d === 0) c.fault(Vector.DE);
    const n = (c.r16[4] << 16) | c.r16[0];
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) c.fault(Vector.DE);
    c.r16[0] = q;
    c.r16[4] = n % d;
  } else {
    const d = v | 0;
    if (d === 0) c.fault(Vector.DE);
    const n = (BigInt(c.regs[2]) << 32n) | BigInt(c.regs[0] >>> 0);
    const bd = BigInt(d);
    const q = n / bd;
    if (q > 2147483647n || q < -2147483648n) c.fault(Vector.DE);
    c.regs[0] = Number(q);
    c.regs[2] = Number(n % bd);
  }
}

export function daa(c: Cpu): void {
  const al = c.r8[0];
  const cf = c.fl.cf();
  const af = c.fl.af();
  let r = al;
  let ncf = 0,
    naf = 0;
  if ((al & 0xf) > 9 || af) {
    r += 6;
    naf = AF;
    if (r > 0xff) ncf = CF;
  }
  if (al > 0x99 || cf) {
    r += 0x60;
    ncf = CF;
  }
  r &= 0xff;
  c.r8[0] = r;
  setFlags(c, szp(r, 7) | ncf | naf, OSZAPC);
}

export function das(c: Cpu): void {
  const al = c.r8[0];
  const cf = c.fl.cf();
  const af = c.fl.af();
  let r = al;
  let ncf = 0,
    naf = 0;
  if ((al & 0xf) > 9 || af) {
    r -= 6;
    naf = AF;
    if (r < 0) ncf = CF;
  }
  if (al > 0x99 || cf) {
    r -= 0x60;
    ncf = CF;
  }
  r &= 0xff;
  c.r8[0] = r;
  setFlags(c, szp(r, 7) | ncf | naf, OSZAPC);
}

export function aaa(c: Cpu): void {
  const af = c.fl.af();
  let f = 0;
  if ((c.r8[0] & 0xf) > 9 || af) {
    c.r16[0] = c.r16[0] + 0x106;
    f = AF | CF;
  }
  c.r8[0] &= 0xf;
  setFlags(c, f | szp(c.r8[0], 7), OSZAPC);
}

export function aas(c: Cpu): void {
  const af = c.fl.af();
  let f = 0;
  if ((c.r8[0] & 0xf) > 9 || af) {
    c.r16[0] = c.r16[0] - 6;
    c.r8[1] = c.r8[1] - 1;
    f = AF | CF;
  }
  c.r8[0] &= 0xf;
  setFlags(c, f | szp(c.r8[0], 7), OSZAPC);
}

export function aam(c: Cpu, base: number): void {
  if (base === 0) c.fault(Vector.DE);
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / base);
  c.r8[0] = al % base;
  setFlags(c, szp(c.r8[0], 7), OSZAPC);
}

export function aad(c: Cpu, base: number): void {
  const r = (c.r8[0] + c.r8[1] * base) & 0xff;
  c.r16[0] = r;
  setFlags(c, szp(r, 7), OSZAPC);
}

/** BSF/BSR: returns the bit index, or -1 (ZF set, destination unchanged) for zero. */
export function bitScan(c: Cpu, v: number, reverse: boolean, sb: number): number {
  v &= sizeMask(sb);
  if (v === 0) {
    setFlags(c, ZF, ZF);
    return -1;
  }
  setFlags(c, 0, ZF);
  return reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
}
