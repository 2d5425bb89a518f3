// The block-compiling core. It is the interpreter's `Cpu` — the same register file, TLB,
// descriptor caches and lazy flags — with a different run loop: at each block boundary it
// looks the code up by physical address and runs a compiled block, or, for whatever the
// compiler leaves out (system instructions, I/O, far transfers, string instructions, the
// x87 escapes, single-stepping, the STI/MOV SS shadow, code not yet hot), executes exactly
// one instruction in the interpreter on the shared state. So both cores agree by
// construction wherever this one does not compile, and any instruction the interpreter
// learns works here unchanged.
//
// Compiled code is keyed by the physical address of its first byte (and the EIP it was
// compiled for, since relative jumps are baked in), so it survives CR3 switches and TLB
// flushes. A bitmap of physical pages holding compiled code is checked on every write path
// of the core and by `invalidatePhysical`; a write to such a page drops its blocks, and a
// block that wrote to code stops after that instruction.

import { Exit, interp, type CoreFactory, type CpuState, type Machine, type SetStateOptions } from '@lguest/x86';
import { scanBlock, translate, type BlockCode } from './compile';

const CS = 1;
const { EV_RDTSC, EV_TRAP, EV_BREAK, EV_SHADOW, EV_WATCH } = interp;

/** Visits to a block start before it is compiled (code run once is cheaper interpreted). */
export const COMPILE_THRESHOLD = 32;
/** Direct-mapped block cache size (entries; a power of two). */
const CACHE_SIZE = 1 << 16;
/** Writes that drop a page's blocks before the page is left to the interpreter for good. */
const PAGE_REWRITE_LIMIT = 32;

/** A block in the cache. */
export class Block {
  valid = true;
  /** The run of instructions at this physical address was checked against `bytes` at this epoch. */
  checked: number;
  /** Where `bytes` starts, relative to `phys` (a trace may reach back before its start). */
  first = 0;
  /** The block that last ran after this one (a chain link; checked before it is followed). */
  next: Block | null = null;
  constructor(
    readonly phys: number,
    readonly eip: number,
    readonly count: number,
    readonly length: number,
    readonly code: BlockCode | null,
    /** A copy of the guest bytes it was compiled from. */
    readonly bytes: Uint8Array,
    epoch: number,
  ) {
    this.checked = epoch;
  }
}

export class JitCpu extends interp.Cpu {
  override readonly name: string = 'jit';

  /** Instructions a faulting block completed before the fault (set by its catch handler). */
  blockDone = 0;
  /** Set by a write to a page holding compiled code; a running block then leaves. */
  smc = 0;

  private cacheBlock!: (Block | null)[];
  private cachePhys!: Int32Array;
  private hot!: Uint8Array;
  /** Per physical page: 1 while it holds compiled code. */
  private codePages!: Uint8Array;
  /** Per physical page: how often compiled code there was overwritten. */
  private rewrites!: Uint8Array;
  private pageBlocks!: (Block[] | undefined)[];
  /** Bumped when the host may have written memory without telling us (reset, setState
   *  without keepTranslations). */
  private epoch = 0;
  /** Statistics: blocks compiled, instructions run in blocks, interpreted one at a time. */
  compiled = 0;
  /** Statistics: compiled blocks entered (from the run loop), and instructions run in them. */
  blockRuns = 0;
  inBlocks = 0;
  interpreted = 0;

  /** `compileThreshold`: visits to a block start before it is compiled (1: at once). */
  constructor(
    machine: Machine,
    readonly compileThreshold: number = COMPILE_THRESHOLD,
  ) {
    super(machine);
    this.initCache();
  }

  private initCache(): void {
    const pages = (this.memSize >>> 12) + 1;
    this.cacheBlock = new Array<Block | null>(CACHE_SIZE).fill(null);
    this.cachePhys = new Int32Array(CACHE_SIZE).fill(-1);
    this.hot = new Uint8Array(CACHE_SIZE);
    this.codePages = new Uint8Array(pages);
    this.rewrites = new Uint8Array(pages);
    this.pageBlocks = new Array<Block[] | undefined>(pages);
  }

  override reset(): void {
    super.reset();
    // The base constructor resets before this class's fields exist.
    if (this.codePages !== undefined) this.epoch++;
  }

  override setState(state: CpuState, options?: SetStateOptions): void {
    super.setState(state, options);
    // With keepTranslations the host vouches that it reported every write of its own to
    // memory holding code (invalidatePhysical), and the core saw every write of the guest's:
    // the blocks stay valid, as the TLB does. Without it the host may have loaded code behind
    // our back, so each block rechecks its bytes before it next runs.
    if (options?.keepTranslations !== true) this.epoch++;
  }

  // ------------------------------------------------------------------ the write paths

