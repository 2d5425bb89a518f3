// The x87 state of `CpuCore.saveFpu()` as a debugger shows it: ST(0)–ST(7) in stack order as
// 80-bit extended values, and the control, status (with TOP), full tag, and the last
// instruction's and operand's pointers and opcode — the words FNSAVE stores in protected
// mode, which are also gdb's i386 registers 16–31. And the other way, for a debugger that
// changes one.

import { X87 } from './x87';

export interface X87Registers {
  /** ST(0)–ST(7), 10 bytes each, little-endian: the 64-bit significand, then sign and exponent. */
  readonly st: Uint8Array;
  /** Control word. */
  fctrl: number;
  /** Status word, TOP included. */
  fstat: number;
  /** The full tag word (two bits a physical register: 00 valid, 01 zero, 10 special, 11 empty). */
  ftag: number;
  /** Code selector and offset of the last non-control instruction. */
  fiseg: number;
  fioff: number;
  /** Data selector and offset of its memory operand. */
  foseg: number;
  fooff: number;
  /** Its opcode (11 bits). */
  fop: number;
}

/** `state` (a saveFpu() image, or null for the FNINIT state) as a debugger's registers. */
export function x87Registers(state: Int32Array | null): X87Registers {
  const f = new X87();
  f.restore(state);
  const st = new Uint8Array(80);
  const view = new DataView(st.buffer);
  for (let i = 0; i < 8; i++) {
    const p = f.phys(i);
    view.setUint32(i * 10, f.lo[p], true);
    view.setUint32(i * 10 + 4, f.hi[p], true);
    view.setUint16(i * 10 + 8, f.se[p], true);
  }
  return {
    st,
    fctrl: f.cw & 0xffff,
    fstat: f.status() & 0xffff,
    ftag: f.tagWord(),
    fiseg: f.fcs & 0xffff,
    fioff: f.fip >>> 0,
    foseg: f.fds & 0xffff,
    fooff: f.fdp >>> 0,
    fop: f.fop & 0x7ff,
  };
}

/**
 * `state` with the registers a debugger set: the values of ST(0)–ST(7) (a register marked
 * empty in `regs.ftag` stays empty, as on the processor), the words and pointers.
 */
export function withX87Registers(state: Int32Array | null, regs: X87Registers): Int32Array {
  const f = new X87();
  f.restore(state);
  f.cw = regs.fctrl & 0xffff;
  f.setStatus(regs.fstat & 0xffff);
  f.setTagWord(regs.ftag & 0xffff);
  const view = new DataView(regs.st.buffer, regs.st.byteOffset, 80);
  for (let i = 0; i < 8; i++) {
    f.set(f.phys(i), view.getUint16(i * 10 + 8, true), view.getUint32(i * 10 + 4, true), view.getUint32(i * 10, true));
  }
  f.fcs = regs.fiseg & 0xffff;
  f.fip = regs.fioff >>> 0;
  f.fds = regs.foseg & 0xffff;
  f.fdp = regs.fooff >>> 0;
  f.fop = regs.fop & 0x7ff;
  f.syncSummary();
  return f.snapshot();
}
