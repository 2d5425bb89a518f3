// The coprocessor escapes D8–DF: decoding of every x87 form and its execution against the
// FPU of fpu/x87.ts — the register stack with its tags, stack faults, the masked and
// unmasked exception responses, memory operands in every format, and the environment and
// state images of FLDENV/FNSTENV/FRSTOR/FNSAVE in their 16/32-bit real/protected layouts.
//
// An instruction computes into scratch slots first and writes memory before it changes any
// FPU state, so a page fault on a store leaves the FPU as it was.

import { type Cpu } from './cpu';
import { EAX, CS, CR0_NE } from './regs';
import { CF, PF, ZF, OSZAPC } from './flags';
import { ea } from './modrm';
import { X87, Cls, IE, DE, ZE, OE, UE, SF, C0, C1, C2, C3, CC, T0, T1, RES, RES2, K } from '../fpu/x87';
import { trig, ylog2, atan2x, exp2m1 } from '../fpu/transcendental';

const UNMASK_NO_WRITE = IE | DE | ZE;
const BCD = new Uint8Array(10);

/** The pending-exception check of every waiting instruction (and WAIT): #MF with CR0.NE,
 *  otherwise FERR# to the platform (IRQ 13 on a PC), and the instruction proceeds. */
export function fpuCheckPending(c: Cpu): void {
  if ((c.fpu.sw & 0x80) === 0) return;
  if (c.cr0 & CR0_NE) c.fault(16);
  c.ferr();
}

/** Begin an instruction: no exceptions, no rounding yet. */
function begin(f: X87): void {
  f.flags = 0;
  f.up = 0;
}

/** Merge the instruction's exceptions into the status word; C1 from the rounding. */
function commitFlags(f: X87): void {
  const fl = f.flags;
  f.sw = (f.sw & ~C1) | (fl & 0x7f);
  if (f.up) f.sw |= C1;
  f.syncSummary();
}

function unmasked(f: X87, bits: number): boolean {
  return (f.flags & ~f.cw & bits) !== 0;
}

/** Stack underflow: IE|SF with C1 = 0; with IE masked the result is the indefinite. */
function stackUnderflow(f: X87): void {
  f.flags |= IE | SF;
  f.up = 0;
  f.setIndefinite(RES);
}

function pop(f: X87): void {
  f.empty |= 1 << f.top;
  f.top = (f.top + 1) & 7;
}

/** Push slot s (a stack overflow pushes the indefinite when masked, nothing otherwise). */
function push(f: X87, s: number): void {
  const p = (f.top - 1) & 7;
  if ((f.empty & (1 << p)) === 0) {
    f.flags |= IE | SF;
    f.up = 1;
    if (f.cw & IE) {
      f.top = p;
      f.setIndefinite(p);
    }
    return;
  }
  f.top = p;
  f.copy(p, s);
  f.empty &= ~(1 << p);
}

/**
 * An instruction that replaces ST0 (physical p0) and, when pushes, pushes a second result
 * (FXTRACT, FPTAN, FSINCOS push; FSIN, FCOS do not), finding ST0 empty: stack underflow;
 * masked, the indefinite goes to ST0 and, when pushes, is pushed as well. Flags are
 * committed.
 */
function twoResultsUnderflow(f: X87, p0: number, pushes: boolean): void {
  stackUnderflow(f);
  if (!unmasked(f, IE)) {
    f.copy(p0, RES);
    f.empty &= ~(1 << p0);
    if (pushes) push(f, RES);
  }
  f.up = 0;
  commitFlags(f);
}

/**
 * FXTRACT, FPTAN, FSINCOS with ST7 in use, so no room for the second result: stack
 * overflow; masked, ST0 and the pushed register both become the indefinite. Flags are
 * committed.
 */
function twoResultsOverflow(f: X87, p0: number): void {
  f.flags |= IE | SF;
  f.up = 1;
  if (!unmasked(f, IE)) {
    f.setIndefinite(p0);
    f.top = (f.top - 1) & 7;
    f.setIndefinite(f.phys(0));
    f.empty &= ~(1 << f.phys(0));
  }
  commitFlags(f);
}

/** Write RES to physical register p unless an unmasked IE/DE/ZE forbids it; pop after. */
function writeResult(f: X87, p: number, popAfter: boolean): void {
  if (unmasked(f, UNMASK_NO_WRITE)) return;
  f.copy(p, RES);
  f.empty &= ~(1 << p);
  if (popAfter) pop(f);
}

