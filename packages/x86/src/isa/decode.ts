// The table-driven decoder: bytes in, one instruction's structure out — its prefixes, the
// form it is in the instruction-set table, ModRM/SIB, displacement, immediates and the
// effective-address parts. It executes nothing and reads no machine state, so tools,
// traces, the disassembler, tests and a future block compiler can all use it.
//
// Validity follows the processor, not the assembler: an encoding the core would answer
// with #UD (an undefined opcode or group slot, a register where only memory is allowed,
// a bad segment or control register, LOCK where it may not go) is an 'invalid' error, and
// an instruction longer than 15 bytes is 'too-long' (#GP(0) on the processor).

import { entryFor } from './table';
import type { InstructionForm, Operand } from './types';

/** Segment register numbers, in the ModRM sreg order. */
export const SEG_ES = 0,
  SEG_CS = 1,
  SEG_SS = 2,
  SEG_DS = 3,
  SEG_FS = 4,
  SEG_GS = 5;

/** The longest instruction the processor accepts. */
export const MAX_INSTRUCTION_LENGTH = 15;

/** A memory operand's address: `segment:[base + index*scale + disp]`. */
export interface EffectiveAddress {
  /** Base register number (0–7: eAX eCX eDX eBX eSP eBP eSI eDI), or -1 for none. In
   *  16-bit addressing the registers are BX, BP, SI, DI by the same numbers. */
  readonly base: number;
  /** Index register number, or -1 for none. */
  readonly index: number;
  readonly scale: 1 | 2 | 4 | 8;
  /** The displacement, sign-extended from its encoded size (0 when there is none). A moffs
   *  or a base-less address is the displacement itself, taken modulo the address size. */
  readonly disp: number;
  /** The segment register the access goes through: the override, or the default. */
  readonly segment: number;
  /** 32-bit addressing (else 16-bit). */
  readonly a32: boolean;
}

export interface Decoded {
  /** Where the instruction starts in the buffer. */
  readonly offset: number;
  /** Its length in bytes, prefixes included (1–15). */
  readonly length: number;
  /** Whether it was decoded as 32-bit code (a CS with D set). */
  readonly mode32: boolean;
  /** Number of prefix bytes. */
  readonly prefixCount: number;
  /** Segment override (0–5: ES CS SS DS FS GS), or -1. The last one wins. */
  readonly segment: number;
  /** A 66 prefix was present, and the resulting operand size. */
  readonly opsizePrefix: boolean;
  readonly o32: boolean;
  /** A 67 prefix was present, and the resulting address size. */
  readonly addrsizePrefix: boolean;
  readonly a32: boolean;
  readonly lock: boolean;
  /** 0xF3 (REP/REPE), 0xF2 (REPNE), or 0. The last one wins. */
  readonly rep: number;
  /** The opcode: one byte, or 0x0F00 | byte. */
  readonly opcode: number;
  readonly form: InstructionForm;
  /** The Intel mnemonic for the sizes in effect ('cbw' rather than 'cwde' when 16-bit). */
  readonly mnemonic: string;
  /** The ModRM byte and its fields, or -1 when the form has none. */
  readonly modrm: number;
  readonly mod: number;
  readonly reg: number;
  readonly rm: number;
  /** The SIB byte, or -1. */
  readonly sib: number;
  /** Displacement (of the memory operand, or the moffs) and its size in bytes (0, 1, 2, 4). */
  readonly disp: number;
  readonly dispSize: number;
  /**
   * The first immediate (Ib Iw Iv, the offset of Ap) zero-extended; Ibs, Jb and Jv are
   * sign-extended, as the processor uses them. `immSize` is its size in bytes, 0 for none.
   */
  readonly imm: number;
  readonly immSize: number;
  /** The second immediate: ENTER's nesting level, or the selector of Ap. */
  readonly imm2: number;
  readonly imm2Size: number;
  /** The memory operand's address (ModRM memory or moffs), or null. */
  readonly ea: EffectiveAddress | null;
}

