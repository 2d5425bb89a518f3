// The reference interpreter: the state of one i386 and the machinery every instruction
// shares — instruction fetch, segmented and linear memory access, the TLB and the page
// walk, the stack, faults. Instruction semantics live in exec.ts/exec0f.ts and in one file
// per protected-mode mechanism (segments, interrupts, far transfers, iret, tasking, system).
//
// Speed rules for this file: machine state lives in typed arrays or small-integer fields,
// nothing allocates per instruction, and every memory access has a fast path of one TLB
// load and one typed-array access. Faults are thrown as one preallocated sentinel and
// caught once per run loop, so the hot paths carry no error plumbing.

import {
  Exit,
  type CpuCore,
  type CpuState,
  type InterruptController,
  type IoBus,
  type Machine,
  type SegmentState,
  type SetStateOptions,
  type WatchHit,
  WatchKind,
} from '../contract';
import { Flags, IF, TF, VM, RF, AC } from './flags';
import { execute } from './exec';
import { deliverPending, deliverExternal } from './interrupts';
import { loadDescriptorCache, setSegCache } from './segments';
import { X87 } from '../fpu/x87';
import { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, ES, CS, SS, DS, FS, GS, LDTR, TR } from './regs';
import {
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR0_AM,
  CR4_PSE,
  FAULT,
  EV_EXIT,
  EV_IRQ,
  EV_TRAP,
  EV_BREAK,
  EV_STOP,
  EV_SHADOW,
  EV_RDTSC,
  EV_DECODE,
  EV_WATCH,
} from './regs';

export * from './regs';

/** Linear pages a TLB context fills before it is flushed (its list of filled pages is full). */
const PAGE_LIST_MAX = 16384;
/** Page tables one TLB context may have translated through before it is flushed. */
const TABLE_LIST_MAX = 2048;
/** Address spaces (page directories) the TLB keeps translations for at once. */
export const TLB_CONTEXTS = 4;
/** The four tables of a context: 16 MiB. */
const TLB_CONTEXT_BYTES = 16 << 20;
/** The key of the context of paging off (identity translations, no tables). */
const UNPAGED = -1;
/** The key of a context slot that stands for no address space. */
const NO_KEY = -2;

/**
 * The translations of one address space: four tables indexed by linear page number holding
 * `physical page | 1` or 0 (supervisor/user × read/write), the linear pages filled since the
 * last flush, and the physical pages of the page tables those translations came through.
 */
export class TlbContext {
  key = NO_KEY;
  lastUse = 0;
  // The tables are given by the first fill (Cpu.giveTables); until then all four stand for
  // the core's never-filled table.
  sr: Int32Array;
  sw: Int32Array;
  ur: Int32Array;
  uw: Int32Array;
  readonly pages = new Int32Array(PAGE_LIST_MAX);
  count = 0;
  readonly tables = new Int32Array(TABLE_LIST_MAX);
  tableCount = 0;

  constructor(empty: Int32Array) {
    this.sr = this.sw = this.ur = this.uw = empty;
  }

  /** Forget the translation of linear page `page`. */
  clearPage(page: number): void {
    this.sr[page] = 0;
    this.sw[page] = 0;
    this.ur[page] = 0;
    this.uw[page] = 0;
  }

  /** Forget the translations of `n` linear pages from `page`. */
  clearRange(page: number, n: number): void {
    if (this.count < n) {
      // Fewer pages filled than in the range: visit those.
      const list = this.pages;
      for (let i = 0; i < this.count; i++) if ((list[i] - page) >>> 0 < n) this.clearPage(list[i]);
      return;
    }
    this.sr.fill(0, page, page + n);
    this.sw.fill(0, page, page + n);
    this.ur.fill(0, page, page + n);
    this.uw.fill(0, page, page + n);
  }
}

export class Cpu implements CpuCore {
  readonly name: string = 'interpreter';

  // --- memory ---
  readonly mem8: Uint8Array;
  readonly mem32: Int32Array;
  readonly memSize: number;
  readonly io: IoBus;
  readonly pic: InterruptController | undefined;
  readonly machine: Machine;

  // --- registers ---
  readonly regs = new Int32Array(8);
  readonly r16 = new Uint16Array(this.regs.buffer);
  readonly r8 = new Uint8Array(this.regs.buffer);
  eip = 0;
  instrStart = 0;
  readonly fl = new Flags();
  /** The x87 FPU (fpu/x87.ts); its instructions are in x87.ts. */
  readonly fpu = new X87();
  // Model-specific registers (RDMSR/WRMSR): SYSENTER_CS/ESP/EIP, and the two performance
  // counters with their event selects (no event is counted: the counters keep what is written).
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  readonly perfCounter = new Float64Array(2);
  readonly perfEventSelect = new Int32Array(2);

