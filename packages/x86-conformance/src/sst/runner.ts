// The SingleStepTests runner. It replays hardware captures on any core through the core
// contract alone: for each test it writes the recorded bytes into a flat physical memory,
// resets the core, loads the recorded registers as real-mode state, runs until the core
// reports the HLT that ends every test, and compares registers, flags and every recorded
// memory byte with what the chip ended with. Undefined flags are masked as the data's
// metadata says; the places where a 386 legitimately differs from the recording chip are
// resolved by the classes in differences.ts and counted per class.
//
// One machine and one core serve a whole run. Outside the bytes a test lists, memory holds a
// fixed background: zeros, except that every interrupt vector the test does not list points
// at a HLT of its own (vector n at 0040:n). So an exception the chip did not take ends the
// test at once, and the final CS:IP says which vector it was. After each test only the bytes
// it touched are put back; a scan at the end of each file catches a core that wrote anywhere
// else.

import {
  EMPTY_IO_BUS,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  Exit,
  type IoBus,
  type Machine,
  type SegmentState,
} from '@lguest/x86';
import { candidate, classify, type Difference, type Resolution } from './differences';
import { type MooFile, type MooTest, Reg, REG_COUNT, REG_NAMES_16, REG_NAMES_32 } from './moo';
import { EFLAGS_BITS } from '../eflags';

/** What the runner needs to know about a file besides its tests. */
export interface FileInfo {
  /** Display name, e.g. `F6.6.MOO.gz`. */
  name: string;
  /** FLAGS bits defined for this opcode (metadata `flags-mask`), 0xFFFF when all are. */
  flagsMask: number;
  /** Revoked test hashes (lower-case hex). */
  revoked: ReadonlySet<string>;
  /** Where the core may legitimately differ from the recording chip; [] when it may not. */
  differences: readonly Difference[];
}

export interface RunOptions {
  /** Physical memory size in bytes; at least 1 MiB + 64 KiB. Default 2 MiB. */
  memoryBytes?: number;
  /** Instructions a test may take before the runner gives up waiting for HLT. Default 20,000. */
  instructionLimit?: number;
  /** Failures described in detail per file. Default 5. */
  details?: number;
  /** Scan all of memory after every test so a stray write is pinned to its test. Slow. */
  strictMemory?: boolean;
}

/** One failed test, described for a person reading a test log. */
export interface TestFailure {
  index: number;
  name: string;
  /** Instruction bytes in hex, HLT included. */
  bytes: string;
  hash: string;
  /** One line per mismatch, plus notes (recorded exception, difference class applied). */
  lines: string[];
}

export interface FileResult {
  file: string;
  cpuId: string;
  total: number;
  passed: number;
  failed: number;
  revoked: number;
  /** Tests a difference class set aside, by class id. */
  skipped: Record<string, number>;
  /** Tests that passed with the 386 result a class substitutes or allows, by class id. */
  adjusted: Record<string, number>;
  /** Details of the first failures (see `RunOptions.details`). */
  failures: TestFailure[];
  /** Physical addresses outside every test's lists that the core wrote (first few). */
  strayWrites: number[];
  ms: number;
}

const MIN_MEMORY = 0x110000;
const REAL_MODE_DATA = 0x93; // present, DPL 0, read/write data, accessed
const REAL_MODE_CODE = 0x9b; // present, DPL 0, execute/read code, accessed
const FLAG_IF_TF = 0x0300;

/** I/O as the recording rigs had it: every read returns all ones, writes vanish. */
export const floatingBus: IoBus = EMPTY_IO_BUS;

/** Segment of the background handlers: vector n is handled by a HLT at SENTINEL_CS:n. */
const SENTINEL_CS = 0x0040;
const SENTINEL = SENTINEL_CS << 4;
const VECTOR_NAMES = [
  '#DE',
  '#DB',
  'NMI',
  '#BP',
  '#OF',
  '#BR',
  '#UD',
  '#NM',
  '#DF',
  '',
  '#TS',
  '#NP',
  '#SS',
  '#GP',
  '#PF',
];

