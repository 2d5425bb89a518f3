// The long-mode oracle's view of the cases: which forms of the table mean the same thing in
// 64-bit mode with a 32-, 16- or 8-bit operand size, which cases of those forms it can
// reproduce, and how a case's i386 bytes become 64-bit bytes with the same effect.
//
// A host whose kernel cannot run i386 programs still runs the same instruction bytes in a
// 64-bit process, and for most of the integer instruction set they do the same thing there:
// the ALU, shifts, multiplies and divides, bit tests and scans, SETcc, CMOVcc, MOVZX/MOVSX,
// MOV, XCHG, CMPXCHG, XADD, BSWAP, LEA, string operations, flag instructions, Jcc, JMP and
// LOOP, PUSH, POP, ENTER and LEAVE with a 16-bit operand size, INT, and the privileged forms
// that raise #GP(0) at CPL 3. Two rewrites make them touch the same bytes:
//
//   - 67h (32-bit addressing in 64-bit mode) on every instruction that forms an address, so
//     an effective address wraps at 4 GiB exactly as in 32-bit mode, and string operations,
//     XLAT, JECXZ and LOOP use ESI, EDI, EBX and ECX;
//   - ModRM mod=00 r/m=101 (absolute disp32 in 32-bit mode, RIP-relative in 64-bit mode)
//     re-encoded as SIB with no base and no index, which is absolute disp32 in both.
//
// The data area and the code page are mapped at the same low addresses as in the i386
// oracle, so every address a register holds is the same in both worlds.

import type { DiffCase } from './case';
import { exclusionReason, formName, isString, LOOPS } from './forms';
import { hasModrm, type InstructionForm } from './isa';

const INVALID = 'invalid in 64-bit mode (#UD there)';
const REX = 'the opcode is a REX prefix in 64-bit mode';
const STACK = 'CALL and RET move 8 bytes of stack in 64-bit mode whatever the operand size';

/**
 * Forms of the table the long-mode oracle does not run, on top of those the i386 oracle
 * excludes (forms.ts), each with why its 64-bit meaning differs. By form name.
 */
export const LONG_MODE_EXCLUSIONS: readonly (readonly [string, string])[] = [
  ...['push ES (06)', 'push CS (0E)', 'push SS (16)', 'push DS (1E)'].map((f) => [f, INVALID] as const),
  ...['daa (27)', 'das (2F)', 'aaa (37)', 'aas (3F)', 'aam Ib (D4)', 'aad Ib (D5)'].map(
    (f) => [f, `BCD adjustment: ${INVALID}`] as const,
  ),
  ['pushad (60)', INVALID],
  ['popad (61)', INVALID],
  ['bound Gv,Ma (62)', 'BOUND: 62 is the EVEX prefix in 64-bit mode'],
  ['arpl Ew,Gw (63)', 'ARPL: 63 is MOVSXD in 64-bit mode'],
  ['into (CE)', INVALID],
  ['salc (D6)', INVALID],
  ...['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'].map(
    (m, reg) => [`${m} Eb,Ib (82 /${reg})`, `the 82 alias of group 1: ${INVALID}`] as const,
  ),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => [`inc Zv (4${r})`, REX] as const),
  ...['8', '9', 'A', 'B', 'C', 'D', 'E', 'F'].map((r) => [`dec Zv (4${r})`, REX] as const),
  ...['ret Iw (C2)', 'ret (C3)', 'call Jv (E8)', 'call Ev (FF /2)'].map((f) => [f, STACK] as const),
  ['sysexit (0F 35)', 'SYSEXIT: #UD in 64-bit mode on some processors (AMD) where 32-bit mode raises #GP(0) at CPL 3'],
  ...['push FS (0F A0)', 'push GS (0F A8)'].map(
    (f) => [f, 'pushes a selector the i386 set-up has from its LDT, which a 64-bit process lacks here'] as const,
  ),
];

