// The block compiler: a run of guest instructions, decoded through the one instruction table,
// becomes the source of one JavaScript function, which `new Function` turns into code V8
// optimises like any other. The function takes the core, keeps the general registers in
// locals, and returns how many instructions it retired after leaving EIP, the registers and
// the flag record exactly as the interpreter would have left them.
//
// What a block may contain is the hot integer subset of 32-bit code (MOV, the ALU, LEA,
// PUSH/POP, near CALL/RET/JMP/Jcc, INC/DEC, TEST, shifts, MOVZX/MOVSX, IMUL, SETcc, CMOVcc,
// XCHG, CDQ, LEAVE, MUL/DIV through the interpreter's helpers). A block ends after a control
// transfer, at the end of its physical page, or just before the first instruction it cannot
// compile; the core executes that one in the interpreter.
//
// Faults restart exactly: every instruction finishes everything that can fault before it
// changes a register or a flag local, and the catch handler puts the locals back, points EIP
// at the faulting instruction and tells the core how many completed before it.

import { decode, isDecodeError, interp, type Decoded, type InstructionForm } from '@lguest/x86';
import {
  ALL_STATUS,
  K_ADD,
  K_CPU,
  K_DEC,
  K_INC,
  K_LOGIC,
  K_SUB,
  carryFromRecord,
  conditionFromRecord,
  flagsRead,
  flagSet,
  flagsWritten,
  kindCode,
  storeRecord,
  storeRecordDynamic,
} from './flags';

/** The most instructions one block holds. */
export const MAX_BLOCK_INSTRUCTIONS = 64;

/** What a compiled block's function is called with. */
/** A compiled block: runs with at most `left` instructions of budget; returns how many it retired. */
export type BlockCode = (cpu: interp.Cpu, left: number) => number;

/** A compiled block, or the note that its first instruction is not compiled (count 0). */
export interface Translation {
  /** Instructions in the block (0: interpret the first one). */
  readonly count: number;
  /** The guest code it covers: [eip + first, eip + bytes) (a trace may jump backwards). */
  readonly first: number;
  readonly bytes: number;
  readonly code: BlockCode | null;
  /** The generated source (for tests and for reading what the compiler made). */
  readonly source: string;
  /** EIP of each instruction, and one past the last. */
  readonly starts: Int32Array;
}

/** ALU kinds (the ModRM reg field of group 1) the compiler treats specially. */
const ALU_ADC = 2,
  ALU_SBB = 3,
  ALU_CMP = 7;

/** The JavaScript operator of each ALU kind that a record in locals can describe. */
const ALU_OP = ['+', '|', '', '', '&', '-', '^', '-'];
const ALU_KIND = [K_ADD, K_LOGIC, K_CPU, K_CPU, K_LOGIC, K_SUB, K_LOGIC, K_SUB];

/** Whether the compiler translates this decoded instruction (in 32-bit code). */
export function compilable(d: Decoded): boolean {
  if (d.lock || d.rep !== 0 || !d.a32) return false;
  const op = d.opcode;
  const mem = d.modrm >= 0 && d.mod !== 3;
  if (op < 0x40) {
    const low = op & 7;
    return low < 6; // ALU rows; 06/07/0E/0F/.. segment pushes, DAA and friends are not
  }
  if (op < 0x50) return true; // INC/DEC r
  if (op < 0x60) return d.o32; // PUSH/POP r
  switch (op) {
    case 0x68:
    case 0x6a:
      return d.o32;
    case 0x69:
    case 0x6b:
      return true;
    case 0x80:
    case 0x81:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
      return true;
    case 0x8d:
      return mem;
    case 0x98:
    case 0x99:
      return d.o32;
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3:
    case 0xa8:
    case 0xa9:
      return true;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd3:
    case 0xd2:
      return true;
    case 0xc2:
    case 0xc3:
    case 0xc9:
      return d.o32;
    case 0xc6:
    case 0xc7:
      return true;
    case 0xe8:
    case 0xe9:
      return d.o32;
    case 0xeb:
      return true;
    case 0xf6:
    case 0xf7:
      return true;
    case 0xfc:
    case 0xfd:
      return true;
    case 0xfe:
      return d.reg < 2;
    case 0xff:
      if (d.reg < 2) return true;
      if (d.reg === 2 || d.reg === 4 || d.reg === 6) return d.o32;
      return false;
  }
  if (op >= 0x70 && op < 0x80) return true;
  if (op >= 0x90 && op < 0x98) return op === 0x90 ? d.rep === 0 : true;
  if (op >= 0xb0 && op < 0xc0) return true;
  if (op >= 0x0f40 && op < 0x0f50) return true;
  if (op >= 0x0f80 && op < 0x0f90) return d.o32;
  if (op >= 0x0f90 && op < 0x0fa0) return true;
  switch (op) {
    case 0x0fa4:
    case 0x0fa5:
    case 0x0fac:
    case 0x0fad:
    case 0x0faf:
    case 0x0fb6:
    case 0x0fb7:
    case 0x0fbe:
    case 0x0fbf:
    case 0x0fbc:
    case 0x0fbd:
      return true;
  }
  return false;
}

/** Whether a compiled instruction can fault (it then reads every flag, for the frame). */
function canFault(d: Decoded): boolean {
  if (d.ea !== null && d.opcode !== 0x8d) return true;
  const op = d.opcode;
  if (op >= 0x50 && op < 0x60) return true;
  if (op >= 0x70 && op < 0x80) return true;
  if (op >= 0x0f80 && op < 0x0f90) return true;
  switch (op) {
    case 0x68:
    case 0x6a:
    case 0xc2:
    case 0xc3:
    case 0xc9:
    case 0xe8:
    case 0xe9:
    case 0xeb:
    case 0xff:
      return true;
    case 0xf6:
    case 0xf7:
      return d.reg >= 6;
  }
  return false;
}