/** The arithmetic group shared by D8/DC/DA/DE: op 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr. */
function arith(f: X87, kind: number, x: number, y: number): void {
  switch (kind) {
    case 0:
      f.add(x, y, false);
      break;
    case 1:
      f.mul(x, y);
      break;
    case 4:
      f.add(x, y, true);
      break;
    case 5:
      f.add(y, x, true);
      break;
    case 6:
      f.div(x, y);
      break;
    default:
      f.div(y, x);
      break;
  }
}

/** Compare outcome (0 >, 1 <, 2 =, 3 unordered) to C3 C2 C0. */
const CMP_CC = [0, C0, C3, C3 | C2 | C0];
/** ... and to ZF PF CF for FCOMI. */
const CMP_EFLAGS = [0, CF, ZF, ZF | PF | CF];

/** Comparisons set the condition codes even when an exception is unmasked. */
function setCompareCC(f: X87, r: number): void {
  f.sw = (f.sw & ~CC) | CMP_CC[r];
}

/** Load a memory operand of an arithmetic escape (D8 m32, DC m64, DA m32int, DE m16int) into T0. */
function loadArithOperand(c: Cpu, op: number, seg: number, off: number): Cls {
  const f = c.fpu;
  switch (op) {
    case 0xd8:
      return f.fromF32(T0, c.rd32(seg, off));
    case 0xdc: {
      const lo = c.rd32(seg, off);
      const hi = c.rd32(seg, (off + 4) | 0);
      return f.fromF64(T0, hi >>> 0, lo >>> 0);
    }
    case 0xda:
      f.fromInt32(T0, c.rd32(seg, off));
      return Cls.Normal;
    default:
      f.fromInt32(T0, (c.rd16(seg, off) << 16) >> 16);
      return Cls.Normal;
  }
}

function memArith(c: Cpu, op: number, kind: number, seg: number, off: number): void {
  const f = c.fpu;
  const cls = loadArithOperand(c, op, seg, off);
  begin(f);
  const st0 = f.phys(0);
  if (f.isEmpty(0)) {
    stackUnderflow(f);
    if (kind === 2 || kind === 3) {
      f.sw = (f.sw & ~CC) | C3 | C2 | C0;
      commitFlags(f);
      if (kind === 3 && !unmasked(f, IE)) pop(f);
      return;
    }
    writeResult(f, st0, false);
    commitFlags(f);
    return;
  }
  // A denormal single or double is a normal extended number: mark it for classify().
  f.memDenormal = cls === Cls.Denormal ? T0 : -1;
  if (kind === 2 || kind === 3) {
    const r = f.compare(st0, T0, false);
    f.memDenormal = -1;
    setCompareCC(f, r);
    commitFlags(f);
    f.sw &= ~C1;
    if (kind === 3 && !unmasked(f, IE | DE)) pop(f);
    return;
  }
  arith(f, kind, st0, T0);
  f.memDenormal = -1;
  writeResult(f, st0, false);
  commitFlags(f);
}

/** Register forms of D8/DC/DE: ST(0) op ST(i) into ST(0) (D8) or ST(i) (DC, DE with pop). */
function regArith(c: Cpu, op: number, kind: number, i: number): void {
  const f = c.fpu;
  begin(f);
  const p0 = f.phys(0),
    pi = f.phys(i);
  const toSti = op !== 0xd8;
  const popAfter = op === 0xde;
  if (f.isEmpty(0) || f.isEmpty(i)) {
    stackUnderflow(f);
    writeResult(f, toSti ? pi : p0, popAfter);
    commitFlags(f);
    return;
  }
  // DC/DE with ST(i) as the destination: /4 (E0) is ST(0) - ST(i), /5 (E8) ST(i) - ST(0),
  // as in D8; only where the result goes differs.
  arith(f, kind, p0, pi);
  writeResult(f, toSti ? pi : p0, popAfter);
  commitFlags(f);
}

function regCompare(c: Cpu, i: number, pops: number, unordered: boolean, eflags: boolean): void {
  const f = c.fpu;
  begin(f);
  let r: number;
  if (f.isEmpty(0) || f.isEmpty(i)) {
    f.flags |= IE | SF;
    r = 3;
  } else r = f.compare(f.phys(0), f.phys(i), unordered);
  const c1 = f.sw & C1;
  if (eflags) c.fl.setStatus(CMP_EFLAGS[r], OSZAPC);
  else setCompareCC(f, r);
  commitFlags(f);
  // FCOM clears C1; FCOMI leaves it, except that a stack fault clears it.
  f.sw &= ~C1;
  if (eflags && (f.flags & SF) === 0) f.sw |= c1;
  if (unmasked(f, IE | DE)) return;
  for (let k = 0; k < pops; k++) pop(f);
}

// ---------------------------------------------------------------- stores

