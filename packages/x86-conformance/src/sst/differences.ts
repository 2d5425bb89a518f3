// Where a 386 legitimately differs from the Harris 80C286 that recorded the 286 data. The
// kit runs that data against i386 cores, so a handful of recorded results are not what a
// correct 386 does. Each class below names such a place, says why, and says what the kit does
// about it: expect the 386 result instead, accept the 386 result beside the recorded one, or
// skip the test. The runner counts every test each class touches and reports the counts, so
// nothing is set aside silently. The classes are tried in order; the first that claims a
// test decides.
//
// This list is the committed record of those decisions. Add a class here — with its reason —
// before making a core "pass" a test some other way.

import { type MooTest, Reg } from './moo';
import {
  DS,
  effectiveOffset,
  lockable,
  operandBytes,
  readShape,
  SEGMENT_REG,
  type Shape,
  SS,
  usesStack,
} from './shape';

/** What the kit does with a test a class claims. */
export type Resolution =
  /** Not run; counted under the class. */
  | { kind: 'skip' }
  /** The 386 does what was recorded: run and compare as usual, and stop classifying. */
  | { kind: 'agree' }
  /** The 386 faults on this instruction with `vector` before changing anything: expect that. */
  | { kind: 'fault'; vector: number }
  /** The recorded exception `from` may be `to` on a 386: either passes. */
  | { kind: 'vector'; from: number; to: number }
  /**
   * The 386 result is the recorded one with these registers as a restartable fault leaves
   * them, and exception `vector` taken (possibly not the recorded one).
   */
  | { kind: 'restart'; set: readonly { reg: Reg; value: number }[]; vector: number };

/** What a class gets to look at. */
export interface Candidate {
  test: MooTest;
  shape: Shape;
  /** Recorded exception vector, or -1. */
  vector: number;
  /** Initial registers in `Reg` order, as the runner loads them. */
  regs: Uint32Array;
  /** The initial byte at a physical address, if the test lists it. */
  byteAt(address: number): number | undefined;
}

export interface Difference {
  /** Short id used in reports, e.g. `lock-ud`. */
  readonly id: string;
  /** Why a 386 differs here. */
  readonly reason: string;
  /** What the kit does about it, in one line. */
  readonly action: string;
  /** The resolution for a test this class claims, or undefined to leave it to the next class. */
  match(c: Candidate): Resolution | undefined;
}

const isEscape = (op: number): boolean => op >= 0xd8 && op <= 0xdf;

/** Word string instructions and the index registers each steps. */
const WORD_STRINGS = new Map<number, readonly Reg[]>([
  [0xa5, [Reg.ESI, Reg.EDI]], // MOVSW
  [0xa7, [Reg.ESI, Reg.EDI]], // CMPSW
  [0xab, [Reg.EDI]], // STOSW
  [0xad, [Reg.ESI]], // LODSW
  [0xaf, [Reg.EDI]], // SCASW
  [0x6d, [Reg.EDI]], // INSW
  [0x6f, [Reg.ESI]], // OUTSW
]);