/** Whether an instruction writes memory (after it, a block checks for self-modification). */
function writesMemory(d: Decoded): boolean {
  const op = d.opcode;
  if ((op >= 0x50 && op < 0x58) || op === 0x68 || op === 0x6a || op === 0xe8) return true;
  if (op === 0xff && (d.reg === 2 || d.reg === 6)) return true;
  if (d.ea === null || op === 0x8d) return false;
  if (op < 0x40) return (op & 7) < 2 && op >> 3 !== 7;
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x83:
      return d.reg !== 7;
    case 0x84:
    case 0x85:
    case 0x8a:
    case 0x8b:
    case 0xa0:
    case 0xa1:
      return false;
    case 0xf6:
    case 0xf7:
      return d.reg === 2 || d.reg === 3;
    case 0xff:
      return d.reg < 2;
  }
  if (op >= 0x0f40 && op < 0x0f50) return false;
  if (op === 0x0faf || op === 0x0fb6 || op === 0x0fb7 || op === 0x0fbe || op === 0x0fbf) return false;
  if (op === 0x0fbc || op === 0x0fbd) return false;
  return true;
}

/** Whether an instruction ends its block (after it). */
function endsBlock(form: InstructionForm): boolean {
  return form.ends !== undefined;
}

/** A decoded trace: instructions in execution order and where each one is. */
export interface Trace {
  readonly insns: Decoded[];
  /** EIP of each instruction. */
  readonly eips: number[];
  /** Per instruction: 1 when the next one in the trace is its jump target (a followed JMP). */
  readonly followed: Uint8Array;
  /**
   * Per instruction: 1 when the next one in the trace is not where it goes on to (its
   * segment of the trace ends there: it leaves the block, or jumps to an instruction of the
   * trace). A trace is its first segment, then the code at the taken side of its conditional
   * branches within the page, each a segment of its own.
   */
  readonly segEnd: Uint8Array;
}

function isJcc(op: number): boolean {
  return (op >= 0x70 && op < 0x80) || (op >= 0x0f80 && op < 0x0f90);
}

function jumpTarget(d: Decoded, next: number): number {
  return d.o32 ? (next + d.imm) | 0 : (next + d.imm) & 0xffff;
}

/**
 * Decode the trace at physical `phys` (EIP `eip`, CS base `csBase`): straight-line code, on
 * through conditional branches and direct jumps that stay in the page, until an instruction
 * the compiler leaves out, another transfer, the page end, or an instruction already in the
 * trace (a loop, which the block then runs in place). Then the same from the taken side of
 * each conditional branch whose target is in the page and not yet in the trace, so both
 * sides of a branch inside a loop stay in the block.
 */
export function scanBlock(mem: Uint8Array, phys: number, eip: number, csLimit: number, csBase = 0): Trace {
  const insns: Decoded[] = [];
  const eips: number[] = [];
  const followed = new Uint8Array(MAX_BLOCK_INSTRUCTIONS);
  const segEnd = new Uint8Array(MAX_BLOCK_INSTRUCTIONS);
  const pageBase = phys & ~0xfff;
  const linPage = ((csBase + eip) | 0) >>> 12;
  const seen = new Set<number>();
  /** Taken sides of the conditional branches, in the page, to scan after this segment. */
  const pending: number[] = [];
  const inPage = (t: number): boolean => ((csBase + t) | 0) >>> 12 === linPage;
  const physOf = (t: number): number => pageBase + ((csBase + t) & 0xfff);
  let e = eip | 0;
  let p = phys;
  for (;;) {
    const before = insns.length;
    while (insns.length < MAX_BLOCK_INSTRUCTIONS) {
      if (p >= mem.length || seen.has(e)) break;
      const d = decode(mem, p, true);
      if (isDecodeError(d)) break;
      if (p + d.length > pageBase + 0x1000) break;
      if ((e >>> 0) + d.length - 1 > csLimit) break;
      if (!compilable(d)) break;
      seen.add(e);
      insns.push(d);
      eips.push(e);
      const next = (e + d.length) | 0;
      const op = d.opcode;
      if (op === 0xe9 || op === 0xeb) {
        const t = jumpTarget(d, next);
        if (!inPage(t) || seen.has(t)) break;
        followed[insns.length - 1] = 1;
        e = t;
        p = physOf(t);
        continue;
      }
      if (isJcc(op)) {
        const t = jumpTarget(d, next);
        if (inPage(t) && !seen.has(t)) pending.push(t);
      } else if (endsBlock(d.form)) break;
      e = next;
      p += d.length;
    }
    if (insns.length > before) segEnd[insns.length - 1] = 1;
    // The first segment must hold something; a later one may be empty (its branch leaves).
    if (insns.length === 0 || insns.length >= MAX_BLOCK_INSTRUCTIONS) break;
    let t: number | undefined;
    while ((t = pending.shift()) !== undefined && seen.has(t));
    if (t === undefined) break;
    e = t;
    p = physOf(t);
  }
  return { insns, eips, followed, segEnd };
}

const SEG_SS = 2;

/** The source builder of one block. */
class Emitter {
  readonly lines: string[] = [];
  readonly used = new Set<number>();
  readonly dirty = new Set<number>();
  kind = K_CPU;
  sb = 31;
  usesK = false;
  /** EIP of the block's first instruction (the loop head when the block loops). */
  start = 0;
  /** Instructions in the block: the most one pass through it retires. */
  length = 0;
  /** Some path jumps to an instruction of the block: the body runs in a loop over a switch. */
  loops = false;
  /** Index in the block of each instruction that is a jump target inside it, by EIP. */
  labels = new Map<number, number>();
  /** EIP of each instruction (STARTS). */
  starts: Int32Array = new Int32Array(0);
  /** Per instruction: 1 when a status flag is live before it (read before it is rewritten). */
  liveIn: Uint8Array = new Uint8Array(0);

