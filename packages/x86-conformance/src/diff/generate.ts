// The case generator: from one InstructionForm and a seeded PRNG, a snippet and the machine
// state it starts from. Encoding follows the form's operand codes alone (prefixes, ModRM,
// SIB, displacements, immediates); what an instruction *means* enters only where a random
// state would be useless or unsafe — stack and string pointers, branch targets, divisors,
// shift counts, bit offsets — and in the undefined-result masks.
//
// Every memory access is steered into the REGION (layout.ts): for each ModRM memory operand
// the generator picks a target offset and solves base + index·scale + disp for it, through a
// flat segment (32-bit addressing) or through the LDT segment over the data area (always for
// 16-bit addressing, which cannot reach a flat address above 64 KiB, sometimes for 32-bit).

import { type Aim, dispBytes, placeMemory } from './address';
import { AC, Builder, type Loc, PREFIX_SEG, type SkipRegion } from './builder';
import type { DiffCase } from './case';
import {
  DOUBLE_SHIFTS,
  isIndirectTransfer,
  isString,
  isTransfer,
  LOOPS,
  operandSizes,
  SHIFTS,
  usesStack,
} from './forms';
import { hasModrm, type InstructionForm, type Operand } from './isa';
import {
  CODE_BASE,
  CODE_OFFSET_LIMIT,
  DOWN_LIMIT,
  EAX,
  ECX,
  EDX,
  EFLAGS_VISIBLE,
  PATCH_MAX,
  REGION_SIZE,
  SNIPPET_MAX,
} from './layout';
import { undefinedFlags, undefinedResults } from './masks';
import type { Prng } from './prng';
import { intVector, planBound, planFixedRoles, planStack, shapeValues, shiftCount } from './roles';

/** Bytes a memory operand of this code accesses, at the given operand size. */
function memSize(op: Operand, osz: number): number {
  switch (op) {
    case 'Eb':
    case 'Ob':
    case 'Xb':
    case 'Yb':
      return 1;
    case 'Ew':
    case 'Mw':
      return 2;
    case 'Ed':
      return 4;
    case 'Ma':
      return (2 * osz) / 8;
    case 'Mq':
      return 8;
    case 'Ms':
    case 'Mp':
      return 6;
    case 'M':
      return 1;
    default:
      return osz / 8;
  }
}

function regSize(op: Operand, osz: number): number {
  if (op.endsWith('b')) return 1;
  if (op.endsWith('w')) return 2;
  if (op.endsWith('d')) return 4;
  return osz / 8;
}

/** The ModRM/moffs memory operand of the form, if it can have one. */
function memoryOperand(form: InstructionForm): Operand | undefined {
  return form.operands.find((o) => o[0] === 'E' || o[0] === 'M' || o[0] === 'O');
}

export interface CaseInputs {
  form: InstructionForm;
  index: number;
  rng: Prng;
  /** The table lists one form per register for this Z-operand opcode. */
  zFixed: boolean;
}

/** What the form's operands say about its encoding, worked out once per case. */
interface Shape {
  memOp: Operand | undefined;
  modrm: boolean;
  string: boolean;
  /** The instruction addresses memory through ModRM, moffs or XLAT. */
  memAccess: boolean;
}

/** Generates one case. Throws only on a generator bug. */
export function generateCase(inp: CaseInputs): DiffCase {
  const { form, rng } = inp;
  const b = new Builder(rng, form, rng.below(CODE_OFFSET_LIMIT));
  const shape = chooseShape(b, inp);
  choosePrefixes(b, shape);
  planStack(b);
  const range = planFixedRoles(b, shape.string, shape.memOp ? memSize(shape.memOp, b.osz) : 1);
  encode(b, shape, inp, range);
  finishBytes(b);
  const insn = Uint8Array.from([...b.prefixes, ...b.body]);
  const snippet = Uint8Array.from([...insn, ...(b.skip?.bytes ?? [])]);
  if (snippet.length > SNIPPET_MAX)
    throw new Error(`generator: snippet of ${snippet.length} bytes for ${form.mnemonic}`);

  // Values: edges into every operand, then what the instruction's meaning asks for; then
  // what the architecture leaves undefined for exactly these values.
  const locs = form.operands.map((op) => operandLoc(b, op));
  locs.forEach((loc, i) => {
    if (loc.kind !== 'none') b.write(loc, b.randomValue(Math.min(loc.size * 8, 32)));
    if (loc.kind === 'mem' && loc.size > 4) b.writeMem(loc.t + 4, loc.size - 4, b.randomValue(32));
    if (form.operands[i] === 'Ma' && loc.kind === 'mem') planBound(b, loc);
  });
  shapeValues(b, locs, CODE_BASE + b.codeOffset + insn.length);
  const flagsMask = EFLAGS_VISIBLE & ~undefinedFlags(b);
  undefinedResults(b, locs);

  if (b.osz === 16) b.notes.unshift('o16');
  if (b.asz === 16) b.notes.unshift('a16');
  if (shape.memAccess && b.memSeg !== 'flat')
    b.notes.push(b.memSeg === 'ldt' ? 'via LDT segment' : 'via expand-down segment');
  return {
    index: inp.index,
    form,
    insn,
    snippet,
    codeOffset: b.codeOffset,
    regs: b.regs,
    eflags: b.eflags >>> 0,
    esLdt: b.esLdt,
    stack: b.stack,
    gsDown: b.gsDown,
    seed: b.seed,
    patches: diffPatches(b.initial, b.region),
    flagsMask,
    regMask: b.regMask,
    memIgnore: b.memIgnore,
    notes: b.notes,
  };
}