function storeChecks(f: X87): boolean {
  // An unmasked invalid, overflow or underflow stores nothing and does not pop.
  return !unmasked(f, IE | OE | UE);
}

/** Write the 64-bit conversion result r1:r0 to memory. */
function store64(c: Cpu, seg: number, off: number): void {
  const f = c.fpu;
  // Check both dwords are writable before the first is written.
  c.linW(seg, (off + 4) | 0, 4);
  c.wr32(seg, off, f.r0);
  c.wr32(seg, (off + 4) | 0, f.r1);
}

/** FST/FSTP/FIST/FISTP/FBSTP/FSTP m80 to memory: `kind` names the format. */
function storeMem(c: Cpu, kind: number, seg: number, off: number, popAfter: boolean): void {
  const f = c.fpu;
  begin(f);
  const p0 = f.phys(0);
  const empty = f.isEmpty(0);
  if (empty) {
    f.flags |= IE | SF;
    f.setIndefinite(T1);
  } else f.copy(T1, p0);
  switch (kind) {
    case 0: // m32fp
      f.toF32(T1);
      if (storeChecks(f)) c.wr32(seg, off, f.r0);
      break;
    case 1: // m64fp
      f.toF64(T1);
      if (storeChecks(f)) store64(c, seg, off);
      break;
    case 2: // m16int
      f.toInt(T1, 16);
      if (storeChecks(f)) c.wr16(seg, off, f.r0);
      break;
    case 3: // m32int
      f.toInt(T1, 32);
      if (storeChecks(f)) c.wr32(seg, off, f.r0);
      break;
    case 4: // m64int
      f.toInt(T1, 64);
      if (storeChecks(f)) store64(c, seg, off);
      break;
    case 5: // m80fp
      if (storeChecks(f)) {
        c.linW(seg, (off + 8) | 0, 2);
        c.wr32(seg, off, f.lo[T1]);
        c.wr32(seg, (off + 4) | 0, f.hi[T1]);
        c.wr16(seg, (off + 8) | 0, f.se[T1]);
      }
      break;
    default: // m80bcd
      f.toBcd(T1, BCD);
      if (storeChecks(f)) {
        c.linW(seg, (off + 8) | 0, 2);
        for (let i = 0; i < 10; i++) c.wr8(seg, (off + i) | 0, BCD[i]);
      }
      break;
  }
  if (empty) f.up = 0;
  commitFlags(f);
  if (popAfter && storeChecks(f)) pop(f);
}

/** FLD m32/m64/m80, FILD, FBLD: the value is in T0 already; `cls` its memory class. */
function loadPush(c: Cpu, cls: Cls): void {
  const f = c.fpu;
  begin(f);
  if (!f.isEmpty(7)) {
    // Stack overflow takes precedence over anything about the operand.
    push(f, T0);
    commitFlags(f);
    return;
  }
  if (cls === Cls.SNaN) {
    f.flags |= IE;
    f.hi[T0] = (f.hi[T0] | 0x40000000) >>> 0;
  } else if (cls === Cls.Denormal) f.flags |= DE;
  if (!unmasked(f, IE | DE)) push(f, T0);
  if ((f.flags & SF) === 0) f.up = 0;
  commitFlags(f);
}

// ---------------------------------------------------------------- environment

/** FNSTENV / the first part of FNSAVE. Returns the size of the environment. */
function storeEnv(c: Cpu, seg: number, off: number): number {
  const f = c.fpu;
  const sw = f.status(),
    tw = f.tagWord();
  const real = !c.protectedMode || c.v86;
  if (c.o32) {
    c.linW(seg, (off + 27) | 0, 1);
    c.wr32(seg, off, f.cw | 0xffff0000);
    c.wr32(seg, (off + 4) | 0, sw | 0xffff0000);
    c.wr32(seg, (off + 8) | 0, tw | 0xffff0000);
    if (real) {
      const ip = (f.fip + (f.fcs << 4)) >>> 0;
      const dp = (f.fdp + (f.fds << 4)) >>> 0;
      c.wr32(seg, (off + 12) | 0, (ip & 0xffff) | 0xffff0000);
      c.wr32(seg, (off + 16) | 0, ((ip >>> 16) << 12) | (f.fop & 0x7ff));
      c.wr32(seg, (off + 20) | 0, (dp & 0xffff) | 0xffff0000);
      c.wr32(seg, (off + 24) | 0, (dp >>> 16) << 12);
    } else {
      c.wr32(seg, (off + 12) | 0, f.fip);
      c.wr32(seg, (off + 16) | 0, (f.fcs & 0xffff) | ((f.fop & 0x7ff) << 16));
      c.wr32(seg, (off + 20) | 0, f.fdp);
      c.wr32(seg, (off + 24) | 0, (f.fds & 0xffff) | 0xffff0000);
    }
    return 28;
  }
  c.linW(seg, (off + 13) | 0, 1);
  c.wr16(seg, off, f.cw);
  c.wr16(seg, (off + 2) | 0, sw);
  c.wr16(seg, (off + 4) | 0, tw);
  if (real) {
    const ip = (f.fip + (f.fcs << 4)) >>> 0;
    const dp = (f.fdp + (f.fds << 4)) >>> 0;
    c.wr16(seg, (off + 6) | 0, ip & 0xffff);
    c.wr16(seg, (off + 8) | 0, (((ip >>> 16) & 0xf) << 12) | (f.fop & 0x7ff));
    c.wr16(seg, (off + 10) | 0, dp & 0xffff);
    c.wr16(seg, (off + 12) | 0, ((dp >>> 16) & 0xf) << 12);
  } else {
    c.wr16(seg, (off + 6) | 0, f.fip);
    c.wr16(seg, (off + 8) | 0, f.fcs);
    c.wr16(seg, (off + 10) | 0, f.fdp);
    c.wr16(seg, (off + 12) | 0, f.fds);
  }
  return 14;
}

