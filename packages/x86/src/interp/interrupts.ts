// Exceptions and interrupts: how the CPU enters a handler. In real mode through the IVT; in
// protected mode through an IDT gate — interrupt and trap gates (same ring or a switch to
// the inner ring's stack from the TSS, with the virtual-8086 frame when leaving V86) and
// task gates. Faults that happen while delivering another exception turn into a double
// fault, and a fault while delivering that shuts the processor down (a triple fault exit).
//
// lguest depends on every detail here: the guest kernel's traps, its system calls through
// a trap gate and the switcher's own entry all arrive through deliver().

import { type Cpu } from './cpu';
import { CS, SS, DS, ES, FS, GS, TR, FAULT, ESP } from './regs';
import { IF, TF, NT, RF, VM, AC } from './flags';
import {
  ACC_CODE,
  ACC_DC,
  ACC_DB,
  ACC_PRESENT,
  ACC_RW,
  ACC_S,
  accDpl,
  descAccess,
  descBase,
  descLimit,
  loadNull,
  markAccessed,
  readDescriptor,
  setSegCache,
} from './segments';
import { taskSwitch, TaskReason } from './tasking';

/** Vectors whose faults combine into a double fault when they meet. */
function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}

/**
 * Deliver the exception recorded in c.excVector/excCode (raised by a faulting instruction
 * or by a failed delivery). Returns false when the processor must shut down.
 */
export function deliverPending(c: Cpu): boolean {
  // The instruction did not complete, so no single-step trap follows it.
  c.trapPending = false;
  let first = c.delivering;
  c.delivering = -1;
  c.eip = c.instrStart;
  let vector = c.excVector;
  let hasCode = c.excHasCode;
  let code = c.excCode;
  for (;;) {
    if (first >= 0) {
      if (first === 8 && (contributory(vector) || vector === 14)) return false;
      if ((contributory(first) && contributory(vector)) || (first === 14 && (contributory(vector) || vector === 14))) {
        vector = 8;
        hasCode = true;
        code = 0;
      }
    }
    try {
      c.delivering = vector;
      deliver(c, vector, hasCode, code, 1, false);
      c.delivering = -1;
      return true;
    } catch (e) {
      if (e !== FAULT) throw e;
      first = vector;
      vector = c.excVector;
      hasCode = c.excHasCode;
      code = c.excCode;
      c.eip = c.instrStart;
    }
  }
}

/** An external interrupt acknowledged from the interrupt controller. */
export function deliverExternal(c: Cpu, vector: number): void {
  // Marked above 255: a fault while delivering a hardware interrupt is handled serially,
  // whatever vector the interrupt controller chose.
  c.delivering = 0x100 | vector;
  c.instrStart = c.eip;
  deliver(c, vector & 0xff, false, 0, 1, false);
  c.delivering = -1;
}

/**
 * INT n / INT3 / INTO: EIP already points after the instruction. Only INT n is
 * IOPL-sensitive in virtual-8086 mode (`iopl`); INT3 and INTO answer to the gate's DPL alone.
 */
export function softwareInterrupt(c: Cpu, vector: number, iopl: boolean): void {
  if (iopl && c.v86 && ((c.fl.flags >> 12) & 3) < 3) c.faultCode(13, 0);
  deliver(c, vector, false, 0, 0, true);
}

/**
 * Enter the handler for `vector`. `ext` is 1 for events not caused by an INT instruction
 * (it becomes bit 0 of any error code this delivery raises); `soft` makes the gate's DPL
 * count against CPL.
 */