/** One expected end state: registers, and memory bytes with compare masks. */
class Expectation {
  readonly regs = new Uint32Array(REG_COUNT);
  /** Bits of each register that are compared; 0 = not compared. */
  readonly regMask = new Uint32Array(REG_COUNT);
  addr: Uint32Array;
  value: Uint8Array;
  mask: Uint8Array;
  count = 0;

  constructor(capacity: number) {
    this.addr = new Uint32Array(capacity);
    this.value = new Uint8Array(capacity);
    this.mask = new Uint8Array(capacity);
  }

  clear(): void {
    this.count = 0;
  }

  /** Adds or overrides the expected byte at `address`. `slot` maps addresses to indices. */
  set(slot: Int32Array, address: number, value: number, mask = 0xff): void {
    const at = slot[address];
    if (at >= 0) {
      this.value[at] = value;
      this.mask[at] = mask;
      return;
    }
    if (this.count === this.addr.length) this.grow();
    slot[address] = this.count;
    this.addr[this.count] = address;
    this.value[this.count] = value;
    this.mask[this.count] = mask;
    this.count++;
  }

  copyFrom(o: Expectation): void {
    this.regs.set(o.regs);
    this.regMask.set(o.regMask);
    while (this.addr.length < o.count) this.grow();
    this.addr.set(o.addr.subarray(0, o.count));
    this.value.set(o.value.subarray(0, o.count));
    this.mask.set(o.mask.subarray(0, o.count));
    this.count = o.count;
  }

  private grow(): void {
    const n = this.addr.length * 2;
    const a = new Uint32Array(n);
    const v = new Uint8Array(n);
    const m = new Uint8Array(n);
    a.set(this.addr);
    v.set(this.value);
    m.set(this.mask);
    this.addr = a;
    this.value = v;
    this.mask = m;
  }
}

/** Runs MOO files against cores made by one factory, on one reused machine. */
export class SstRunner {
  readonly machine: Machine;
  private readonly mem: Uint8Array;
  /** What memory holds between tests (see the top of the file). */
  private readonly background: Uint8Array;
  private core: CpuCore;
  private readonly limit: number;
  private readonly details: number;
  private readonly strict: boolean;
  /** Address → index into the expectation being built, -1 when absent. */
  private readonly slot: Int32Array;
  private readonly primary = new Expectation(64);
  private readonly alternative = new Expectation(64);
  /** Bytes this test wrote or expects, to clear afterwards. */
  private touched = new Uint32Array(256);
  private touchedCount = 0;
  /** Initial registers of the current test, `Reg` order, after real-mode clean-up. */
  private readonly init = new Uint32Array(REG_COUNT);
  /** Register names for messages: 16-bit names for 16-bit data. */
  private names: readonly string[] = REG_NAMES_16;

  constructor(
    readonly factory: CoreFactory,
    options: RunOptions = {},
  ) {
    const bytes = options.memoryBytes ?? 2 << 20;
    if (bytes < MIN_MEMORY || bytes % 4096) {
      throw new Error(
        `memoryBytes must be a multiple of 4 KiB and at least ${MIN_MEMORY} (1 MiB + 64 KiB), not ${bytes}`,
      );
    }
    this.machine = { memory: new ArrayBuffer(bytes), io: floatingBus };
    this.mem = new Uint8Array(this.machine.memory);
    this.background = new Uint8Array(bytes);
    for (let v = 0; v < 256; v++) {
      this.background.set([v, 0, SENTINEL_CS & 0xff, SENTINEL_CS >> 8], v * 4);
      this.background[SENTINEL + v] = 0xf4;
    }
    this.mem.set(this.background);
    this.slot = new Int32Array(bytes).fill(-1);
    this.limit = options.instructionLimit ?? 20_000;
    this.details = options.details ?? 5;
    this.strict = options.strictMemory ?? false;
    this.core = factory.create(this.machine);
  }