  /** The index of the instruction at `eip` if a jump there stays in the block, else -1. */
  labelOf(eip: number): number {
    return this.labels.get(eip | 0) ?? -1;
  }

  /** A new segment starts: it is entered only by jumps, which leave the flags in the core. */
  forget(): void {
    this.kind = K_CPU;
    this.sb = 31;
  }

  emit(s: string): void {
    this.lines.push(s);
  }

  // ---- registers: r0..r7 hold EAX..EDI for the whole block
  reg(size: number, n: number): string {
    if (size === 8) {
      if (n < 4) {
        this.used.add(n);
        return `(r${n} & 0xff)`;
      }
      this.used.add(n - 4);
      return `((r${n - 4} >> 8) & 0xff)`;
    }
    this.used.add(n);
    return size === 16 ? `(r${n} & 0xffff)` : `r${n}`;
  }

  setReg(size: number, n: number, v: string): void {
    if (size === 8) {
      const r = n < 4 ? n : n - 4;
      this.used.add(r);
      this.dirty.add(r);
      if (n < 4) this.emit(`r${r} = (r${r} & -256) | ((${v}) & 0xff);`);
      else this.emit(`r${r} = (r${r} & -65281) | (((${v}) & 0xff) << 8);`);
      return;
    }
    this.used.add(n);
    this.dirty.add(n);
    if (size === 16) this.emit(`r${n} = (r${n} & -65536) | ((${v}) & 0xffff);`);
    else this.emit(`r${n} = ${v};`);
  }

  // ---- memory operands
  address(d: Decoded): string {
    const ea = d.ea;
    if (ea === null) throw new Error('no memory operand');
    const parts: string[] = [];
    if (ea.base >= 0) {
      this.used.add(ea.base);
      parts.push(`r${ea.base}`);
    }
    if (ea.index >= 0) {
      this.used.add(ea.index);
      const sh = ea.scale === 8 ? 3 : ea.scale === 4 ? 2 : ea.scale === 2 ? 1 : 0;
      parts.push(sh ? `(r${ea.index} << ${sh})` : `r${ea.index}`);
    }
    if (ea.disp !== 0 || parts.length === 0) parts.push(String(ea.disp | 0));
    return parts.length === 1 && ea.base < 0 && ea.index < 0 ? String(ea.disp | 0) : `((${parts.join(' + ')}) | 0)`;
  }

  read(size: number, seg: number, addr: string): string {
    return `cpu.rd${size}(${seg}, ${addr})`;
  }

  /** The r/m operand read (a register, or memory through the instruction's segment). */
  readE(d: Decoded, size: number): string {
    if (d.mod === 3) return this.reg(size, d.rm);
    return this.read(size, d.ea!.segment, this.address(d));
  }

  // ---- flags
  /** Put a record held in locals into `cpu.fl` (before code that reads `cpu.fl`). */
  materialize(): void {
    if (this.kind === K_CPU) return;
    this.emit(storeRecord(this.kind, this.sb));
    this.setKind(K_CPU, 31);
  }

  setKind(kind: number, sb: number): void {
    if (kind === this.kind && (kind === K_CPU || sb === this.sb)) return;
    this.kind = kind;
    this.sb = sb;
    this.usesK = true;
    this.emit(`fk = ${kindCode(kind, sb)};`);
  }

  /** Record an operation's flags in the locals (a, b, r are expressions already evaluated). */
  record(kind: number, sb: number, a: string, b: string, r: string): void {
    this.emit(`fa = ${a}; fb = ${b}; fr = ${r};`);
    this.setKind(kind, sb);
  }

  condition(cc: number): string {
    const e = conditionFromRecord(this.kind, this.sb, cc);
    if (e !== null) return e;
    this.materialize();
    return `fl.test(${cc})`;
  }

  /** Statements that leave the block: registers and flags back into the core, EIP, count
   *  (the count of this pass plus `base`, what earlier passes of a loop retired). */
  exit(eip: string, count: number): string {
    return `${WRITE_BACK} ${storeRecord(this.kind, this.sb)} cpu.eip = ${eip}; return base + ${count};`;
  }

  /**
   * Statements that jump to instruction `j` of the block after `count` instructions of this
   * pass: the flags go to the core (every label starts with them there), the pass count is
   * rebased so that instruction `j` is again at its own index, and when another full pass
   * might not fit the budget, the block leaves at `j` instead.
   */
  jumpCode(count: number, j: number): string {
    this.loops = true;
    // Flags nothing at the target reads (before rewriting them, and nothing there can fault
    // first) go to the core only if the block leaves here.
    const store = storeRecord(this.kind, this.sb);
    const live = this.liveIn[j] === 1;
    return (
      `${live ? store : ''} fk = -1; base += ${count - j}; ` +
      `if (base + ${this.length} > left) { ${WRITE_BACK} ${live ? '' : store} cpu.eip = ${this.starts[j]}; return base + ${j}; } pc = ${j}; continue;`
    );
  }
}

function sizeBit(size: number): number {
  return size === 8 ? 7 : size === 16 ? 15 : 31;
}

/** An EIP as the core stores it: a signed 32-bit integer (V8 keeps such fields unboxed). */
function int(v: number): string {
  return String(v | 0);
}

