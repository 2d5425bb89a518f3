// The table against every core that executes it (each registered core, hot: a compiling
// core compiles each instance the first time it runs it). Every form is built (encode.ts),
// placed in the memory of the core's machine in a sandbox — flat 32-bit protected mode at ring 0 or ring 3,
// real mode, virtual-8086 mode — and run for one instruction, plain and with 66, 67, FS and
// REP prefixes. An IDT (or IVT) whose every vector leads to its own HLT stub tells which
// exception, if any, fired. The checks:
//  - a form the table lists does not raise #UD, and the decoder accepts it;
//  - an encoding the decoder rejects as invalid raises #UD (undefined opcodes, empty group
//    slots, registers where memory is required, bad segment/control registers, LOCK), and
//    one longer than 15 bytes raises #GP(0);
//  - a straight-line form advances EIP by exactly the decoder's length;
//  - it leaves alone every flag the table says it neither writes nor leaves undefined;
//  - privileged forms fault at CPL 3 and in V86 mode, and only they do; protected-mode-only
//    forms raise #UD in real and V86 mode.
// Where the core is wrong the table keeps Intel's semantics and KNOWN_CORE_BUGS lists the
// mismatch, so the lead can fix the core and delete the entry (the test insists that every
// listed bug still reproduces).

import {
  EMPTY_IO_BUS,
  Exit,
  FORMS,
  ONE_BYTE_MAP,
  TWO_BYTE_MAP,
  decode,
  disassemble,
  encode,
  isDecodeError,
  regChoices,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  type Encoding,
  type InstructionForm,
  type Machine,
  type MemoryOperand,
  type SegmentState,
} from '@lguest/x86';
import { cores } from '@lguest/x86-cores';

// ---- the sandbox
const MEMORY_SIZE = 2 << 20;
const GDT = 0x1000,
  IDT = 0x2000,
  TSS = 0x3000,
  HANDLERS = 0x10000,
  CODE = 0x20000,
  DATA = 0x4000,
  STACK = 0x7fff0;
const SEL_CODE = 0x08,
  SEL_DATA = 0x10,
  SEL_TSS_BUSY = 0x18,
  SEL_TSS_FREE = 0x20,
  SEL_CODE3 = 0x2b,
  SEL_DATA3 = 0x33;

const machine: Machine = { memory: new ArrayBuffer(MEMORY_SIZE), io: EMPTY_IO_BUS };
const mem = new Uint8Array(machine.memory);
const view = new DataView(machine.memory);
/** The core under test (each registered one in turn, see the bottom). */
let cpu: CpuCore;

function descriptor(at: number, lo: number, hi: number): void {
  view.setUint32(at, lo >>> 0, true);
  view.setUint32(at + 4, hi >>> 0, true);
}

/** The pristine memory image every instance starts from. */
const pristine = ((): Uint8Array => {
  descriptor(GDT + SEL_CODE, 0x0000ffff, 0x00cf9b00);
  descriptor(GDT + SEL_DATA, 0x0000ffff, 0x00cf9300);
  descriptor(GDT + SEL_TSS_BUSY, (TSS << 16) | 0x67, 0x00008b00);
  descriptor(GDT + SEL_TSS_FREE, ((TSS + 0x100) << 16) | 0x67, 0x00008900);
  descriptor(GDT + (SEL_CODE3 & ~7), 0x0000ffff, 0x00cffb00);
  descriptor(GDT + (SEL_DATA3 & ~7), 0x0000ffff, 0x00cff300);
  for (let v = 0; v < 256; v++) {
    const handler = HANDLERS + v * 16;
    // DPL 3 gates, so INT n works from ring 3 as a system call would.
    descriptor(IDT + v * 8, (SEL_CODE << 16) | (handler & 0xffff), (handler & 0xffff0000) | 0xee00);
    view.setUint32(v * 4, ((HANDLERS >> 4) << 16) | (v * 16), true); // the real-mode IVT at 0
    mem[handler] = 0xf4;
  }
  view.setUint32(TSS + 4, STACK - 0x100, true); // ESP0
  view.setUint32(TSS + 8, SEL_DATA, true); // SS0
  view.setUint16(TSS + 0x66, 0x68, true); // no I/O permission bitmap
  return mem.slice();
})();

