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
