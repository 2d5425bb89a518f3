// Random code at every privilege level. The guarantee under test: nothing guest code does
// makes a core throw a JavaScript exception. A round fills memory with seeded random
// bytes, builds just enough of a protected-mode world (GDT with ring 0–3 code and data, an
// IDT whose gates are valid, a TSS with stacks for the inner rings) for execution to get
// somewhere interesting, then runs until the core exits (halt, triple fault, …) or the
// round's budget runs out. Everything after the start is up to the random bytes —
// including overwriting the tables themselves.
//
// Every core but the reference runs in lockstep with the reference interpreter: both get the
// same world on two equal memories, run the same short budgets, and after each their exits,
// retired counts and whole states must be equal (and their memories at the end of each
// round). (A compiling core runs as a host runs it: code is compiled once it is hot, as the
// loops random code falls into soon are; compiling every random byte sequence at once would
// spend the budget in the compiler.)

import {
  Exit,
  disassembleAt,
  interpreter,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  type SegmentState,
} from '@lguest/x86';
import { CR0_PROTECTED, flatMachine, flatProtectedMode } from '../flat';
import { Xorshift32 } from '../xorshift';

/**
 * Where a round starts: protected mode at a CPL, real mode, virtual-8086 mode, or protected
 * mode with paging on (ring 0 or 3) over page tables with random present, U/S and R/W bits.
 */
export type FuzzMode = 0 | 1 | 2 | 3 | 'real' | 'v86' | 'paged0' | 'paged3';

export interface FuzzResult {
  mode: FuzzMode;
  rounds: number;
  instructions: number;
  exits: Record<string, number>;
  /** Steps compared against the reference (0: the core is the reference). */
  compared: number;
}

/** Instructions per lockstep step: short, so a divergence is found near where it happens. */
const LOCKSTEP_STEP = 97;

const MEM_SIZE = 2 << 20;
const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;
const CODE = 0x10000;
const PAGE_DIR = 0x5000;
const PAGE_TABLE = 0x6000;

/** GDT selector for ring `r` code (32-bit) and data: entries 1+2r and 2+2r. */
function codeSel(ring: number): number {
  return ((1 + 2 * ring) << 3) | ring;
}
function dataSel(ring: number): number {
  return ((2 + 2 * ring) << 3) | ring;
}

function descriptor(mem: DataView, at: number, base: number, limit: number, access: number, flags: number): void {
  mem.setUint32(at, ((base & 0xffff) << 16) | (limit & 0xffff), true);
  mem.setUint32(
    at + 4,
    (base & 0xff000000) | (flags << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff),
    true,
  );
}

/**
 * Fill memory with random bytes (all of it on the first round, then a few random pages
 * per round, which keeps short rounds cheap) and lay the protected-mode tables over it.
 */
function buildWorld(bytes: Uint8Array, view: DataView, rng: Xorshift32, first: boolean): void {
  const words = new Uint32Array(bytes.buffer, 0, MEM_SIZE >>> 2);
  if (first) for (let i = 0; i < words.length; i++) words[i] = rng.u32();
  else
    for (let n = 0; n < 16; n++) {
      const page = rng.below(MEM_SIZE >>> 12) << 10;
      for (let i = 0; i < 1024; i++) words[page + i] = rng.u32();
    }
  bytes.fill(0, GDT, TSS + 0x100);
  for (let ring = 0; ring < 4; ring++) {
    const dpl = ring << 5;
    descriptor(view, GDT + (1 + 2 * ring) * 8, 0, 0xfffff, 0x9a | dpl, 0xc);
    descriptor(view, GDT + (2 + 2 * ring) * 8, 0, 0xfffff, 0x92 | dpl, 0xc);
  }
  descriptor(view, GDT + 10 * 8, TSS, 0x67, 0x89, 0);
  // Gates: interrupt or trap gates into ring 0 code at random addresses, callable from ring 3.
  for (let v = 0; v < 256; v++) {
    const off = CODE + rng.below(MEM_SIZE - CODE - 16);
    const type = rng.below(2) ? 0xee : 0xef;
    view.setUint32(IDT + v * 8, (codeSel(0) << 16) | (off & 0xffff), true);
    view.setUint32(IDT + v * 8 + 4, (off & 0xffff0000) | (type << 8), true);
  }
  for (let ring = 0; ring < 3; ring++) {
    view.setUint32(TSS + 4 + ring * 8, 0x1f0000 - ring * 0x10000, true);
    view.setUint32(TSS + 8 + ring * 8, dataSel(ring), true);
  }
  view.setUint16(TSS + 0x66, 0x68, true);
}