/** Operand size of a v-sized form. */
function vsize(d: Decoded): number {
  return d.o32 ? 32 : 16;
}

/**
 * Translate a trace (from scanBlock; starting at EIP `eip`) into a block. Returns a
 * translation with count 0 when the trace is empty.
 */
export function translate(trace: Trace, eip: number): Translation {
  const { insns, eips, followed, segEnd } = trace;
  const n = insns.length;
  const starts = new Int32Array(n + 1);
  let maxEnd = 0;
  let minStart = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = eips[i];
    maxEnd = Math.max(maxEnd, ((eips[i] - eip) | 0) + insns[i].length);
    minStart = Math.min(minStart, (eips[i] - eip) | 0);
  }
  if (n === 0) return { count: 0, first: 0, bytes: 0, code: null, source: '', starts };
  const last = insns[n - 1];
  starts[n] = (eips[n - 1] + last.length) | 0;

  // Liveness of the status flags, backwards from the end (where all are live).
  const needed = new Uint8Array(n);
  const liveIn = new Uint8Array(n);
  let live = ALL_STATUS;
  for (let i = n - 1; i >= 0; i--) {
    const d = insns[i];
    // Where a segment ends, the code that follows is elsewhere: everything is live.
    if (segEnd[i] === 1) live = ALL_STATUS;
    needed[i] = (writtenBy(d) & live) !== 0 ? 1 : 0;
    live = (live & ~killedBy(d)) | readBy(d) | (canFault(d) || isJcc(d.opcode) ? ALL_STATUS : 0);
    liveIn[i] = live !== 0 ? 1 : 0;
  }

  const em = new Emitter();
  em.start = eip | 0;
  em.length = n;
  em.starts = starts;
  em.liveIn = liveIn;
  const index = new Map<number, number>();
  for (let i = 0; i < n; i++) index.set(eips[i] | 0, i);
  // The jump targets inside the block: where branches, jumps and segment ends go, if there.
  const targets = new Set<number>();
  for (let i = 0; i < n; i++) {
    const d = insns[i];
    const next = (eips[i] + d.length) | 0;
    const op = d.opcode;
    let to: number | undefined;
    if (isJcc(op)) to = index.get(jumpTarget(d, next));
    if ((op === 0xe9 || op === 0xeb) && segEnd[i] === 1) to = index.get(jumpTarget(d, next));
    if (to !== undefined) targets.add(to);
    if (segEnd[i] === 1 && !endsBlock(d.form)) {
      const fall = index.get(next);
      if (fall !== undefined) targets.add(fall);
    }
  }
  for (const j of targets) em.labels.set(eips[j] | 0, j);
  for (let i = 0; i < n; i++) {
    const d = insns[i];
    const next = (eips[i] + d.length) | 0;
    if (i > 0 && segEnd[i - 1] === 1) em.forget();
    else if (i > 0 && targets.has(i)) {
      // Jumps here leave the flags in the core; so does the code that falls in, if they matter.
      if (liveIn[i] === 1) em.materialize();
      else {
        em.forget();
        em.emit('fk = -1;');
      }
    }
    if (targets.has(i) && i > 0) em.emit(`case ${i}:`);
    if (canFault(d)) em.emit(`k = ${i};`);
    // A followed JMP is just the way to the next instruction; one that ends its segment
    // leaves the block or jumps inside it.
    if (followed[i] === 1 && segEnd[i] === 0) continue;
    const ended = emitInstruction(em, d, next, i, needed[i] === 1);
    if (ended) continue;
    // After a write into compiled code the block leaves at once: a jump back inside it
    // would run instructions compiled from the old bytes.
    const j = segEnd[i] === 1 ? em.labelOf(next) : -1;
    if (writesMemory(d) && (segEnd[i] === 0 || j >= 0)) em.emit(`if (cpu.smc !== 0) { ${em.exit(int(next), i + 1)} }`);
    if (segEnd[i] === 1) em.emit(j >= 0 ? em.jumpCode(i + 1, j) : em.exit(int(next), i + 1));
  }

  const used = [...em.used].sort();
  const writeBack = [...em.dirty]
    .sort()
    .map((r) => `regs[${r}] = r${r};`)
    .join(' ');
  const lines = em.lines.map((l) => '  ' + l.split(WRITE_BACK).join(writeBack));
  const head = [
    'const regs = cpu.regs, fl = cpu.fl;',
    used.length ? `let ${used.map((r) => `r${r} = regs[${r}]`).join(', ')};` : '',
    `let fa = 0, fb = 0, fr = 0, fk = -1, k = 0, base = 0${em.loops ? ', pc = 0' : ''};`,
    'try {',
    em.loops ? 'for (;;) switch (pc) {\ncase 0:' : '',
  ];
  const tail = [
    em.loops ? '}' : '',
    '} catch (e) {',
    used.map((r) => `regs[${r}] = r${r};`).join(' '),
    'storeRecord(fl, fk, fa, fb, fr);',
    'cpu.instrStart = cpu.eip = STARTS[k];',
    'cpu.blockDone = base + k;',
    'throw e;',
    '}',
  ];
  const body = [...head, ...lines, ...tail].join('\n');
  const source = `// block at 0x${(eip >>> 0).toString(16)}, ${n} instructions${em.loops ? ', a loop' : ''}\n${body}`;
  // The EIPs of the instructions are part of what the function is (its catch handler reads them).
  const key = `${starts.join(',')}\n${source}`;
  let code = compiledCode.get(key);
  if (code === undefined) {
    const factory = new Function(
      'PARITY',
      'STARTS',
      'storeRecord',
      'A',
      `return function block(cpu, left) {\n${source}\n};`,
    ) as (parity: Uint8Array, starts: Int32Array, store: typeof storeRecordDynamic, a: typeof helpers) => BlockCode;
    code = factory(interp.PARITY, starts, storeRecordDynamic, helpers);
    if (compiledCode.size >= CODE_CACHE_LIMIT) compiledCode.clear();
    compiledCode.set(key, code);
  }
  return { count: n, first: minStart, bytes: maxEnd, code, source, starts };
}