type Sandbox = 'ring0' | 'ring3' | 'real' | 'v86';

/** A data selector (a paragraph in real mode) the sandbox can load anywhere. */
function dataSelector(kind: Sandbox): number {
  return kind === 'ring0' ? SEL_DATA : kind === 'ring3' ? SEL_DATA3 : 0; // paragraph 0 in real and V86 mode
}

/** The stack holds 0x10, 0x08, 0x02 (dwords): a near return address (at ring 3 a data
 *  selector instead, for POP Sreg), then a far return to the flat code segment, then IRET's
 *  flags. The data defaults to the word 3 (a divisor, a null selector with RPL 3) and a data
 *  selector twice, so a far pointer reads as offset:selector at either operand size. */
function resetMemory(kind: Sandbox, fixture: readonly number[]): void {
  mem.set(pristine);
  view.setUint32(STACK, kind === 'ring3' ? SEL_DATA3 : 0x10, true);
  view.setUint32(STACK + 4, SEL_CODE, true);
  view.setUint32(STACK + 8, 0x2, true);
  const sel = dataSelector(kind);
  const words = fixture.length ? fixture : [3 | (sel << 16), sel];
  words.forEach((w, i) => view.setUint32(DATA + 4 * i, w >>> 0, true));
}

const flat = (selector: number, access: number): SegmentState => ({ selector, base: 0, limit: 0xffffffff, access });
const real = (selector: number, code = false): SegmentState => ({
  selector,
  base: selector << 4,
  limit: 0xffff,
  access: code ? 0x9b : 0x93,
});

/** The register state of a sandbox. ECX is the r/m register (3: a small count, divisor and
 *  null selector), EBX the memory base, EDX zero so divisions cannot overflow. */
function sandboxState(kind: Sandbox, eflags: number): CpuState {
  const common = {
    eax: 0x12,
    ecx: 3,
    edx: 0,
    esi: DATA + 0x1000,
    edi: DATA + 0x2000,
    eflags,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    dr: [0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400],
    halted: false,
    instructions: 0,
    ldtr: { selector: 0, base: 0, limit: 0xffff, access: 0x82 },
    tr: { selector: SEL_TSS_BUSY, base: TSS, limit: 0x67, access: 0x8b },
  };
  if (kind === 'real' || kind === 'v86') {
    // Virtual-8086 mode: the real-mode layout at CPL 3 with VM set, under the same GDT, IDT
    // and TSS as ring 0, so its faults reach the same stubs.
    const v86 = kind === 'v86';
    return {
      ...common,
      eflags: v86 ? eflags | 0x20000 : eflags,
      ebx: DATA,
      esp: STACK & 0xffff,
      ebp: 0xff00,
      eip: 0,
      es: real(0),
      cs: real(CODE >> 4, true),
      ss: real((STACK >> 4) & 0xf000),
      ds: real(0),
      fs: real(0),
      gs: real(0),
      gdtr: { base: GDT, limit: 0x3f },
      idtr: v86 ? { base: IDT, limit: 0x7ff } : { base: 0, limit: 0x3ff },
      cr0: v86 ? 0x11 : 0x10,
      cpl: v86 ? 3 : 0,
    };
  }
  const ring3 = kind === 'ring3';
  const data = ring3 ? flat(SEL_DATA3, 0xc0f3) : flat(SEL_DATA, 0xc093);
  return {
    ...common,
    ebx: DATA,
    esp: STACK,
    ebp: STACK - 0x100,
    eip: CODE,
    es: data,
    cs: ring3 ? flat(SEL_CODE3, 0xc0fb) : flat(SEL_CODE, 0xc09b),
    ss: data,
    ds: data,
    fs: data,
    gs: data,
    gdtr: { base: GDT, limit: 0x3f },
    idtr: { base: IDT, limit: 0x7ff },
    cr0: 0x11,
    cpl: ring3 ? 3 : 0,
  };
}

