// The shape of a captured instruction: its prefixes, opcode, ModRM and the segment its memory
// operand goes through. The kit needs just this much decoding to recognise the places where
// a 386 legitimately behaves differently from the 286 that recorded the data (differences.ts).
// It covers the one-byte opcode map with 16-bit addressing, which is all the 286 set uses; it
// is not a decoder for executing code. (packages/x86 now keeps the opcode table in src/isa;
// once @lguest/x86 exports it, the ModRM list here should be read from there.)

import { Reg } from './moo';

/** Segment register numbers as in the ModRM sreg field (matches `Seg` of the contract). */
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;

export interface Shape {
  /** Bytes before the opcode. */
  prefixCount: number;
  lock: boolean;
  rep: boolean;
  /** Last segment-override prefix (ES/CS/SS/DS, 4 FS, 5 GS), or -1. */
  override: number;
  /** Operand-size (66) or address-size (67) prefix seen: 32-bit forms, not covered here. */
  wide: boolean;
  opcode: number;
  /** ModRM byte, or -1 when the opcode has none. */
  modrm: number;
  /** ModRM reg field, or -1. */
  reg: number;
  /** Whether the ModRM operand is in memory (mod != 3). */
  memory: boolean;
  /** Segment of the ModRM memory operand (override or default), or -1. */
  segment: number;
  /** Instruction length without the terminating HLT. */
  length: number;
}

/** One-byte opcodes that carry a ModRM byte (8086–286 map). */
const HAS_MODRM = new Uint8Array(256);
for (const op of [
  0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x21, 0x22,
  0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b, 0x62, 0x63, 0x69, 0x6b, 0xc0, 0xc1,
  0xc4, 0xc5, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff,
]) {
  HAS_MODRM[op] = 1;
}
for (let op = 0x80; op <= 0x8f; op++) HAS_MODRM[op] = 1;
for (let op = 0xd8; op <= 0xdf; op++) HAS_MODRM[op] = 1;

/**
 * Reads the shape of `bytes` (instruction followed by its HLT). 16-bit addressing is assumed;
 * `wide` says when a 66/67 prefix makes that assumption wrong. Never throws: a truncated
 * instruction yields what could be read.
 */
export function readShape(bytes: Uint8Array): Shape {
  const length = bytes.length - 1;
  let i = 0;
  let lock = false;
  let rep = false;
  let wide = false;
  let override = -1;
  for (; i < length; i++) {
    const b = bytes[i];
    if (b === 0xf0) lock = true;
    else if (b === 0xf2 || b === 0xf3) rep = true;
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) override = (b >> 3) & 3;
    else if (b === 0x64 || b === 0x65) override = b - 0x60;
    else if (b === 0x66 || b === 0x67) wide = true;
    else break;
  }
  const opcode = bytes[i] ?? 0xf4;
  const modrm = HAS_MODRM[opcode] && i + 1 < length ? bytes[i + 1] : -1;
  const memory = modrm >= 0 && modrm >> 6 !== 3;
  let segment = -1;
  if (memory) {
    const rm = modrm & 7;
    const bpBased = rm === 2 || rm === 3 || (rm === 6 && modrm >> 6 !== 0);
    segment = override >= 0 ? override : bpBased ? SS : DS;
  }
  return {
    prefixCount: i,
    lock,
    rep,
    override,
    wide,
    opcode,
    modrm,
    reg: modrm >= 0 ? (modrm >> 3) & 7 : -1,
    memory,
    segment,
    length,
  };
}