/** Operand and address sizes, and the ModRM shape: register field, register or memory. */
function chooseShape(b: Builder, inp: CaseInputs): Shape {
  const { form, rng } = inp;
  const m = form.mnemonic;
  const ops = form.operands;
  const memOp = memoryOperand(form);
  const modrm = hasModrm(form);
  const string = isString(form);
  const xlat = m === 'xlat';
  const sizes = operandSizes(form);
  b.osz = sizes.length === 1 ? sizes[0] : rng.chance(0.35) ? 16 : 32;
  if (modrm) {
    if (form.reg !== undefined) b.regField = form.reg;
    else if (ops.includes('Sw')) b.regField = rng.chance(0.03) ? rng.range(6, 7) : rng.below(6);
    else if (ops.includes('Cd')) b.regField = rng.pick([0, 2, 3, 4]);
    else b.regField = rng.below(8);
    const e = ops.find((o) => o[0] === 'E' || o[0] === 'M' || o === 'Rd');
    if (e === undefined || e === 'Rd') b.modrmMemory = false;
    // LEA of a register is #UD (the only M form whose mod=3 encoding is not another instruction).
    else if (e[0] === 'M') b.modrmMemory = !(m === 'lea' && rng.chance(0.03));
    else b.modrmMemory = rng.chance(0.6);
    b.modrmRm = rng.below(8);
  }
  // 67h only where something uses the address size.
  const addressed = (modrm && b.modrmMemory) || ops.some((o) => o[0] === 'O') || string || LOOPS.has(m) || xlat;
  b.asz = addressed && rng.chance(0.25) ? 16 : 32;
  b.zReg = ops.some((o) => o[0] === 'Z') ? (inp.zFixed ? form.opcode & 7 : rng.below(8)) : 0;
  const memAccess = (modrm && b.modrmMemory) || memOp?.[0] === 'O' || xlat;
  return { memOp, modrm, string, memAccess };
}