/**
 * Forms the long-mode oracle runs with a 16-bit operand size only: with 66h, PUSH and POP
 * move two bytes in 64-bit mode as in 32-bit mode, while without it they move eight. ENTER
 * and LEAVE too: 64-bit mode then sets all of RBP and RSP where 32-bit mode sets BP and SP,
 * which is the same here because the generator keeps ESP, EBP and the whole frame inside
 * the 256-byte region, so their upper halves agree and never borrow.
 */
export const LONG_MODE_16_BIT_ONLY: ReadonlySet<string> = new Set([
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r) => `push Zv (5${r})`),
  ...['8', '9', 'A', 'B', 'C', 'D', 'E', 'F'].map((r) => `pop Zv (5${r})`),
  'push Iv (68)',
  'push Ibs (6A)',
  'pop Ev (8F /0)',
  'push Ev (FF /6)',
  'pushfd (9C)',
  'popfd (9D)',
  'enter Iw,Ib (C8)',
  'leave (C9)',
  'pop FS (0F A1)',
  'pop GS (0F A9)',
]);

/** MOV Ev,Sw reads ES, SS and DS only: the long-mode driver loads DS and ES with the same
 *  user data selector as SS, while CS (33h in a 64-bit process) and FS and GS (the i386
 *  set-up's LDT selector) differ. ModRM reg 6 and 7 are #UD on both sides. */
const SAME_SELECTOR = new Set([0, 2, 3, 6, 7]);

const BY_NAME: ReadonlyMap<string, string> = new Map(LONG_MODE_EXCLUSIONS);

/**
 * Forms the long-mode oracle runs although the i386 one leaves them out: the segment loads
 * that exist in 64-bit mode (MOV Sreg, POP FS/GS, LFS/LGS/LSS). Their selectors (roles.ts)
 * are ones whose meaning a 64-bit Linux process's GDT and the core's share — null, the user
 * data selector, and ones beyond both tables — while the i386 oracle would need descriptors
 * of Linux's 32-bit GDT.
 */
export const LONG_MODE_ONLY: ReadonlySet<string> = new Set([
  'mov Sw,Ew (8E)',
  'pop FS (0F A1)',
  'pop GS (0F A9)',
  'lss Gv,Mp (0F B2)',
  'lfs Gv,Mp (0F B4)',
  'lgs Gv,Mp (0F B5)',
]);

/** Why `form` is not run on the long-mode oracle, or undefined when it is. */
export function longModeExclusionReason(form: InstructionForm): string | undefined {
  if (LONG_MODE_ONLY.has(formName(form))) return undefined;
  return exclusionReason(form) ?? BY_NAME.get(formName(form));
}

/**
 * Per case: choices the generator makes that the long-mode oracle cannot reproduce, with the
 * reason. Cases with them are not run there (the plan draws another case of the same form).
 */
const LIMITS = {
  addressing16: '16-bit addressing (67h): in 64-bit mode 67h selects 32-bit addressing',
  ldt:
    'LDT segments (FS, GS, an LDT ES or stack): 64-bit mode checks no limits and ignores the bases of ES and SS, ' +
    'and FS and GS would need LDT selectors, which not every host loads in a 64-bit process',
  csOverride: 'CS override: a write through CS raises #GP(0) in 32-bit mode, and CS is ignored in 64-bit mode',
  length: 'instructions padded to the 15-byte limit: the 64-bit encoding is up to two bytes longer',
  stack32:
    'PUSH, POP, ENTER and LEAVE with a 32-bit operand size: they move 8 bytes in 64-bit mode (their 16-bit cases run)',
  selector: 'MOV Ev,Sw of CS, FS or GS: a 64-bit process runs on its own CS (33h) and has no LDT selector in FS and GS',
  jmpMemory:
    'JMP Ev from memory: the target operand is 64 bits wide in 64-bit mode, so it would read 8 bytes (JMP to a register runs)',
  intReserved:
    'INT n with a vector reserved for exceptions (14h–1Fh): hosts whose kernel a hypervisor runs deprivileged (PVM) ' +
    'answer some of them themselves (CPUID data, #UD, #GP(0) after the instruction) instead of the CPU’s #GP(n·8+2)',
} as const;