/** The 16-bit effective address (offset) of the ModRM memory operand, given registers in `Reg` order. */
export function effectiveOffset(bytes: Uint8Array, shape: Shape, regs: Uint32Array): number {
  const at = shape.prefixCount + 2; // displacement follows opcode and ModRM
  const mod = shape.modrm >> 6;
  const rm = shape.modrm & 7;
  const bx = regs[Reg.EBX] & 0xffff;
  const bp = regs[Reg.EBP] & 0xffff;
  const si = regs[Reg.ESI] & 0xffff;
  const di = regs[Reg.EDI] & 0xffff;
  let disp = 0;
  if (mod === 1) disp = ((bytes[at] << 24) >> 24) & 0xffff;
  else if (mod === 2 || (mod === 0 && rm === 6)) disp = bytes[at] | (bytes[at + 1] << 8);
  const base = [bx + si, bx + di, bp + si, bp + di, si, di, mod === 0 ? 0 : bp, bx][rm];
  return (base + disp) & 0xffff;
}

/** `Reg` of a segment register number (ES CS SS DS FS GS). */
export const SEGMENT_REG: readonly Reg[] = [Reg.ES, Reg.CS, Reg.SS, Reg.DS, Reg.FS, Reg.GS];

/**
 * Bytes the ModRM memory operand occupies, for the opcodes where that is fixed: 1 for byte
 * forms, 4 for far pointers and BOUND's pair, else 2. Only used to tell whether that operand
 * itself crosses offset 0xFFFF.
 */
export function operandBytes(shape: Shape): number {
  const op = shape.opcode;
  if (op === 0x62 || op === 0xc4 || op === 0xc5) return 4;
  if (op === 0xff && (shape.reg === 3 || shape.reg === 5)) return 4;
  if (op === 0x8c || op === 0x8e || op === 0x8d || op === 0x8f || op === 0x63) return 2;
  if (op >= 0xd8 && op <= 0xdf) return 2; // FPU memory forms vary; only touched as "some bytes"
  if (op === 0x69 || op === 0x6b) return 2;
  if (
    op === 0x80 ||
    op === 0x82 ||
    op === 0xc0 ||
    op === 0xc6 ||
    op === 0xd0 ||
    op === 0xd2 ||
    op === 0xf6 ||
    op === 0xfe
  ) {
    return 1;
  }
  if (op < 0x40) return op & 1 ? 2 : 1;
  if (op >= 0x84 && op <= 0x8b) return op & 1 ? 2 : 1;
  return 2;
}

/**
 * Whether the instruction uses the stack implicitly (PUSH, POP, CALL, RET, INT, IRET, PUSHA,
 * POPA, ENTER, LEAVE, PUSHF, POPF, and FF/8F forms that push or pop).
 */
export function usesStack(shape: Shape): boolean {
  const op = shape.opcode;
  if (op >= 0x50 && op <= 0x61) return true;
  if (op === 0x06 || op === 0x07 || op === 0x0e || op === 0x16 || op === 0x17 || op === 0x1e || op === 0x1f)
    return true;
  if (op === 0x68 || op === 0x6a || op === 0x8f || op === 0x9a || op === 0x9c || op === 0x9d) return true;
  if (op === 0xc2 || op === 0xc3 || op === 0xc8 || op === 0xc9 || op === 0xca || op === 0xcb) return true;
  if (op >= 0xcc && op <= 0xcf) return true;
  if (op === 0xe8) return true;
  if (op === 0xff && (shape.reg === 2 || shape.reg === 3 || shape.reg === 6)) return true;
  return false;
}

/**
 * Whether LOCK is allowed on this instruction on a 386: the read-modify-write forms with a
 * memory destination (ADD OR ADC SBB AND SUB XOR r/m,r; group 1 except CMP; XCHG; NOT, NEG;
 * INC, DEC). Anything else with LOCK raises #UD on a 386.
 */
export function lockable(shape: Shape): boolean {
  if (!shape.memory) return false;
  const op = shape.opcode;
  if (op < 0x38 && (op & 7) <= 1) return true; // 00/01 08/09 … 30/31: r/m is the destination
  if (op >= 0x80 && op <= 0x83) return shape.reg !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return shape.reg === 2 || shape.reg === 3;
  if (op === 0xfe) return shape.reg <= 1;
  if (op === 0xff) return shape.reg <= 1;
  return false;
}