export function deliver(c: Cpu, vector: number, hasCode: boolean, code: number, ext: number, soft: boolean): void {
  if (!c.protectedMode) {
    deliverReal(c, vector);
    return;
  }
  const gateErr = (vector << 3) | 2 | ext;
  if (vector * 8 + 7 > c.idtLimit) c.faultCode(13, gateErr);
  const gateAddr = (c.idtBase + vector * 8) | 0;
  const lo = c.sysRead32(gateAddr);
  const hi = c.sysRead32((gateAddr + 4) | 0);
  const type = (hi >>> 8) & 0x1f;
  if (type !== 0x05 && type !== 0x06 && type !== 0x07 && type !== 0x0e && type !== 0x0f) c.faultCode(13, gateErr);
  if (soft && ((hi >>> 13) & 3) < c.cpl) c.faultCode(13, gateErr);
  if ((hi & 0x8000) === 0) c.faultCode(11, gateErr);
  if (type === 0x05) {
    taskSwitch(c, lo >>> 16, TaskReason.Interrupt, hasCode, code, ext);
    return;
  }
  const gate32 = (type & 0x08) !== 0;
  const trapGate = (type & 1) !== 0;
  const sel = lo >>> 16;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  const selErr = (sel & 0xfffc) | ext;
  if ((sel & 0xfffc) === 0 && (sel & 4) === 0) c.faultCode(13, ext);
  if (!readDescriptor(c, sel)) c.faultCode(13, selErr);
  const csLo = c.descLo,
    csHi = c.descHi,
    csAddr = c.descAddr;
  const csAccess = descAccess(csHi);
  const dpl = accDpl(csAccess);
  if ((csAccess & (ACC_S | ACC_CODE)) !== (ACC_S | ACC_CODE) || dpl > c.cpl) c.faultCode(13, selErr);
  if ((csAccess & ACC_PRESENT) === 0) c.faultCode(11, selErr);
  const conforming = (csAccess & ACC_DC) !== 0;
  // The handler must lie inside its code segment; checked before any state changes.
  if (offset >>> 0 > descLimit(csLo, csHi)) c.faultCode(13, 0);
  const fromV86 = c.v86;
  const eflags = c.getEflags();

  if (!conforming && dpl < c.cpl) {
    // Inner-ring handler: switch to that ring's stack from the TSS.
    if (fromV86 && dpl !== 0) c.faultCode(13, selErr);
    const stack = tssStack(c, dpl, ext);
    const ssSel = stack.ss;
    const ssErr = (ssSel & 0xfffc) | ext;
    if ((ssSel & 0xfffc) === 0 && (ssSel & 4) === 0) c.faultCode(10, ext);
    if ((ssSel & 3) !== dpl) c.faultCode(10, ssErr);
    if (!readDescriptor(c, ssSel)) c.faultCode(10, ssErr);
    const ssAccess = descAccess(c.descHi);
    if (accDpl(ssAccess) !== dpl || (ssAccess & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) {
      c.faultCode(10, ssErr);
    }
    if ((ssAccess & ACC_PRESENT) === 0) c.faultCode(12, ssErr);
    const ssBase = descBase(c.descLo, c.descHi);
    const ssLimit = descLimit(c.descLo, c.descHi);
    const ssAddr = c.descAddr;
    const ssHi = c.descHi;
    const size = gate32 ? 4 : 2;
    const words = (fromV86 ? 9 : 5) + (hasCode ? 1 : 0);
    let sp = stack.esp;
    if ((ssAccess & ACC_DB) === 0) sp &= 0xffff;
    const newSp = (sp - words * size) | 0;
    const spMask = ssAccess & ACC_DB ? -1 : 0xffff;
    checkStack(c, ssAccess, ssLimit, newSp & spMask, words * size, ssErr);
    // Push the frame on the new stack (supervisor writes; nothing is committed yet).
    let p = sp;
    const put = (v: number): void => {
      p = (p - size) & spMask;
      const lin = (ssBase + (p >>> 0)) | 0;
      if (size === 4) c.sysWrite32(lin, v);
      else c.sysWrite16(lin, v);
    };
    if (fromV86) {
      put(c.segSel[GS]);
      put(c.segSel[FS]);
      put(c.segSel[DS]);
      put(c.segSel[ES]);
    }
    put(c.segSel[SS]);
    put(c.regs[ESP]);
    put(eflags);
    put(c.segSel[CS]);
    put(c.eip);
    if (hasCode) put(code);
    // Commit: the new ring, its stack, the handler.
    if ((ssHi & 0x100) === 0) c.sysWrite8((ssAddr + 5) | 0, ((ssHi | 0x100) >>> 8) & 0xff);
    c.descLo = csLo;
    c.descHi = csHi;
    c.descAddr = csAddr;
    if (fromV86) {
      c.setEflags(0, VM);
      for (const s of V86_DATA_SEGS) loadNull(c, s, 0);
    }
    c.setCpl(dpl);
    setSegCache(c, SS, ssSel, ssBase, ssLimit, ssAccess | 1);
    c.regs[ESP] = ssAccess & ACC_DB ? p : (stack.esp & ~0xffff) | (p & 0xffff);
  } else if (conforming || dpl === c.cpl) {
    if (fromV86) c.faultCode(13, selErr);
    const size = gate32 ? 4 : 2;
    const n = hasCode ? 4 : 3;
    const ss32 = c.ss32;
    const sp0 = c.sp();
    const spMask = ss32 ? -1 : 0xffff;
    const bottom = (sp0 - n * size) & spMask;
    // Check the whole frame fits before writing any of it.
    c.linW(SS, bottom, n * size);
    let p = sp0;
    const put = (v: number): void => {
      p = (p - size) & spMask;
      if (size === 4) c.wr32(SS, p, v);
      else c.wr16(SS, p, v);
    };
    put(eflags);
    put(c.segSel[CS]);
    put(c.eip);
    if (hasCode) put(code);
    c.setSp(p);
  } else {
    c.faultCode(13, selErr);
  }
  // Enter the handler.
  // The CS descriptor again (the stack switch read the SS one in between): its accessed bit.
  c.descLo = csLo;
  c.descHi = csHi;
  c.descAddr = csAddr;
  markAccessed(c);
  const newCpl = conforming ? c.cpl : dpl;
  setSegCache(c, CS, (sel & 0xfffc) | newCpl, descBase(csLo, csHi), descLimit(csLo, csHi), descAccess(c.descHi));
  if (offset >>> 0 > c.segLimit[CS]) c.faultCode(13, 0);
  c.eip = offset | 0;
  const clear = TF | NT | RF | VM | (trapGate ? 0 : IF);
  c.setEflags(0, clear);
  c.updateMode();
}

const V86_DATA_SEGS = [ES, DS, FS, GS] as const;

/** Real-mode delivery through the interrupt vector table. */
function deliverReal(c: Cpu, vector: number): void {
  if (vector * 4 + 3 > c.idtLimit) c.faultCode(13, 0);
  const entry = c.readLin32((c.idtBase + vector * 4) | 0);
  const flags = c.getEflags();
  const sp0 = c.sp();
  const spMask = c.ss32 ? -1 : 0xffff;
  c.linW(SS, (sp0 - 6) & spMask, 6);
  c.push16(flags);
  c.push16(c.segSel[CS]);
  c.push16(c.eip);
  setSegCache(c, CS, entry >>> 16, (entry >>> 16) << 4, c.segLimit[CS], c.segAccess[CS]);
  c.eip = entry & 0xffff;
  c.setEflags(0, IF | TF | AC | RF);
}

/** Stack pointer and selector for ring `dpl` from the current TSS. */
function tssStack(c: Cpu, dpl: number, ext: number): { ss: number; esp: number } {
  const type = c.segAccess[TR] & 0xf;
  const base = c.segBase[TR];
  const trErr = (c.segSel[TR] & 0xfffc) | ext;
  if (type === 0x9 || type === 0xb) {
    const off = 4 + dpl * 8;
    if (off + 5 > c.segLimit[TR]) c.faultCode(10, trErr);
    scratch.esp = c.sysRead32((base + off) | 0);
    scratch.ss = c.sysRead16((base + off + 4) | 0);
  } else {
    const off = 2 + dpl * 4;
    if (off + 3 > c.segLimit[TR]) c.faultCode(10, trErr);
    scratch.esp = c.sysRead16((base + off) | 0);
    scratch.ss = c.sysRead16((base + off + 2) | 0);
  }
  return scratch;
}
const scratch = { ss: 0, esp: 0 };

/** #SS(err) unless [off, off+size) lies inside a stack segment with these rights. */
export function checkStack(c: Cpu, access: number, limit: number, off: number, size: number, err: number): void {
  const o = off >>> 0;
  const last = o + size - 1;
  if (access & ACC_DC) {
    const hi = access & ACC_DB ? 0xffffffff : 0xffff;
    if (o <= limit || last > hi) c.faultCode(12, err);
  } else if (last > limit) c.faultCode(12, err);
}