/** Prefixes: sizes, the memory operand's segment, LOCK, REP, the odd redundant one, and TF. */
function choosePrefixes(b: Builder, shape: Shape): void {
  const { rng, form } = b;
  const m = form.mnemonic;
  if (b.osz === 16) b.prefixes.push(0x66);
  if (b.asz === 16) b.prefixes.push(0x67);
  // Stack forms sometimes run on an LDT segment as their stack; GS is sometimes expand-down.
  if (usesStack(form) && rng.chance(0.35)) b.stack = rng.pick(['ldt32', 'ldt16', 'down16'] as const);
  b.gsDown = rng.chance(0.35);
  if (shape.memAccess) {
    // 16-bit addressing cannot reach the flat region: it always goes through an LDT segment.
    if (b.asz === 16 || rng.chance(0.15)) b.memSeg = b.ldtOverride();
    else if (rng.chance(0.12) || b.stack !== 'flat') {
      // With an LDT stack, [ESP]/[EBP] would default to it: always name the segment then.
      const s = rng.pick(b.stack === 'flat' ? ['ds', 'ss', 'ds', 'ss', 'cs'] : ['ds', 'ds', 'ds', 'cs']);
      b.prefixes.push(PREFIX_SEG[s]);
      if (s === 'cs') b.notes.push('cs: override');
    }
  }
  if (form.lockable && b.modrmMemory && rng.chance(0.3)) b.lock = true;
  else if (rng.chance(0.015) && !form.operands.some((o) => o === 'Cd' || o === 'Dd')) b.lock = true; // #UD
  if (b.lock) b.prefixes.push(0xf0);
  if (form.rep && rng.chance(0.6)) {
    b.rep = form.rep === 'cc' ? rng.pick([0xf2, 0xf3]) : 0xf3;
    b.prefixes.push(b.rep);
  } else if ((m === 'ret' || m === 'nop') && rng.chance(0.2)) {
    // REP on other instructions is reserved (the host turns F3 LOOPNE into LOOPE, and
    // F3 0F BC is TZCNT); these two are in common use and ignore it.
    b.prefixes.push(0xf3);
    b.notes.push('ignored REP');
  }
  if (b.prefixes.length && rng.chance(0.03)) {
    b.prefixes.push(rng.pick(b.prefixes));
    b.notes.push('repeated prefix');
  }
  // Alignment checking: with AC set, a misaligned access at CPL 3 raises #AC(0).
  if (rng.chance(0.04)) {
    b.eflags |= AC;
    b.notes.push('AC set');
  }
  // Single-step: the first instruction traps (#DB) after it completes, unless it faults.
  // (Not the software interrupts: the host kernel owns their interplay with TF.)
  // (Nor a load of SS, which holds the trap back past the next instruction: the two sides'
  // next instructions differ.)
  const loadsSs = (m === 'mov' && form.operands[0] === 'Sw' && b.regField === 2) || m === 'lss';
  if (m !== 'int' && m !== 'int3' && m !== 'into' && !loadsSs && rng.chance(0.03)) {
    b.eflags |= 0x100;
    b.notes.push('TF set');
  }
}

/** Opcode, ModRM and SIB with the solved address, immediates, and a relative target. */
function encode(b: Builder, shape: Shape, inp: CaseInputs, range: { lo: number; hi: number }): void {
  const { rng, form } = b;
  const m = form.mnemonic;
  const ops = form.operands;
  const opByte = ops.some((o) => o[0] === 'Z') && !inp.zFixed ? (form.opcode & 0xf8) | b.zReg : form.opcode & 0xff;
  if (form.opcode > 0xff) b.body.push(0x0f);
  b.body.push(opByte);
  if (shape.modrm && b.modrmMemory) {
    const size = shape.memOp ? memSize(shape.memOp, b.osz) : 1;
    let aim: Aim = { kind: 'region', ...range };
    if (m === 'lea') aim = { kind: 'anywhere' };
    else if (b.memSeg !== 'flat' && size > 1 && rng.chance(0.04)) {
      aim = { kind: 'limit', size, edge: b.memSeg === 'down' && rng.chance(0.6) ? DOWN_LIMIT + 1 : 0x10000 };
      b.notes.push('crosses the segment limit');
    }
    // POP Ev computes its address after incrementing ESP.
    const p = placeMemory(b, aim, m === 'pop' ? b.osz / 8 : 0);
    b.body.push((p.mod << 6) | (b.regField << 3) | p.rm, ...p.tail);
    b.memT = p.t;
  } else if (shape.modrm) {
    // An indirect transfer's target register must be free to hold the target address.
    if (isIndirectTransfer(form)) b.modrmRm = rng.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !b.fixed[r]));
    b.body.push(0xc0 | (b.regField << 3) | b.modrmRm);
  }
  for (const op of ops) emitImmediate(b, op);
  // Control transfers get a region to jump over; a relative one jumps into it or past it.
  if (isTransfer(form)) b.skip = skipRegion(rng);
  const rel = ops.find((o) => o === 'Jb' || o === 'Jv');
  if (b.skip && rel) b.body.push(...dispBytes(rng.pick(b.skip.targets), rel === 'Jb' ? 1 : 4));
}

/** Padding to the length limit now and then, and the prefixes in a random order. */
function finishBytes(b: Builder): void {
  const rng = b.rng;
  // Pad with redundant prefixes to the 15-byte limit or past it (#GP(0)). Not the host
  // escape: to the host CPU it is a two-byte invalid opcode without its immediate.
  if (b.form.mnemonic !== 'hostescape' && rng.chance(0.01)) {
    const filler = b.prefixes.length ? rng.pick(b.prefixes) : PREFIX_SEG.ds;
    const target = rng.pick([15, 16, 17]);
    let length = b.prefixes.length + b.body.length;
    if (length < target) b.notes.push(`padded to ${target} bytes`);
    for (; length < target; length++) b.prefixes.push(filler);
  }
  // A decoder must take prefixes in any order.
  for (let i = b.prefixes.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [b.prefixes[i], b.prefixes[j]] = [b.prefixes[j], b.prefixes[i]];
  }
}

