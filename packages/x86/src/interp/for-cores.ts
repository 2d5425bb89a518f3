// What a second core built on the interpreter's state needs from it: the state class itself
// (a compiling core extends `Cpu`, so both share one register file, TLB and descriptor
// caches), one-instruction execution for whatever it does not translate, exception
// delivery, and the arithmetic helpers whose flag records it must reproduce exactly.
// Nothing here is for hosts: they use the `CpuCore` contract.

export { Cpu } from './cpu';
export { execute } from './exec';
export { deliverPending } from './interrupts';
export { Flags, PARITY, OSZAPC, OSZAP, CF, PF, AF, ZF, SF, OF, DF, TF, IF } from './flags';
export { alu, inc, dec, neg, shift, shiftDouble, mul, imul1, imul2, div, idiv, bitScan } from './alu';
export {
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
  R8,
} from './regs';