interface Outcome {
  /** The exception vector delivered, or -1. */
  vector: number;
  /** How far EIP moved (meaningful when no exception fired). */
  advance: number;
  exit: Exit;
  state: CpuState;
}

/** Run `bytes` as one instruction in a sandbox, with the memory fixture and ECX given. */
function execute(
  bytes: Uint8Array,
  kind: Sandbox,
  eflags = 0x2,
  fixture: readonly number[] = [],
  ecx?: number,
): Outcome {
  cpu.reset();
  resetMemory(kind, fixture);
  mem.set(bytes, CODE);
  // A HLT after the instruction: a compiling core's block is the instruction alone.
  mem[CODE + bytes.length] = 0xf4;
  const before = sandboxState(kind, eflags);
  if (ecx !== undefined) before.ecx = ecx;
  cpu.setState(before);
  const exit = cpu.run(1);
  const state = cpu.getState();
  const linear = (state.cs.base + state.eip) >>> 0;
  const vector = linear >= HANDLERS && linear < HANDLERS + 0x1000 && linear % 16 === 0 ? (linear - HANDLERS) / 16 : -1;
  return { vector, advance: (state.eip - before.eip) >>> 0, exit, state };
}

// ---- building instances

/** Memory fixtures (dwords at the data address) for forms that need particular operands;
 *  empty for the default. */
function fixtureFor(form: InstructionForm, kind: Sandbox, o32: boolean): number[] {
  switch (form.mnemonic) {
    case 'bound':
      return o32 ? [0, 0xff] : [0x00ff0000];
    case 'callf':
    case 'jmpf':
      if (kind === 'real' || kind === 'v86') return [((CODE >> 4) << 16) | 0x100];
      return [0x100, kind === 'ring0' ? SEL_CODE : SEL_CODE3];
    case 'ltr':
      return [SEL_TSS_FREE];
    default:
      return form.opcode === 0x8e ? [dataSelector(kind)] : [];
  }
}

/** ECX (the r/m register) for forms whose register operand must hold something particular. */
function ecxFor(form: InstructionForm, kind: Sandbox, reg: number): number | undefined {
  if (form.mnemonic === 'ltr') return SEL_TSS_FREE;
  // MOV to CR4 takes only the bits CPUID reports (PSE here); the default ECX would set VME.
  if (form.opcode === 0x0f22 && reg === 4) return 0x10;
  if (form.opcode === 0x8e) return dataSelector(kind);
  // RDMSR/WRMSR of a performance counter (an MSR the core has), RDPMC of counter 0.
  if (form.mnemonic === 'rdmsr' || form.mnemonic === 'wrmsr') return 0xc1;
  if (form.mnemonic === 'rdpmc') return 0;
  return undefined;
}

interface Instance {
  form: InstructionForm;
  bytes: Uint8Array;
  label: string;
  fixture: number[];
  ecx?: number;
}

/** [EBX] (or [BX]): the data area. */
const MEM_OPERAND: MemoryOperand = { base: 3, index: -1 };

/** Immediates that keep the sandbox intact: branches to the next instruction, INT 3, the
 *  data area as a memory offset, the flat code segment as a far target. */
function sandboxImmediates(form: InstructionForm, mode32: boolean): number[] {
  const out: number[] = [];
  for (const op of form.operands) {
    if (op === 'Ib' || op === 'Ibs') out.push(3);
    else if (op === 'Iw') out.push(0x10);
    else if (op === 'Iv') out.push(0x10);
    else if (op === 'Jb' || op === 'Jv') out.push(0);
    else if (op === 'Ap') out.push(0x100, mode32 ? SEL_CODE : CODE >> 4);
    else if (op === 'Ob' || op === 'Ov') out.push(DATA);
  }
  return out;
}

/** The r/m register of a register instance: 1, or the first an x87 row defines. */
function registerRm(form: InstructionForm): number {
  const regs = form.x87?.registers;
  if (!regs || regs[1] !== undefined) return 1;
  return regs.findIndex((r) => r !== undefined);
}

