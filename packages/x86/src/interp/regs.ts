// Register numbers, control-register bits and run-loop event bits shared by every file of
// the interpreter. This module imports nothing, so it can be initialised before any other.

export const EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7;
export const ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
  LDTR = 6,
  TR = 7;

/** Index into the byte view of the register file for 8-bit register number r (AL..BH). */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

export const CR0_PE = 0x1,
  CR0_MP = 0x2,
  CR0_EM = 0x4,
  CR0_TS = 0x8,
  CR0_ET = 0x10,
  CR0_NE = 0x20,
  CR0_WP = 0x10000,
  CR0_AM = 0x40000,
  CR0_NW = 0x20000000,
  CR0_CD = 0x40000000,
  CR0_PG = 0x80000000 | 0;
export const CR4_VME = 0x1,
  CR4_PVI = 0x2,
  CR4_TSD = 0x4,
  CR4_DE = 0x8,
  CR4_PSE = 0x10;

/** Thrown (always this one object) to abandon an instruction that faulted. */
export const FAULT = { fault: true } as const;

// Events checked at instruction boundaries (Cpu.events).
export const EV_EXIT = 1,
  EV_IRQ = 2,
  EV_TRAP = 4,
  EV_BREAK = 8,
  EV_STOP = 16,
  EV_SHADOW = 32,
  /** RDTSC executed: its result is completed at the boundary (see Cpu.completeRdtsc). */
  EV_RDTSC = 64,
  /**
   * The per-instruction decode state (operand/address size, segment override, REP) differs
   * from the defaults of the current code segment: set by a prefix, or by a change of CS.
   * The boundary restores the defaults, so unprefixed instructions never store them.
   */
  EV_DECODE = 128,
  /**
   * Watchpoints are set (Cpu.setWatchpoint). The interpreter needs nothing at the boundary
   * for them (its slow paths check), but a core that runs code its own way (the block
   * compiler) goes one interpreted instruction at a time while it is set.
   */
  EV_WATCH = 256;