/** The location of one operand's value (after the ModRM memory operand has been placed). */
function operandLoc(b: Builder, op: Operand): Loc {
  const osz = b.osz;
  switch (op[0]) {
    case 'E':
    case 'M':
      if (b.modrmMemory) return b.memT >= 0 ? { kind: 'mem', t: b.memT, size: memSize(op, osz) } : { kind: 'none' };
      return { kind: 'reg', r: b.modrmRm, size: op[0] === 'M' ? osz / 8 : regSize(op, osz) };
    case 'R':
      return { kind: 'reg', r: b.modrmRm, size: 4 };
    case 'G':
      return { kind: 'reg', r: b.regField, size: regSize(op, osz) };
    case 'Z':
      return { kind: 'reg', r: b.zReg, size: regSize(op, osz) };
    case 'O':
    case 'X':
    case 'Y': {
      const t = op[0] === 'O' ? b.memT : op[0] === 'X' ? b.srcT : b.dstT;
      return t >= 0 ? { kind: 'mem', t, size: memSize(op, osz) } : { kind: 'none' };
    }
  }
  switch (op) {
    case 'AL':
      return { kind: 'reg', r: EAX, size: 1 };
    case 'CL':
      return { kind: 'reg', r: ECX, size: 1 };
    case 'AX':
      return { kind: 'reg', r: EAX, size: 2 };
    case 'DX':
      return { kind: 'reg', r: EDX, size: 2 };
    case 'eAX':
      return { kind: 'reg', r: EAX, size: osz / 8 };
  }
  return { kind: 'none' };
}

function emitImmediate(b: Builder, op: Operand): void {
  const rng = b.rng;
  const m = b.form.mnemonic;
  const push = (v: number, size: number): void => {
    b.body.push(...dispBytes(v, size));
  };
  switch (op) {
    case 'Ib':
      if (SHIFTS.has(m) || DOUBLE_SHIFTS.has(m)) {
        b.countValue = shiftCount(b);
        push(b.countValue, 1);
      } else if (m === 'enter') push(b.enterLevel, 1);
      else if (m === 'int') push(intVector(rng), 1);
      else if (m === 'aam') push(rng.chance(0.1) ? 0 : rng.chance(0.5) ? 10 : rng.below(256), 1);
      else if (m === 'aad') push(rng.chance(0.5) ? 10 : rng.below(256), 1);
      else push(b.randomValue(8), 1);
      return;
    case 'Ibs':
      push(b.randomValue(8), 1);
      return;
    case 'Iw':
      // ENTER: a frame the roles aimed at the guard pages, or one that stays in the data area.
      if (m === 'enter') push(b.enterSize >= 0 ? b.enterSize : rng.chance(0.7) ? rng.below(64) : rng.below(0xf00), 2);
      else push(b.randomValue(16), 2);
      return;
    case 'Iv':
      push(b.randomValue(b.osz), b.osz / 8);
      return;
    case 'Ob':
    case 'Ov': {
      const size = memSize(op, b.osz);
      const t = rng.range(0, REGION_SIZE - size);
      b.memT = t;
      const o = b.segOffset(b.memSeg, t);
      push(b.asz === 16 ? o & 0xffff : o, b.asz / 8);
      return;
    }
  }
}

function skipRegion(rng: Prng): SkipRegion {
  const pad = rng.below(12);
  const bytes = [0xf7, 0xd0 | rng.below(8)];
  for (let i = 0; i < pad; i++) bytes.push(0x90);
  const targets = [0];
  for (let i = 2; i <= bytes.length; i++) targets.push(i);
  return { bytes, targets };
}

/** The region's changes as dword patches over the seeded fill. */
function diffPatches(initial: Uint8Array, region: Uint8Array): Array<readonly [number, number]> {
  const patches: Array<readonly [number, number]> = [];
  let i = 0;
  while (i < region.length) {
    if (initial[i] === region[i]) {
      i++;
      continue;
    }
    const at = Math.min(i, region.length - 4);
    const v = (region[at] | (region[at + 1] << 8) | (region[at + 2] << 16) | (region[at + 3] << 24)) >>> 0;
    patches.push([at, v]);
    i = at + 4;
  }
  if (patches.length > PATCH_MAX) throw new Error(`generator: ${patches.length} patches (at most ${PATCH_MAX})`);
  return patches;
}