  /** Runs every test of `moo` (or `only` those) and returns the tally. Never throws for core misbehaviour. */
  runFile(moo: MooFile, info: FileInfo, only?: ReadonlySet<number>): FileResult {
    const started = performance.now();
    const result: FileResult = {
      file: info.name,
      cpuId: moo.cpuId,
      total: 0,
      passed: 0,
      failed: 0,
      revoked: 0,
      skipped: {},
      adjusted: {},
      failures: [],
      strayWrites: [],
      ms: 0,
    };
    this.names = moo.wide ? REG_NAMES_32 : REG_NAMES_16;
    for (const test of moo.tests) {
      if (only && !only.has(test.index)) continue;
      result.total++;
      if (info.revoked.has(test.hash)) {
        result.revoked++;
        continue;
      }
      this.runTest(test, moo.wide, info, result);
      if (this.strict) this.sweepStrays(result, test);
    }
    this.sweepStrays(result);
    result.ms = performance.now() - started;
    return result;
  }

  private runTest(test: MooTest, wide: boolean, info: FileInfo, result: FileResult): void {
    this.loadInitial(test, wide);
    const flagsMask = wide ? 0x30000 | info.flagsMask : info.flagsMask & 0x0fff;

    let difference: Difference | undefined;
    let resolution: Resolution | undefined;
    if (info.differences.length) {
      const claimed = classify(info.differences, candidate(test, this.init));
      difference = claimed?.difference;
      resolution = claimed?.resolution;
    }
    if (difference && resolution?.kind === 'skip') {
      bump(result.skipped, difference.id);
      return;
    }

    // Write what the chip started with over the background.
    this.touchedCount = 0;
    const ram = test.initial.ram;
    for (let k = 0; k < ram.addresses.length; k++) this.poke(ram.addresses[k], ram.values[k]);

    let alternative = false;
    let built: string | undefined;
    if (resolution?.kind === 'fault') {
      built = this.expectFault(test, resolution.vector);
    } else {
      this.expectRecorded(test, wide, flagsMask, info.flagsMask);
      if (resolution?.kind === 'restart') built = this.expectRestart(test, resolution.set, resolution.vector);
      if (resolution?.kind === 'vector') alternative = this.expectOtherVector(test, resolution.to);
    }
    if (built !== undefined && difference) {
      // The 386 result cannot be observed without disturbing the test's own bytes.
      bump(result.skipped, `${difference.id} (${built})`);
      this.clearTouched();
      return;
    }
    for (let k = 0; k < this.touchedCount; k++) this.core.invalidatePhysical(this.touched[k], 1);

    const outcome = this.execute();
    let mismatches = this.compare(this.primary, outcome.state);
    let adjusted = resolution?.kind === 'fault' || resolution?.kind === 'restart';
    if (mismatches.length && alternative && this.compare(this.alternative, outcome.state).length === 0) {
      mismatches = [];
      adjusted = true;
    }
    if (outcome.problem) mismatches.unshift(outcome.problem);

    if (mismatches.length === 0) {
      result.passed++;
      if (adjusted && difference) bump(result.adjusted, difference.id);
    } else {
      result.failed++;
      if (result.failures.length < this.details) {
        const notes: string[] = [];
        if (test.exception) notes.push(`recorded exception: vector ${test.exception.vector}`);
        if (difference && resolution) notes.push(`difference class ${difference.id}: ${difference.action}`);
        result.failures.push({
          index: test.index,
          name: test.name,
          bytes: hex(test.bytes),
          hash: test.hash,
          lines: [...mismatches, ...notes],
        });
      }
    }
    this.clearTouched();
  }