/**
 * Functions by source. A block's function depends on nothing but its source (the EIPs are in
 * it, the core is an argument), so every core in the process shares one: V8 then optimises
 * the same guest loop once, not once per core (the benchmark makes a core per run).
 */
const compiledCode = new Map<string, BlockCode>();
const CODE_CACHE_LIMIT = 1 << 15;

/** Placeholder for the register write-back, filled in once the whole block is known. */
const WRITE_BACK = '/*WB*/';

/** The interpreter's helpers a block calls for the rarer operations. */
const helpers = {
  alu: interp.alu,
  inc: interp.inc,
  dec: interp.dec,
  shift: interp.shift,
  shiftDouble: interp.shiftDouble,
  mul: interp.mul,
  imul1: interp.imul1,
  imul2: interp.imul2,
  div: interp.div,
  idiv: interp.idiv,
  bitScan: interp.bitScan,
};

function readBy(d: Decoded): number {
  const op = d.opcode;
  // A shift or rotate by CL may shift by zero and change nothing: it reads every flag.
  if (op === 0xd2 || op === 0xd3 || op === 0x0fa5 || op === 0x0fad) return ALL_STATUS;
  // BSF/BSR leave the destination alone on zero; their flags go through the helper.
  return flagsRead(d.form);
}

function writtenBy(d: Decoded): number {
  const op = d.opcode;
  if ((op === 0xc0 || op === 0xc1 || op === 0x0fa4 || op === 0x0fac) && (d.imm & 31) === 0) return 0;
  return flagsWritten(d.form);
}

/**
 * The flags an instruction surely replaces. The table's "undefined" flags are replaced too
 * wherever the interpreter rewrites them (its record and shift helpers set all six), but
 * DIV/IDIV leave them and BSF/BSR replace only ZF: a later reader of those still sees the
 * flags from before, so they stay live across.
 */
function killedBy(d: Decoded): number {
  const op = d.opcode;
  if (op === 0x0fbc || op === 0x0fbd) return flagSet('z');
  if ((op === 0xf6 || op === 0xf7) && d.reg >= 6) return 0;
  return writtenBy(d);
}

/**
 * Emit one instruction. `next` is the EIP after it, `i` its index in the block. Returns true
 * when the instruction ended the block (it emitted the exit itself).
 */