  // Segment registers ES CS SS DS FS GS, then LDTR and TR, with their descriptor caches and
  // the offset ranges a read or a write through each may touch (empty range: always faults).
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Int32Array(8);
  readonly segLimit = new Float64Array(8);
  readonly segAccess = new Uint16Array(8);
  readonly segRdLo = new Float64Array(8);
  readonly segRdHi = new Float64Array(8);
  readonly segWrLo = new Float64Array(8);
  readonly segWrHi = new Float64Array(8);

  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);
  cpl = 0;

  // Derived mode bits, recomputed by updateMode().
  protectedMode = false;
  v86 = false;
  paging = false;
  // Sizes as 0/1 rather than booleans: these are written on hot paths, and a small integer
  // store needs no write barrier where a boolean (a heap object to V8) does.
  cs32 = 0;
  ss32 = 0;

  // --- per-instruction decode state ---
  o32 = 0;
  a32 = 0;
  segOvr = -1;
  rep = 0;
  eaSeg = DS;

  // --- instruction fetch window: [fetchEip, fetchEip+fetchLen) maps to mem8[fetchPhys..] ---
  fetchEip = 0;
  fetchLen = 0;
  fetchPhys = 0;

  // --- TLB: per address space (TlbContext), one entry per 4 KiB linear page, (physical
  // page | 1) or 0. The four tables below are the current context's; see "TLB and paging".
  /** Never filled: stands for a context's unallocated tables, and is selected while
   *  alignment checking is on, so every access takes the slow path. */
  readonly tlbNone = new Int32Array(1 << 20);
  /** Context slots, allocated as address spaces appear (at most TLB_CONTEXTS). */
  readonly tlbContexts: TlbContext[] = [new TlbContext(this.tlbNone)];
  tlbContext: TlbContext = this.tlbContexts[0];
  /** 1 << the current context's slot: its bit in tableUse/ptUse/pdUse. */
  private tlbBit = 1;
  private tlbClock = 0;
  /** The tables of every context (giveTables). */
  private tlbStore: ArrayBuffer | null = null;
  tlbSR: Int32Array = this.tlbContext.sr;
  tlbSW: Int32Array = this.tlbContext.sw;
  tlbUR: Int32Array = this.tlbContext.ur;
  tlbUW: Int32Array = this.tlbContext.uw;
  tlbR: Int32Array = this.tlbSR;
  tlbW: Int32Array = this.tlbSW;
  /** CR0.AM, EFLAGS.AC and CPL 3 together: misaligned data accesses raise #AC(0). */
  alignCheck = false;
  // Coherence, per physical page: which contexts (a bit per slot) translated through it as a
  // page table (ptUse) or have it as their page directory (pdUse); tableUse is the two ORed,
  // the one byte a write path looks at. ptDir is the directory index + 1 a table was used
  // under (-1: more than one). wMapped: a write entry for the page may be in some context.
  readonly tableUse: Uint8Array;
  private readonly ptUse: Uint8Array;
  private readonly pdUse: Uint8Array;
  private readonly ptDir: Int16Array;
  private readonly wMapped: Uint8Array;

  // The descriptor last read by readDescriptor(): its two dwords and linear address.
  descLo = 0;
  descHi = 0;
  descAddr = 0;

  // Read-modify-write in progress: physical address, or -1 with the linear one kept.
  rmwPhys = 0;
  rmwLin = 0;

  // --- faults ---
  excVector = -1;
  excCode = 0;
  excHasCode = false;
  /** Vector being delivered, to tell a fault during delivery (double/triple fault). */
  delivering = -1;

  // --- run state ---
  halted = false;
  events = 0;
  exitCode = Exit.Budget;
  escapeCode = 0;
  retired = 0;
  instructions = 0;
  trapPending = false;
  /** A switch into a TSS with its T bit set: #DB with DR6.BT at the next boundary. */
  taskTrapPending = false;
  protected irq = false;
  protected readonly breakpoints = new Set<number>();
  // Watchpoints (setWatchpoint): linear, length, kind, in threes. While a linear page holds
  // a watched byte no TLB context maps it (tlbFill leaves it out), so every data access to it
  // takes a slow path, and only the slow paths look at `watching`: a core with no watchpoint
  // pays nothing, and one with watchpoints pays only on the watched pages.
  private readonly watches: number[] = [];
  /** Per linear page: 1 while a watchpoint covers it (allocated with the first watchpoint). */
  private watchPages: Uint8Array | null = null;
  /** The pages marked in watchPages (a host may set and clear watchpoints for every run). */
  private readonly watchedPageList: number[] = [];
  /** How many watchpoints are set. */
  watching = 0;
  /** The hit the current instruction made (reported at its end), or the last one reported. */
  private hit: WatchHit | null = null;
  private hitPending = false;

  constructor(machine: Machine) {
    this.machine = machine;
    if (machine.memory.byteLength % 4096 !== 0) {
      throw new Error(`physical memory must be a multiple of 4 KiB, got ${machine.memory.byteLength} bytes`);
    }
    this.mem8 = new Uint8Array(machine.memory);
    this.mem32 = new Int32Array(machine.memory);
    this.memSize = machine.memory.byteLength;
    const frames = this.memSize >>> 12;
    this.tableUse = new Uint8Array(frames);
    this.ptUse = new Uint8Array(frames);
    this.pdUse = new Uint8Array(frames);
    this.ptDir = new Int16Array(frames);
    this.wMapped = new Uint8Array(frames);
    this.io = machine.io;
    this.pic = machine.pic;
    this.reset();
  }

  // ------------------------------------------------------------------ contract

  get irqLine(): boolean {
    return this.irq;
  }
  set irqLine(on: boolean) {
    this.irq = on;
    if (on) this.events |= EV_IRQ;
  }

  reset(): void {
    this.regs.fill(0);
    this.regs[EDX] = 0x0630; // family 6, model 3 in DX after RESET
    this.fl.flags = 0x2;
    this.fl.lazy = 0;
    this.cr0 = CR0_ET;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0x3ff;
    for (let s = 0; s < 6; s++) setSegCache(this, s, 0, 0, 0xffff, 0x93);
    setSegCache(this, CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    setSegCache(this, LDTR, 0, 0, 0xffff, 0x82);
    setSegCache(this, TR, 0, 0, 0xffff, 0x8b);
    this.eip = 0xfff0;
    this.cpl = 0;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.perfCounter.fill(0);
    this.perfEventSelect.fill(0);
    // RESET (unlike INIT) leaves the FPU with control word 0x0040 and every register +0.
    this.fpu.init();
    this.fpu.cw = 0x40;
    this.fpu.empty = 0;
    this.fpu.se.fill(0);
    this.fpu.hi.fill(0);
    this.fpu.lo.fill(0);
    this.halted = false;
    this.events = this.irq ? EV_IRQ : 0;
    if (this.breakpoints.size) this.events |= EV_BREAK;
    if (this.watching !== 0) this.events |= EV_WATCH;
    this.hitPending = false;
    this.trapPending = false;
    this.taskTrapPending = false;
    this.instructions = 0;
    this.delivering = -1;
    this.updateMode();
    this.flushTlb();
  }

  getState(): CpuState {
    const r = this.regs;
    const seg = (s: number): SegmentState => ({
      selector: this.segSel[s],
      base: this.segBase[s] >>> 0,
      limit: this.segLimit[s],
      access: this.segAccess[s],
    });
    return {
      eax: r[EAX] >>> 0,
      ecx: r[ECX] >>> 0,
      edx: r[EDX] >>> 0,
      ebx: r[EBX] >>> 0,
      esp: r[ESP] >>> 0,
      ebp: r[EBP] >>> 0,
      esi: r[ESI] >>> 0,
      edi: r[EDI] >>> 0,
      eip: this.eip >>> 0,
      eflags: this.getEflags() >>> 0,
      es: seg(ES),
      cs: seg(CS),
      ss: seg(SS),
      ds: seg(DS),
      fs: seg(FS),
      gs: seg(GS),
      ldtr: seg(LDTR),
      tr: seg(TR),
      gdtr: { base: this.gdtBase >>> 0, limit: this.gdtLimit },
      idtr: { base: this.idtBase >>> 0, limit: this.idtLimit },
      cr0: this.cr0 >>> 0,
      cr2: this.cr2 >>> 0,
      cr3: this.cr3 >>> 0,
      cr4: this.cr4 >>> 0,
      dr: Array.from(this.dr, (v) => v >>> 0),
      cpl: this.cpl,
      halted: this.halted,
      instructions: this.instructions,
    };
  }

  setState(st: CpuState, options?: SetStateOptions): void {
    // Translations survive only if the host vouches for memory and paging works the same.
    const keep =
      options?.keepTranslations === true &&
      ((this.cr0 ^ st.cr0) & (CR0_PG | CR0_WP | CR0_PE)) === 0 &&
      ((this.cr4 ^ st.cr4) & CR4_PSE) === 0;
    const r = this.regs;
    r[EAX] = st.eax;
    r[ECX] = st.ecx;
    r[EDX] = st.edx;
    r[EBX] = st.ebx;
    r[ESP] = st.esp;
    r[EBP] = st.ebp;
    r[ESI] = st.esi;
    r[EDI] = st.edi;
    this.eip = st.eip | 0;
    this.cr0 = st.cr0 | 0;
    this.cr2 = st.cr2 | 0;
    this.cr3 = st.cr3 | 0;
    this.cr4 = st.cr4 | 0;
    for (let i = 0; i < 8; i++) this.dr[i] = st.dr[i] ?? 0;
    this.gdtBase = st.gdtr.base | 0;
    this.gdtLimit = st.gdtr.limit;
    this.idtBase = st.idtr.base | 0;
    this.idtLimit = st.idtr.limit;
    const segs = [st.es, st.cs, st.ss, st.ds, st.fs, st.gs, st.ldtr, st.tr];
    // CPL and the mode must be known before the segment bounds are computed.
    this.cpl = st.cpl;
    this.fl.flags = (st.eflags & 0x3f7fd7) | 0x2;
    this.fl.lazy = 0;
    this.updateMode();
    for (let s = 0; s < 8; s++) setSegCache(this, s, segs[s].selector, segs[s].base, segs[s].limit, segs[s].access);
    this.halted = st.halted;
    this.instructions = st.instructions;
    this.trapPending = false;
    this.taskTrapPending = false;
    this.delivering = -1;
    // A new state: nothing pending from the old one (an exit, a stop, an RDTSC result, a shadow).
    this.events = 0;
    this.hitPending = false;
    this.resetDecode();
    this.updateEvents();
    if (!keep) this.flushTlb();
  }

  saveFpu(): Int32Array {
    return this.fpu.snapshot();
  }

  restoreFpu(state: Int32Array | null): void {
    this.fpu.restore(state);
  }

  requestStop(): void {
    this.events |= EV_STOP;
  }

  setBreakpoint(linear: number): void {
    this.breakpoints.add(linear >>> 0);
    this.events |= EV_BREAK;
  }

  clearBreakpoint(linear: number): void {
    this.breakpoints.delete(linear >>> 0);
    this.updateEvents();
  }

  setWatchpoint(linear: number, length: number, kind: WatchKind): void {
    if (!Number.isInteger(length) || length < 1 || length > 0x100000000) {
      throw new RangeError(`watchpoint length ${length}: it must be a whole number of bytes, at least 1`);
    }
    if (kind !== WatchKind.Write && kind !== WatchKind.Read && kind !== WatchKind.Access) {
      throw new RangeError(`watchpoint kind ${kind as number}: it must be Write, Read or Access`);
    }
    this.watches.push(linear >>> 0, length, kind);
    this.watching++;
    this.events |= EV_WATCH;
    this.markWatchedPages();
  }

  clearWatchpoint(linear: number, length: number, kind: WatchKind): boolean {
    const w = this.watches;
    for (let i = 0; i < w.length; i += 3) {
      if (w[i] === linear >>> 0 && w[i + 1] === length && w[i + 2] === kind) {
        w.splice(i, 3);
        this.watching--;
        this.markWatchedPages();
        this.updateEvents();
        return true;
      }
    }
    return false;
  }

  watchHit(): WatchHit | null {
    return this.hit;
  }

  /** Mark the pages the watchpoints cover, and drop their translations from every context. */
  private markWatchedPages(): void {
    // Pages no longer watched were only kept out of the TLB: they refill on use.
    const pages = (this.watchPages ??= new Uint8Array(1 << 20));
    const list = this.watchedPageList;
    for (const page of list) pages[page] = 0;
    list.length = 0;
    const w = this.watches;
    for (let i = 0; i < w.length; i += 3) {
      const first = w[i] >>> 12;
      const last = Math.min(w[i] + w[i + 1] - 1, 0xffffffff) >>> 12;
      for (let page = first; page <= last; page++) {
        if (pages[page] !== 0) continue;
        pages[page] = 1;
        list.push(page);
        for (const c of this.tlbContexts) c.clearPage(page);
      }
    }
    this.fetchLen = 0;
  }

  /**
   * A data access of `size` bytes at `lin` (`access`: WatchKind bits, both for a
   * read-modify-write) on a slow path: the first watchpoint it hits is reported when the
   * instruction ends.
   */
  private watchAccess(lin: number, size: number, access: number): void {
    if (this.hitPending) return;
    const a = lin >>> 0;
    const w = this.watches;
    for (let i = 0; i < w.length; i += 3) {
      if ((w[i + 2] & access) === 0) continue;
      const from = Math.max(a, w[i]);
      if (from < a + size && from < w[i] + w[i + 1]) {
        this.hit = {
          linear: w[i],
          length: w[i + 1],
          kind: w[i + 2] as WatchKind,
          address: from,
          write: (access & 1) !== 0,
        };
        this.hitPending = true;
        this.exit(Exit.Watchpoint);
        return;
      }
    }
  }

  /**
   * Memory in [phys, phys+length) changed behind the core's back. This core decodes from
   * memory every time, so only translations can be stale: those built from page-table or
   * page-directory entries in the range go (see "TLB and paging").
   */
  invalidatePhysical(phys: number, length: number): void {
    if (length <= 0 || phys >= this.memSize) return;
    const end = Math.min(phys + length, this.memSize);
    for (let page = Math.floor(phys / 4096); page * 4096 < end; page++) {
      if (this.tableUse[page] === 0) continue;
      const from = Math.max(phys, page * 4096);
      const to = Math.min(end, (page + 1) * 4096);
      if (to - from === 4096) this.tableRewritten(page);
      else for (let a = from & ~3; a < to; a += 4) this.entryChanged(page, (a & 0xfff) >>> 2);
    }
  }

  // ------------------------------------------------------------------ running

  run(budget: number): Exit {
    if (this.stayHalted()) return Exit.Halt;
    let n = 0;
    for (;;) {
      try {
        while (n < budget) {
          if (this.events !== 0) {
            if (this.events & EV_RDTSC) this.completeRdtsc(n);
            const exit = this.atBoundary();
            if (exit >= 0) return this.leave(n, exit);
          }
          this.instrStart = this.eip;
          execute(this);
          n++;
        }
        return this.budgetSpent(n);
      } catch (e) {
        n++;
        const exit = this.faulted(e, n);
        if (exit >= 0) return exit;
      }
    }
  }

  // The pieces of a run loop every core built on this one shares (the block compiler's too).

  /** At the start of run(): whether a halted CPU stays halted (no interrupt it can take). */
  protected stayHalted(): boolean {
    this.retired = 0;
    if (!this.halted) return false;
    if (!this.irq || (this.fl.flags & IF) === 0) return true;
    if (!this.pic || !this.pic.intrPending()) {
      this.irq = false;
      return true;
    }
    this.halted = false;
    return false;
  }

  /** Leave run() after `n` instructions with `exit`. */
  protected leave(n: number, exit: Exit): Exit {
    if (exit === Exit.Watchpoint) this.hitPending = false;
    this.retired = n;
    this.instructions += n;
    return exit;
  }

  /** The budget is spent after `n` instructions: report an exit its last one asked for. */
  protected budgetSpent(n: number): Exit {
    if (this.events & EV_RDTSC) this.completeRdtsc(n);
    if (this.events & EV_EXIT) {
      // The last instruction of the budget exited (HLT, the host escape): report it now.
      this.events &= ~EV_EXIT;
      return this.leave(n, this.exitCode);
    }
    return this.leave(n, Exit.Budget);
  }

  /**
   * `e` was thrown after `n` instructions (counting the faulting one): deliver the exception
   * and return -1 to go on, or the exit (a triple fault). Anything but FAULT is a bug in the
   * core, not something the guest did: it is rethrown, loudly, for the host.
   */
  protected faulted(e: unknown, n: number): number {
    if (e !== FAULT) {
      this.leave(n - 1, Exit.Budget);
      throw e;
    }
    this.events |= EV_DECODE;
    if (this.hitPending) {
      // The instruction did not complete: its watched access is not reported.
      this.hitPending = false;
      this.hit = null;
      if (this.exitCode === Exit.Watchpoint) this.events &= ~EV_EXIT;
    }
    if (!deliverPending(this)) {
      this.events &= ~EV_EXIT;
      return this.leave(n, Exit.TripleFault);
    }
    return -1;
  }

  /** Work at an instruction boundary. Returns an Exit to leave run(), or -1 to go on. */
  protected atBoundary(): number {
    const ev = this.events;
    if (ev & EV_DECODE) this.resetDecode();
    if (ev & EV_EXIT) {
      this.events &= ~EV_EXIT;
      this.updateEvents();
      return this.exitCode;
    }
    if (ev & EV_STOP) {
      this.events &= ~EV_STOP;
      return Exit.Stopped;
    }
    if (this.trapPending || this.taskTrapPending) {
      // Single-step trap after an instruction that started with TF set (DR6.BS), and the
      // debug trap of a task switch into a TSS with T set (DR6.BT): one #DB for both.
      if (this.trapPending) this.dr[6] |= 0x4000;
      if (this.taskTrapPending) this.dr[6] |= 0x8000;
      this.trapPending = false;
      this.taskTrapPending = false;
      this.raiseTrapNow(1);
    }
    if (ev & EV_SHADOW) {
      // The instruction after STI / MOV SS runs before any interrupt is taken.
      this.events &= ~EV_SHADOW;
    } else if (this.irq && (this.fl.flags & IF) !== 0) {
      if (this.pic && this.pic.intrPending()) {
        deliverExternal(this, this.pic.acknowledge());
        if (this.halted) this.halted = false;
      } else {
        this.irq = false;
      }
    }
    if (this.breakpoints.size !== 0 && this.breakpoints.has((this.segBase[CS] + this.eip) >>> 0)) {
      if ((this.fl.flags & RF) === 0) {
        this.fl.flags |= RF;
        return Exit.Breakpoint;
      }
    }
    this.fl.flags &= ~RF;
    if ((this.fl.flags & TF) !== 0) this.trapPending = true;
    this.updateEvents();
    return -1;
  }

  /** Back to the decode defaults of the code segment (no prefixes). */
  resetDecode(): void {
    this.o32 = this.a32 = this.cs32;
    this.segOvr = -1;
    this.rep = 0;
    this.events &= ~EV_DECODE;
  }

  /** Recompute which events the run loop must look at. */
  updateEvents(): void {
    let ev = this.events & (EV_EXIT | EV_STOP | EV_SHADOW | EV_RDTSC | EV_DECODE);
    if (this.irq) ev |= EV_IRQ;
    if (this.breakpoints.size !== 0) ev |= EV_BREAK;
    if (this.watching !== 0) ev |= EV_WATCH;
    if ((this.fl.flags & TF) !== 0 || this.trapPending || this.taskTrapPending) ev |= EV_TRAP;
    this.events = ev;
  }

  /** A task switch into a TSS with T set: #DB (DR6.BT) before the new task's first instruction. */
  requestTaskTrap(): void {
    this.taskTrapPending = true;
    this.events |= EV_TRAP;
  }

  /** Leave run() after the current instruction with `exit`. */
  exit(exit: Exit): void {
    this.exitCode = exit;
    this.events |= EV_EXIT;
  }

  /** Deliver a trap-class exception at an instruction boundary (the instruction completed). */
  private raiseTrapNow(vector: number): void {
    this.excVector = vector;
    this.excHasCode = false;
    this.excCode = 0;
    this.instrStart = this.eip;
    if (!deliverPending(this)) this.exit(Exit.TripleFault);
  }

  /**
   * RDTSC leaves EDX:EAX to be filled in here, at the next instruction boundary, where the
   * run loop knows how many instructions this run has retired (keeping that count in a
   * field on every instruction would cost the hot loop a store).
   */
  protected completeRdtsc(retiredThisRun: number): void {
    this.events &= ~EV_RDTSC;
    const tsc = this.machine.readTsc ? this.machine.readTsc() : BigInt(this.instructions + retiredThisRun);
    this.regs[EAX] = Number(tsc & 0xffffffffn);
    this.regs[EDX] = Number((tsc >> 32n) & 0xffffffffn);
  }

  /** FERR#: an unmasked x87 exception is pending while CR0.NE is clear. */
  ferr(): void {
    this.machine.ferr?.();
  }

  // ------------------------------------------------------------------ faults

  /** Abandon the current instruction with a fault that pushes no error code. */
  fault(vector: number): never {
    this.excVector = vector;
    this.excHasCode = false;
    this.excCode = 0;
    throw FAULT;
  }

  /** Abandon the current instruction with a fault that pushes `code`. */
  faultCode(vector: number, code: number): never {
    this.excVector = vector;
    this.excHasCode = true;
    this.excCode = code & 0xffff;
    throw FAULT;
  }

  pageFault(lin: number, code: number): never {
    this.cr2 = lin | 0;
    this.excVector = 14;
    this.excHasCode = true;
    this.excCode = code;
    throw FAULT;
  }

  /** A limit or rights violation through segment register `seg`. */
  segViolation(seg: number): never {
    return seg === SS ? this.faultCode(12, 0) : this.faultCode(13, 0);
  }

  // ------------------------------------------------------------------ modes

  /** Recompute the derived mode bits after CR0, EFLAGS.VM, CS or SS changed. */
  updateMode(): void {
    this.protectedMode = (this.cr0 & CR0_PE) !== 0;
    this.v86 = this.protectedMode && (this.fl.flags & VM) !== 0;
    this.paging = this.protectedMode && (this.cr0 & CR0_PG) !== 0;
    this.cs32 = !this.v86 && (this.segAccess[CS] & 0x4000) !== 0 ? 1 : 0;
    this.events |= EV_DECODE;
    this.ss32 = !this.v86 && (this.segAccess[SS] & 0x4000) !== 0 ? 1 : 0;
    this.selectContext();
    this.selectTlb();
  }

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.selectTlb();
  }

  private selectTlb(): void {
    const user = this.cpl === 3;
    this.alignCheck = user && (this.cr0 & CR0_AM) !== 0 && (this.fl.flags & AC) !== 0;
    this.tlbR = this.alignCheck ? this.tlbNone : user ? this.tlbUR : this.tlbSR;
    this.tlbW = this.alignCheck ? this.tlbNone : user ? this.tlbUW : this.tlbSW;
    this.fetchLen = 0;
  }

  /** #AC(0) for a misaligned access while alignment checking is on (only on slow paths). */
  checkAlignment(lin: number, size: number): void {
    if (this.alignCheck && (lin & (size - 1)) !== 0) this.faultCode(17, 0);
  }

  getEflags(): number {
    return this.fl.get();
  }

  /** Write EFLAGS bits selected by `mask` (callers decide what privilege lets through). */
  setEflags(value: number, mask: number): void {
    const f = this.fl;
    f.settle();
    const old = f.flags;
    f.flags = ((old & ~mask) | (value & mask) | 0x2) & 0x3f7fd7;
    if ((old ^ f.flags) & VM) this.updateModeAndSegments();
    else if ((old ^ f.flags) & AC) this.selectTlb();
    this.updateEvents();
  }

  /** EFLAGS.VM changed: segment caches of the new mode must be rebuilt. */
  private updateModeAndSegments(): void {
    this.updateMode();
    for (let s = 0; s < 6; s++) loadDescriptorCache(this, s);
  }

  // ------------------------------------------------------------------ TLB and paging

  // The TLB keeps one context per address space (page directory), up to TLB_CONTEXTS, the
  // least recently used giving way: a CR3 load selects the context of the new directory
  // instead of flushing, so a trip through the switcher (host directory, a guest's shadow,
  // the host's again) finds its translations still there. Architecturally a CR3 load flushes
  // every entry (this CPU has no global pages: CPUID has no PGE), so a context may only be
  // kept because it is never staler than the tables it came from:
  //
  //  * Every fill records the physical page of the page table it went through (ptUse, with
  //    the directory index in ptDir) and every context knows its directory (pdUse).
  //  * No context holds a write entry for such a page (a page becoming one loses its write
  //    entries in every context), so every CPU write to a table goes through physWrite*,
  //    where tableWrite drops the translations the changed entries gave, in every context.
  //    Setting A or D, or rewriting an entry that was not present, drops nothing: no TLB
  //    caches a not-present entry, and an entry without D has no write translation.
  //  * The host reports its own writes with invalidatePhysical (whole pages: the contexts
  //    that used them lose what came through them).
  //
  // So a reload of the same CR3, or a switch back to a kept context, sees exactly what a
  // flushed TLB would after walking the tables again (but for A bits a flush would set).

  /** Drop every translation of every address space (CR0.PG/WP/PE or CR4.PSE changed, the host). */
  flushTlb(): void {
    for (const c of this.tlbContexts) this.flushContext(c);
    this.wMapped.fill(0);
    this.fetchLen = 0;
    // CR3 may have been stored directly (tests, a host): take its address space from here on.
    this.selectContext();
  }

  /** MOV CR3 and task switches: the new directory's context becomes current. */
  loadCr3(v: number): void {
    this.cr3 = v;
    this.selectContext();
  }

  /** Make the context of the current address space (paging off, or CR3's directory) current. */
  private selectContext(): void {
    const key = this.paging ? (this.cr3 & ~0xfff) >>> 0 : UNPAGED;
    if (this.tlbContext.key === key) return;
    const list = this.tlbContexts;
    let slot = this.contextSlot(key);
    if (slot < 0) {
      // A new address space: a free slot, a new one, or the least recently used.
      slot = this.contextSlot(NO_KEY);
      if (slot < 0 && list.length < TLB_CONTEXTS) {
        slot = list.length;
        list.push(new TlbContext(this.tlbNone));
      } else if (slot < 0) {
        slot = 0;
        for (let i = 1; i < list.length; i++) if (list[i].lastUse < list[slot].lastUse) slot = i;
        this.dropContext(slot);
      }
      list[slot].key = key;
      const dir = key >>> 12;
      if (key !== UNPAGED && dir < this.pdUse.length) {
        this.pdUse[dir] |= 1 << slot;
        this.watch(dir);
      }
    }
    const c = list[slot];
    c.lastUse = ++this.tlbClock;
    this.tlbContext = c;
    this.tlbBit = 1 << slot;
    this.useTables();
  }

  /** Point the fast paths at the current context's tables. */
  private useTables(): void {
    const c = this.tlbContext;
    this.tlbSR = c.sr;
    this.tlbSW = c.sw;
    this.tlbUR = c.ur;
    this.tlbUW = c.uw;
    this.selectTlb();
  }

  private contextSlot(key: number): number {
    const list = this.tlbContexts;
    for (let i = 0; i < list.length; i++) if (list[i].key === key) return i;
    return -1;
  }

  /** Empty a context: its entries, and its marks on the page tables they came through. */
  private flushContext(c: TlbContext): void {
    // The list holds every page with an entry (tlbFill flushes before it would overflow).
    const list = c.pages;
    for (let i = 0; i < c.count; i++) c.clearPage(list[i]);
    c.count = 0;
    const bit = 1 << this.tlbContexts.indexOf(c);
    for (let i = 0; i < c.tableCount; i++) {
      const t = c.tables[i];
      this.ptUse[t] &= ~bit;
      this.tableUse[t] = this.ptUse[t] | this.pdUse[t];
      if (this.ptUse[t] === 0) this.ptDir[t] = 0;
    }
    c.tableCount = 0;
    if (c === this.tlbContext) this.fetchLen = 0;
  }

  /** Empty context `slot` and let it stand for no address space (not the current one). */
  private dropContext(slot: number): void {
    const c = this.tlbContexts[slot];
    this.flushContext(c);
    if (c.key >= 0 && c.key >>> 12 < this.pdUse.length) {
      const dir = c.key >>> 12;
      this.pdUse[dir] &= ~(1 << slot);
      this.tableUse[dir] = this.ptUse[dir] | this.pdUse[dir];
    }
    c.key = NO_KEY;
  }

  /** Physical page `page` just became a table some context depends on: no write entry may map it. */
  private watch(page: number): void {
    this.tableUse[page] = this.ptUse[page] | this.pdUse[page];
    if (this.wMapped[page] === 0) return;
    this.wMapped[page] = 0;
    for (const c of this.tlbContexts) {
      const list = c.pages;
      for (let i = 0; i < c.count; i++) {
        const lin = list[i];
        if (c.sw[lin] !== 0 && c.sw[lin] >>> 12 === page) c.sw[lin] = 0;
        if (c.uw[lin] !== 0 && c.uw[lin] >>> 12 === page) c.uw[lin] = 0;
      }
    }
  }

  /** The current context translated through page table `table`, under directory index `index`. */
  private useTable(table: number, index: number): void {
    const c = this.tlbContext;
    if ((this.ptUse[table] & this.tlbBit) === 0) {
      if (c.tableCount === TABLE_LIST_MAX) this.flushContext(c);
      c.tables[c.tableCount++] = table;
      this.ptUse[table] |= this.tlbBit;
      this.watch(table);
    }
    const d = this.ptDir[table];
    if (d !== index + 1) this.ptDir[table] = d === 0 ? index + 1 : -1;
  }

  /**
   * A CPU write of `size` bytes of `v` at physical `p` (in RAM, within one page) is about to
   * land in a page some context translated through: drop what the entries it changes gave.
   */
  private tableWrite(p: number, size: number, v: number): void {
    const page = p >>> 12;
    const last = p + size - 1;
    for (let a = p & ~3; a <= last; a += 4) {
      const old = this.mem32[a >>> 2];
      if ((old & 1) === 0) continue; // not present: nothing was cached from it
      let now = old;
      for (let b = Math.max(a, p); b <= last && b < a + 4; b++) {
        const shift = (b - a) * 8;
        now = (now & ~(0xff << shift)) | (((v >>> ((b - p) * 8)) & 0xff) << shift);
      }
      const changed = old ^ now;
      if ((changed & ~0x60) === 0 && (changed & old) === 0) continue; // only A/D set
      const slot = (a & 0xfff) >>> 2;
      this.entryChanged(page, slot);
      if (this.pdUse[page] !== 0 && (old & 0x80) === 0) this.tableUnlinked(page, slot, old >>> 12);
    }
  }

  /**
   * Directory entry `slot` of page `dir` no longer names page table `table`: the contexts
   * with that directory lost everything that came through it (entryChanged), so unless the
   * table was used under other indexes too it is no longer theirs to watch.
   */
  private tableUnlinked(dir: number, slot: number, table: number): void {
    if (table >= this.ptUse.length || this.ptDir[table] !== slot + 1) return;
    this.ptUse[table] &= ~this.pdUse[dir];
    if (this.ptUse[table] === 0) this.ptDir[table] = 0;
    this.tableUse[table] = this.ptUse[table] | this.pdUse[table];
  }

  /** Entry `slot` of physical page `page` changed: translations that came from it go. */
  private entryChanged(page: number, slot: number): void {
    const pd = this.pdUse[page];
    const pt = this.ptUse[page];
    const list = this.tlbContexts;
    for (let i = 0; i < list.length; i++) {
      const bit = 1 << i;
      const c = list[i];
      if ((pd & bit) !== 0) c.clearRange(slot << 10, 1024);
      if ((pt & bit) !== 0) {
        const d = this.ptDir[page];
        if (d > 0) c.clearPage(((d - 1) << 10) | slot);
        else for (let dir = 0; dir < 1024; dir++) c.clearPage((dir << 10) | slot);
      }
    }
    this.fetchLen = 0;
  }

  /** The host rewrote all of physical page `page`, which some context depends on. */
  private tableRewritten(page: number): void {
    const pd = this.pdUse[page];
    const pt = this.ptUse[page];
    const list = this.tlbContexts;
    for (let i = 0; i < list.length; i++) {
      const bit = 1 << i;
      const c = list[i];
      if ((pd & bit) !== 0) {
        // Its directory is gone: nothing of it is left (the current one stays what CR3 says).
        if (c === this.tlbContext) this.flushContext(c);
        else this.dropContext(i);
      } else if ((pt & bit) !== 0) {
        const d = this.ptDir[page];
        if (d > 0) {
          c.clearRange((d - 1) << 10, 1024);
          // Nothing of this context comes through the page any more.
          this.ptUse[page] &= ~bit;
        } else this.flushContext(c);
      }
    }
    if (this.ptUse[page] === 0) this.ptDir[page] = 0;
    this.tableUse[page] = this.ptUse[page] | this.pdUse[page];
    this.fetchLen = 0;
  }

  invlpg(lin: number): void {
    this.tlbContext.clearPage(lin >>> 12);
    this.fetchLen = 0;
  }

  /**
   * Translate a linear address for an access of the given kind, filling the TLB. Returns
   * the physical address (which may lie beyond RAM: callers then read ones and drop
   * writes). Raises #PF when the page tables forbid the access.
   */
  translate(lin: number, write: boolean, user: boolean): number {
    const page = lin >>> 12;
    if (!this.paging) {
      const phys = lin >>> 0;
      if (phys < this.memSize) this.tlbFill(page, (phys & ~0xfff) | 1, true, user);
      return phys;
    }
    const pdeAddr = ((this.cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
    let pde = this.physRead32(pdeAddr);
    const code = (write ? 2 : 0) | (user ? 4 : 0);
    if ((pde & 1) === 0) this.pageFault(lin, code);
    let phys: number;
    let writable: boolean;
    let table = -1;
    if ((pde & 0x80) !== 0 && (this.cr4 & CR4_PSE) !== 0) {
      // A 4 MiB page: the directory entry maps it directly.
      if (!this.allowed(pde, write, user)) this.pageFault(lin, code | 1);
      const want = 0x20 | (write ? 0x40 : 0);
      if ((pde & want) !== want) this.physWrite32(pdeAddr, (pde |= want));
      phys = ((pde & 0xffc00000) | (lin & 0x3ff000)) >>> 0;
      writable = (pde & 0x40) !== 0 && this.allowed(pde, true, user);
    } else {
      const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
      let pte = this.physRead32(pteAddr);
      if ((pte & 1) === 0) this.pageFault(lin, code);
      const both = pde & pte;
      if (!this.allowed(both, write, user)) this.pageFault(lin, code | 1);
      if ((pde & 0x20) === 0) this.physWrite32(pdeAddr, pde | 0x20);
      const want = 0x20 | (write ? 0x40 : 0);
      if ((pte & want) !== want) this.physWrite32(pteAddr, (pte |= want));
      phys = (pte & ~0xfff) >>> 0;
      writable = (pte & 0x40) !== 0 && this.allowed(both, true, user);
      table = pteAddr >>> 12;
    }
    // Tables and directories outside RAM cannot change, so need no tracking.
    if (phys < this.memSize && pdeAddr < this.memSize) {
      this.tlbFill(page, phys | 1, writable, user);
      if (table >= 0 && table < this.ptUse.length) this.useTable(table, lin >>> 22);
    }
    return (phys | (lin & 0xfff)) >>> 0;
  }

  /**
   * Context `c` fills its first entry: its four tables are views of one buffer for every
   * context, allocated then. The buffer is large enough that the system maps its pages as
   * they are first touched (a large allocation is mapped, not taken from the heap and
   * cleared), so an address space costs the table pages it fills, and a core that is built
   * again and again (tests, benchmarks) pays no clearing of tables it never uses.
   */
  private giveTables(c: TlbContext): void {
    this.tlbStore ??= new ArrayBuffer(TLB_CONTEXTS * TLB_CONTEXT_BYTES);
    const at = this.tlbContexts.indexOf(c) * TLB_CONTEXT_BYTES;
    const table = (i: number): Int32Array => new Int32Array(this.tlbStore!, at + i * (4 << 20), 1 << 20);
    c.sr = table(0);
    c.sw = table(1);
    c.ur = table(2);
    c.uw = table(3);
    this.useTables();
  }

  /** Whether an entry's U/S and R/W bits (ANDed over both levels) permit the access. */
  private allowed(e: number, write: boolean, user: boolean): boolean {
    if (user) {
      if ((e & 4) === 0) return false;
      return !write || (e & 2) !== 0;
    }
    return !write || (e & 2) !== 0 || (this.cr0 & CR0_WP) === 0;
  }

  private tlbFill(page: number, entry: number, writable: boolean, user: boolean): void {
    // A watched page stays out of the TLB: its accesses take the slow paths, which check.
    if (this.watching !== 0 && this.watchPages![page] !== 0) return;
    const c = this.tlbContext;
    if ((c.sr[page] | c.sw[page] | c.ur[page] | c.uw[page]) === 0) {
      // A new page for the list; a full list empties the context first (it is one page).
      if (c.count === PAGE_LIST_MAX) this.flushContext(c);
      c.pages[c.count++] = page;
    }
    // A page some context translates through is never written through the TLB (tableWrite).
    const frame = entry >>> 12;
    if (writable && this.tableUse[frame] !== 0) writable = false;
    if (c.sr === this.tlbNone) this.giveTables(c);
    if (user) {
      c.ur[page] = entry;
      if (writable) c.uw[page] = entry;
    } else {
      c.sr[page] = entry;
      if (writable) c.sw[page] = entry;
    }
    if (writable) this.wMapped[frame] = 1;
  }

  // ------------------------------------------------------------------ physical memory

  physRead8(p: number): number {
    return p < this.memSize ? this.mem8[p] : 0xff;
  }
  physRead16(p: number): number {
    return this.physRead8(p) | (this.physRead8(p + 1) << 8);
  }
  physRead32(p: number): number {
    if (p + 3 < this.memSize) {
      if ((p & 3) === 0) return this.mem32[p >>> 2];
      const m = this.mem8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.physRead16(p) | (this.physRead16(p + 2) << 16);
  }
  physWrite8(p: number, v: number): void {
    if (p < this.memSize) {
      if (this.tableUse[p >>> 12] !== 0) this.tableWrite(p, 1, v);
      this.mem8[p] = v;
    }
  }
  physWrite16(p: number, v: number): void {
    this.physWrite8(p, v);
    this.physWrite8(p + 1, v >> 8);
  }
  physWrite32(p: number, v: number): void {
    if (p + 3 < this.memSize && (p & 3) === 0) {
      if (this.tableUse[p >>> 12] !== 0) this.tableWrite(p, 4, v);
      this.mem32[p >>> 2] = v;
    } else {
      this.physWrite16(p, v);
      this.physWrite16(p + 2, v >>> 16);
    }
  }

  // ------------------------------------------------------------------ linear memory
  // Accesses at the current privilege (CPL 3 is user, else supervisor).

  readLin8(lin: number): number {
    const e = this.tlbR[lin >>> 12];
    if (e !== 0) return this.mem8[(e & ~0xfff) | (lin & 0xfff)];
    return this.readLin8Slow(lin);
  }

  readLin16(lin: number): number {
    const e = this.tlbR[lin >>> 12];
    if (e !== 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return this.mem8[p] | (this.mem8[p + 1] << 8);
    }
    return this.readLin16Slow(lin);
  }

  readLin32(lin: number): number {
    const e = this.tlbR[lin >>> 12];
    if (e !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) return this.mem32[p >>> 2];
      const m = this.mem8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readLin32Slow(lin);
  }

  private readLin8Slow(lin: number): number {
    const p = this.translate(lin, false, this.cpl === 3);
    if (this.watching !== 0) this.watchAccess(lin, 1, WatchKind.Read);
    return this.physRead8(p);
  }

  private readLin16Slow(lin: number): number {
    this.checkAlignment(lin, 2);
    if ((lin & 0xfff) === 0xfff) return this.readLin8(lin) | (this.readLin8((lin + 1) | 0) << 8);
    const p = this.translate(lin, false, this.cpl === 3);
    if (this.watching !== 0) this.watchAccess(lin, 2, WatchKind.Read);
    return this.physRead16(p);
  }

  private readLin32Slow(lin: number): number {
    this.checkAlignment(lin, 4);
    if ((lin & 0xfff) > 0xffc) {
      let v = 0;
      for (let i = 3; i >= 0; i--) v = (v << 8) | this.readLin8((lin + i) | 0);
      return v;
    }
    const p = this.translate(lin, false, this.cpl === 3);
    if (this.watching !== 0) this.watchAccess(lin, 4, WatchKind.Read);
    return this.physRead32(p);
  }

  writeLin8(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0) this.mem8[(e & ~0xfff) | (lin & 0xfff)] = v;
    else this.writeLin8Slow(lin, v);
  }

  private writeLin8Slow(lin: number, v: number): void {
    const p = this.translate(lin, true, this.cpl === 3);
    if (this.watching !== 0) this.watchAccess(lin, 1, WatchKind.Write);
    this.physWrite8(p, v);
  }

  writeLin16(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.mem8[p] = v;
      this.mem8[p + 1] = v >> 8;
    } else this.writeSlow(lin, v, 2);
  }

  writeLin32(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12];
    if (e !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) this.mem32[p >>> 2] = v;
      else {
        const m = this.mem8;
        m[p] = v;
        m[p + 1] = v >> 8;
        m[p + 2] = v >> 16;
        m[p + 3] = v >> 24;
      }
    } else this.writeSlow(lin, v, 4);
  }

  /** A write that may cross a page or miss the TLB: translate every page before writing. */
  private writeSlow(lin: number, v: number, size: number): void {
    this.checkAlignment(lin, size);
    const user = this.cpl === 3;
    const p0 = this.translate(lin, true, user);
    const last = (lin + size - 1) | 0;
    if ((last ^ lin) >>> 12 === 0) {
      if (this.watching !== 0) this.watchAccess(lin, size, WatchKind.Write);
      if (size === 2) this.physWrite16(p0, v);
      else this.physWrite32(p0, v);
      return;
    }
    const p1 = this.translate(last & ~0xfff, true, user);
    if (this.watching !== 0) this.watchAccess(lin, size, WatchKind.Write);
    for (let i = 0; i < size; i++) {
      const a = (lin + i) | 0;
      this.physWrite8((a ^ lin) >>> 12 === 0 ? p0 + i : p1 + (a & 0xfff), v >>> (8 * i));
    }
  }

  // Supervisor ("system") accesses: descriptor tables, the TSS, the IDT — privileged even
  // when CPL is 3.
  sysRead8(lin: number): number {
    const e = this.tlbSR[lin >>> 12];
    if (e !== 0) return this.mem8[(e & ~0xfff) | (lin & 0xfff)];
    return this.physRead8(this.translate(lin, false, false));
  }
  sysRead16(lin: number): number {
    return this.sysRead8(lin) | (this.sysRead8((lin + 1) | 0) << 8);
  }
  sysRead32(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) {
      const e = this.tlbSR[lin >>> 12];
      const p = e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.translate(lin, false, false);
      return this.physRead32(p);
    }
    return this.sysRead16(lin) | (this.sysRead16((lin + 2) | 0) << 16);
  }
  sysWrite8(lin: number, v: number): void {
    const e = this.tlbSW[lin >>> 12];
    this.physWrite8(e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.translate(lin, true, false), v);
  }
  sysWrite16(lin: number, v: number): void {
    this.sysWrite8(lin, v);
    this.sysWrite8((lin + 1) | 0, v >> 8);
  }
  sysWrite32(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) {
      const e = this.tlbSW[lin >>> 12];
      this.physWrite32(e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.translate(lin, true, false), v);
    } else {
      this.sysWrite16(lin, v);
      this.sysWrite16((lin + 2) | 0, v >>> 16);
    }
  }

  // ------------------------------------------------------------------ segmented memory

  /** Linear address of a `size`-byte read at `off` through `seg`, after the limit check. */
  linR(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (o < this.segRdLo[seg] || o + size - 1 > this.segRdHi[seg]) this.segViolation(seg);
    return (this.segBase[seg] + o) | 0;
  }

  linW(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (o < this.segWrLo[seg] || o + size - 1 > this.segWrHi[seg]) this.segViolation(seg);
    return (this.segBase[seg] + o) | 0;
  }

  rd8(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRdLo[seg] || o > this.segRdHi[seg]) this.segViolation(seg);
    return this.readLin8((this.segBase[seg] + o) | 0);
  }
  rd16(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRdLo[seg] || o + 1 > this.segRdHi[seg]) this.segViolation(seg);
    return this.readLin16((this.segBase[seg] + o) | 0);
  }
  rd32(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRdLo[seg] || o + 3 > this.segRdHi[seg]) this.segViolation(seg);
    return this.readLin32((this.segBase[seg] + o) | 0);
  }
  wr8(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWrLo[seg] || o > this.segWrHi[seg]) this.segViolation(seg);
    this.writeLin8((this.segBase[seg] + o) | 0, v);
  }
  wr16(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWrLo[seg] || o + 1 > this.segWrHi[seg]) this.segViolation(seg);
    this.writeLin16((this.segBase[seg] + o) | 0, v);
  }
  wr32(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWrLo[seg] || o + 3 > this.segWrHi[seg]) this.segViolation(seg);
    this.writeLin32((this.segBase[seg] + o) | 0, v);
  }

  // Read-modify-write: check and translate for writing once, read, then write back.
  rmwRead8(seg: number, off: number): number {
    const lin = this.linW(seg, off, 1);
    const e = this.tlbW[lin >>> 12];
    const p = e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.rmwTranslate(lin, 1);
    this.rmwPhys = p;
    return this.physRead8(p);
  }
  rmwWrite8(v: number): void {
    this.physWrite8(this.rmwPhys, v);
  }
  rmwRead16(seg: number, off: number): number {
    const lin = this.linW(seg, off, 2);
    if (this.alignCheck) this.checkAlignment(lin, 2);
    if ((lin & 0xfff) === 0xfff) return this.rmwSplit(lin, 2);
    const e = this.tlbW[lin >>> 12];
    const p = e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.rmwTranslate(lin, 2);
    this.rmwPhys = p;
    return this.physRead16(p);
  }
  rmwWrite16(v: number): void {
    if (this.rmwPhys >= 0) {
      if (this.rmwPhys + 1 < this.memSize) {
        if (this.tableUse[this.rmwPhys >>> 12] !== 0) this.tableWrite(this.rmwPhys, 2, v);
        this.mem8[this.rmwPhys] = v;
        this.mem8[this.rmwPhys + 1] = v >> 8;
      }
    } else this.writeSlow(this.rmwLin, v, 2);
  }
  rmwRead32(seg: number, off: number): number {
    const lin = this.linW(seg, off, 4);
    if (this.alignCheck) this.checkAlignment(lin, 4);
    if ((lin & 0xfff) > 0xffc) return this.rmwSplit(lin, 4);
    const e = this.tlbW[lin >>> 12];
    const p = e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.rmwTranslate(lin, 4);
    this.rmwPhys = p;
    return this.physRead32(p);
  }
  rmwWrite32(v: number): void {
    if (this.rmwPhys >= 0) this.physWrite32(this.rmwPhys, v);
    else this.writeSlow(this.rmwLin, v, 4);
  }
  /** An RMW operand that missed the TLB: translate it for writing (a watched page checks). */
  private rmwTranslate(lin: number, size: number): number {
    const p = this.translate(lin, true, this.cpl === 3);
    if (this.watching !== 0) this.watchAccess(lin, size, WatchKind.Access);
    return p;
  }

  /** An RMW operand that crosses a page: both pages must be writable before anything. */
  private rmwSplit(lin: number, size: number): number {
    const user = this.cpl === 3;
    this.translate(lin, true, user);
    this.translate(((lin + size - 1) | 0) & ~0xfff, true, user);
    if (this.watching !== 0) this.watchAccess(lin, size, WatchKind.Access);
    this.rmwPhys = -1;
    this.rmwLin = lin;
    return size === 2 ? this.readLin16(lin) : this.readLin32(lin);
  }

  // ------------------------------------------------------------------ instruction fetch

  fetch8(): number {
    const off = (this.eip - this.fetchEip) >>> 0;
    if (off < this.fetchLen) {
      this.eip = (this.eip + 1) | 0;
      return this.mem8[this.fetchPhys + off];
    }
    return this.fetchSlow(1);
  }

  fetch16(): number {
    const off = (this.eip - this.fetchEip) >>> 0;
    if (off + 1 < this.fetchLen) {
      this.eip = (this.eip + 2) | 0;
      const p = this.fetchPhys + off;
      return this.mem8[p] | (this.mem8[p + 1] << 8);
    }
    return this.fetchSlow(2);
  }

  fetch32(): number {
    const off = (this.eip - this.fetchEip) >>> 0;
    if (off + 3 < this.fetchLen) {
      this.eip = (this.eip + 4) | 0;
      const p = this.fetchPhys + off;
      const m = this.mem8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.fetchSlow(4);
  }

  /** Fetch across a window boundary: check the CS limit, translate, refill the window. */
  private fetchSlow(size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const eip = this.eip >>> 0;
      if (eip > this.segLimit[CS]) this.faultCode(13, 0);
      const lin = (this.segBase[CS] + eip) | 0;
      const e = this.tlbR[lin >>> 12];
      const phys = e !== 0 ? (e & ~0xfff) | (lin & 0xfff) : this.translate(lin, false, this.cpl === 3);
      let b: number;
      if (phys < this.memSize) {
        b = this.mem8[phys];
        // Open a window over the rest of this page that the CS limit allows.
        const pageOff = lin & 0xfff;
        const startEip = eip - pageOff;
        if (startEip >= 0) {
          this.fetchEip = startEip | 0;
          this.fetchPhys = (phys - pageOff) | 0;
          // 16-bit code: the byte at IP 0xFFFF goes through here, so IP wraps to 0.
          const end = this.cs32 ? this.segLimit[CS] : Math.min(this.segLimit[CS], 0xfffe);
          this.fetchLen = Math.max(0, Math.min(4096, end - startEip + 1)) | 0;
        } else this.fetchLen = 0;
      } else {
        b = 0xff;
        this.fetchLen = 0;
      }
      this.eip = (this.eip + 1) | 0;
      v |= b << (8 * i);
    }
    if (!this.cs32 && (this.eip & ~0xffff) !== 0) {
      // 16-bit code: IP wraps within the segment.
      this.eip &= 0xffff;
      this.fetchLen = 0;
    }
    return v;
  }

  // ------------------------------------------------------------------ stack

  /** Offset of the stack top as the stack-size attribute sees it. */
  sp(): number {
    return this.ss32 ? this.regs[ESP] : this.regs[ESP] & 0xffff;
  }

  setSp(v: number): void {
    if (this.ss32) this.regs[ESP] = v;
    else this.r16[ESP << 1] = v;
  }

  push16(v: number): void {
    const n = this.ss32 ? (this.regs[ESP] - 2) | 0 : (this.regs[ESP] - 2) & 0xffff;
    this.wr16(SS, n, v);
    this.setSp(n);
  }

  push32(v: number): void {
    const n = this.ss32 ? (this.regs[ESP] - 4) | 0 : (this.regs[ESP] - 4) & 0xffff;
    this.wr32(SS, n, v);
    this.setSp(n);
  }

  pushV(v: number): void {
    if (this.o32) this.push32(v);
    else this.push16(v);
  }

  pop16(): number {
    const sp = this.sp();
    const v = this.rd16(SS, sp);
    this.setSp(sp + 2);
    return v;
  }

  pop32(): number {
    const sp = this.sp();
    const v = this.rd32(SS, sp);
    this.setSp(sp + 4);
    return v;
  }

  popV(): number {
    return this.o32 ? this.pop32() : this.pop16();
  }

  /** Read the stack `depth` bytes above the top without popping. */
  peek16(depth: number): number {
    return this.rd16(SS, this.ss32 ? (this.regs[ESP] + depth) | 0 : (this.regs[ESP] + depth) & 0xffff);
  }
  peek32(depth: number): number {
    return this.rd32(SS, this.ss32 ? (this.regs[ESP] + depth) | 0 : (this.regs[ESP] + depth) & 0xffff);
  }

  // ------------------------------------------------------------------ I/O

  /** Whether CPL/IOPL (and in V86 or CPL > IOPL, the TSS I/O bitmap) allow `size` ports. */
  ioAllowed(port: number, size: number): boolean {
    if (!this.protectedMode) return true;
    const iopl = (this.fl.flags >> 12) & 3;
    if (!this.v86 && this.cpl <= iopl) return true;
    // Consult the I/O permission bitmap of a 32-bit TSS.
    const type = this.segAccess[TR] & 0xf;
    if (type !== 0x9 && type !== 0xb) return false;
    if (this.segLimit[TR] < 0x67) return false;
    const base = this.segBase[TR];
    const mapOff = this.sysRead16((base + 0x66) | 0);
    const byte = mapOff + (port >>> 3);
    if (byte + 1 > this.segLimit[TR]) return false;
    const bits = this.sysRead16((base + byte) | 0);
    const mask = ((1 << size) - 1) << (port & 7);
    return (bits & mask) === 0;
  }

  checkIo(port: number, size: number): void {
    if (!this.ioAllowed(port, size)) this.faultCode(13, 0);
  }
}