/** FLDENV / the first part of FRSTOR. Reads everything before changing anything. */
function loadEnv(c: Cpu, seg: number, off: number): number {
  const f = c.fpu;
  const real = !c.protectedMode || c.v86;
  let cw: number, sw: number, tw: number, fip: number, fcs: number, fop: number, fdp: number, fds: number;
  let size: number;
  if (c.o32) {
    cw = c.rd16(seg, off);
    sw = c.rd16(seg, (off + 4) | 0);
    tw = c.rd16(seg, (off + 8) | 0);
    const w3 = c.rd32(seg, (off + 12) | 0),
      w4 = c.rd32(seg, (off + 16) | 0),
      w5 = c.rd32(seg, (off + 20) | 0),
      w6 = c.rd32(seg, (off + 24) | 0);
    if (real) {
      fip = (w3 & 0xffff) | ((w4 >>> 12) << 16);
      fop = w4 & 0x7ff;
      fdp = (w5 & 0xffff) | ((w6 >>> 12) << 16);
      fcs = fds = 0;
    } else {
      fip = w3;
      fcs = w4 & 0xffff;
      fop = (w4 >>> 16) & 0x7ff;
      fdp = w5;
      fds = w6 & 0xffff;
    }
    size = 28;
  } else {
    cw = c.rd16(seg, off);
    sw = c.rd16(seg, (off + 2) | 0);
    tw = c.rd16(seg, (off + 4) | 0);
    const w3 = c.rd16(seg, (off + 6) | 0),
      w4 = c.rd16(seg, (off + 8) | 0),
      w5 = c.rd16(seg, (off + 10) | 0),
      w6 = c.rd16(seg, (off + 12) | 0);
    if (real) {
      fip = w3 | ((w4 >>> 12) << 16);
      fop = w4 & 0x7ff;
      fdp = w5 | ((w6 >>> 12) << 16);
      fcs = fds = 0;
    } else {
      fip = w3;
      fcs = w4;
      fop = 0;
      fdp = w5;
      fds = w6;
    }
    size = 14;
  }
  f.cw = cw | 0x40;
  f.setTagWord(tw);
  f.fip = fip >>> 0;
  f.fcs = fcs;
  f.fop = fop;
  f.fdp = fdp >>> 0;
  f.fds = fds;
  f.setStatus(sw);
  return size;
}

function frstor(c: Cpu, seg: number, off: number): void {
  const f = c.fpu;
  const base = (off + (c.o32 ? 28 : 14)) | 0;
  // Read the registers first (into scratch), so a fault leaves the FPU unchanged.
  c.linR(seg, (base + 79) | 0, 1);
  const se = new Uint16Array(8),
    hi = new Uint32Array(8),
    lo = new Uint32Array(8);
  for (let i = 0; i < 8; i++) {
    const at = (base + i * 10) | 0;
    lo[i] = c.rd32(seg, at);
    hi[i] = c.rd32(seg, (at + 4) | 0);
    se[i] = c.rd16(seg, (at + 8) | 0);
  }
  loadEnv(c, seg, off);
  for (let i = 0; i < 8; i++) f.set(f.phys(i), se[i], hi[i], lo[i]);
}

