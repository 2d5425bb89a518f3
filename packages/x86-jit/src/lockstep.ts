// Lockstep: the block compiler and a reference core (the interpreter) run the same program on
// two copies of one machine, a block at a time, and their states are compared after every
// block. The first difference is reported with the block's code disassembled from each
// machine's memory and every field that differs — the tool that makes a compiled block's
// bug a one-line diagnosis instead of a guest that crashes a million instructions later.
//
// Each step asks the compiling core how long its next block is, then runs both cores for
// exactly that many instructions (an interrupt taken at the boundary or a fault simply makes
// both run something else for the same count). Devices must be deterministic and side-effect
// free per machine: each core gets its own `Machine`.

import { Exit, disassembleAt, type CpuCore, type CpuState } from '@lguest/x86';
import type { JitCpu } from './core';

export interface Divergence {
  /** Instructions both had retired before the step that diverged. */
  readonly instructions: number;
  /** CS:EIP (linear) where the diverging step started. */
  readonly start: number;
  /** `field: compiled=… reference=…` for each difference. */
  readonly differences: readonly string[];
  /** The step's code, disassembled from the compiling core's memory and the reference's. */
  readonly code: { readonly compiled: readonly string[]; readonly reference: readonly string[] };
  /** All of the above as one message. */
  readonly message: string;
}

export interface LockstepResult {
  readonly exit: Exit;
  readonly retired: number;
  readonly steps: number;
  readonly divergence: Divergence | null;
}

export interface LockstepOptions {
  /** Compare all of memory every this many steps (1: after every block; 0: only at the end). */
  readonly memoryEvery?: number;
}

const EXIT_NAMES = ['Budget', 'Halt', 'HostEscape', 'TripleFault', 'Breakpoint', 'Stopped'];

export class Lockstep {
  private readonly memCompiled: Int32Array;
  private readonly memReference: Int32Array;

  /** `compiled` and `reference` must run on machines whose memories start out equal. */
  constructor(
    readonly compiled: JitCpu,
    readonly reference: CpuCore,
    compiledMemory: ArrayBuffer,
    referenceMemory: ArrayBuffer,
  ) {
    this.memCompiled = new Int32Array(compiledMemory);
    this.memReference = new Int32Array(referenceMemory);
  }

  /** Run both until `total` instructions retired, an exit other than Budget, or a divergence. */
  run(total: number, options: LockstepOptions = {}): LockstepResult {
    const every = options.memoryEvery ?? 1;
    let retired = 0;
    let steps = 0;
    let exit: Exit = Exit.Budget;
    while (retired < total) {
      const before = this.reference.getState();
      const start = (before.cs.base + before.eip) >>> 0;
      const size = Math.min(this.compiled.nextBlockSize(), total - retired);
      const exitC = this.compiled.run(size);
      const exitR = this.reference.run(size);
      steps++;
      const diffs: string[] = [];
      if (exitC !== exitR) diffs.push(`exit: compiled=${EXIT_NAMES[exitC]} reference=${EXIT_NAMES[exitR]}`);
      if (this.compiled.retired !== this.reference.retired) {
        diffs.push(`retired: compiled=${this.compiled.retired} reference=${this.reference.retired}`);
      }
      if (exitC === Exit.HostEscape && this.compiled.escapeCode !== this.reference.escapeCode) {
        diffs.push(`escapeCode: compiled=${this.compiled.escapeCode} reference=${this.reference.escapeCode}`);
      }
      diffs.push(...compareStates(this.compiled.getState(), this.reference.getState()));
      const checkMemory = every > 0 && steps % every === 0;
      if (diffs.length === 0 && checkMemory) diffs.push(...this.compareMemory());
      if (diffs.length > 0) {
        return { exit: exitC, retired, steps, divergence: this.describe(retired, start, size, diffs) };
      }
      retired += this.reference.retired;
      exit = exitR;
      if (exit !== Exit.Budget) break;
      if (this.reference.retired === 0) break;
    }
    const end = this.compareMemory();
    const divergence = end.length ? this.describe(retired, 0, 0, end) : null;
    return { exit, retired, steps, divergence };
  }

  private compareMemory(): string[] {
    const a = this.memCompiled;
    const b = this.memReference;
    const out: string[] = [];
    for (let i = 0; i < a.length && out.length < 8; i++) {
      if (a[i] !== b[i]) {
        out.push(`memory[${hex(i * 4)}]: compiled=${hex(a[i])} reference=${hex(b[i])}`);
      }
    }
    return out;
  }

  private describe(instructions: number, start: number, size: number, differences: string[]): Divergence {
    const listing = (mem: Int32Array): string[] => {
      const bytes = new Uint8Array(mem.buffer);
      const read = (lin: number): number => {
        const phys = physicalOf(this.compiled, lin);
        return phys < bytes.length ? bytes[phys] : -1;
      };
      const out: string[] = [];
      let at = start;
      for (let i = 0; i < Math.min(size, 32); i++) {
        const d = disassembleAt(read, at, this.compiled.cs32 === 1);
        out.push(`${hex(at)}: ${d.text}`);
        if (d.length === 0) break;
        at = (at + d.length) >>> 0;
      }
      return out;
    };
    const code = { compiled: listing(this.memCompiled), reference: listing(this.memReference) };
    const message = [
      `cores diverge after ${instructions} instructions, in the ${size}-instruction step at ${hex(start)}:`,
      ...differences.map((d) => `  ${d}`),
      '  code (compiled core memory):',
      ...code.compiled.map((l) => `    ${l}`),
      '  code (reference memory):',
      ...code.reference.map((l) => `    ${l}`),
    ].join('\n');
    return { instructions, start, differences, code, message };
  }
}

/** Every field of two states that differs, as `name: compiled=… reference=…`. */
export function compareStates(c: CpuState, r: CpuState): string[] {
  const out: string[] = [];
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      for (const key of Object.keys(a)) {
        walk(path ? `${path}.${key}` : key, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
      }
    } else if (a !== b) {
      const show = (v: unknown): string => (typeof v === 'number' ? hex(v) : String(v));
      out.push(`${path}: compiled=${show(a)} reference=${show(b)}`);
    }
  };
  walk('', c, r);
  return out;
}

/** The physical address of a linear one as the core's supervisor TLB maps it (identity if unmapped). */
function physicalOf(cpu: JitCpu, lin: number): number {
  const e = cpu.tlbSR[lin >>> 12];
  return e !== 0 ? ((e & ~0xfff) | (lin & 0xfff)) >>> 0 : lin >>> 0;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}
