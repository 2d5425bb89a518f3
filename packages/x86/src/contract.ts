// The CPU core contract (architecture §4). Everything that executes x86 code in lguest.ts —
// the guest kernel, its user programs, the switcher — runs on something that implements
// `CpuCore`. The host hands a core a `Machine` (physical memory, an I/O port bus, an
// interrupt controller) and calls `run(budget)`; the core returns an `Exit` saying why it
// stopped. Exceptions and interrupts are *not* exits: a core delivers them through the
// IVT/IDT exactly like hardware, because that is how the switcher regains control.
//
// A core's whole architectural state is plain data (`CpuState`), so it can be saved,
// compared with another core's, and moved between cores.

/** Why `run()` returned. */
export const enum Exit {
  /** `budget` instructions retired without any other exit. */
  Budget = 0,
  /** HLT executed with interrupts disabled or no interrupt pending: the CPU sleeps. */
  Halt = 1,
  /** The reserved host-escape instruction executed at CPL 0; see `HOST_ESCAPE_OPCODE`. */
  HostEscape = 2,
  /** A fault occurred while delivering a double fault: the processor shuts down. */
  TripleFault = 3,
  /** EIP reached an address registered with `setBreakpoint` (before executing it). */
  Breakpoint = 4,
  /** `requestStop()` was called (for example from an I/O port handler). */
  Stopped = 5,
  /**
   * An instruction accessed memory watched with `setWatchpoint`; it completed, and EIP is
   * after it (a trap, as x86 data breakpoints are). `CpuCore.watchHit()` says which.
   */
  Watchpoint = 6,
}

/** The accesses a watchpoint stops for (bit 0 writes, bit 1 reads). */
export const enum WatchKind {
  Write = 1,
  Read = 2,
  Access = 3,
}

/** Which watchpoint an `Exit.Watchpoint` was for. */
export interface WatchHit {
  /** The watchpoint as it was set. */
  readonly linear: number;
  readonly length: number;
  readonly kind: WatchKind;
  /** The first watched byte the access touched (linear). */
  readonly address: number;
  /** Whether that access wrote (a read-modify-write counts as a write). */
  readonly write: boolean;
}

/**
 * The host escape is the two bytes `0F 04` followed by an 8-bit code (`0F 04 ib`). The
 * opcode is undefined on every i386/i486, so real hardware raises #UD on it; this core
 * defines it only at CPL 0 (protected mode ring 0, or real mode) and raises #UD elsewhere.
 * When it executes, EIP is left after the instruction and `run()` returns `Exit.HostEscape`
 * with the code in `CpuCore.escapeCode`.
 */
export const HOST_ESCAPE_OPCODE = [0x0f, 0x04] as const;

/** An I/O port bus. Unclaimed ports read as all ones and ignore writes, as on a PC. */
export interface IoBus {
  in8(port: number): number;
  in16(port: number): number;
  in32(port: number): number;
  out8(port: number, value: number): void;
  out16(port: number, value: number): void;
  out32(port: number, value: number): void;
}

/** A bus with nothing on it: every port reads as all ones and writes go nowhere. */
export const EMPTY_IO_BUS: IoBus = Object.freeze({
  in8: (): number => 0xff,
  in16: (): number => 0xffff,
  in32: (): number => 0xffffffff,
  out8: (): void => undefined,
  out16: (): void => undefined,
  out32: (): void => undefined,
});

/**
 * The interrupt controller seen from the CPU: the INTR line and the INTA cycle. The core
 * samples `intrPending()` only after the host raised `CpuCore.irqLine`, so a controller
 * must set `core.irqLine = true` when it has something to deliver (and may clear it).
 */
export interface InterruptController {
  /** Whether an interrupt is waiting (the INTR line is high). */
  intrPending(): boolean;
  /** The interrupt acknowledge cycle: returns the vector and marks it in service. */
  acknowledge(): number;
}

/** The machine a core executes against. */
export interface Machine {
  /** All of physical memory, starting at physical address 0; a multiple of 4 KiB. */
  readonly memory: ArrayBuffer;
  readonly io: IoBus;
  readonly pic?: InterruptController;
  /** Time-stamp counter for RDTSC; defaults to instructions retired since reset. */
  readTsc?(): bigint;
  /**
   * FERR#: a waiting x87 instruction found an unmasked exception pending while CR0.NE is
   * clear. A PC routes it to IRQ 13; the instruction then proceeds (as with IGNNE#).
   */
  ferr?(): void;
}

/** A segment register with its hidden descriptor cache. */
export interface SegmentState {
  selector: number;
  /** Linear base address (unsigned 32-bit). */
  base: number;
  /** Byte-granular limit (the descriptor limit already scaled by G; unsigned 32-bit). */
  limit: number;
  /**
   * Access rights as bits 8–23 of the descriptor's high dword, shifted down by 8:
   * bits 0–3 type, 4 S, 5–6 DPL, 7 P, 12 AVL, 14 D/B, 15 G. 0 marks an unusable
   * (null-loaded) register in protected mode.
   */
  access: number;
}

export interface TableRegister {
  base: number;
  limit: number;
}

