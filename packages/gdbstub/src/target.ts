// What the stub debugs: one i386 CPU as a guest sees it. The stub knows nothing of lguest
// or the PC; whoever runs the guest (lg for a guest under lguest, the PC's run loop natively)
// implements this and tells the stub when the guest stops.

/** gdb's i386 core registers, in the order of its `g` packet. */
export const I386_REGISTERS = [
  'eax',
  'ecx',
  'edx',
  'ebx',
  'esp',
  'ebp',
  'esi',
  'edi',
  'eip',
  'eflags',
  'cs',
  'ss',
  'ds',
  'es',
  'fs',
  'gs',
] as const;

export const I386_REGISTER_COUNT = I386_REGISTERS.length;

/** gdb's i386 x87 registers, numbers 16–31, after the core sixteen in the `g` packet. */
export const I387_REGISTERS = [
  'st0',
  'st1',
  'st2',
  'st3',
  'st4',
  'st5',
  'st6',
  'st7',
  'fctrl',
  'fstat',
  'ftag',
  'fiseg',
  'fioff',
  'foseg',
  'fooff',
  'fop',
] as const;

/** The x87 registers as gdb has them (the words FNSAVE stores in protected mode). */
export interface FpuRegisters {
  /** ST(0)–ST(7) in stack order, 10 bytes each, little-endian (significand, then sign and exponent). */
  readonly st: Uint8Array;
  fctrl: number;
  /** Status word, TOP included. */
  fstat: number;
  /** The full 16-bit tag word. */
  ftag: number;
  fiseg: number;
  fioff: number;
  foseg: number;
  fooff: number;
  fop: number;
}

/** Why the guest stopped. */
export type StopReason =
  /** At a breakpoint, after a single step, or before its first instruction (-S). */
  | { readonly kind: 'trap' }
  /**
   * After an instruction whose data access hit a watchpoint: its kind (as inserted) and the
   * first watched byte the access touched.
   */
  | { readonly kind: 'watch'; readonly watch: WatchpointKind; readonly address: number }
  /** Stopped because the debugger asked (Ctrl-C). */
  | { readonly kind: 'interrupted' }
  /** The guest ended (powered off, died): it cannot be debugged any more. */
  | { readonly kind: 'exited'; readonly status: number };

export type BreakpointKind = 'software' | 'hardware';

/** gdb's Z2 (`watch`), Z3 (`rwatch`) and Z4 (`awatch`): stop after a write, a read, either. */
export type WatchpointKind = 'write' | 'read' | 'access';

export interface DebugTarget {
  /** Fill `regs` (I386_REGISTER_COUNT values) with the stopped guest's registers. */
  readRegisters(regs: Uint32Array): void;
  /** Change register `index` (I386_REGISTERS order) of the stopped guest; false if it may not be. */
  writeRegister(index: number, value: number): boolean;
  /** The stopped guest's x87 registers, or null if its CPU has no FPU (gdb then sees none). */
  readFpu(): FpuRegisters | null;
  /** Set them (all at once; the stub reads, changes what gdb wrote, and writes back). */
  writeFpu(regs: FpuRegisters): boolean;
  /**
   * Copy guest memory at virtual address `addr` (through the guest's own page tables) into
   * `dest`; returns how many bytes were copied before the first unmapped page.
   */
  readMemory(addr: number, dest: Uint8Array): number;
  /** Write guest memory at virtual `addr`; returns the bytes written before the first unmapped page. */
  writeMemory(addr: number, bytes: Uint8Array): number;
  /** Stop before executing the instruction at virtual `addr`. False if it cannot. */
  insertBreakpoint(kind: BreakpointKind, addr: number): boolean;
  removeBreakpoint(kind: BreakpointKind, addr: number): boolean;
  /**
   * Stop after any instruction whose data access of this kind touches [addr, addr+length)
   * (virtual addresses), reporting it as a 'watch' stop. False if it cannot.
   */
  insertWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean;
  removeWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean;
  /** Let the stopped guest run (`step`: one instruction); it reports its next stop. */
  resume(step: boolean): void;
  /** Ask the running guest to stop; it reports the stop as 'interrupted'. */
  interrupt(): void;
  /** The debugger went away: remove every breakpoint and watchpoint and let the guest run. */
  detach(): void;
  /** `k`: end the guest. */
  kill(): void;
  /** Whether the guest is stopped now (a newly connected debugger asks). */
  readonly stopped: boolean;
  /** Whether the guest has ended. */
  readonly exited: number | null;
}