function fnsave(c: Cpu, seg: number, off: number): void {
  const f = c.fpu;
  const base = (off + (c.o32 ? 28 : 14)) | 0;
  c.linW(seg, (base + 79) | 0, 1);
  storeEnv(c, seg, off);
  for (let i = 0; i < 8; i++) {
    const p = f.phys(i);
    const at = (base + i * 10) | 0;
    c.wr32(seg, at, f.lo[p]);
    c.wr32(seg, (at + 4) | 0, f.hi[p]);
    c.wr16(seg, (at + 8) | 0, f.se[p]);
  }
  f.init();
}

// ---------------------------------------------------------------- the escapes

/** Record the instruction (and memory operand) for FSTENV: called by non-control forms. */
function note(c: Cpu, op: number, m: number, seg: number, off: number): void {
  const f = c.fpu;
  f.fip = c.instrStart >>> 0;
  f.fcs = c.segSel[CS];
  f.fop = ((op & 7) << 8) | m;
  if (seg >= 0) {
    f.fdp = off >>> 0;
    f.fds = c.segSel[seg];
  }
}

/** Execute escape `op` (D8–DF) with ModRM `m`, after the CR0.EM/TS check. */
export function x87(c: Cpu, op: number, m: number): void {
  const f = c.fpu;
  const reg = (m >> 3) & 7;
  if (m < 0xc0) {
    const off = ea(c, m);
    const seg = c.eaSeg;
    // Control forms: D9 /4 /5 /6 /7, DD /4 /6 /7 (no pending-exception check for the FN*).
    if (op === 0xd9 && reg >= 4) {
      switch (reg) {
        case 4:
          fpuCheckPending(c);
          loadEnv(c, seg, off);
          return;
        case 5:
          fpuCheckPending(c);
          f.cw = c.rd16(seg, off) | 0x40;
          f.syncSummary();
          return;
        case 6:
          storeEnv(c, seg, off);
          f.cw |= 0x3f;
          f.syncSummary();
          return;
        default:
          c.wr16(seg, off, f.cw);
          return;
      }
    }
    if (op === 0xdd && reg >= 4) {
      switch (reg) {
        case 4:
          fpuCheckPending(c);
          frstor(c, seg, off);
          return;
        case 6:
          fnsave(c, seg, off);
          return;
        case 7:
          c.wr16(seg, off, f.status());
          return;
        default:
          c.fault(6);
      }
    }
    if ((op === 0xd9 && reg === 1) || (op === 0xdb && (reg === 1 || reg === 4 || reg === 6))) c.fault(6);
    if ((op === 0xdd || op === 0xdf) && reg === 1) c.fault(6);
    fpuCheckPending(c);
    memForm(c, op, reg, seg, off);
    note(c, op, m, seg, off);
    return;
  }
  const i = m & 7;
  // Register forms. The non-waiting control ones first.
  if (op === 0xdb && m >= 0xe0 && m <= 0xe7) {
    switch (m) {
      case 0xe0: // FNENI, FNDISI, FNSETPM: no-ops since the 387
      case 0xe1:
      case 0xe4:
        return;
      case 0xe2:
        f.sw &= 0x7f00;
        return;
      case 0xe3:
        f.init();
        return;
      default:
        c.fault(6);
    }
  }
  if (op === 0xdf && reg === 4) {
    if (m !== 0xe0) c.fault(6);
    c.r16[EAX << 1] = f.status();
    return;
  }
  if (!regFormDefined(op, m)) c.fault(6);
  fpuCheckPending(c);
  regForm(c, op, m, reg, i);
  note(c, op, m, -1, 0);
}

/** Whether a register form (mod = 3) of escape `op` exists on a P6. */
function regFormDefined(op: number, m: number): boolean {
  switch (op) {
    case 0xd9:
      return !(m >= 0xd1 && m <= 0xd7) && m !== 0xe2 && m !== 0xe3 && m !== 0xe6 && m !== 0xe7 && m !== 0xef;
    case 0xda:
      return m < 0xe0 || m === 0xe9;
    case 0xdb:
      return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
    case 0xdd:
      return m < 0xf0;
    case 0xde:
      return (m & 0xf8) !== 0xd8 || m === 0xd9;
    case 0xdf:
      return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
    default:
      return true;
  }
}