function rmKinds(form: InstructionForm): ('register' | 'memory')[] {
  const ops = form.operands;
  if (form.x87) {
    const kinds: ('register' | 'memory')[] = [];
    if (form.x87.registers.some((r) => r !== undefined)) kinds.push('register');
    if (form.x87.memory !== undefined) kinds.push('memory');
    return kinds;
  }
  if (ops.includes('Rd')) return ['register'];
  if (ops.some((o) => o === 'M' || o === 'Mp' || o === 'Ma' || o === 'Mq' || o === 'Mw' || o === 'Ms'))
    return ['memory'];
  if (ops.some((o) => o[0] === 'E' && o !== 'ES')) return ['register', 'memory'];
  return ['register'];
}

/** Every valid instance of `form` the sandbox runs: each r/m kind and each register choice
 *  for segment, control and debug register operands. */
function instancesOf(form: InstructionForm, kind: Sandbox, extra: Partial<Encoding> = {}): Instance[] {
  const out: Instance[] = [];
  const mode32 = kind === 'ring0' || kind === 'ring3';
  const regs = form.operands.some((o) => o === 'Sw' || o === 'Cd' || o === 'Dd') ? regChoices(form) : [form.reg ?? 1];
  for (const rm of rmKinds(form)) {
    for (const reg of regs) {
      const e: Encoding = {
        mode32,
        reg,
        rm: rm === 'register' ? registerRm(form) : MEM_OPERAND,
        imm: sandboxImmediates(form, mode32),
        ...extra,
      };
      out.push({
        form,
        bytes: encode(form, e),
        label: `${rm}${regs.length > 1 ? ` reg ${reg}` : ''}${variantLabel(extra)}`,
        fixture: fixtureFor(form, kind, mode32 !== !!extra.opsizePrefix),
        ecx: ecxFor(form, kind, reg),
      });
    }
  }
  return out;
}

function variantLabel(e: Partial<Encoding>): string {
  const parts = [
    e.opsizePrefix ? '66' : '',
    e.addrsizePrefix ? '67' : '',
    e.segment !== undefined ? `segment ${e.segment}` : '',
    e.rep ? e.rep.toString(16) : '',
    e.lock ? 'lock' : '',
  ].filter(Boolean);
  return parts.length ? `, ${parts.join(' ')}` : '';
}

/**
 * The prefix variations a form is also run with: operand size, address size, an FS
 * override and REP. Control transfers keep to the plain form (the sandbox's return frames
 * and far pointers are laid out for it), and so do branches in protected mode, where a 16-bit
 * operand size would truncate the target.
 */