  /** Fills `init` with the test's initial registers as a real-mode CPU can hold them. */
  private loadInitial(test: MooTest, wide: boolean): void {
    this.init.set(test.initial.regs.values);
    // A 286 in real mode cannot hold IOPL/NT/bit 15 (the data are LOADALL inputs); the 386
    // sample carries bits 18–31 set, which no 386 can hold.
    this.init[Reg.EFLAGS] &= wide ? 0x3ffff : 0x0fff;
  }

  /** The recorded end state: initial registers and bytes overlaid with the final chunk. */
  private expectRecorded(test: MooTest, wide: boolean, flagsCompare: number, flagsDefined: number): void {
    const e = this.primary;
    e.clear();
    e.regs.set(this.init);
    const fin = test.final.regs;
    for (let r = 0; r < REG_COUNT; r++) if (fin.present & (1 << r)) e.regs[r] = fin.values[r];
    setRegMasks(e, flagsCompare);

    const ini = test.initial.ram;
    for (let k = 0; k < ini.addresses.length; k++) e.set(this.slot, ini.addresses[k], ini.values[k]);
    const fr = test.final.ram;
    for (let k = 0; k < fr.addresses.length; k++) e.set(this.slot, fr.addresses[k], fr.values[k]);

    // The FLAGS word an exception pushed holds undefined flags too. Find it from the final
    // SS:SP (IP, CS, FLAGS upwards), not from EXCP's address, which is rounded down to even.
    if (test.exception && flagsDefined !== 0xffff) {
      const ss = e.regs[Reg.SS] << 4;
      const sp = e.regs[Reg.ESP] & 0xffff;
      const lo = ss + ((sp + 4) & 0xffff);
      const hi = ss + ((sp + 5) & 0xffff);
      if (this.slot[lo] >= 0 && this.slot[hi] >= 0) {
        e.mask[this.slot[lo]] = flagsDefined & 0xff;
        e.mask[this.slot[hi]] = flagsDefined >> 8;
      } else {
        // SS:SP does not lead there: mask the three bytes from the recorded address with
        // both halves of the mask, which covers the word at either parity.
        const a = test.exception.flagAddress;
        const both = flagsDefined & (flagsDefined >> 8) & 0xff;
        for (let k = 0; k < 3; k++) if (this.slot[a + k] >= 0) e.mask[this.slot[a + k]] = both;
      }
    }
    for (let k = 0; k < e.count; k++) this.slot[e.addr[k]] = -1;
    for (let k = 0; k < e.count; k++) this.touch(e.addr[k]);
  }

  /**
   * A 386 result the data does not hold: the instruction faults with `vector` before it
   * changes anything. Expected: FLAGS, CS and the IP of the first prefix pushed at SS:SP,
   * IF and TF cleared, and CS:IP just past the HLT of that vector's handler. Returns why it
   * could not be built (the test's bytes or the pushes cover part of the background handler),
   * or undefined.
   */
  private expectFault(test: MooTest, vector: number): string | undefined {
    const e = this.primary;
    const slot = this.slot;
    e.clear();
    // Every byte the test lists, unchanged (a fault changes nothing but the stack).
    const ini = test.initial.ram;
    for (let k = 0; k < ini.addresses.length; k++) e.set(slot, ini.addresses[k], ini.values[k]);
    const i = this.init;
    const ss = i[Reg.SS] << 4;
    const sp = i[Reg.ESP] & 0xffff;
    const pushes = [i[Reg.EIP] & 0xffff, i[Reg.CS], i[Reg.EFLAGS] & 0xffff];
    for (let w = 0; w < 3; w++) {
      const off = (sp - 6 + 2 * w) & 0xffff;
      e.set(slot, ss + off, pushes[w] & 0xff);
      e.set(slot, ss + ((off + 1) & 0xffff), pushes[w] >> 8);
    }
    const pushed = (a: number): boolean => slot[a] >= 0 && !ini.addresses.includes(a);
    const handler = this.handlerFor(test, vector, pushed);
    const failure = handler ? undefined : `vector ${vector}'s background handler is under test data`;
    const { cs, ip } = handler ?? { cs: SENTINEL_CS, ip: vector };
    e.regs.set(i);
    e.regs[Reg.ESP] = (sp - 6) & 0xffff;
    e.regs[Reg.CS] = cs;
    e.regs[Reg.EIP] = (ip + 1) & 0xffff;
    e.regs[Reg.EFLAGS] = i[Reg.EFLAGS] & ~FLAG_IF_TF;
    setRegMasks(e, 0x0fff);
    for (let k = 0; k < e.count; k++) slot[e.addr[k]] = -1;
    for (let k = 0; k < e.count; k++) this.touch(e.addr[k]);
    return failure;
  }