/** The 286-recorded data run on an i386 core: the classes, in the order they are tried. */
export const DIFFERENCES_286_ON_386: readonly Difference[] = [
  {
    id: 'fpu-escape',
    reason:
      'ESC (D8–DF) with no coprocessor: the 286 decodes the operand and goes on as if it were a no-op; ' +
      'what a 386 does depends on CR0.EM/MP and the FPU the core models, which is a policy of each core',
    action: 'skip',
    match: (c) => (isEscape(c.shape.opcode) ? { kind: 'skip' } : undefined),
  },
  {
    id: 'lock-ud',
    reason:
      'LOCK: the 286 ignores it; a 386 raises #UD unless the instruction is a lockable read-modify-write ' +
      'with a memory destination',
    action: 'expect #UD (vector 6) at the first prefix, nothing else changed',
    match: (c) => {
      if (!c.shape.lock || lockable(c.shape)) return undefined;
      return c.vector === 6 ? { kind: 'agree' } : { kind: 'fault', vector: 6 };
    },
  },
  {
    id: 'long-instruction',
    reason:
      'instructions longer than 10 bytes (prefixes counted) raise #GP on the 286; a 386 allows 15 bytes and ' +
      'executes them, and its result was not recorded',
    action: 'skip',
    match: (c) => (c.shape.length > 10 && c.vector === 13 ? { kind: 'skip' } : undefined),
  },
  {
    id: 'mov-fs-gs',
    reason:
      '8C/8E with ModRM reg 4 or 5 is #UD on the 286 but MOV to/from FS/GS on a 386; the 386 result ' +
      '(FS/GS values, memory it would touch) is not in the recording',
    action: 'skip',
    match: (c) =>
      (c.shape.opcode === 0x8c || c.shape.opcode === 0x8e) && (c.shape.reg === 4 || c.shape.reg === 5)
        ? { kind: 'skip' }
        : undefined,
  },
  {
    id: 'string-overrun',
    reason:
      'a word string instruction whose element crosses offset 0xFFFF: when the 80C286 takes the #GP it has ' +
      'already stepped SI and/or DI past that element and counted CX down with them (under REP sometimes once ' +
      'more); a 386 fault is restartable, so SI, DI and CX still address the faulting element, and an SS ' +
      'source raises #SS',
    action: 'expect SI, DI and CX at the first element that crosses, and #SS when that is an SS source',
    match: stringOverrun,
  },
  {
    id: 'pop-overrun',
    reason:
      'POP m16 whose destination crosses offset 0xFFFF: the 80C286 has already popped (SP + 2) when it takes ' +
      'the #GP, so its frame sits 2 bytes higher; a 386 fault leaves SP as it was (and is #SS for an SS destination)',
    action: 'expect the fault with SP and everything else as before the instruction',
    match: (c) => {
      const { shape, regs } = c;
      if (shape.opcode !== 0x8f || shape.reg !== 0 || !shape.memory || c.vector !== 13) return undefined;
      if (effectiveOffset(c.test.bytes, shape, regs) !== 0xffff) return undefined;
      if ((regs[Reg.ESP] & 0xffff) === 0xffff) return undefined; // the stack read overran instead
      return { kind: 'fault', vector: shape.segment === SS ? 12 : 13 };
    },
  },
  {
    id: 'aam-zero',
    reason:
      'AAM 0: the 80C286 sets SF/ZF/PF before it raises #DE; a 386 fault leaves FLAGS as they were, as every ' +
      'fault restores the state from before the instruction',
    action: 'expect #DE (vector 0) with nothing else changed',
    match: (c) => (c.shape.opcode === 0xd4 && c.vector === 0 ? { kind: 'fault', vector: 0 } : undefined),
  },
  {
    id: 'idiv-overflow',
    reason:
      'IDIV whose true quotient does not fit: the 80C286 does not always fault (in this data once, leaving ' +
      'AL = 80h); a 386 raises #DE whenever the quotient is out of range',
    action: 'expect #DE (vector 0) with nothing else changed',
    match: (c) => {
      const { shape } = c;
      if ((shape.opcode !== 0xf6 && shape.opcode !== 0xf7) || shape.reg !== 7 || c.vector !== -1) return undefined;
      return quotientFits(c) === false ? { kind: 'fault', vector: 0 } : undefined;
    },
  },
  {
    id: 'ss-overrun',
    reason:
      'an SS-relative access crossing offset 0xFFFF: the 80C286 recorded #GP (13), a 386 raises #SS (12) ' +
      'for stack-segment limit violations',
    action: 'accept vector 12 in place of the recorded 13',
    match: (c) => (c.vector === 13 && ssRelativeOverrun(c) ? { kind: 'vector', from: 13, to: 12 } : undefined),
  },
];

/**
 * String-overrun resolution, from first principles rather than from the 286's quirks: the 386
 * completes every element before the first one that crosses 0xFFFF and faults there with SI,
 * DI and CX addressing that element. The source is read first, so an SS source that crosses
 * raises #SS; anything else #GP.
 */
