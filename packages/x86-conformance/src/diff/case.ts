// One differential test case and what a machine made of it. A case is plain data: the
// snippet bytes, where they go, the registers, flags and region it starts from, and which
// parts of the end state the architecture leaves undefined for it (never compared). Both
// the native runner and the core harness read cases; both produce an Outcome.

import type { InstructionForm } from './isa';

export type StackKind = 'flat' | 'ldt32' | 'ldt16' | 'down16';

export interface DiffCase {
  /** Position in the run; with the run's seed it regenerates the case exactly. */
  index: number;
  form: InstructionForm;
  /** The instruction under test, prefixes included. */
  insn: Uint8Array;
  /** What is executed: `insn`, then for control transfers the bytes it may jump over. */
  snippet: Uint8Array;
  /** Offset of the snippet in the code page (CODE_BASE). */
  codeOffset: number;
  /** Initial eax … edi. */
  regs: Uint32Array;
  eflags: number;
  /** ES is the LDT data segment (for 16-bit string destinations) rather than flat user data. */
  esLdt: boolean;
  /** The stack segment: flat user data, or an LDT segment over the data area: 32-bit
   *  (B = 1), 16-bit (B = 0), or expand-down 16-bit. */
  stack: StackKind;
  /** GS is the expand-down LDT segment (else the plain one, like FS). */
  gsDown: boolean;
  /** xorshift32 seed of the region's initial bytes (nonzero). */
  seed: number;
  /** Dwords written over the seeded region: [region offset, value]. */
  patches: Array<readonly [number, number]>;
  /** EFLAGS bits compared. */
  flagsMask: number;
  /** Bits compared per register. */
  regMask: Uint32Array;
  /** Region byte ranges [offset, length] whose final value is undefined. */
  memIgnore: Array<readonly [number, number]>;
  /** What the generator chose that a reader of a mismatch wants to know (prefixes, counts). */
  notes: string[];
}

/** The end state of a case on one machine. */
export interface Outcome {
  regs: Uint32Array;
  eflags: number;
  /** Exception vector raised by the snippet, or -1 when it ran to its end. */
  vector: number;
  /** Error code of the exception (0 when it has none). */
  error: number;
  /** EIP the exception reported (the faulting instruction, or after a trap). */
  eip: number;
  region: Uint8Array;
  /** The data area's first and last EDGE_SIZE bytes (see layout.ts). */
  edges: Uint8Array;
  /** Set when the machine itself failed (core threw, never halted); the rest is then moot. */
  problem?: string;
}