function memForm(c: Cpu, op: number, reg: number, seg: number, off: number): void {
  const f = c.fpu;
  switch (op) {
    case 0xd8:
    case 0xdc:
    case 0xda:
    case 0xde:
      memArith(c, op, reg, seg, off);
      return;
    case 0xd9:
      if (reg === 0) loadPush(c, f.fromF32(T0, c.rd32(seg, off)));
      else storeMem(c, 0, seg, off, reg === 3);
      return;
    case 0xdd:
      if (reg === 0) {
        const lo = c.rd32(seg, off);
        const hi = c.rd32(seg, (off + 4) | 0);
        loadPush(c, f.fromF64(T0, hi >>> 0, lo >>> 0));
      } else storeMem(c, 1, seg, off, reg === 3);
      return;
    case 0xdb:
      if (reg === 0) {
        f.fromInt32(T0, c.rd32(seg, off));
        loadPush(c, Cls.Normal);
      } else if (reg === 5) {
        const lo = c.rd32(seg, off);
        const hi = c.rd32(seg, (off + 4) | 0);
        f.set(T0, c.rd16(seg, (off + 8) | 0), hi >>> 0, lo >>> 0);
        loadPush(c, Cls.Normal);
      } else if (reg === 7) storeMem(c, 5, seg, off, true);
      else storeMem(c, 3, seg, off, reg === 3);
      return;
    default: // DF
      switch (reg) {
        case 0:
          f.fromInt32(T0, (c.rd16(seg, off) << 16) >> 16);
          loadPush(c, Cls.Normal);
          return;
        case 2:
        case 3:
          storeMem(c, 2, seg, off, reg === 3);
          return;
        case 4:
          for (let k = 0; k < 10; k++) BCD[k] = c.rd8(seg, (off + k) | 0);
          f.fromBcd(T0, BCD);
          loadPush(c, Cls.Normal);
          return;
        case 5: {
          const lo = c.rd32(seg, off);
          const hi = c.rd32(seg, (off + 4) | 0);
          f.fromInt64(T0, hi >>> 0, lo >>> 0);
          loadPush(c, Cls.Normal);
          return;
        }
        case 6:
          storeMem(c, 6, seg, off, true);
          return;
        default:
          storeMem(c, 4, seg, off, true);
          return;
      }
  }
}

/** FCMOVcc condition for DA/DB C0–DF: B, E, BE, U and their negations. */
function fcmovTaken(c: Cpu, op: number, reg: number): boolean {
  let t: boolean;
  switch (reg) {
    case 0:
      t = c.fl.cf() !== 0;
      break;
    case 1:
      t = c.fl.zf() !== 0;
      break;
    case 2:
      t = c.fl.cf() !== 0 || c.fl.zf() !== 0;
      break;
    default:
      t = c.fl.pf() !== 0;
      break;
  }
  return op === 0xda ? t : !t;
}

function regForm(c: Cpu, op: number, m: number, reg: number, i: number): void {
  const f = c.fpu;
  switch (op) {
    case 0xd8:
      if (reg === 2 || reg === 3) regCompare(c, i, reg - 2, false, false);
      else regArith(c, op, reg, i);
      return;
    case 0xdc:
      if (reg === 2 || reg === 3) regCompare(c, i, reg - 2, false, false);
      else regArith(c, op, reg, i);
      return;
    case 0xde:
      if (reg === 2) regCompare(c, i, 1, false, false);
      else if (reg === 3) regCompare(c, 1, 2, false, false);
      else regArith(c, op, reg, i);
      return;
    case 0xda:
      if (m === 0xe9) regCompare(c, 1, 2, true, false);
      else fcmov(c, op, reg, i);
      return;
    case 0xdb:
      if (reg < 4) fcmov(c, op, reg, i);
      else regCompare(c, i, 0, reg === 5, true);
      return;
    case 0xdf:
      if (reg === 0) {
        // FFREEP (undocumented): free ST(i), then pop.
        f.empty |= 1 << f.phys(i);
        f.sw &= ~C1;
        pop(f);
      } else if (reg === 1) fxch(f, i);
      else if (reg === 2 || reg === 3) fstReg(f, i, true);
      else regCompare(c, i, 1, reg === 5, true);
      return;
    case 0xdd:
      switch (reg) {
        case 0:
          f.empty |= 1 << f.phys(i);
          f.sw &= ~C1;
          return;
        case 1:
          fxch(f, i);
          return;
        case 2:
          fstReg(f, i, false);
          return;
        case 3:
          fstReg(f, i, true);
          return;
        case 4:
          regCompare(c, i, 0, true, false);
          return;
        default:
          regCompare(c, i, 1, true, false);
          return;
      }
    default:
      d9Reg(c, m, reg, i);
  }
}

function fcmov(c: Cpu, op: number, reg: number, i: number): void {
  const f = c.fpu;
  begin(f);
  if (f.isEmpty(0) || f.isEmpty(i)) {
    stackUnderflow(f);
    if (!unmasked(f, IE)) {
      // Masked underflow: ST(0) gets the indefinite whether or not the condition holds.
      f.copy(f.phys(0), RES);
      f.empty &= ~(1 << f.phys(0));
    }
    commitFlags(f);
    return;
  }
  // The condition codes are left alone.
  if (fcmovTaken(c, op, reg)) f.copy(f.phys(0), f.phys(i));
}