/**
 * Page tables for the paged modes: the first 4 MiB mapped 1:1 with random flags (the pages
 * holding the tables and the stacks stay present and writable so rounds get somewhere),
 * everything above not present.
 */
function buildPageTables(view: DataView, rng: Xorshift32): void {
  for (let i = 0; i < 1024; i++) view.setUint32(PAGE_DIR + i * 4, 0, true);
  view.setUint32(PAGE_DIR, PAGE_TABLE | 7, true);
  for (let p = 0; p < 1024; p++) {
    const keep = p < 8 || (p >= 0x1c0 && p < 0x200);
    const flags = keep ? 7 : (rng.u32() & 7) | (rng.below(8) === 0 ? 0 : 1);
    view.setUint32(PAGE_TABLE + p * 4, (p << 12) | flags, true);
  }
}

function seg(selector: number, base: number, limit: number, access: number): SegmentState {
  return { selector, base, limit, access };
}

function startState(template: CpuState, mode: FuzzMode, rng: Xorshift32): CpuState {
  const r = (): number => rng.u32();
  const regs = { eax: r(), ecx: r(), edx: r(), ebx: r(), esi: r(), edi: r(), ebp: r() };
  const eip = CODE + rng.below(MEM_SIZE - CODE - 16);
  const state: CpuState = {
    ...template,
    ...regs,
    gdtr: { base: GDT, limit: 11 * 8 - 1 },
    idtr: { base: IDT, limit: 256 * 8 - 1 },
    tr: seg(10 << 3, TSS, 0x67, 0x8b),
    ldtr: seg(0, 0, 0, 0),
    cr0: 0x11,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    halted: false,
  };
  if (mode === 'real') {
    const cs = (eip >>> 4) & 0xf000;
    const flat = (s: number, a: number): SegmentState => seg(s, s << 4, 0xffff, a);
    return {
      ...state,
      cr0: 0x10,
      cpl: 0,
      eip: eip - (cs << 4),
      esp: rng.below(0x10000),
      eflags: 0x2 | (r() & 0xcd5),
      cs: flat(cs, 0x9b),
      ss: flat(0x2000, 0x93),
      ds: flat(r() & 0x1fff, 0x93),
      es: flat(r() & 0x1fff, 0x93),
      fs: flat(r() & 0x1fff, 0x93),
      gs: flat(r() & 0x1fff, 0x93),
      idtr: { base: 0, limit: 0x3ff },
    };
  }
  if (mode === 'v86') {
    const cs = (eip >>> 4) & 0xf000;
    const v = (s: number): SegmentState => seg(s, s << 4, 0xffff, 0xf3);
    return {
      ...state,
      cpl: 3,
      eip: eip - (cs << 4),
      esp: rng.below(0x10000),
      eflags: 0x20002 | (r() & 0x3cd5),
      cs: seg(cs, cs << 4, 0xffff, 0xfb),
      ss: v(0x2000),
      ds: v(r() & 0x1fff),
      es: v(r() & 0x1fff),
      fs: v(r() & 0x1fff),
      gs: v(r() & 0x1fff),
    };
  }
  const paged = mode === 'paged0' || mode === 'paged3';
  const ring = mode === 'paged0' ? 0 : mode === 'paged3' ? 3 : mode;
  return {
    ...flatProtectedMode(state, { code: codeSel(ring), data: dataSel(ring), ring }),
    cr0: paged ? 0x80010000 | CR0_PROTECTED : CR0_PROTECTED,
    cr3: paged ? PAGE_DIR : 0,
    eip,
    esp: paged ? 0x1c8000 + rng.below(0x20000) : 0x100000 + rng.below(0x80000),
    eflags: 0x2 | (r() & 0x3cd5),
  };
}

const EXIT_NAMES: Record<number, string> = {
  [Exit.Budget]: 'budget',
  [Exit.Halt]: 'halt',
  [Exit.HostEscape]: 'host-escape',
  [Exit.TripleFault]: 'triple-fault',
  [Exit.Breakpoint]: 'breakpoint',
  [Exit.Stopped]: 'stopped',
  [Exit.Watchpoint]: 'watchpoint',
};

/**
 * Run random code in `mode` until at least `instructions` have retired, in rounds of at
 * most `roundBudget`. Throws if the core does (the failure being hunted), or, for a core
 * that is not the reference interpreter, at the first step where it and the reference differ.
 */