function prefixVariants(form: InstructionForm, kind: Sandbox): Partial<Encoding>[] {
  const out: Partial<Encoding>[] = [{}];
  if ('transfer' in expected(form, 0x2)) return out;
  if (form.ends !== 'branch' || kind === 'real') out.push({ opsizePrefix: true });
  out.push({ addrsizePrefix: true }, { segment: 4 });
  if (form.rep) out.push({ rep: 0xf3 });
  if (form.rep === 'cc') out.push({ rep: 0xf2 });
  return out;
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** What a form should do in the sandbox: fall through, raise a vector, or transfer. */
type Expected = { advance: true } | { vector: number } | { transfer: true };

function expected(form: InstructionForm, eflags: number): Expected {
  switch (form.mnemonic) {
    case 'int3':
    case 'int':
      return { vector: 3 };
    case 'int1':
      return { vector: 1 };
    case 'ud2':
      return { vector: 6 };
    case 'into':
      return eflags & 0x800 ? { vector: 4 } : { advance: true };
    case 'iretd':
      return { transfer: true };
    case 'sysenter':
    case 'sysexit':
      // SYSENTER_CS is 0 in the sandbox (p6.test.ts runs them for real).
      return { vector: 13 };
  }
  if (form.ends === 'jump' || form.ends === 'call' || form.ends === 'return') return { transfer: true };
  return { advance: true };
}

function runInstance(inst: Instance, kind: Sandbox, eflags = 0x2): Outcome {
  return execute(inst.bytes, kind, eflags, inst.fixture, inst.ecx);
}

// ---- known core bugs

interface KnownBug {
  /** Instruction bytes that reproduce it in the sandbox named, with ECX when it matters. */
  bytes: string;
  sandbox: Sandbox;
  /** What the core does wrong, against the table (Intel). */
  bug: string;
}

/**
 * Mismatches where the core, not the table, is wrong. Each entry must still reproduce: when
 * the core is fixed this test fails until the entry is deleted.
 */
const KNOWN_CORE_BUGS: KnownBug[] = [];

/** Every mismatch any check found, by sandbox and bytes, for the known-bug bookkeeping. */
const seen = new Map<string, string>();

/** Record a mismatch; returns the message unless it is a known core bug. */
function mismatch(sandbox: Sandbox, bytes: Uint8Array | string, message: string): string[] {
  const hex = typeof bytes === 'string' ? bytes : hexOf(bytes);
  seen.set(`${sandbox} ${hex}`, message);
  return KNOWN_CORE_BUGS.some((b) => b.sandbox === sandbox && b.bytes === hex)
    ? []
    : [`${hex} (${sandbox}): ${message}`];
}

// ---- the checks

function describeOutcome(o: Outcome): string {
  return o.vector >= 0 ? `vector ${o.vector}` : `EIP +${o.advance}, exit ${o.exit}`;
}

/**
 * Every listed form in a sandbox: valid per the core and the decoder, the right length, no
 * stray exception. At ring 3 (IOPL 0) the privileged forms are left to their own check and
 * control transfers are skipped (the sandbox's return frames lead to ring 0); every other
 * form must run there exactly as at ring 0 — which is what says the table's privilege
 * markings are complete. Returns the mismatches that are not known core bugs.
 */
function checkForms(kind: Sandbox, eflags: number): string[] {
  const mode32 = kind === 'ring0' || kind === 'ring3';
  const wrong: string[] = [];
  for (const form of FORMS) {
    if (kind === 'real' && form.protectedOnly) continue;
    if (kind === 'ring3' && (form.privilege || 'transfer' in expected(form, eflags))) continue;
    for (const inst of prefixVariants(form, kind).flatMap((extra) => instancesOf(form, kind, extra))) {
      const d = decode(inst.bytes, 0, mode32);
      if (isDecodeError(d) || d.length !== inst.bytes.length) {
        wrong.push(...mismatch(kind, inst.bytes, `decoder: ${isDecodeError(d) ? d.reason : `length ${d.length}`}`));
        continue;
      }
      const o = runInstance(inst, kind, eflags);
      const want = expected(form, eflags);
      const what = `${disassemble(inst.bytes, 0, mode32).text} [${inst.label}, flags ${eflags.toString(16)}]`;
      let problem = '';
      if (o.vector === 6 && !('vector' in want && want.vector === 6))
        problem = 'the core raises #UD for a form the table lists';
      else if ('vector' in want) {
        if (o.vector !== want.vector) problem = `expected vector ${want.vector}, got ${describeOutcome(o)}`;
      } else if (o.vector >= 0) problem = `unexpected exception ${o.vector}`;
      else if ('advance' in want && o.advance !== d.length)
        problem = `EIP advanced ${o.advance}, the decoder says ${d.length}`;
      if (problem) wrong.push(...mismatch(kind, inst.bytes, `${what}: ${problem}`));
    }
  }
  return wrong;
}

/** Encodings the decoder must call invalid: undefined opcodes and group slots, register
 *  forms of memory-only operands, bad segment and control registers. */
function invalidEncodings(mode32: boolean): { bytes: Uint8Array; why: string }[] {
  const out: { bytes: Uint8Array; why: string }[] = [];
  const tail = [0, 0, 0, 0, 0, 0, 0, 0];
  const notOpcodes = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x0f]);
  const modrms = (reg: number): number[] => [(reg << 3) | (mode32 ? 3 : 7), 0xc0 | (reg << 3) | 1];
  const maps = [
    [ONE_BYTE_MAP, []],
    [TWO_BYTE_MAP, [0x0f]],
  ] as const;
  for (const [map, lead] of maps) {
    for (let b = 0; b < 256; b++) {
      if (lead.length === 0 && notOpcodes.has(b)) continue;
      const e = map[b];
      const slots = !e ? [0] : e.group ? [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !e.forms[r]) : [];
      for (const reg of slots) {
        for (const m of modrms(reg)) {
          out.push({
            bytes: Uint8Array.from([...lead, b, m, ...tail]),
            why: e ? `empty slot /${reg}` : 'undefined opcode',
          });
        }
      }
    }
  }
  for (const form of FORMS) {
    const ops = form.operands;
    const enc = (e: Partial<Encoding>): Uint8Array =>
      encode(form, { mode32, reg: form.reg ?? 1, rm: 1, imm: [], ...e });
    if (form.x87) {
      if (form.x87.memory === undefined) out.push({ bytes: enc({ rm: MEM_OPERAND }), why: 'x87 memory hole' });
      form.x87.registers.forEach((r, rm) => {
        if (r === undefined) out.push({ bytes: enc({ rm }), why: `x87 register hole ${rm}` });
      });
      continue;
    }
    if (rmKinds(form)[0] === 'memory') out.push({ bytes: enc({}), why: 'register for a memory-only operand' });
    if (ops.includes('Sw')) {
      for (const reg of ops[0] === 'Sw' ? [1, 6, 7] : [6, 7])
        out.push({ bytes: enc({ reg }), why: `segment register ${reg}` });
    }
    if (ops.includes('Cd')) for (const reg of [1, 5, 6, 7]) out.push({ bytes: enc({ reg }), why: `CR${reg}` });
  }
  return out;
}