function emitInstruction(em: Emitter, d: Decoded, next: number, i: number, flagsNeeded: boolean): boolean {
  const op = d.opcode;
  const count = i + 1;

  // ---- the classic ALU rows 00–3D
  if (op < 0x40) {
    const kind = op >> 3;
    const shape = op & 7;
    const size = shape & 1 ? vsize(d) : 8;
    if (shape === 4 || shape === 5) {
      aluReg(em, kind, size, 0, String(immOf(d, size)), flagsNeeded);
    } else if (shape === 0 || shape === 1) {
      aluE(em, d, kind, size, em.reg(size, d.reg), flagsNeeded);
    } else {
      aluReg(em, kind, size, d.reg, em.readE(d, size), flagsNeeded);
    }
    return false;
  }
  if (op < 0x48) {
    incDec(em, K_INC, vsize(d), op & 7, null, flagsNeeded);
    return false;
  }
  if (op < 0x50) {
    incDec(em, K_DEC, vsize(d), op & 7, null, flagsNeeded);
    return false;
  }
  if (op < 0x58) {
    push(em, em.reg(32, op & 7));
    return false;
  }
  if (op < 0x60) {
    em.emit(`{ const v = cpu.rd32(${SEG_SS}, r4); r4 = (r4 + 4) | 0;`);
    em.used.add(4);
    em.dirty.add(4);
    em.setReg(32, op & 7, 'v');
    em.emit('}');
    return false;
  }
  if (op >= 0x70 && op < 0x80) return jcc(em, d, op & 15, next, count);
  if (op >= 0x0f80 && op < 0x0f90) return jcc(em, d, op & 15, next, count);
  if (op >= 0x90 && op < 0x98) {
    if (op !== 0x90) {
      const size = vsize(d);
      em.emit(`{ const t = ${em.reg(size, 0)};`);
      em.setReg(size, 0, em.reg(size, op & 7));
      em.setReg(size, op & 7, 't');
      em.emit('}');
    }
    return false;
  }
  if (op >= 0xb0 && op < 0xb8) {
    em.setReg(8, op & 7, String(d.imm & 0xff));
    return false;
  }
  if (op >= 0xb8 && op < 0xc0) {
    const size = vsize(d);
    em.setReg(size, op & 7, String(size === 32 ? d.imm | 0 : d.imm & 0xffff));
    return false;
  }
  if (op >= 0x0f40 && op < 0x0f50) {
    const size = vsize(d);
    em.emit(`{ const v = ${em.readE(d, size)};`);
    const c = em.condition(op & 15);
    em.emit(`if (${c}) {`);
    em.setReg(size, d.reg, 'v');
    em.emit('} }');
    return false;
  }
  if (op >= 0x0f90 && op < 0x0fa0) {
    const c = em.condition(op & 15);
    writeE(em, d, 8, `(${c} ? 1 : 0)`);
    return false;
  }

  switch (op) {
    case 0x68:
    case 0x6a:
      push(em, String(d.imm | 0));
      return false;
    case 0x69:
    case 0x6b:
    case 0x0faf: {
      const size = vsize(d);
      const b = op === 0x0faf ? em.readE(d, size) : String(immOf(d, size));
      const a = op === 0x0faf ? em.reg(size, d.reg) : em.readE(d, size);
      em.emit(`{ const a = ${a}, b = ${b};`);
      if (!flagsNeeded && size === 32) em.setReg(32, d.reg, 'Math.imul(a, b)');
      else {
        em.materialize();
        em.setReg(size, d.reg, `A.imul2(cpu, a, b, ${sizeBit(size)})`);
      }
      em.emit('}');
      return false;
    }
    case 0x80:
    case 0x81:
    case 0x83: {
      const size = op === 0x80 ? 8 : vsize(d);
      aluE(em, d, d.reg, size, String(immOf(d, size)), flagsNeeded);
      return false;
    }
    case 0x84:
    case 0x85:
    case 0xa8:
    case 0xa9: {
      const size = op & 1 ? vsize(d) : 8;
      const a = op >= 0xa8 ? em.reg(size, 0) : em.readE(d, size);
      const b = op >= 0xa8 ? String(immOf(d, size)) : em.reg(size, d.reg);
      if (flagsNeeded) {
        em.emit(`{ const a = ${a}, b = ${b};`);
        em.record(K_LOGIC, sizeBit(size), 'a', 'b', 'a & b');
        em.emit('}');
      } else if (d.ea !== null) em.emit(`${a};`);
      return false;
    }
    case 0x86:
    case 0x87: {
      const size = op === 0x86 ? 8 : vsize(d);
      if (d.mod === 3) {
        em.emit(`{ const t = ${em.reg(size, d.rm)};`);
        em.setReg(size, d.rm, em.reg(size, d.reg));
        em.setReg(size, d.reg, 't');
        em.emit('}');
      } else {
        em.emit(
          `{ const t = cpu.rmwRead${size}(${d.ea!.segment}, ${em.address(d)}); cpu.rmwWrite${size}(${em.reg(size, d.reg)});`,
        );
        em.setReg(size, d.reg, 't');
        em.emit('}');
      }
      return false;
    }
    case 0x88:
    case 0x89:
      writeE(em, d, op === 0x88 ? 8 : vsize(d), em.reg(op === 0x88 ? 8 : vsize(d), d.reg));
      return false;
    case 0x8a:
    case 0x8b: {
      const size = op === 0x8a ? 8 : vsize(d);
      em.emit(`{ const v = ${em.readE(d, size)};`);
      em.setReg(size, d.reg, 'v');
      em.emit('}');
      return false;
    }
    case 0x8d:
      em.setReg(vsize(d), d.reg, em.address(d));
      return false;
    case 0x98:
      em.setReg(32, 0, '(r0 << 16) >> 16');
      return false;
    case 0x99:
      em.used.add(0);
      em.setReg(32, 2, 'r0 >> 31');
      return false;
    case 0xa0:
    case 0xa1: {
      const size = op === 0xa0 ? 8 : vsize(d);
      em.emit(`{ const v = ${em.read(size, d.ea!.segment, String(d.ea!.disp | 0))};`);
      em.setReg(size, 0, 'v');
      em.emit('}');
      return false;
    }
    case 0xa2:
    case 0xa3: {
      const size = op === 0xa2 ? 8 : vsize(d);
      em.emit(`cpu.wr${size}(${d.ea!.segment}, ${d.ea!.disp | 0}, ${em.reg(size, 0)});`);
      return false;
    }
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size = op & 1 ? vsize(d) : 8;
      const count = op <= 0xc1 ? String(d.imm & 0xff) : op <= 0xd1 ? '1' : em.reg(8, 1);
      shiftOp(em, d, size, count, op <= 0xd1 ? (op <= 0xc1 ? d.imm & 31 : 1) : -1, flagsNeeded);
      return false;
    }
    case 0x0fa4:
    case 0x0fa5:
    case 0x0fac:
    case 0x0fad: {
      const size = vsize(d);
      const count = op & 1 ? em.reg(8, 1) : String(d.imm & 0xff);
      if ((op === 0x0fa4 || op === 0x0fac) && (d.imm & 31) === 0) {
        if (d.ea !== null) em.emit(`cpu.rmwRead${size}(${d.ea.segment}, ${em.address(d)});`);
        return false;
      }
      em.materialize();
      rmw(
        em,
        d,
        size,
        (v) => `A.shiftDouble(cpu, ${op < 0x0fa8}, ${v}, ${em.reg(size, d.reg)}, ${count}, ${sizeBit(size)})`,
      );
      return false;
    }
    case 0xc2:
    case 0xc3: {
      const imm = op === 0xc2 ? d.imm & 0xffff : 0;
      em.used.add(4);
      em.dirty.add(4);
      em.emit(`{ const v = cpu.rd32(${SEG_SS}, r4); if ((v >>> 0) > cpu.segLimit[1]) cpu.faultCode(13, 0);`);
      em.emit(`r4 = (r4 + ${4 + imm}) | 0; ${em.exit('v', count)} }`);
      return true;
    }
    case 0xc6:
    case 0xc7: {
      const size = op === 0xc6 ? 8 : vsize(d);
      writeE(em, d, size, String(immOf(d, size)));
      return false;
    }
    case 0xc9:
      em.used.add(4);
      em.used.add(5);
      em.dirty.add(4);
      em.dirty.add(5);
      em.emit(`{ const v = cpu.rd32(${SEG_SS}, r5); r4 = (r5 + 4) | 0; r5 = v; }`);
      return false;
    case 0xe8: {
      const target = (next + d.imm) | 0;
      em.emit(`if (${target >>> 0} > cpu.segLimit[1]) cpu.faultCode(13, 0);`);
      push(em, String(next | 0));
      em.emit(em.exit(int(target), count));
      return true;
    }
    case 0xe9:
    case 0xeb: {
      const target = jumpTarget(d, next);
      const j = em.labelOf(target);
      if (j >= 0) {
        em.emit(em.jumpCode(count, j));
        return true;
      }
      em.emit(`if (${target >>> 0} > cpu.segLimit[1]) cpu.faultCode(13, 0);`);
      em.emit(em.exit(int(target), count));
      return true;
    }
    case 0xf6:
    case 0xf7:
      return groupF6(em, d, op === 0xf6 ? 8 : vsize(d), flagsNeeded);
    case 0xfc:
      em.emit('fl.flags &= ~0x400;');
      return false;
    case 0xfd:
      em.emit('fl.flags |= 0x400;');
      return false;
    case 0xfe:
    case 0xff: {
      const size = op === 0xfe ? 8 : vsize(d);
      if (d.reg < 2) {
        incDec(em, d.reg === 0 ? K_INC : K_DEC, size, d.mod === 3 ? d.rm : -1, d.mod === 3 ? null : d, flagsNeeded);
        return false;
      }
      if (d.reg === 6) {
        em.emit(`{ const v = ${em.readE(d, 32)};`);
        push(em, 'v');
        em.emit('}');
        return false;
      }
      // Near CALL or JMP through a register or memory.
      em.emit(`{ const t = ${em.readE(d, 32)}; if ((t >>> 0) > cpu.segLimit[1]) cpu.faultCode(13, 0);`);
      if (d.reg === 2) push(em, String(next | 0));
      em.emit(`${em.exit('t', count)} }`);
      return true;
    }
    case 0x0fb6:
    case 0x0fb7:
    case 0x0fbe:
    case 0x0fbf: {
      const from = op & 1 ? 16 : 8;
      const v = em.readE(d, from);
      const sh = 32 - from;
      em.emit(`{ const v = ${op >= 0x0fbe ? `(${v} << ${sh}) >> ${sh}` : v};`);
      em.setReg(vsize(d), d.reg, 'v');
      em.emit('}');
      return false;
    }
    case 0x0fbc:
    case 0x0fbd: {
      const size = vsize(d);
      em.emit(`{ const v = ${em.readE(d, size)};`);
      em.materialize();
      em.emit(`const bit = A.bitScan(cpu, v, ${op === 0x0fbd}, ${sizeBit(size)}); if (bit >= 0) {`);
      em.setReg(size, d.reg, 'bit');
      em.emit('} }');
      return false;
    }
  }
  throw new Error(`block compiler: no translation for opcode ${op.toString(16)} (compilable() said yes)`);
}