export type DecodeFailure = 'truncated' | 'invalid' | 'too-long';

export interface DecodeError {
  readonly error: DecodeFailure;
  /** What was wrong, in words fit for a message. */
  readonly reason: string;
  readonly offset: number;
  /** Bytes examined before giving up (at least 1 when any byte was available). */
  readonly length: number;
  /** The opcode when one was read, else -1. */
  readonly opcode: number;
}

export function isDecodeError(d: Decoded | DecodeError): d is DecodeError {
  return (d as DecodeError).error !== undefined;
}

const PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIX[p] = 1;
const SEG_OF_PREFIX: Record<number, number> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };

const MEMORY_ONLY: ReadonlySet<Operand> = new Set<Operand>(['M', 'Mp', 'Ma', 'Mq', 'Mw', 'Ms']);

/** Width in bits of operand `op` at the given operand size; 0 for operands without one. */
export function operandBits(op: Operand, o32: boolean): number {
  switch (op) {
    case 'Eb':
    case 'Gb':
    case 'Ib':
    case 'Ibs':
    case 'Jb':
    case 'Ob':
    case 'Xb':
    case 'Yb':
    case 'Zb':
    case 'AL':
    case 'CL':
      return 8;
    case 'Ew':
    case 'Gw':
    case 'Mw':
    case 'Sw':
    case 'Iw':
    case 'DX':
    case 'AX':
    case 'ES':
    case 'CS':
    case 'SS':
    case 'DS':
    case 'FS':
    case 'GS':
      return 16;
    case 'Ed':
    case 'Gd':
    case 'Rd':
    case 'Cd':
    case 'Dd':
      return 32;
    case 'Mq':
      return 64;
    case 'Mp':
    case 'Ap':
      return o32 ? 48 : 32;
    case 'Ma':
      return o32 ? 64 : 32;
    case 'Ms':
      return 48;
    case 'Ev':
    case 'Gv':
    case 'Iv':
    case 'Jv':
    case 'Ov':
    case 'Xv':
    case 'Yv':
    case 'Zv':
    case 'eAX':
      return o32 ? 32 : 16;
    default:
      return 0;
  }
}

function fail(error: DecodeFailure, reason: string, offset: number, length: number, opcode: number): DecodeError {
  return { error, reason, offset, length, opcode };
}

function hex(opcode: number): string {
  const b = (opcode & 0xff).toString(16).padStart(2, '0');
  return opcode > 0xff ? `0f ${b}` : b;
}

/**
 * Decode the instruction at `bytes[offset]`. `mode32` is the code segment's default size.
 * Returns the decoded instruction, or an error saying why the bytes are not one: they end
 * too soon ('truncated'), the processor would raise #UD ('invalid'), or it is longer than
 * 15 bytes ('too-long'). Never throws.
 */