function stringOverrun(c: Candidate): Resolution | undefined {
  const stepped = WORD_STRINGS.get(c.shape.opcode);
  if (!stepped || c.vector !== 13) return undefined;
  const { regs, shape } = c;
  const reads = stepped.includes(Reg.ESI);
  const writes = stepped.includes(Reg.EDI);
  const step = regs[Reg.EFLAGS] & 0x400 ? -2 : 2;
  const cx = regs[Reg.ECX] & 0xffff;
  const count = shape.rep ? cx : 1;
  for (let k = 0; k < count; k++) {
    const si = (regs[Reg.ESI] + k * step) & 0xffff;
    const di = (regs[Reg.EDI] + k * step) & 0xffff;
    const sourceCrosses = reads && si === 0xffff;
    if (!sourceCrosses && !(writes && di === 0xffff)) continue;
    const set: { reg: Reg; value: number }[] = [];
    if (reads) set.push({ reg: Reg.ESI, value: si });
    if (writes) set.push({ reg: Reg.EDI, value: di });
    if (shape.rep) set.push({ reg: Reg.ECX, value: (cx - k) & 0xffff });
    const sourceSegment = shape.override >= 0 ? shape.override : DS;
    return { kind: 'restart', set, vector: sourceCrosses && sourceSegment === SS ? 12 : 13 };
  }
  return undefined; // no element crosses: the #GP came from somewhere else
}

/** Whether the IDIV quotient fits its destination; undefined when the operand is not in the data. */
function quotientFits(c: Candidate): boolean | undefined {
  const { shape, regs } = c;
  const word = shape.opcode === 0xf7;
  let divisor: number | undefined;
  if (!shape.memory) {
    const rm = shape.modrm & 7;
    const gpr = [Reg.EAX, Reg.ECX, Reg.EDX, Reg.EBX, Reg.ESP, Reg.EBP, Reg.ESI, Reg.EDI];
    divisor = word ? regs[gpr[rm]] & 0xffff : (regs[gpr[rm & 3]] >> (rm & 4 ? 8 : 0)) & 0xff;
  } else {
    const base = (regs[SEGMENT_REG[shape.segment]] & 0xffff) << 4;
    const off = effectiveOffset(c.test.bytes, shape, regs);
    const lo = c.byteAt(base + off);
    const hi = word ? c.byteAt(base + ((off + 1) & 0xffff)) : 0;
    if (lo === undefined || hi === undefined) return undefined;
    divisor = lo | (hi << 8);
  }
  const bits = word ? 16 : 8;
  const d = (divisor << (32 - bits)) >> (32 - bits);
  if (d === 0) return undefined; // #DE on both, recorded as such
  const dividend = word
    ? ((regs[Reg.EDX] & 0xffff) << 16) | (regs[Reg.EAX] & 0xffff)
    : ((regs[Reg.EAX] & 0xffff) << 16) >> 16;
  const q = Math.trunc(dividend / d);
  const limit = 1 << (bits - 1);
  return q >= -limit && q < limit;
}

/** String instructions whose source is DS:SI (overridable, so possibly SS). */
const STRING_SOURCE = new Set([0xa4, 0xa5, 0xa6, 0xa7, 0xac, 0xad, 0x6e, 0x6f]);

/**
 * Whether the recorded #GP can come from an SS-relative access: the ModRM operand is in SS,
 * or a string source is overridden to SS, or the instruction uses the stack and neither its
 * fetch nor a non-SS ModRM operand is what crossed the limit.
 */
function ssRelativeOverrun(c: Candidate): boolean {
  const { shape, regs } = c;
  if ((regs[Reg.EIP] & 0xffff) + shape.length > 0x10000) return false; // the fetch itself crossed CS's limit
  if (shape.memory && shape.segment === SS) return true;
  if (STRING_SOURCE.has(shape.opcode) && shape.override === SS) return true;
  if (!usesStack(shape)) return false;
  if (shape.memory) {
    const end = effectiveOffset(c.test.bytes, shape, regs) + operandBytes(shape) - 1;
    if (end > 0xffff) return false; // the DS/ES/CS operand is what overran
  }
  return true;
}

/** Builds the candidate view of a test for `classify`; `regs` are its initial registers. */
export function candidate(test: MooTest, regs: Uint32Array): Candidate {
  const ram = test.initial.ram;
  return {
    test,
    shape: readShape(test.bytes),
    vector: test.exception ? test.exception.vector : -1,
    regs,
    byteAt: (address) => {
      const k = ram.addresses.indexOf(address);
      return k >= 0 ? ram.values[k] : undefined;
    },
  };
}

/** The first class in `list` that claims the test, with its resolution. */
export function classify(
  list: readonly Difference[],
  c: Candidate,
): { difference: Difference; resolution: Resolution } | undefined {
  for (const difference of list) {
    const resolution = difference.match(c);
    if (resolution) return { difference, resolution };
  }
  return undefined;
}
