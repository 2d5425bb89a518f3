// ModRM and SIB decoding: effective addresses in 16- and 32-bit addressing, and the
// register-or-memory operand accessors every instruction with an E operand uses.

import { type Cpu } from './cpu';
import { EBX, EBP, ESI, EDI, DS, SS, R8 } from './regs';

/**
 * Decode the memory operand of ModRM byte `m` (mod != 3), fetching any SIB and
 * displacement. Returns the offset; sets c.eaSeg to the segment register to use.
 */
export function ea(c: Cpu, m: number): number {
  return c.a32 ? ea32(c, m) : ea16(c, m);
}

function ea16(c: Cpu, m: number): number {
  const mod = m >> 6;
  const rm = m & 7;
  const r = c.r16;
  let off: number;
  let seg = DS;
  switch (rm) {
    case 0:
      off = r[EBX << 1] + r[ESI << 1];
      break;
    case 1:
      off = r[EBX << 1] + r[EDI << 1];
      break;
    case 2:
      off = r[EBP << 1] + r[ESI << 1];
      seg = SS;
      break;
    case 3:
      off = r[EBP << 1] + r[EDI << 1];
      seg = SS;
      break;
    case 4:
      off = r[ESI << 1];
      break;
    case 5:
      off = r[EDI << 1];
      break;
    case 6:
      if (mod === 0) {
        c.eaSeg = c.segOvr >= 0 ? c.segOvr : DS;
        return c.fetch16();
      }
      off = r[EBP << 1];
      seg = SS;
      break;
    default:
      off = r[EBX << 1];
      break;
  }
  if (mod === 1) off += (c.fetch8() << 24) >> 24;
  else if (mod === 2) off += c.fetch16();
  c.eaSeg = c.segOvr >= 0 ? c.segOvr : seg;
  return off & 0xffff;
}

function ea32(c: Cpu, m: number): number {
  const mod = m >> 6;
  const rm = m & 7;
  const r = c.regs;
  let off: number;
  let seg = DS;
  if (rm === 4) {
    const sib = c.fetch8();
    const base = sib & 7;
    const index = (sib >> 3) & 7;
    if (base === 5 && mod === 0) off = c.fetch32();
    else {
      off = r[base];
      if (base === 4 || base === 5) seg = SS;
    }
    if (index !== 4) off = (off + (r[index] << (sib >> 6))) | 0;
  } else if (rm === 5 && mod === 0) {
    c.eaSeg = c.segOvr >= 0 ? c.segOvr : DS;
    return c.fetch32();
  } else {
    off = r[rm];
    if (rm === 5) seg = SS;
  }
  if (mod === 1) off = (off + ((c.fetch8() << 24) >> 24)) | 0;
  else if (mod === 2) off = (off + c.fetch32()) | 0;
  c.eaSeg = c.segOvr >= 0 ? c.segOvr : seg;
  return off;
}

// Register-or-memory operands. For mod == 3 the register is the rm field.

export function readE8(c: Cpu, m: number): number {
  if (m >= 0xc0) return c.r8[R8[m & 7]];
  const off = ea(c, m);
  return c.rd8(c.eaSeg, off);
}
export function readE16(c: Cpu, m: number): number {
  if (m >= 0xc0) return c.r16[(m & 7) << 1];
  const off = ea(c, m);
  return c.rd16(c.eaSeg, off);
}
export function readE32(c: Cpu, m: number): number {
  if (m >= 0xc0) return c.regs[m & 7];
  const off = ea(c, m);
  return c.rd32(c.eaSeg, off);
}
export function writeE8(c: Cpu, m: number, v: number): void {
  if (m >= 0xc0) c.r8[R8[m & 7]] = v;
  else {
    const off = ea(c, m);
    c.wr8(c.eaSeg, off, v);
  }
}
export function writeE16(c: Cpu, m: number, v: number): void {
  if (m >= 0xc0) c.r16[(m & 7) << 1] = v;
  else {
    const off = ea(c, m);
    c.wr16(c.eaSeg, off, v);
  }
}
export function writeE32(c: Cpu, m: number, v: number): void {
  if (m >= 0xc0) c.regs[m & 7] = v;
  else {
    const off = ea(c, m);
    c.wr32(c.eaSeg, off, v);
  }
}