function fxch(f: X87, i: number): void {
  begin(f);
  const p0 = f.phys(0),
    pi = f.phys(i);
  if (f.isEmpty(0) || f.isEmpty(i)) {
    f.flags |= IE | SF;
    if (unmasked(f, IE)) {
      commitFlags(f);
      return;
    }
    if (f.isEmpty(0)) f.setIndefinite(p0);
    if (f.isEmpty(i)) f.setIndefinite(pi);
    f.empty &= ~((1 << p0) | (1 << pi));
  }
  f.copy(T1, p0);
  f.copy(p0, pi);
  f.copy(pi, T1);
  commitFlags(f);
}

function fstReg(f: X87, i: number, popAfter: boolean): void {
  begin(f);
  const p0 = f.phys(0),
    pi = f.phys(i);
  if (f.isEmpty(0)) {
    stackUnderflow(f);
    writeResult(f, pi, popAfter);
    commitFlags(f);
    return;
  }
  f.copy(pi, p0);
  f.empty &= ~(1 << pi);
  f.sw &= ~C1;
  if (popAfter) pop(f);
}

/** A one-operand ST(0) op that replaces ST(0) with RES (FCHS FABS FSQRT FRNDINT ...). */
function unary(f: X87, compute: (f: X87, p0: number) => void): void {
  begin(f);
  const p0 = f.phys(0);
  if (f.isEmpty(0)) stackUnderflow(f);
  else compute(f, p0);
  writeResult(f, p0, false);
  commitFlags(f);
}

const chs = (f: X87, p0: number): void => {
  f.copy(RES, p0);
  f.se[RES] ^= 0x8000;
};
const abs = (f: X87, p0: number): void => {
  f.copy(RES, p0);
  f.se[RES] &= 0x7fff;
};
const sqrt = (f: X87, p0: number): void => f.sqrt(p0);
const rndint = (f: X87, p0: number): void => f.roundInt(p0);

function d9Reg(c: Cpu, m: number, reg: number, i: number): void {
  const f = c.fpu;
  switch (reg) {
    case 0: {
      // FLD ST(i)
      begin(f);
      if (f.isEmpty(i)) {
        stackUnderflow(f);
        if (!unmasked(f, IE)) push(f, RES);
        f.up = 0;
      } else {
        f.copy(T1, f.phys(i));
        push(f, T1);
      }
      if ((f.flags & SF) === 0) f.up = 0;
      commitFlags(f);
      return;
    }
    case 1:
      fxch(f, i);
      return;
    case 2: // FNOP
      return;
    case 3: {
      // FSTP1 (D9 D8+i, undocumented): FSTP ST(i) without stack faults — an empty ST(0)
      // stores nothing and raises nothing; the pop happens either way.
      if (!f.isEmpty(0)) {
        const pi = f.phys(i);
        f.copy(pi, f.phys(0));
        f.empty &= ~(1 << pi);
      }
      f.sw &= ~C1;
      pop(f);
      return;
    }
  }
  switch (m) {
    case 0xe0:
      unary(f, chs);
      return;
    case 0xe1:
      unary(f, abs);
      return;
    case 0xe4: {
      // FTST
      begin(f);
      let r = 3;
      if (f.isEmpty(0)) f.flags |= IE | SF;
      else {
        f.setZero(K, 0);
        r = f.compare(f.phys(0), K, false);
      }
      setCompareCC(f, r);
      commitFlags(f);
      f.sw &= ~C1;
      return;
    }
    case 0xe5: {
      // FXAM: C1 = sign; C3 C2 C0 = the class.
      const p0 = f.phys(0);
      let cc: number;
      if (f.isEmpty(0)) cc = C3 | C0;
      else {
        switch (f.classify(p0)) {
          case Cls.Unsupported:
            cc = 0;
            break;
          case Cls.QNaN:
          case Cls.SNaN:
            cc = C0;
            break;
          case Cls.Normal:
            cc = C2;
            break;
          case Cls.Inf:
            cc = C2 | C0;
            break;
          case Cls.Zero:
            cc = C3;
            break;
          default:
            cc = C3 | C2;
            break;
        }
      }
      if (f.se[p0] & 0x8000) cc |= C1;
      f.sw = (f.sw & ~CC) | cc;
      return;
    }
    case 0xe8:
    case 0xe9:
    case 0xea:
    case 0xeb:
    case 0xec:
    case 0xed:
    case 0xee:
      begin(f);
      f.loadConst(T1, m === 0xee ? 6 : m - 0xe8);
      push(f, T1);
      if ((f.flags & SF) === 0) f.up = 0;
      commitFlags(f);
      return;
    case 0xf4: {
      // FXTRACT
      begin(f);
      const p0 = f.phys(0);
      if (f.isEmpty(0)) {
        twoResultsUnderflow(f, p0, true);
        return;
      }
      if (!f.isEmpty(7)) {
        twoResultsOverflow(f, p0);
        return;
      }
      f.extract(p0);
      if (!unmasked(f, UNMASK_NO_WRITE)) {
        f.copy(p0, RES2);
        push(f, RES);
      }
      commitFlags(f);
      return;
    }
    case 0xf5:
    case 0xf8: {
      // FPREM1, FPREM
      begin(f);
      const p0 = f.phys(0);
      if (f.isEmpty(0) || f.isEmpty(1)) {
        stackUnderflow(f);
        writeResult(f, p0, false);
        commitFlags(f);
        f.sw &= ~C2;
        return;
      }
      const q = f.rem(p0, f.phys(1), m === 0xf5);
      writeResult(f, p0, false);
      commitFlags(f);
      if (q < 0) f.sw &= ~(C2 | C1);
      else if (!unmasked(f, UNMASK_NO_WRITE)) {
        // C2: the reduction is incomplete; otherwise C0 C3 C1 = quotient bits 2 1 0.
        if (q & 8) f.sw = (f.sw & ~CC) | C2;
        else {
          f.sw &= ~CC;
          if (q & 4) f.sw |= C0;
          if (q & 2) f.sw |= C3;
          if (q & 1) f.sw |= C1;
        }
      }
      return;
    }
    case 0xf6:
      f.top = (f.top - 1) & 7;
      f.sw &= ~C1;
      return;
    case 0xf7:
      f.top = (f.top + 1) & 7;
      f.sw &= ~C1;
      return;
    case 0xfa:
      unary(f, sqrt);
      return;
    case 0xfc:
      unary(f, rndint);
      return;
    case 0xfd: {
      // FSCALE
      begin(f);
      const p0 = f.phys(0);
      if (f.isEmpty(0) || f.isEmpty(1)) stackUnderflow(f);
      else f.scale(p0, f.phys(1));
      writeResult(f, p0, false);
      commitFlags(f);
      return;
    }
    default:
      transcendental(c, m);
      return;
  }
}