export function fuzz(
  factory: CoreFactory,
  mode: FuzzMode,
  instructions: number,
  seed: number,
  roundBudget = 20_000,
): FuzzResult {
  const { core, memory, mem: bytes } = flatMachine(factory, MEM_SIZE);
  const view = new DataView(memory);
  const lockstep = factory.name !== interpreter.name;
  const ref = lockstep ? flatMachine(interpreter, MEM_SIZE) : null;
  const refBytes = ref ? ref.mem : new Uint8Array(0);
  const reference = ref ? ref.core : null;
  const rng = new Xorshift32(seed, 0x9e3779b9);
  const result: FuzzResult = { mode, rounds: 0, instructions: 0, exits: {}, compared: 0 };
  while (result.instructions < instructions) {
    buildWorld(bytes, view, rng, result.rounds === 0);
    if (mode === 'paged0' || mode === 'paged3') buildPageTables(view, rng);
    core.reset();
    const start = startState(core.getState(), mode, rng);
    core.setState(start);
    if (reference) {
      refBytes.set(bytes);
      reference.reset();
      reference.setState(start);
    }
    result.rounds++;
    const where = (): string => `mode ${String(mode)}, seed ${seed}, round ${result.rounds}`;
    let left = roundBudget;
    while (left > 0) {
      let exit: Exit;
      const before = reference ? reference.getState() : null;
      const step = Math.min(left, reference ? LOCKSTEP_STEP : 5000);
      try {
        exit = core.run(step);
      } catch (e) {
        throw new Error(
          `core '${factory.name}' threw on random code (${where()}, state ${JSON.stringify(core.getState())}): ${(e as Error).stack ?? String(e)}`,
          { cause: e },
        );
      }
      if (reference && before) {
        const refExit = reference.run(step);
        result.compared++;
        const diffs = compareRun(core, exit, reference, refExit);
        if (diffs.length > 0) throw new Error(divergence(factory.name, where(), before, bytes, refBytes, diffs));
      }
      result.instructions += core.retired;
      left -= Math.max(core.retired, 1);
      const name = EXIT_NAMES[exit] ?? String(exit);
      result.exits[name] = (result.exits[name] ?? 0) + 1;
      if (exit !== Exit.Budget) break;
    }
    if (reference) {
      const diffs = compareMemory(bytes, refBytes);
      if (diffs.length > 0) {
        throw new Error(
          `core '${factory.name}' and the interpreter end ${where()} with different memory:\n  ${diffs.join('\n  ')}`,
        );
      }
    }
  }
  return result;
}

/** Every way one step of `core` and `reference` differed: exit, count, any state field. */
function compareRun(core: CpuCore, exit: Exit, reference: CpuCore, refExit: Exit): string[] {
  const out: string[] = [];
  if (exit !== refExit) out.push(`exit: core=${EXIT_NAMES[exit] ?? exit} reference=${EXIT_NAMES[refExit] ?? refExit}`);
  if (core.retired !== reference.retired) out.push(`retired: core=${core.retired} reference=${reference.retired}`);
  const walk = (path: string, a: unknown, b: unknown): void => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      for (const key of Object.keys(a)) {
        walk(path ? `${path}.${key}` : key, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
      }
    } else if (a !== b) out.push(`${path}: core=${show(a)} reference=${show(b)}`);
  };
  walk('', core.getState(), reference.getState());
  return out;
}

function compareMemory(a: Uint8Array, b: Uint8Array): string[] {
  const wa = new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
  const wb = new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  const out: string[] = [];
  for (let i = 0; i < wa.length && out.length < 8; i++) {
    if (wa[i] !== wb[i]) out.push(`memory[${show(i * 4)}]: core=${show(wa[i])} reference=${show(wb[i])}`);
  }
  return out;
}

/** The report of a divergence: where the step started, what differs, its code from each memory. */
function divergence(
  name: string,
  where: string,
  before: CpuState,
  bytes: Uint8Array,
  refBytes: Uint8Array,
  diffs: string[],
): string {
  const start = (before.cs.base + before.eip) >>> 0;
  // The fuzz worlds map the first 4 MiB 1:1, so a linear code address is its physical one.
  const listing = (mem: Uint8Array): string[] => {
    const out: string[] = [];
    let at = start;
    for (let i = 0; i < 12; i++) {
      const d = disassembleAt((lin) => (lin < mem.length ? mem[lin] : -1), at, (before.cs.access & 0x4000) !== 0);
      out.push(`    ${show(at)}: ${d.text}`);
      if (d.length === 0) break;
      at = (at + d.length) >>> 0;
    }
    return out;
  };
  return [
    `core '${name}' and the interpreter diverge (${where}) in the ${LOCKSTEP_STEP}-instruction step at ${show(start)}:`,
    ...diffs.map((d) => `  ${d}`),
    '  code (core memory):',
    ...listing(bytes),
    '  code (reference memory):',
    ...listing(refBytes),
  ].join('\n');
}

function show(v: unknown): string {
  return typeof v === 'number' ? `0x${(v >>> 0).toString(16)}` : String(v);
}
