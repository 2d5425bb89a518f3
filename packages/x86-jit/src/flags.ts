// Flags inside a compiled block. The interpreter keeps the last flag-producing operation as
// a record (kind, operands, result, size) and computes a flag only when somebody reads it.
// A block keeps that record in three locals (fa, fb, fr) and its kind and size as a
// compile-time fact, so a CMP followed by JL becomes one signed compare of two locals, and
// the record reaches `cpu.fl` only when the block leaves or calls something that reads it.
//
// Liveness decides which producers need a record at all: a flag write that a later
// instruction of the block overwrites before anything reads it is dropped. Whatever can fault
// reads every flag (the exception frame holds EFLAGS), and so does the end of the block.

import type { InstructionForm } from '@lguest/x86';

/** Status flags as bits of a liveness set, in EFLAGS positions. */
export const FLAG_C = 0x1,
  FLAG_P = 0x4,
  FLAG_A = 0x10,
  FLAG_Z = 0x40,
  FLAG_S = 0x80,
  FLAG_O = 0x800;
export const ALL_STATUS = FLAG_C | FLAG_P | FLAG_A | FLAG_Z | FLAG_S | FLAG_O;

/** The interpreter's record kinds (its `LazyOp`), and -1: the flags live in `cpu.fl`. */
export const K_CPU = -1,
  K_ADD = 0,
  K_SUB = 1,
  K_LOGIC = 2,
  K_INC = 3,
  K_DEC = 4;

const LETTER: Record<string, number> = { c: FLAG_C, p: FLAG_P, a: FLAG_A, z: FLAG_Z, s: FLAG_S, o: FLAG_O };

/** The status flags named by a table flag string ('oszapc' letters; others ignored). */
export function flagSet(letters: string | undefined): number {
  let set = 0;
  if (letters) for (const ch of letters) set |= LETTER[ch] ?? 0;
  return set;
}

/** Status flags a form reads, and those it writes (defined or undefined alike). */
export function flagsRead(form: InstructionForm): number {
  return flagSet(form.flags?.read);
}
export function flagsWritten(form: InstructionForm): number {
  return flagSet(form.flags?.written) | flagSet(form.flags?.undefined);
}

/** The runtime code of a record kind and size, kept in the block's `fk` local for its catch. */
export function kindCode(kind: number, sb: number): number {
  return kind < 0 ? -1 : kind | (sb << 3);
}

function mask(sb: number): string {
  return sb === 31 ? '-1' : sb === 15 ? '0xffff' : '0xff';
}

function low(v: string, sb: number): string {
  return sb === 31 ? `(${v} >>> 0)` : `(${v} & ${mask(sb)})`;
}

/** `v` shifted so its sign bit is bit 31: compares as a signed operand of size `sb`. */
function signed(v: string, sb: number): string {
  return sb === 31 ? `(${v} | 0)` : `(${v} << ${31 - sb})`;
}

function zero(sb: number): string {
  return sb === 31 ? '(fr === 0)' : `((fr & ${mask(sb)}) === 0)`;
}

function sign(sb: number): string {
  return sb === 31 ? '(fr < 0)' : `((fr & ${1 << sb}) !== 0)`;
}

/**
 * JavaScript for the condition pair `pair` (`cc >> 1`: O, B, E, BE, S, P, L, LE) read straight
 * from a record of `kind` and size `sb` held in locals, or null when that needs the general
 * path. ZF, SF and PF come from the result alone, the same for every kind; CF and OF (and
 * what is made of them) depend on the operation.
 */
function pairFromRecord(kind: number, sb: number, pair: number): string | null {
  if (kind === K_CPU) return null;
  switch (pair) {
    case 2:
      return zero(sb);
    case 4:
      return sign(sb);
    case 5:
      return '(PARITY[fr & 0xff] !== 0)';
  }
  switch (kind) {
    case K_SUB:
      switch (pair) {
        case 0:
          return `((((fa ^ fb) & (fa ^ fr)) >>> ${sb}) & 1) !== 0`;
        case 1:
          return `${low('fa', sb)} < ${low('fb', sb)}`;
        case 3:
          return `${low('fa', sb)} <= ${low('fb', sb)}`;
        case 6:
          return `${signed('fa', sb)} < ${signed('fb', sb)}`;
        default:
          return `${signed('fa', sb)} <= ${signed('fb', sb)}`;
      }
    case K_LOGIC:
      // CF = OF = 0: B and O never hold, BE is E, L is S, LE is E or S.
      switch (pair) {
        case 0:
        case 1:
          return 'false';
        case 3:
          return zero(sb);
        case 6:
          return sign(sb);
        default:
          return `(${zero(sb)} || ${sign(sb)})`;
      }
    case K_ADD:
      return pair === 1 ? `${low('fr', sb)} < ${low('fa', sb)}` : null;
    default:
      // INC/DEC: CF stays in `fl.flags`, OF needs the general path.
      return null;
  }
}

/**
 * JavaScript for condition `cc` (0–15, the low nibble of Jcc/SETcc/CMOVcc) read straight from
 * a record of `kind` and size `sb` held in locals, or null when that needs the general path.
 */
export function conditionFromRecord(kind: number, sb: number, cc: number): string | null {
  const e = pairFromRecord(kind, sb, cc >> 1);
  if (e === null) return null;
  return cc & 1 ? `!(${e})` : `(${e})`;
}

/** CF of a record held in locals, as 0 or 1 (INC/DEC keep CF in `fl.flags`). */
export function carryFromRecord(kind: number, sb: number): string {
  const c = pairFromRecord(kind, sb, 1);
  return c === null ? '(fl.flags & 1)' : `(${c} ? 1 : 0)`;
}

/** Statements that store a record held in locals into `fl`, as the interpreter would have. */
export function storeRecord(kind: number, sb: number): string {
  if (kind < 0) return '';
  const lazy = kind === K_INC || kind === K_DEC ? 0x8d4 : 0x8d5;
  return `fl.op = ${kind}; fl.a = fa; fl.b = fb; fl.res = fr; fl.sizeBit = ${sb}; fl.lazy = ${lazy};`;
}

/** The record store for a kind known only at run time (a block's catch handler). */
export function storeRecordDynamic(
  fl: { op: number; a: number; b: number; res: number; sizeBit: number; lazy: number },
  fk: number,
  fa: number,
  fb: number,
  fr: number,
): void {
  if (fk < 0) return;
  const kind = fk & 7;
  fl.op = kind;
  fl.a = fa;
  fl.b = fb;
  fl.res = fr;
  fl.sizeBit = fk >> 3;
  fl.lazy = kind === K_INC || kind === K_DEC ? 0x8d4 : 0x8d5;
}