function immOf(d: Decoded, size: number): number {
  if (size === 8) return d.imm & 0xff;
  if (size === 16) return d.imm & 0xffff;
  return d.imm | 0;
}

function push(em: Emitter, v: string): void {
  em.used.add(4);
  em.dirty.add(4);
  em.emit(`{ const pv = ${v}, pn = (r4 - 4) | 0; cpu.wr32(${SEG_SS}, pn, pv); r4 = pn; }`);
}

function writeE(em: Emitter, d: Decoded, size: number, v: string): void {
  if (d.mod === 3) em.setReg(size, d.rm, v);
  else em.emit(`cpu.wr${size}(${d.ea!.segment}, ${em.address(d)}, ${v});`);
}

/** A read-modify-write of the r/m operand: `f` maps the old value's expression to the new. */
function rmw(em: Emitter, d: Decoded, size: number, f: (v: string) => string): void {
  if (d.mod === 3) {
    em.emit(`{ const v = ${em.reg(size, d.rm)};`);
    em.setReg(size, d.rm, f('v'));
    em.emit('}');
  } else {
    em.emit(`{ const v = cpu.rmwRead${size}(${d.ea!.segment}, ${em.address(d)}); cpu.rmwWrite${size}(${f('v')}); }`);
  }
}

/** ALU kind into a register (`dst`), with source expression `b`. */
function aluReg(em: Emitter, kind: number, size: number, dst: number, b: string, flagsNeeded: boolean): void {
  const sb = sizeBit(size);
  const a = em.reg(size, dst);
  if (kind === ALU_ADC || kind === ALU_SBB) {
    em.emit(`{ const b = ${b};`);
    em.materialize();
    em.setReg(size, dst, `A.alu(cpu, ${kind}, ${a}, b, ${sb})`);
    em.emit('}');
    return;
  }
  // xor r,r / sub r,r: the classic zeroing idiom needs no operands.
  em.emit(`{ const b = ${b}, a = ${a}, r = (a ${ALU_OP[kind]} b) | 0;`);
  if (kind !== ALU_CMP) em.setReg(size, dst, 'r');
  if (flagsNeeded) em.record(ALU_KIND[kind], sb, 'a', 'b', 'r');
  em.emit('}');
}

/** ALU kind into the r/m operand, with source expression `b` (evaluated first). */
function aluE(em: Emitter, d: Decoded, kind: number, size: number, b: string, flagsNeeded: boolean): void {
  if (d.mod === 3) {
    aluReg(em, kind, size, d.rm, b, flagsNeeded);
    return;
  }
  const sb = sizeBit(size);
  const seg = d.ea!.segment;
  const addr = em.address(d);
  if (kind === ALU_ADC || kind === ALU_SBB) {
    em.emit(`{ const b = ${b};`);
    em.materialize();
    em.emit(`cpu.rmwWrite${size}(A.alu(cpu, ${kind}, cpu.rmwRead${size}(${seg}, ${addr}), b, ${sb})); }`);
    return;
  }
  if (kind === ALU_CMP) {
    em.emit(`{ const b = ${b}, a = cpu.rd${size}(${seg}, ${addr}), r = (a - b) | 0;`);
  } else {
    em.emit(
      `{ const b = ${b}, a = cpu.rmwRead${size}(${seg}, ${addr}), r = (a ${ALU_OP[kind]} b) | 0; cpu.rmwWrite${size}(r);`,
    );
  }
  if (flagsNeeded) em.record(ALU_KIND[kind], sb, 'a', 'b', 'r');
  em.emit('}');
}