  /**
   * The 386 result is the recorded one with the registers in `set` as a restartable fault
   * leaves them, and exception `vector` taken (which may differ from the recorded one).
   * Returns why it could not be built, or undefined.
   */
  private expectRestart(
    test: MooTest,
    set: readonly { reg: Reg; value: number }[],
    vector: number,
  ): string | undefined {
    const e = this.primary;
    for (const { reg, value } of set) e.regs[reg] = value;
    if (vector === test.exception?.vector) return undefined;
    const handler = this.handlerFor(test, vector);
    if (!handler) return `vector ${vector}'s background handler is under test data`;
    e.regs[Reg.CS] = handler.cs;
    e.regs[Reg.EIP] = (handler.ip + 1) & 0xffff;
    return undefined;
  }

  /**
   * The recorded exception `from` may legitimately be `to` on this core: the alternative is
   * the recorded end state, ending at `to`'s handler instead. Returns false when there is no
   * handler to tell the two apart by.
   */
  private expectOtherVector(test: MooTest, to: number): boolean {
    const handler = this.handlerFor(test, to);
    if (!handler) return false;
    const a = this.alternative;
    a.copyFrom(this.primary);
    a.regs[Reg.CS] = handler.cs;
    a.regs[Reg.EIP] = (handler.ip + 1) & 0xffff;
    return true;
  }

  /**
   * Where an exception the recording did not take ends (CS:IP of its HLT): the test's own
   * handler when the test lists the whole IVT entry, else the background HLT at 0040:vector —
   * unless the test's bytes (or addresses `covered` names) lie on that entry or HLT, in which
   * case the end cannot be told apart and the result is undefined.
   */
  private handlerFor(
    test: MooTest,
    vector: number,
    covered?: (a: number) => boolean,
  ): { cs: number; ip: number } | undefined {
    const ini = test.initial.ram;
    const entry = [0, 1, 2, 3].map((k) => {
      const at = ini.addresses.indexOf(vector * 4 + k);
      return at >= 0 ? ini.values[at] : -1;
    });
    if (!entry.includes(-1)) return { cs: entry[2] | (entry[3] << 8), ip: entry[0] | (entry[1] << 8) };
    const mine = [vector * 4, vector * 4 + 1, vector * 4 + 2, vector * 4 + 3, SENTINEL + vector];
    const taken = (a: number): boolean =>
      ini.addresses.includes(a) || test.final.ram.addresses.includes(a) || (covered?.(a) ?? false);
    return mine.some(taken) ? undefined : { cs: SENTINEL_CS, ip: vector };
  }