export const LONG_MODE_CASE_LIMITS: readonly string[] = Object.values(LIMITS);

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const MAX_LENGTH = 15;

/** A case's instruction in 64-bit mode. */
export interface LongModeCode {
  /** The instruction under test as 64-bit code, followed by the case's skip region. */
  snippet: Uint8Array;
  /** Bytes the 64-bit instruction is longer than the i386 one (0–2). */
  grown: number;
}

/** The 64-bit encoding of case `c`'s instruction (the snippet's first instruction). */
export function longModeCode(c: DiffCase): LongModeCode {
  const insn = c.insn;
  let at = 0;
  while (at < insn.length && PREFIXES.has(insn[at])) at++;
  const opcodeEnd = at + (insn[at] === 0x0f ? 2 : 1);
  const prefixes = Array.from(insn.subarray(0, at));
  const opcode = Array.from(insn.subarray(at, opcodeEnd));
  let rest = Array.from(insn.subarray(opcodeEnd));
  const form = c.form;
  const modrm = hasModrm(form) ? rest[0] : undefined;
  const memoryModrm = modrm !== undefined && modrm >> 6 !== 3;
  const addressed =
    memoryModrm ||
    form.operands.some((o) => o[0] === 'O') ||
    isString(form) ||
    form.mnemonic === 'xlat' ||
    LOOPS.has(form.mnemonic);
  if (modrm !== undefined && modrm >> 6 === 0 && (modrm & 7) === 5) {
    // [disp32] → [disp32] through a SIB byte with no base (101) and no index (100).
    rest = [(modrm & 0xf8) | 4, 0x25, ...rest.slice(1)];
  }
  const body = [...(addressed ? [0x67] : []), ...prefixes, ...opcode, ...rest];
  const skip = c.snippet.subarray(insn.length);
  return { snippet: Uint8Array.from([...body, ...skip]), grown: body.length - insn.length };
}

/** Why the long-mode oracle cannot run case `c` as generated, or undefined when it can. */
export function longModeCaseProblem(c: DiffCase): string | undefined {
  if (c.stack !== 'flat' || c.esLdt) return LIMITS.ldt;
  let at = 0;
  for (; at < c.insn.length && PREFIXES.has(c.insn[at]); at++) {
    const p = c.insn[at];
    if (p === 0x67) return LIMITS.addressing16;
    if (p === 0x64 || p === 0x65) return LIMITS.ldt;
    if (p === 0x2e) return LIMITS.csOverride;
  }
  if (c.insn.length > MAX_LENGTH || c.insn.length + longModeCode(c).grown > MAX_LENGTH) return LIMITS.length;
  const name = formName(c.form);
  if (LONG_MODE_16_BIT_ONLY.has(name) && !c.insn.subarray(0, at).includes(0x66)) return LIMITS.stack32;
  if (name === 'mov Ev,Sw (8C)' && !SAME_SELECTOR.has((c.insn[at + 1] >> 3) & 7)) return LIMITS.selector;
  if (name === 'jmp Ev (FF /4)' && c.insn[at + 1] >> 6 !== 3) return LIMITS.jmpMemory;
  if (name === 'int Ib (CD)' && c.insn[at + 1] >= 0x14 && c.insn[at + 1] <= 0x1f) return LIMITS.intReserved;
  return undefined;
}

/**
 * An instruction pointer the 64-bit run reported, as the i386 one: addresses past the
 * instruction under test move back by the bytes its 64-bit encoding added.
 */
export function i386Eip(rip: number, start: number, code: LongModeCode, insnLength: number): number {
  return rip >= start + insnLength + code.grown ? rip - code.grown : rip;
}