/** CPUID.1:EDX of the core under test, asked as a program asks. */
function cpuidFeatures(): number {
  cpu.reset();
  resetMemory('ring0', []);
  mem.set([0x0f, 0xa2, 0xf4], CODE);
  cpu.setState({ ...sandboxState('ring0', 0x2), eax: 1 });
  cpu.run(1);
  return cpu.getState().edx;
}

/** The core as the table test runs it: hot, if the core makes a difference. */
function hotCore(core: CoreFactory): CpuCore {
  return core.createHot ? core.createHot(machine) : core.create(machine);
}

describe.each(cores.map((c) => [c.name, c] as const))('the table against core %s', (_name, core) => {
  beforeAll(() => {
    cpu = hotCore(core);
    seen.clear();
  });

  it('has a working sandbox (NOP runs, INT 3 reaches the vector 3 stub, UD2 the vector 6 one)', () => {
    expect(execute(Uint8Array.of(0x90), 'ring0')).toMatchObject({ vector: -1, advance: 1 });
    expect(execute(Uint8Array.of(0xcc), 'ring0').vector).toBe(3);
    expect(execute(Uint8Array.of(0x90), 'real')).toMatchObject({ vector: -1, advance: 1 });
    expect(execute(Uint8Array.of(0x0f, 0x0b), 'real').vector).toBe(6);
    expect(execute(Uint8Array.of(0x0f, 0x0b), 'ring3').vector).toBe(6);
    expect(execute(Uint8Array.of(0x90), 'v86')).toMatchObject({ vector: -1, advance: 1 });
    expect(execute(Uint8Array.of(0x0f, 0x0b), 'v86').vector).toBe(6);
  });

  it("executes every form in flat 32-bit protected mode at ring 0, with the decoder's length", () => {
    expect([...checkForms('ring0', 0x2), ...checkForms('ring0', 0xed7)].join('\n')).toBe('');
  });

  it('runs every form but the privileged ones and control transfers at ring 3 as at ring 0', () => {
    expect([...checkForms('ring3', 0x2), ...checkForms('ring3', 0xed7)].join('\n')).toBe('');
  });

  it('returns the exits of HLT and the host escape from the run() that executed them', () => {
    const wrong: string[] = [];
    const hlt = execute(Uint8Array.of(0xf4), 'ring0');
    if (!hlt.state.halted || hlt.advance !== 1) wrong.push(`HLT: halted ${hlt.state.halted}, EIP +${hlt.advance}`);
    if (hlt.exit !== Exit.Halt) wrong.push(...mismatch('ring0', 'f4', `run(1) returned exit ${hlt.exit}, not Halt`));
    const escape = execute(Uint8Array.of(0x0f, 0x04, 0x2a), 'ring0');
    if (cpu.escapeCode !== 0x2a || escape.advance !== 3)
      wrong.push(`host escape: code ${cpu.escapeCode}, EIP +${escape.advance}`);
    if (escape.exit !== Exit.HostEscape) {
      wrong.push(...mismatch('ring0', '0f 04 2a', `run(1) returned exit ${escape.exit}, not HostEscape`));
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('refuses instructions longer than 15 bytes (#GP(0)), as the decoder does', () => {
    const wrong: string[] = [];
    const cases = [
      Uint8Array.of(...new Array(15).fill(0x3e), 0x90), // 15 prefixes
      Uint8Array.of(...new Array(11).fill(0x3e), 0x05, 0x78, 0x56, 0x34, 0x12), // 11 prefixes, 16 bytes
    ];
    for (const bytes of cases) {
      const d = decode(bytes, 0, true);
      if (!isDecodeError(d) || d.error !== 'too-long') wrong.push(`${hexOf(bytes)}: the decoder accepts it`);
      const o = execute(bytes, 'ring0');
      if (o.vector !== 13)
        wrong.push(...mismatch('ring0', bytes, `${bytes.length} bytes: ${describeOutcome(o)}, not #GP(0)`));
    }
    const fifteen = Uint8Array.of(...new Array(14).fill(0x3e), 0x90);
    expect(execute(fifteen, 'ring0')).toMatchObject({ vector: -1, advance: 15 });
    expect(wrong.join('\n')).toBe('');
  });

  it('executes every form but the protected-mode-only ones in real mode', () => {
    expect([...checkForms('real', 0x2), ...checkForms('real', 0xed7)].join('\n')).toBe('');
  });

  it('raises #UD exactly where the decoder finds an invalid encoding', () => {
    const wrong: string[] = [];
    for (const kind of ['ring0', 'real'] as const) {
      const mode32 = kind === 'ring0';
      for (const { bytes, why } of invalidEncodings(mode32)) {
        const d = decode(bytes, 0, mode32);
        if (!isDecodeError(d) || d.error !== 'invalid')
          wrong.push(`${hexOf(bytes)} (${kind}, ${why}): the decoder accepts it`);
        const o = execute(bytes, kind);
        if (o.vector !== 6)
          wrong.push(...mismatch(kind, bytes, `${why}: the core gives ${describeOutcome(o)}, not #UD`));
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('allows LOCK exactly on lockable forms with a memory destination', () => {
    const wrong: string[] = [];
    for (const form of FORMS) {
      for (const inst of instancesOf(form, 'ring0', { lock: true })) {
        const ok = !!form.lockable && inst.label.startsWith('memory');
        const d = decode(inst.bytes, 0, true);
        if (isDecodeError(d) === ok) wrong.push(`${hexOf(inst.bytes)}: the decoder ${ok ? 'rejects' : 'accepts'} it`);
        const o = runInstance(inst, 'ring0');
        if ((o.vector === 6) === ok)
          wrong.push(...mismatch('ring0', inst.bytes, `${form.mnemonic} with LOCK: ${describeOutcome(o)}`));
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('changes no flag the table says a form leaves alone', () => {
    const FLAG_BITS: Record<string, number> = {
      o: 0x800,
      d: 0x400,
      i: 0x200,
      s: 0x80,
      z: 0x40,
      a: 0x10,
      p: 0x4,
      c: 0x1,
    };
    const mask = (letters = ''): number => [...letters].reduce((m, l) => m | FLAG_BITS[l], 0);
    const wrong: string[] = [];
    for (const form of FORMS) {
      if (form.ends && form.ends !== 'system' && form.ends !== 'branch') continue;
      const keep = 0xed5 & ~mask(form.flags?.written) & ~mask(form.flags?.undefined);
      for (const inst of instancesOf(form, 'ring0')) {
        for (const eflags of [0x2, 0xed7]) {
          const o = runInstance(inst, 'ring0', eflags);
          if (o.vector >= 0) continue; // the execution check reports it
          const changed = (o.state.eflags ^ eflags) & keep;
          if (changed)
            wrong.push(
              ...mismatch(
                'ring0',
                inst.bytes,
                `${form.mnemonic} changed flags ${changed.toString(16)} from ${eflags.toString(16)}`,
              ),
            );
        }
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('faults at CPL 3 for every privileged form', () => {
    const wrong: string[] = [];
    for (const form of FORMS.filter((f) => f.privilege)) {
      const want = form.mnemonic === 'hostescape' ? 6 : 13;
      for (const inst of instancesOf(form, 'ring3')) {
        const o = runInstance(inst, 'ring3');
        if (o.vector !== want)
          wrong.push(...mismatch('ring3', inst.bytes, `${form.mnemonic}: ${describeOutcome(o)}, want vector ${want}`));
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('raises #UD in real and virtual-8086 mode for the protected-mode-only forms', () => {
    const wrong: string[] = [];
    for (const kind of ['real', 'v86'] as const) {
      for (const form of FORMS.filter((f) => f.protectedOnly)) {
        for (const inst of instancesOf(form, kind)) {
          const o = runInstance(inst, kind);
          if (o.vector !== 6)
            wrong.push(...mismatch(kind, inst.bytes, `${form.mnemonic}: ${describeOutcome(o)}, want #UD`));
        }
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('faults in virtual-8086 mode (IOPL 0) for every privileged form', () => {
    const wrong: string[] = [];
    for (const form of FORMS.filter((f) => f.privilege)) {
      // The protected-mode-only ones (LLDT, LTR) do not exist in V86 mode at all.
      const want = form.mnemonic === 'hostescape' || form.protectedOnly ? 6 : 13;
      for (const inst of instancesOf(form, 'v86')) {
        const o = runInstance(inst, 'v86');
        if (o.vector !== want)
          wrong.push(...mismatch('v86', inst.bytes, `${form.mnemonic}: ${describeOutcome(o)}, want vector ${want}`));
      }
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('follows Intel on MOV to CR0, CR3 and CR4', () => {
    const wrong: string[] = [];
    const cases: { bytes: number[]; ecx: number; what: string; right: (o: Outcome) => boolean }[] = [
      { bytes: [0x0f, 0x22, 0xc1], ecx: 0x20000011, what: 'CR0.NW without CD: #GP(0)', right: (o) => o.vector === 13 },
      { bytes: [0x0f, 0x22, 0xc1], ecx: 0x60000011, what: 'CR0.NW with CD: accepted', right: (o) => o.vector === -1 },
      { bytes: [0x0f, 0x22, 0xd9], ecx: 0x1018, what: 'CR3 keeps PWT and PCD', right: (o) => o.state.cr3 === 0x1018 },
      { bytes: [0x0f, 0x22, 0xe1], ecx: 0x10, what: 'CR4.PSE (in CPUID): accepted', right: (o) => o.vector === -1 },
    ];
    // A CR4 bit for a feature CPUID does not report is reserved.
    if ((cpuidFeatures() & 2) === 0) {
      cases.push({
        bytes: [0x0f, 0x22, 0xe1],
        ecx: 0x1,
        what: 'CR4.VME (not in CPUID): #GP(0)',
        right: (o) => o.vector === 13,
      });
    }
    for (const c of cases) {
      const o = execute(Uint8Array.from(c.bytes), 'ring0', 0x2, [], c.ecx);
      const key = `${hexOf(Uint8Array.from(c.bytes))} (ecx=0x${c.ecx.toString(16)})`;
      if (!c.right(o))
        wrong.push(
          ...mismatch(
            'ring0',
            key,
            `${c.what}: got ${describeOutcome(o)}, CR${(c.bytes[2] >> 3) & 7} ${(c.bytes[2] === 0xd9 ? o.state.cr3 : o.state.cr0).toString(16)}`,
          ),
        );
    }
    expect(wrong.join('\n')).toBe('');
  });

  it('still reproduces every known core bug (delete an entry once the core is fixed)', () => {
    const fixed = KNOWN_CORE_BUGS.filter((b) => !seen.has(`${b.sandbox} ${b.bytes}`));
    expect(fixed.map((b) => `${b.bytes} (${b.sandbox}): ${b.bug}`)).toEqual([]);
  });
});