  /** Resets the core, loads `init`, runs to the HLT. Reports a problem instead of throwing. */
  private execute(): { state: CpuState | undefined; problem?: string } {
    const i = this.init;
    try {
      this.core.reset();
      const s = this.core.getState();
      s.eax = i[Reg.EAX];
      s.ebx = i[Reg.EBX];
      s.ecx = i[Reg.ECX];
      s.edx = i[Reg.EDX];
      s.esi = i[Reg.ESI];
      s.edi = i[Reg.EDI];
      s.ebp = i[Reg.EBP];
      s.esp = i[Reg.ESP];
      s.eip = i[Reg.EIP];
      s.eflags = i[Reg.EFLAGS];
      s.cs = realSegment(i[Reg.CS], REAL_MODE_CODE);
      s.ss = realSegment(i[Reg.SS], REAL_MODE_DATA);
      s.ds = realSegment(i[Reg.DS], REAL_MODE_DATA);
      s.es = realSegment(i[Reg.ES], REAL_MODE_DATA);
      s.fs = realSegment(i[Reg.FS], REAL_MODE_DATA);
      s.gs = realSegment(i[Reg.GS], REAL_MODE_DATA);
      s.halted = false;
      this.core.setState(s);
      const exit = this.core.run(this.limit);
      const state = this.core.getState();
      if (exit !== Exit.Halt) {
        const why =
          exit === Exit.Budget ? `no HLT within ${this.limit} instructions` : `run() returned exit ${exitName(exit)}`;
        return { state, problem: `${why} (retired ${this.core.retired})` };
      }
      return { state };
    } catch (e) {
      // The contract forbids this; make a fresh core so one bug does not poison the file.
      this.core = this.factory.create(this.machine);
      return { state: undefined, problem: `core threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
    }
  }

  /** Mismatch lines between `e` and the core's end state (and memory). */
  private compare(e: Expectation, s: CpuState | undefined): string[] {
    const out: string[] = [];
    if (s) {
      const names = this.names;
      const got = stateRegs(s);
      const taken = got[Reg.CS] === SENTINEL_CS && got[Reg.EIP] >= 1 && got[Reg.EIP] <= 256 ? got[Reg.EIP] - 1 : -1;
      if (taken >= 0 && (e.regs[Reg.CS] !== SENTINEL_CS || e.regs[Reg.EIP] !== got[Reg.EIP])) {
        out.push(
          `took exception ${taken} ${VECTOR_NAMES[taken] ?? ''} where the expected end is ${hx(e.regs[Reg.CS], 4)}:${hx(e.regs[Reg.EIP], 4)}`,
        );
      }
      for (let r = 0; r < REG_COUNT; r++) {
        const m = e.regMask[r];
        if (m && ((got[r] ^ e.regs[r]) & m) !== 0) out.push(regLine(names[r], r, e.regs[r], got[r], m));
      }
      for (const [name, seg] of [
        ['CS', s.cs],
        ['SS', s.ss],
        ['DS', s.ds],
        ['ES', s.es],
        ['FS', s.fs],
        ['GS', s.gs],
      ] as const) {
        if (seg.base >>> 0 !== (seg.selector & 0xffff) << 4) {
          out.push(
            `${name}.base: 0x${hx(seg.base >>> 0, 8)} but selector 0x${hx(seg.selector, 4)} means 0x${hx(seg.selector << 4, 8)} in real mode`,
          );
        }
      }
    }
    const mem = this.mem;
    for (let k = 0; k < e.count; k++) {
      const a = e.addr[k];
      const m = e.mask[k];
      if (a >= mem.length) {
        out.push(`[0x${hx(a, 6)}] is beyond the ${mem.length >> 10} KiB modelled`);
        continue;
      }
      if (((mem[a] ^ e.value[k]) & m) !== 0) {
        out.push(
          `[0x${hx(a, 6)}] expected 0x${hx(e.value[k], 2)}, got 0x${hx(mem[a], 2)}${m === 0xff ? '' : ` (mask 0x${hx(m, 2)})`}`,
        );
      }
    }
    return out;
  }

  private poke(address: number, value: number): void {
    if (address >= this.mem.length) return; // reported by compare
    this.mem[address] = value;
    this.touch(address);
  }

  private touch(address: number): void {
    if (this.touchedCount === this.touched.length) {
      const t = new Uint32Array(this.touched.length * 2);
      t.set(this.touched);
      this.touched = t;
    }
    this.touched[this.touchedCount++] = address;
  }

  /** Puts back the background under every byte this test wrote or expected. */
  private clearTouched(): void {
    const mem = this.mem;
    const bg = this.background;
    for (let k = 0; k < this.touchedCount; k++) {
      const a = this.touched[k];
      if (a < mem.length && mem[a] !== bg[a]) {
        mem[a] = bg[a];
        this.core.invalidatePhysical(a, 1);
      }
    }
    this.touchedCount = 0;
  }

  /** Finds bytes that differ from the background (stray writes), records them, restores them. */
  private sweepStrays(result: FileResult, test?: MooTest): void {
    const words = new Uint32Array(this.machine.memory);
    const bgWords = new Uint32Array(this.background.buffer);
    let found = 0;
    for (let w = 0; w < words.length; w++) {
      if (words[w] === bgWords[w]) continue;
      for (let b = 0; b < 4; b++) {
        const a = w * 4 + b;
        if (this.mem[a] === this.background[a]) continue;
        if (result.strayWrites.length < 16) result.strayWrites.push(a);
        this.mem[a] = this.background[a];
        this.core.invalidatePhysical(a, 1);
        found++;
      }
    }
    if (found && test && result.failures.length < this.details) {
      result.failures.push({
        index: test.index,
        name: test.name,
        bytes: hex(test.bytes),
        hash: test.hash,
        lines: [`wrote ${found} byte(s) outside the test's lists`],
      });
    }
  }
}