/** The architectural state of an i386 core as plain data. All values unsigned 32-bit. */
export interface CpuState {
  eax: number;
  ecx: number;
  edx: number;
  ebx: number;
  esp: number;
  ebp: number;
  esi: number;
  edi: number;
  eip: number;
  eflags: number;
  es: SegmentState;
  cs: SegmentState;
  ss: SegmentState;
  ds: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  ldtr: SegmentState;
  tr: SegmentState;
  gdtr: TableRegister;
  idtr: TableRegister;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  dr: number[];
  /** Current privilege level (0–3). */
  cpl: number;
  /** True while the CPU sleeps in HLT waiting for an interrupt. */
  halted: boolean;
  /** Instructions retired since reset (the default time-stamp counter). */
  instructions: number;
}

/** Segment register numbers, in the ModRM `sreg` encoding order. */
export const enum Seg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
}

/** Exception vectors. */
export const enum Vector {
  DE = 0,
  DB = 1,
  NMI = 2,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6,
  NM = 7,
  DF = 8,
  TS = 10,
  NP = 11,
  SS = 12,
  GP = 13,
  PF = 14,
  MF = 16,
  AC = 17,
}

/** How `CpuCore.setState` treats what the core has cached. */
export interface SetStateOptions {
  /**
   * Keep what the core caches from memory — the translations (the TLB of every address
   * space) and any code it decoded or compiled — as a CPU does when only registers change.
   * The host vouches that every change since the core last ran to a page directory, a page
   * table or memory holding code was made by the core itself or reported with
   * `invalidatePhysical` (DMA and every other host write into guest memory included).
   * Without it, `setState` drops every translation and a core that caches code rechecks it
   * against memory. Changing CR0.PG, WP or PE or CR4.PSE drops the translations anyway.
   */
  keepTranslations?: boolean;
}

/** What every core implements. */
export interface CpuCore {
  /** The name the host and the CLI (`--cpu NAME`) know this core by. */
  readonly name: string;
  /** Execute until `budget` instructions retired or an exit happens. Never throws for
   *  anything guest code does. */
  run(budget: number): Exit;
  /** Instructions retired by the last `run()`. */
  readonly retired: number;
  /** The 8-bit code of the last host escape. */
  readonly escapeCode: number;
  /** Raised by the interrupt controller when INTR may be asserted; see `InterruptController`. */
  irqLine: boolean;
  /** Power-on/RESET state: real mode, CS:IP = F000:FFF0, everything else cleared. */
  reset(): void;
  getState(): CpuState;
  setState(state: CpuState, options?: SetStateOptions): void;
  /** Ask a running `run()` to return `Exit.Stopped` after the current instruction. */
  requestStop(): void;
  /** Break before executing the instruction at this linear address. */
  setBreakpoint(linear: number): void;
  clearBreakpoint(linear: number): void;
  /**
   * Stop after any instruction whose data access of the given kind touches a byte of
   * [linear, linear+length) (linear addresses, `length` ≥ 1). Like the breakpoints these are
   * the host's, invisible to the guest (its DR0–DR7 are its own), and as many as the host
   * likes. Data accesses are the instruction's own operands, its stack and string accesses,
   * and the stack pushes of an exception or interrupt it raises; instruction fetches and the
   * CPU's descriptor-table, TSS and page-table accesses are not watched. An instruction that
   * faults is not reported (it did not complete). A core must cost nothing for this while
   * no watchpoint is set.
   */
  setWatchpoint(linear: number, length: number, kind: WatchKind): void;
  /** Remove one watchpoint set with the same three values (false if there is none). */
  clearWatchpoint(linear: number, length: number, kind: WatchKind): boolean;
  /** After `Exit.Watchpoint`: which watchpoint, and the address accessed. */
  watchHit(): WatchHit | null;
  /**
   * Physical memory in [phys, phys+length) was changed behind the core's back (DMA, the host
   * writing tables). A core that caches decoded code must drop what covers the range; a core
   * that keeps translations across CR3 loads must drop those built from page-directory or
   * page-table entries in it. A host need not report an entry that was not present before
   * the write (no TLB caches a not-present entry), nor one whose only change is a set
   * accessed or dirty bit.
   */
  invalidatePhysical(phys: number, length: number): void;
  /** Drop every cached translation of every address space (for host-side page-table edits
   *  it would rather not report one by one). */
  flushTlb(): void;
  /**
   * The x87 state (registers, control, status and tag words, instruction and operand
   * pointers) as plain data, for a kernel's FPU context switch; `restoreFpu(null)` gives the
   * FNINIT state. A core without an FPU leaves these out.
   */
  saveFpu?(): Int32Array;
  restoreFpu?(state: Int32Array | null): void;
}

/** A registered core: a name and a factory. The conformance kit runs against each. */
export interface CoreFactory {
  readonly name: string;
  readonly description: string;
  create(machine: Machine): CpuCore;
  /**
   * The same core, hot from the first visit: a core that compiles or caches code only once it
   * is hot does so the first time here. Conformance tests that run each instruction once use
   * it to reach the code the core runs when hot. Cores without such a difference leave it out.
   */
  createHot?(machine: Machine): CpuCore;
}
