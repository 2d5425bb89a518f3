// What the architecture leaves undefined for one case, so the comparison skips it: the
// table's undefined flags, narrowed where the count makes them defined (shifts by 0 change
// nothing, by 1 define OF) and widened where it makes more undefined (SHL/SHR by the operand
// size or more leave CF undefined); and results such as the upper half of MOV r32,Sreg.

import { type Builder, CF, flagBits, type Loc, OF, OSZAPC } from './builder';
import { BIT_SCANS, DOUBLE_SHIFTS, SHIFTS } from './forms';

/** EFLAGS bits not compared: the form's undefined flags, narrowed or widened per case. */
export function undefinedFlags(b: Builder): number {
  const m = b.form.mnemonic;
  let undef = flagBits(b.form.flags?.undefined);
  if ((SHIFTS.has(m) || DOUBLE_SHIFTS.has(m)) && b.countValue >= 0) {
    const c = b.countValue & 31;
    const bits = DOUBLE_SHIFTS.has(m) ? b.osz : regSizeOfDest(b) * 8;
    // A masked count of 0 changes no flag; a count of 1 defines OF.
    if (c === 0) undef = 0;
    else if (c === 1) undef &= ~OF;
    if ((m === 'shl' || m === 'sal' || m === 'shr') && c >= bits) undef |= CF;
    if (DOUBLE_SHIFTS.has(m) && c > bits) undef |= OSZAPC;
  }
  return undef;
}

function regSizeOfDest(b: Builder): number {
  const op = b.form.operands[0];
  return op === 'Eb' ? 1 : op === 'Ew' ? 2 : op === 'Ed' ? 4 : b.osz / 8;
}

/** Register and memory results the architecture leaves undefined for this case. */
export function undefinedResults(b: Builder, locs: Loc[]): void {
  const m = b.form.mnemonic;
  const ops = b.form.operands;
  const ignore = (loc: Loc): void => {
    if (loc.kind === 'reg') {
      const full = loc.size === 1 ? loc.r & 3 : loc.r;
      const bits = loc.size === 1 ? (loc.r < 4 ? 0xff : 0xff00) : loc.size === 2 ? 0xffff : 0xffffffff;
      b.regMask[full] = (b.regMask[full] & ~bits) >>> 0;
    } else if (loc.kind === 'mem') b.memIgnore.push([loc.t, loc.size]);
  };
  // BSF/BSR of zero: Intel calls the destination undefined; the table, this core and the
  // host (AMD documents it) leave it unchanged, so it is compared.
  if (BIT_SCANS.has(m) && b.read(locs[1]) === 0) b.notes.push('zero source');
  // SHLD/SHRD of a 16-bit operand by more than 16.
  if (DOUBLE_SHIFTS.has(m) && b.osz === 16 && (b.countValue & 31) > 16) ignore(locs[0]);
  // MOV r32, Sreg: the upper half is zero on newer CPUs, undefined on the 386/486.
  if (m === 'mov' && ops[1] === 'Sw' && locs[0].kind === 'reg' && b.osz === 32) {
    b.regMask[locs[0].r] &= 0xffff;
  }
  // PUSH Sreg with a 32-bit operand size: the upper two bytes of the slot are either zero or
  // left alone, depending on the processor.
  if (
    m === 'push' &&
    ops.length === 1 &&
    ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].includes(ops[0]) &&
    b.osz === 32 &&
    b.stackT >= 2
  ) {
    b.memIgnore.push([b.stackT - 2, 2]);
  }
}