  override writeLin8(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0 && this.codePages[e >>> 12] === 1) this.codeWritten(e >>> 12);
    super.writeLin8(lin, v);
  }
  override writeLin16(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0 && this.codePages[e >>> 12] === 1) this.codeWritten(e >>> 12);
    super.writeLin16(lin, v);
  }
  override writeLin32(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0 && this.codePages[e >>> 12] === 1) this.codeWritten(e >>> 12);
    super.writeLin32(lin, v);
  }
  override physWrite8(p: number, v: number): void {
    if (this.codePages[p >>> 12] === 1) this.codeWritten(p >>> 12);
    super.physWrite8(p, v);
  }
  override physWrite32(p: number, v: number): void {
    if (this.codePages[p >>> 12] === 1 || this.codePages[(p + 3) >>> 12] === 1) {
      this.codeWritten(p >>> 12);
      this.codeWritten((p + 3) >>> 12);
    }
    super.physWrite32(p, v);
  }
  override rmwWrite16(v: number): void {
    const p = this.rmwPhys;
    if (p >= 0 && (this.codePages[p >>> 12] === 1 || this.codePages[(p + 1) >>> 12] === 1)) {
      this.codeWritten(p >>> 12);
      this.codeWritten((p + 1) >>> 12);
    }
    super.rmwWrite16(v);
  }

  override invalidatePhysical(phys: number, length: number): void {
    super.invalidatePhysical(phys, length);
    if (length <= 0) return;
    const first = phys >>> 12;
    const last = Math.min((phys + length - 1) >>> 12, this.codePages.length - 1);
    for (let p = first; p <= last; p++) if (this.codePages[p] === 1) this.dropPage(p);
  }

  /** A guest write hit a page holding compiled code: drop its blocks, stop the running one. */
  private codeWritten(page: number): void {
    if (this.codePages[page] !== 1) return;
    this.smc = 1;
    if (this.rewrites[page] < 255) this.rewrites[page]++;
    this.dropPage(page);
  }

  private dropPage(page: number): void {
    const list = this.pageBlocks[page];
    this.codePages[page] = 0;
    this.pageBlocks[page] = undefined;
    if (!list) return;
    for (const b of list) {
      b.valid = false;
      const idx = cacheIndex(b.phys);
      if (this.cacheBlock[idx] === b) {
        this.cacheBlock[idx] = null;
        this.cachePhys[idx] = -1;
        this.hot[idx] = 0;
      }
    }
  }

  /** Forget every compiled block (tests; a host never needs this). */
  dropAllBlocks(): void {
    for (let p = 0; p < this.codePages.length; p++) if (this.codePages[p] === 1) this.dropPage(p);
    this.cacheBlock.fill(null);
    this.cachePhys.fill(-1);
    this.hot.fill(0);
  }

  // ------------------------------------------------------------------ finding blocks

  /**
   * The block to run at CS:EIP, or null to interpret one instruction (not hot yet, not
   * compilable, not 32-bit flat-stack code, or not in RAM). Translating CS:EIP may raise the
   * fetch's #PF, as executing the instruction would.
   */
  private lookup(): Block | null {
    if ((this.cs32 & this.ss32) === 0) return null;
    const eip = this.eip;
    const lin = (this.segBase[CS] + eip) | 0;
    const e = this.tlbR[lin >>> 12];
    let phys: number;
    if (e !== 0) phys = (e & ~0xfff) | (lin & 0xfff);
    else {
      // Not in the TLB: translate as the instruction's fetch would, after the same CS limit
      // check (a #PF raised here is the fetch's own, for the instruction at EIP).
      if (eip >>> 0 > this.segLimit[CS]) return null;
      this.instrStart = eip;
      phys = this.translate(lin, false, this.cpl === 3);
      if (phys >= this.memSize) return null;
    }
    const idx = cacheIndex(phys);
    let b = this.cacheBlock[idx];
    if (b === null || this.cachePhys[idx] !== phys || b.eip !== eip) {
      if (this.cachePhys[idx] !== phys) {
        this.cachePhys[idx] = phys;
        this.cacheBlock[idx] = null;
        this.hot[idx] = 0;
      }
      if (++this.hot[idx] < this.compileThreshold) return null;
      this.hot[idx] = 0;
      b = this.compile(phys, eip);
      this.cacheBlock[idx] = b;
    } else if (b.checked !== this.epoch) {
      if (!sameBytes(this.mem8, b)) {
        this.dropPage(phys >>> 12);
        return null;
      }
      b.checked = this.epoch;
    }
    if (b.count === 0) return null;
    if ((eip >>> 0) + b.length - 1 > this.segLimit[CS]) return null;
    return b;
  }

  private compile(phys: number, eip: number): Block {
    const page = phys >>> 12;
    const trace =
      this.rewrites[page] >= PAGE_REWRITE_LIMIT
        ? { insns: [], eips: [], followed: new Uint8Array(0), segEnd: new Uint8Array(0) }
        : scanBlock(this.mem8, phys, eip, this.segLimit[CS], this.segBase[CS]);
    const t = translate(trace, eip);
    const from = phys + t.first;
    const b = new Block(phys, eip, t.count, t.bytes, t.code, this.mem8.slice(from, phys + t.bytes), this.epoch);
    b.first = t.first;
    if (t.count > 0) {
      this.compiled++;
      this.codePages[page] = 1;
      const list = this.pageBlocks[page];
      if (list) list.push(b);
      else this.pageBlocks[page] = [b];
    }
    return b;
  }

  /**
   * Whether block `s`, linked after the block that just ran, is the one to run now: it starts
   * at EIP, is still valid and checked, the code page still maps where it was compiled, and
   * the CS limit covers it. (CS, SS and the mode cannot have changed: only compiled blocks
   * ran since the last full lookup, and they change none of them.)
   */
  private linked(s: Block): boolean {
    const eip = this.eip;
    if (s.eip !== eip || !s.valid || s.checked !== this.epoch) return false;
    const lin = (this.segBase[CS] + eip) | 0;
    const e = this.tlbR[lin >>> 12];
    if (e === 0 || ((e ^ s.phys) & ~0xfff) !== 0 || ((lin ^ s.phys) & 0xfff) !== 0) return false;
    return (eip >>> 0) + s.length - 1 <= this.segLimit[CS];
  }

  /** Instructions the next dispatch would run as one block (1: it would interpret one). */
  nextBlockSize(): number {
    if ((this.events & (EV_TRAP | EV_BREAK | EV_SHADOW | EV_WATCH)) !== 0) return 1;
    let b: Block | null;
    try {
      b = this.lookup();
    } catch {
      return 1; // the fetch faults: the step is that one delivery
    }
    return b === null ? 1 : b.count;
  }

  // ------------------------------------------------------------------ running

  override run(budget: number): Exit {
    if (this.stayHalted()) return Exit.Halt;
    let n = 0;
    /** The compiled block that just ran, while nothing but compiled blocks has run since. */
    let prev: Block | null = null;
    for (;;) {
      try {
        while (n < budget) {
          let single = false;
          if (this.events !== 0) {
            prev = null;
            if (this.events & EV_RDTSC) this.completeRdtsc(n);
            const shadow = (this.events & EV_SHADOW) !== 0;
            const exit = this.atBoundary();
            if (exit >= 0) return this.leave(n, exit);
            // Single-stepping, breakpoints, watchpoints and an interrupt shadow go one
            // instruction at a time (a watched access must end the run after its instruction,
            // and a compiled block runs on to its end).
            single = shadow || (this.events & (EV_TRAP | EV_BREAK | EV_WATCH)) !== 0;
          }
          let b: Block | null = null;
          if (!single) {
            // Chaining: the block that ran after the last one, if it still fits where EIP
            // is now, without the cache lookup; else the lookup, which links the pair.
            const s: Block | null = prev === null ? null : prev.next;
            if (s !== null && this.linked(s)) b = s;
            else {
              b = this.lookup();
              if (prev !== null && b !== null) prev.next = b;
            }
          }
          if (b === null || b.count > budget - n) {
            this.instrStart = this.eip;
            interp.execute(this);
            n++;
            this.interpreted++;
            prev = null;
            continue;
          }
          this.smc = 0;
          const done = b.code!(this, budget - n);
          this.blockRuns++;
          n += done;
          this.inBlocks += done;
          prev = this.smc === 0 ? b : null;
        }
        return this.budgetSpent(n);
      } catch (e) {
        // A block's catch handler counted what it completed before the fault.
        n += this.blockDone + 1;
        this.inBlocks += this.blockDone;
        this.blockDone = 0;
        prev = null;
        const exit = this.faulted(e, n);
        if (exit >= 0) return exit;
      }
    }
  }
}

function cacheIndex(phys: number): number {
  return (phys ^ (phys >>> 16)) & (CACHE_SIZE - 1);
}

function sameBytes(mem: Uint8Array, b: Block): boolean {
  const bytes = b.bytes;
  const from = b.phys + b.first;
  for (let i = 0; i < bytes.length; i++) if (mem[from + i] !== bytes[i]) return false;
  return true;
}

/** The block-compiling core. */
export const jit: CoreFactory = {
  name: 'jit',
  description: 'block compiler: hot 32-bit basic blocks translated to JavaScript, the rest interpreted',
  create: (machine: Machine) => new JitCpu(machine),
  createHot: (machine: Machine) => new JitCpu(machine, 1),
};