function realSegment(selector: number, access: number): SegmentState {
  return { selector, base: selector << 4, limit: 0xffff, access };
}

/** Which bits of each register are compared. */
function setRegMasks(e: Expectation, flagsCompare: number): void {
  e.regMask.fill(0);
  const gpr = 0xffffffff; // 16-bit data: the upper halves start at 0 and must stay 0
  for (const r of [Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP, Reg.ESP, Reg.EIP]) e.regMask[r] = gpr;
  for (const r of [Reg.CS, Reg.DS, Reg.ES, Reg.FS, Reg.GS, Reg.SS]) e.regMask[r] = 0xffff;
  e.regMask[Reg.EFLAGS] = flagsCompare;
  // CR0, CR3, DR6, DR7 of the 386 sample carry reserved bits as ones: not compared.
}

/** The core's registers in `Reg` order. */
function stateRegs(s: CpuState): number[] {
  return [
    s.eax,
    s.ebx,
    s.ecx,
    s.edx,
    s.esi,
    s.edi,
    s.ebp,
    s.esp,
    s.cs.selector,
    s.ds.selector,
    s.es.selector,
    s.fs.selector,
    s.gs.selector,
    s.ss.selector,
    s.eip,
    s.eflags,
    s.cr0,
    s.cr3,
    s.dr[6] ?? 0,
    s.dr[7] ?? 0,
  ].map((v) => v >>> 0);
}

function regLine(name: string, r: number, expected: number, got: number, mask: number): string {
  if (r === Reg.EFLAGS) {
    const diff = (expected ^ got) & mask;
    const which = EFLAGS_BITS.filter(([bit]) => diff & bit).map(([bit, n]) => `${n}${got & bit ? '+' : '-'}`);
    return `FLAGS: expected 0x${hx(expected & mask, 4)}, got 0x${hx(got & mask, 4)} under mask 0x${hx(mask, 4)} (${which.join(' ')})`;
  }
  const width = mask > 0xffff || expected > 0xffff || got > 0xffff ? 8 : 4;
  return `${name}: expected 0x${hx(expected, width)}, got 0x${hx(got, width)}`;
}

function bump(tally: Record<string, number>, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

function exitName(exit: Exit): string {
  return ['Budget', 'Halt', 'HostEscape', 'TripleFault', 'Breakpoint', 'Stopped'][exit] ?? String(exit);
}

export function hx(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => hx(b, 2)).join(' ');
}