export function decode(bytes: Uint8Array, offset: number, mode32: boolean): Decoded | DecodeError {
  const end = bytes.length;
  let p = offset;
  let segment = -1;
  let opsizePrefix = false;
  let addrsizePrefix = false;
  let lock = false;
  let rep = 0;

  // Prefixes: any number, in any order, until the 15-byte limit.
  for (;;) {
    if (p >= end) return fail('truncated', 'the bytes end inside the prefixes', offset, p - offset, -1);
    const b = bytes[p];
    if (PREFIX[b] === 0) break;
    if (b === 0x66) opsizePrefix = true;
    else if (b === 0x67) addrsizePrefix = true;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2 || b === 0xf3) rep = b;
    else segment = SEG_OF_PREFIX[b];
    p++;
    if (p - offset >= MAX_INSTRUCTION_LENGTH) {
      return fail('too-long', 'more than 15 bytes of prefixes and opcode', offset, p - offset, -1);
    }
  }
  const prefixCount = p - offset;
  const o32 = mode32 !== opsizePrefix;
  const a32 = mode32 !== addrsizePrefix;

  // The opcode: one byte, or 0F and a second.
  let opcode = bytes[p++];
  if (opcode === 0x0f) {
    if (p >= end) return fail('truncated', 'the bytes end after 0f', offset, p - offset, -1);
    opcode = 0x0f00 | bytes[p++];
  }
  const entry = entryFor(opcode);
  if (!entry) return fail('invalid', `undefined opcode ${hex(opcode)}`, offset, p - offset, opcode);

  // ModRM selects the form of a group and must suit the operands.
  let modrm = -1,
    mod = 0,
    reg = 0,
    rm = 0;
  let form = entry.forms[0];
  if (entry.modrm) {
    if (p >= end) return fail('truncated', 'the bytes end before the ModRM byte', offset, p - offset, opcode);
    modrm = bytes[p++];
    mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    if (entry.group) form = entry.forms[reg];
  }
  if (!form) return fail('invalid', `undefined opcode ${hex(opcode)} /${reg}`, offset, p - offset, opcode);
  if (form.x87 && (mod === 3 ? form.x87.registers[rm] === undefined : form.x87.memory === undefined)) {
    return fail('invalid', `undefined x87 form ${hex(opcode)} ${hex(modrm)}`, offset, p - offset, opcode);
  }

  let memory = false;
  for (let i = 0; i < form.operands.length; i++) {
    const op = form.operands[i];
    if (MEMORY_ONLY.has(op) && mod === 3) {
      return fail('invalid', `${form.mnemonic} takes a memory operand, not a register`, offset, p - offset, opcode);
    }
    if (op === 'Sw' && (reg > 5 || (i === 0 && reg === SEG_CS))) {
      return fail('invalid', `segment register ${reg} is not valid here`, offset, p - offset, opcode);
    }
    if (op === 'Cd' && (reg === 1 || reg > 4)) {
      return fail('invalid', `control register CR${reg} does not exist`, offset, p - offset, opcode);
    }
    // MOV to/from CR and DR ignore the mod field: their r/m is always a register.
    if (op !== 'Rd' && op[0] !== 'G' && MODRM_RM.has(op) && mod !== 3) memory = true;
  }

  // The memory operand: SIB and displacement.
  let sib = -1,
    disp = 0,
    dispSize = 0;
  let ea: EffectiveAddress | null = null;
  if (memory) {
    let base = -1,
      index = -1,
      scale: 1 | 2 | 4 | 8 = 1,
      stackSeg = false;
    if (a32) {
      if (rm === 4) {
        if (p >= end) return fail('truncated', 'the bytes end before the SIB byte', offset, p - offset, opcode);
        sib = bytes[p++];
        const sbase = sib & 7;
        const sindex = (sib >> 3) & 7;
        scale = (1 << (sib >> 6)) as 1 | 2 | 4 | 8;
        if (sindex !== 4) index = sindex;
        if (sbase === 5 && mod === 0) dispSize = 4;
        else {
          base = sbase;
          stackSeg = sbase === 4 || sbase === 5;
        }
      } else if (rm === 5 && mod === 0) dispSize = 4;
      else {
        base = rm;
        stackSeg = rm === 5;
      }
      if (mod === 1) dispSize = 1;
      else if (mod === 2) dispSize = 4;
    } else {
      if (rm === 6 && mod === 0) dispSize = 2;
      else {
        base = BASE16[rm];
        index = INDEX16[rm];
        stackSeg = rm === 2 || rm === 3 || rm === 6;
      }
      if (mod === 1) dispSize = 1;
      else if (mod === 2) dispSize = 2;
    }
    if (p + dispSize > end)
      return fail('truncated', 'the bytes end inside the displacement', offset, end - offset, opcode);
    disp = readSigned(bytes, p, dispSize);
    p += dispSize;
    ea = { base, index, scale, disp, segment: segment >= 0 ? segment : stackSeg ? SEG_SS : SEG_DS, a32 };
  }

  // Immediates, relative offsets, far pointers and memory offsets, in operand order.
  let imm = 0,
    immSize = 0,
    imm2 = 0,
    imm2Size = 0;
  for (const op of form.operands) {
    let size: number;
    let signed = false,
      second = false;
    switch (op) {
      case 'Ib':
        size = 1;
        second = immSize !== 0;
        break;
      case 'Ibs':
      case 'Jb':
        size = 1;
        signed = true;
        break;
      case 'Iw':
        size = 2;
        break;
      case 'Iv':
        size = o32 ? 4 : 2;
        break;
      case 'Jv':
        size = o32 ? 4 : 2;
        signed = true;
        break;
      case 'Ap': {
        const off = o32 ? 4 : 2;
        if (p + off + 2 > end)
          return fail('truncated', 'the bytes end inside the far pointer', offset, end - offset, opcode);
        imm = readUnsigned(bytes, p, off);
        immSize = off;
        imm2 = readUnsigned(bytes, p + off, 2);
        imm2Size = 2;
        p += off + 2;
        continue;
      }
      case 'Ob':
      case 'Ov': {
        dispSize = a32 ? 4 : 2;
        if (p + dispSize > end)
          return fail('truncated', 'the bytes end inside the memory offset', offset, end - offset, opcode);
        disp = readUnsigned(bytes, p, dispSize);
        p += dispSize;
        ea = { base: -1, index: -1, scale: 1, disp, segment: segment >= 0 ? segment : SEG_DS, a32 };
        continue;
      }
      default:
        continue;
    }
    if (p + size > end) return fail('truncated', 'the bytes end inside an immediate', offset, end - offset, opcode);
    const v = signed ? readSigned(bytes, p, size) : readUnsigned(bytes, p, size);
    p += size;
    if (second) {
      imm2 = v;
      imm2Size = size;
    } else {
      imm = v;
      immSize = size;
    }
  }

  const length = p - offset;
  if (length > MAX_INSTRUCTION_LENGTH)
    return fail('too-long', `${length} bytes is longer than 15`, offset, length, opcode);
  if (lock && (!form.lockable || !memory)) {
    return fail(
      'invalid',
      `LOCK is not allowed on ${form.mnemonic}${memory ? '' : ' without a memory destination'}`,
      offset,
      length,
      opcode,
    );
  }
  const sized16 = form.mnemonic16 !== undefined && (opcode === 0xe3 ? !a32 : !o32);
  return {
    offset,
    length,
    mode32,
    prefixCount,
    segment,
    opsizePrefix,
    o32,
    addrsizePrefix,
    a32,
    lock,
    rep,
    opcode,
    form,
    mnemonic: sized16 ? (form.mnemonic16 as string) : form.mnemonic,
    modrm,
    mod,
    reg,
    rm,
    sib,
    disp,
    dispSize,
    imm,
    immSize,
    imm2,
    imm2Size,
    ea,
  };
}

/** Operands that name the ModRM r/m field. */
const MODRM_RM: ReadonlySet<Operand> = new Set<Operand>([
  'Eb',
  'Ew',
  'Ed',
  'Ev',
  'M',
  'Mp',
  'Ma',
  'Mq',
  'Mw',
  'Ms',
  'Rd',
  'Ef',
]);

/** 16-bit addressing: base and index registers for r/m 0–7 (BX+SI, BX+DI, BP+SI, BP+DI,
 *  SI, DI, BP, BX). */
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

function readUnsigned(bytes: Uint8Array, p: number, size: number): number {
  if (size === 1) return bytes[p];
  if (size === 2) return bytes[p] | (bytes[p + 1] << 8);
  if (size === 4) return (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
  return 0;
}

function readSigned(bytes: Uint8Array, p: number, size: number): number {
  if (size === 1) return (bytes[p] << 24) >> 24;
  if (size === 2) return ((bytes[p] | (bytes[p + 1] << 8)) << 16) >> 16;
  if (size === 4) return bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
  return 0;
}