const f2xm1 = (f: X87, p0: number): void => exp2m1(f, p0);

/** FYL2X, FYL2XP1, FPATAN: ST(1) = f(ST(0), ST(1)), then pop. */
function binaryPop(f: X87, m: number): void {
  begin(f);
  const p0 = f.phys(0),
    p1 = f.phys(1);
  if (f.isEmpty(0) || f.isEmpty(1)) stackUnderflow(f);
  else if (m === 0xf3) atan2x(f, p1, p0);
  else ylog2(f, p0, p1, m === 0xf9);
  writeResult(f, p1, true);
  commitFlags(f);
}

/** F2XM1 FYL2X FPTAN FPATAN FYL2XP1 FSINCOS FSIN FCOS. */
function transcendental(c: Cpu, m: number): void {
  const f = c.fpu;
  switch (m) {
    case 0xf0:
      unary(f, f2xm1);
      return;
    case 0xf1:
    case 0xf3:
    case 0xf9:
      binaryPop(f, m);
      return;
  }
  // FPTAN (F2), FSINCOS (FB), FSIN (FE), FCOS (FF).
  begin(f);
  const p0 = f.phys(0);
  const pushes = m === 0xf2 || m === 0xfb;
  if (f.isEmpty(0)) {
    twoResultsUnderflow(f, p0, pushes);
    f.sw &= ~C2;
    return;
  }
  if (pushes && !f.isEmpty(7)) {
    twoResultsOverflow(f, p0);
    f.sw &= ~C2;
    return;
  }
  const kind = m === 0xfe ? 0 : m === 0xff ? 1 : m === 0xf2 ? 2 : 3;
  if (!trig(f, p0, kind)) {
    commitFlags(f);
    f.sw |= C2;
    return;
  }
  if (!unmasked(f, UNMASK_NO_WRITE)) {
    if (kind === 2) {
      f.copy(p0, RES);
      if (f.flags & IE || f.classify(RES) === Cls.QNaN) push(f, RES2);
      else {
        f.loadConst(T1, 0);
        push(f, T1);
      }
    } else if (kind === 3) {
      f.copy(p0, RES);
      push(f, RES2);
    } else f.copy(p0, RES);
  }
  commitFlags(f);
  f.sw &= ~C2;
}