/** INC/DEC of register `r` (or of the memory operand of `d` when r < 0). */
function incDec(em: Emitter, kind: number, size: number, r: number, d: Decoded | null, flagsNeeded: boolean): void {
  const sb = sizeBit(size);
  const op = kind === K_INC ? '+' : '-';
  if (d !== null)
    em.emit(
      `{ const a = cpu.rmwRead${size}(${d.ea!.segment}, ${em.address(d)}), r = (a ${op} 1) | 0; cpu.rmwWrite${size}(r);`,
    );
  else em.emit(`{ const a = ${em.reg(size, r)}, r = (a ${op} 1) | 0;`);
  if (d === null) em.setReg(size, r, 'r');
  if (flagsNeeded) {
    // CF survives INC/DEC: it moves out of the record into fl.flags first.
    if (em.kind === K_CPU) em.emit('fl.flags = (fl.flags & ~1) | fl.cf();');
    else if (em.kind !== K_INC && em.kind !== K_DEC)
      em.emit(`fl.flags = (fl.flags & ~1) | ${carryFromRecord(em.kind, em.sb)};`);
    em.record(kind, sb, 'a', '1', 'r');
  }
  em.emit('}');
}

function shiftOp(em: Emitter, d: Decoded, size: number, count: string, constCount: number, flagsNeeded: boolean): void {
  const kind = d.reg;
  const sb = sizeBit(size);
  if (constCount === 0) {
    // A masked count of zero changes nothing; a memory operand is still checked for writing.
    if (d.ea !== null) em.emit(`cpu.rmwRead${size}(${d.ea.segment}, ${em.address(d)});`);
    return;
  }
  if (!flagsNeeded && size === 32 && constCount > 0) {
    const n = constCount;
    let f: ((v: string) => string) | null = null;
    switch (kind) {
      case 0:
        f = (v) => `(${v} << ${n}) | (${v} >>> ${32 - n})`;
        break;
      case 1:
        f = (v) => `(${v} >>> ${n}) | (${v} << ${32 - n})`;
        break;
      case 4:
      case 6:
        f = (v) => `${v} << ${n}`;
        break;
      case 5:
        f = (v) => `(${v} >>> ${n}) | 0`;
        break;
      case 7:
        f = (v) => `${v} >> ${n}`;
        break;
    }
    if (f !== null) {
      rmw(em, d, size, f);
      return;
    }
  }
  em.materialize();
  rmw(em, d, size, (v) => `A.shift(cpu, ${kind}, ${v}, ${count}, ${sb})`);
}

/** Group 3: TEST, NOT, NEG, MUL, IMUL, DIV, IDIV. */
function groupF6(em: Emitter, d: Decoded, size: number, flagsNeeded: boolean): boolean {
  const sb = sizeBit(size);
  switch (d.reg) {
    case 0:
    case 1: {
      const a = em.readE(d, size);
      if (flagsNeeded) {
        em.emit(`{ const a = ${a}, b = ${immOf(d, size)};`);
        em.record(K_LOGIC, sb, 'a', 'b', 'a & b');
        em.emit('}');
      } else if (d.ea !== null) em.emit(`${a};`);
      return false;
    }
    case 2:
      rmw(em, d, size, (v) => `~${v}`);
      return false;
    case 3:
      if (flagsNeeded) {
        if (d.mod === 3) {
          em.emit(`{ const a = ${em.reg(size, d.rm)}, r = (0 - a) | 0;`);
          em.setReg(size, d.rm, 'r');
        } else
          em.emit(
            `{ const a = cpu.rmwRead${size}(${d.ea!.segment}, ${em.address(d)}), r = (0 - a) | 0; cpu.rmwWrite${size}(r);`,
          );
        em.record(K_SUB, sb, '0', 'a', 'r');
        em.emit('}');
      } else rmw(em, d, size, (v) => `(0 - ${v}) | 0`);
      return false;
    default: {
      const fn = ['mul', 'imul1', 'div', 'idiv'][d.reg - 4];
      em.emit(`{ const v = ${em.readE(d, size)};`);
      em.materialize();
      em.used.add(0);
      em.used.add(2);
      em.dirty.add(0);
      em.dirty.add(2);
      em.emit(`regs[0] = r0; regs[2] = r2; A.${fn}(cpu, v, ${sb}); r0 = regs[0]; r2 = regs[2]; }`);
      return false;
    }
  }
}

/** Jcc: leave the block for the target or for the next instruction. */
function jcc(em: Emitter, d: Decoded, cc: number, next: number, count: number): boolean {
  const target = jumpTarget(d, next);
  const c = em.condition(cc);
  const j = em.labelOf(target);
  if (j >= 0) em.emit(`if (${c}) { ${em.jumpCode(count, j)} }`);
  else
    em.emit(
      `if (${c}) { if (${target >>> 0} > cpu.segLimit[1]) cpu.faultCode(13, 0); ${em.exit(int(target), count)} }`,
    );
  // Not taken: the trace goes on (the caller leaves the block if this was its last).
  return false;
}
