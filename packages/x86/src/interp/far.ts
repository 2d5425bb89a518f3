// Far control transfers: JMP, CALL and RETF. In real and virtual-8086 mode they only reload
// CS from a paragraph number. In protected mode they are how code changes hands between
// segments and rings: straight into a code segment at the same privilege, through a call
// gate into an inner ring (switching to that ring's stack from the TSS and copying the
// caller's parameters), into another task through a TSS or task gate, and back out again
// with RETF — which is how the guest kernel in ring 1 would return to a ring-3 program.
//
// Every transfer follows the same discipline: read and check everything that can fault,
// then commit. A fault leaves the registers as they were when the instruction began (the
// run loop restores EIP); only memory below the stack top may have been written.

import type { Cpu } from './cpu';
import { CS, SS, DS, ES, FS, GS, TR, ESP } from './regs';
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
  invalidateOuterSegments,
  loadFromDescriptor,
  markAccessed,
  readDescriptor,
  setSegCache,
} from './segments';
import { checkStack } from './interrupts';
import { taskSwitch, TaskReason } from './tasking';

// System descriptor types (access bits 0-4, S clear).
export const TSS16_AVAIL = 0x01,
  LDT_DESC = 0x02,
  TSS16_BUSY = 0x03,
  CALL_GATE16 = 0x04,
  TASK_GATE = 0x05,
  TSS32_AVAIL = 0x09,
  TSS32_BUSY = 0x0b,
  CALL_GATE32 = 0x0c;

/** Data segment registers a return to an outer ring may have to null. */
export const OUTER_DATA_SEGS: readonly number[] = [ES, DS, FS, GS];

/** Parameters copied from the caller's stack through a call gate (at most 31). */
const params = new Int32Array(32);

/** JMP ptr16:16/32 or JMP m16:16/32. */
export function jmpFar(c: Cpu, sel: number, off: number): void {
  sel &= 0xffff;
  if (!c.protectedMode || c.v86) {
    const eip = c.o32 ? off : off & 0xffff;
    if (eip >>> 0 > c.segLimit[CS]) c.faultCode(13, 0);
    loadRealCs(c, sel);
    c.eip = eip | 0;
    return;
  }
  const access = readTarget(c, sel);
  if (access & ACC_S) {
    checkDirectCode(c, sel, access);
    const eip = c.o32 ? off : off & 0xffff;
    if (eip >>> 0 > descLimit(c.descLo, c.descHi)) c.faultCode(13, 0);
    markAccessed(c);
    enterCode(c, sel, c.cpl, eip);
    return;
  }
  switch (access & 0x1f) {
    case CALL_GATE16:
    case CALL_GATE32:
      jmpGate(c, sel, access);
      return;
    default:
      checkTaskTarget(c, sel, access);
      taskSwitch(c, sel, TaskReason.Jump, false, 0, 0);
  }
}

/** CALL ptr16:16/32 or CALL m16:16/32. EIP already points after the instruction. */
export function callFar(c: Cpu, sel: number, off: number): void {
  sel &= 0xffff;
  const size = c.o32 ? 4 : 2;
  if (!c.protectedMode || c.v86) {
    const eip = c.o32 ? off : off & 0xffff;
    checkRoom(c, 2, size);
    if (eip >>> 0 > c.segLimit[CS]) c.faultCode(13, 0);
    pushReturn(c, size);
    loadRealCs(c, sel);
    c.eip = eip | 0;
    return;
  }
  const access = readTarget(c, sel);
  if (access & ACC_S) {
    checkDirectCode(c, sel, access);
    checkRoom(c, 2, size);
    const eip = c.o32 ? off : off & 0xffff;
    if (eip >>> 0 > descLimit(c.descLo, c.descHi)) c.faultCode(13, 0);
    markAccessed(c);
    pushReturn(c, size);
    enterCode(c, sel, c.cpl, eip);
    return;
  }
  switch (access & 0x1f) {
    case CALL_GATE16:
    case CALL_GATE32:
      callGate(c, sel, access);
      return;
    default:
      checkTaskTarget(c, sel, access);
      taskSwitch(c, sel, TaskReason.Call, false, 0, 0);
  }
}

/** RETF [imm16]: pop EIP and CS, then release `imm` bytes of parameters. */
export function retFar(c: Cpu, imm: number): void {
  const size = c.o32 ? 4 : 2;
  const eip = size === 4 ? c.peek32(0) : c.peek16(0);
  const sel = (size === 4 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  if (!c.protectedMode || c.v86) {
    if (eip >>> 0 > c.segLimit[CS]) c.faultCode(13, 0);
    c.setSp(c.sp() + 2 * size + imm);
    loadRealCs(c, sel);
    c.eip = eip | 0;
    return;
  }
  checkReturnCode(c, sel);
  const rpl = sel & 3;
  if (rpl === c.cpl) {
    if (eip >>> 0 > descLimit(c.descLo, c.descHi)) c.faultCode(13, 0);
    markAccessed(c);
    c.setSp(c.sp() + 2 * size + imm);
    enterCode(c, sel, rpl, eip);
    return;
  }
  // Return to an outer ring: the caller's SS:ESP sits above the parameters.
  const csLo = c.descLo,
    csHi = c.descHi,
    csAddr = c.descAddr;
  const esp = size === 4 ? c.peek32(8 + imm) : c.peek16(4 + imm);
  const ssSel = (size === 4 ? c.peek32(12 + imm) : c.peek16(6 + imm)) & 0xffff;
  checkReturnStack(c, ssSel, rpl);
  if (eip >>> 0 > descLimit(csLo, csHi)) c.faultCode(13, 0);
  markAccessed(c);
  const ssLo = c.descLo,
    ssHi = c.descHi;
  restoreDescriptor(c, csLo, csHi, csAddr);
  markAccessed(c);
  c.setCpl(rpl);
  enterCode(c, sel, rpl, eip);
  enterStack(c, ssSel, ssLo, ssHi, esp, size);
  c.setSp(c.sp() + imm);
  invalidateOuterSegments(c, OUTER_DATA_SEGS);
}

// ------------------------------------------------------------------ shared with iret.ts

/**
 * Check the CS a RETF or IRET pops (#GP(0) null, #GP(sel) bad table index/type/privilege,
 * #NP(sel) not present). Leaves its descriptor in c.descLo/descHi/descAddr.
 */
export function checkReturnCode(c: Cpu, sel: number): void {
  const err = sel & 0xfffc;
  if (err === 0) c.faultCode(13, 0);
  if (!readDescriptor(c, sel)) c.faultCode(13, err);
  const access = descAccess(c.descHi);
  const dpl = accDpl(access);
  const rpl = sel & 3;
  if ((access & (ACC_S | ACC_CODE)) !== (ACC_S | ACC_CODE)) c.faultCode(13, err);
  if (rpl < c.cpl) c.faultCode(13, err);
  if (access & ACC_DC ? dpl > rpl : dpl !== rpl) c.faultCode(13, err);
  if ((access & ACC_PRESENT) === 0) c.faultCode(11, err);
}

/**
 * Check the SS a return to ring `rpl` pops (#GP(0) null, #GP(sel) bad index, RPL, DPL or
 * type; not present: #SS(sel) for RETF, `notPresent` = 11 (#NP) for IRET, as Bochs and
 * QEMU agree). Leaves its descriptor in c.descLo/descHi/descAddr.
 */
export function checkReturnStack(c: Cpu, sel: number, rpl: number, notPresent = 12): void {
  const err = sel & 0xfffc;
  if (err === 0) c.faultCode(13, 0);
  if (!readDescriptor(c, sel)) c.faultCode(13, err);
  const access = descAccess(c.descHi);
  if ((sel & 3) !== rpl || accDpl(access) !== rpl) c.faultCode(13, err);
  if ((access & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) c.faultCode(13, err);
  if ((access & ACC_PRESENT) === 0) c.faultCode(notPresent, err);
}

/** Put back a descriptor read earlier, so markAccessed/loadFromDescriptor act on it. */
export function restoreDescriptor(c: Cpu, lo: number, hi: number, addr: number): void {
  c.descLo = lo;
  c.descHi = hi;
  c.descAddr = addr;
}

// Commits. Callers mark descriptors accessed first: that GDT write can #PF (a read-only
// page under CR0.WP), and memory side effects must all precede the first register change.

/** Commit: load CS from the current descriptor with RPL = `cpl`, and jump to `eip`. */
export function enterCode(c: Cpu, sel: number, cpl: number, eip: number): void {
  loadFromDescriptor(c, CS, (sel & 0xfffc) | cpl);
  c.eip = eip | 0;
}

/**
 * Commit: load SS from descriptor (lo, hi) and the stack pointer popped with operand
 * `size`. A 16-bit pop into a 16-bit stack replaces SP only; otherwise ESP is replaced.
 */
export function enterStack(c: Cpu, sel: number, lo: number, hi: number, esp: number, size: number): void {
  setSegCache(c, SS, sel, descBase(lo, hi), descLimit(lo, hi), descAccess(hi));
  if (size === 2 && !c.ss32) c.r16[ESP << 1] = esp;
  else c.regs[ESP] = esp;
}

/** Real and V86 mode: CS is a paragraph; V86 also forces the fixed 64 KiB ring-3 cache. */
export function loadRealCs(c: Cpu, sel: number): void {
  if (c.v86) setSegCache(c, CS, sel, sel << 4, 0xffff, 0xfb);
  else setSegCache(c, CS, sel, sel << 4, c.segLimit[CS], c.segAccess[CS]);
}

// ------------------------------------------------------------------ protected mode

/**
 * Read the descriptor a far JMP/CALL names and return its access rights. #GP(0) for a null
 * selector; #GP(sel) outside its table or of a type no far transfer may target.
 */
function readTarget(c: Cpu, sel: number): number {
  const err = sel & 0xfffc;
  if (err === 0) c.faultCode(13, 0);
  if (!readDescriptor(c, sel)) c.faultCode(13, err);
  const access = descAccess(c.descHi);
  if (access & ACC_S) {
    if ((access & ACC_CODE) === 0) c.faultCode(13, err);
    return access;
  }
  switch (access & 0x1f) {
    case TSS16_AVAIL:
    case TSS16_BUSY:
    case CALL_GATE16:
    case TASK_GATE:
    case TSS32_AVAIL:
    case TSS32_BUSY:
    case CALL_GATE32:
      return access;
    default:
      return c.faultCode(13, err);
  }
}

/** A direct transfer keeps CPL: conforming needs DPL <= CPL, non-conforming DPL = CPL >= RPL. */
function checkDirectCode(c: Cpu, sel: number, access: number): void {
  const dpl = accDpl(access);
  const err = sel & 0xfffc;
  if (access & ACC_DC) {
    if (dpl > c.cpl) c.faultCode(13, err);
  } else if ((sel & 3) > c.cpl || dpl !== c.cpl) c.faultCode(13, err);
  if ((access & ACC_PRESENT) === 0) c.faultCode(11, err);
}

/** A TSS or task gate named by JMP/CALL must be reachable from CPL and RPL; then present. */
function checkTaskTarget(c: Cpu, sel: number, access: number): void {
  const dpl = accDpl(access);
  const err = sel & 0xfffc;
  if (dpl < c.cpl || dpl < (sel & 3)) c.faultCode(13, err);
  // A busy TSS is refused by taskSwitch (#GP) before its present bit is looked at.
  if ((access & 0x1f) === TASK_GATE && (access & ACC_PRESENT) === 0) c.faultCode(11, err);
}

/** A call gate named by JMP/CALL must be reachable from CPL and RPL, and present. */
function checkGate(c: Cpu, sel: number, access: number): void {
  const dpl = accDpl(access);
  if (dpl < c.cpl || dpl < (sel & 3)) c.faultCode(13, sel & 0xfffc);
  if ((access & ACC_PRESENT) === 0) c.faultCode(11, sel & 0xfffc);
}

/** The entry offset a call gate (still in c.descLo/descHi) holds. */
function gateOffset(c: Cpu, gate32: boolean): number {
  return gate32 ? (c.descLo & 0xffff) | (c.descHi & 0xffff0000) : c.descLo & 0xffff;
}

/**
 * Read the code segment a call gate points to: #GP(0) if null, #GP(sel) if outside its
 * table, not code, or with DPL > CPL (a gate never leads outward). Returns its rights.
 */
function readGateCode(c: Cpu, csSel: number): number {
  const err = csSel & 0xfffc;
  if (err === 0) c.faultCode(13, 0);
  if (!readDescriptor(c, csSel)) c.faultCode(13, err);
  const access = descAccess(c.descHi);
  if ((access & (ACC_S | ACC_CODE)) !== (ACC_S | ACC_CODE) || accDpl(access) > c.cpl) c.faultCode(13, err);
  return access;
}

/** JMP through a call gate: never changes privilege. */
function jmpGate(c: Cpu, sel: number, access: number): void {
  checkGate(c, sel, access);
  const offset = gateOffset(c, (access & 0x1f) === CALL_GATE32);
  const csSel = c.descLo >>> 16;
  const csAccess = readGateCode(c, csSel);
  if ((csAccess & ACC_DC) === 0 && accDpl(csAccess) !== c.cpl) c.faultCode(13, csSel & 0xfffc);
  if ((csAccess & ACC_PRESENT) === 0) c.faultCode(11, csSel & 0xfffc);
  if (offset >>> 0 > descLimit(c.descLo, c.descHi)) c.faultCode(13, 0);
  markAccessed(c);
  enterCode(c, csSel, c.cpl, offset);
}

/**
 * CALL through a call gate. Into a more privileged non-conforming segment it switches to
 * that ring's stack from the TSS and copies the gate's parameter count of words (16-bit
 * gate) or dwords (32-bit gate) from the caller's stack; the gate's size, not the operand
 * size, decides the frame's width.
 */
function callGate(c: Cpu, sel: number, access: number): void {
  checkGate(c, sel, access);
  const gate32 = (access & 0x1f) === CALL_GATE32;
  const size = gate32 ? 4 : 2;
  const offset = gateOffset(c, gate32);
  const count = c.descHi & 0x1f;
  const csSel = c.descLo >>> 16;
  const csAccess = readGateCode(c, csSel);
  if ((csAccess & ACC_PRESENT) === 0) c.faultCode(11, csSel & 0xfffc);
  const dpl = accDpl(csAccess);
  if ((csAccess & ACC_DC) !== 0 || dpl === c.cpl) {
    checkRoom(c, 2, size);
    if (offset >>> 0 > descLimit(c.descLo, c.descHi)) c.faultCode(13, 0);
    markAccessed(c);
    pushReturn(c, size);
    enterCode(c, csSel, c.cpl, offset);
    return;
  }
  const csLo = c.descLo,
    csHi = c.descHi,
    csAddr = c.descAddr;
  // The inner ring's stack, named by the current TSS.
  innerStack(c, dpl);
  const ssSel = stackSel;
  const ssErr = ssSel & 0xfffc;
  if (ssErr === 0) c.faultCode(10, 0);
  if (!readDescriptor(c, ssSel)) c.faultCode(10, ssErr);
  const ssAccess = descAccess(c.descHi);
  if ((ssSel & 3) !== dpl || accDpl(ssAccess) !== dpl) c.faultCode(10, ssErr);
  if ((ssAccess & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) c.faultCode(10, ssErr);
  if ((ssAccess & ACC_PRESENT) === 0) c.faultCode(12, ssErr);
  const ssBase = descBase(c.descLo, c.descHi);
  const spMask = ssAccess & ACC_DB ? -1 : 0xffff;
  const frame = (4 + count) * size;
  const top = stackEsp & spMask;
  const bottom = (top - frame) & spMask;
  checkStack(c, ssAccess, descLimit(c.descLo, c.descHi), bottom, frame, ssErr);
  if (offset >>> 0 > descLimit(csLo, csHi)) c.faultCode(13, 0);
  // Parameters are read at the caller's privilege, from the caller's stack.
  for (let i = 0; i < count; i++) params[i] = size === 4 ? c.peek32(i * 4) : c.peek16(i * 2);
  // Build the frame on the inner stack (supervisor writes; inner rings are never ring 3):
  // EIP, CS, the parameters in their original order, then the caller's ESP and SS.
  putInner(c, ssBase, bottom, size, c.eip);
  putInner(c, ssBase, (bottom + size) & spMask, size, c.segSel[CS]);
  for (let i = 0; i < count; i++) putInner(c, ssBase, (bottom + (2 + i) * size) & spMask, size, params[i]);
  putInner(c, ssBase, (bottom + (2 + count) * size) & spMask, size, c.regs[ESP]);
  putInner(c, ssBase, (bottom + (3 + count) * size) & spMask, size, c.segSel[SS]);
  // The stack is still the descriptor last read; mark it and the code segment accessed.
  markAccessed(c);
  const ssLo = c.descLo,
    ssHi = c.descHi;
  restoreDescriptor(c, csLo, csHi, csAddr);
  markAccessed(c);
  // Commit: the inner ring, its stack, the entry point.
  c.setCpl(dpl);
  enterStack(c, ssSel, ssLo, ssHi, spMask === -1 ? bottom : (stackEsp & ~0xffff) | bottom, 4);
  enterCode(c, csSel, dpl, offset);
}

/** Write one slot of a frame on a stack not yet loaded into SS. */
function putInner(c: Cpu, base: number, off: number, size: number, v: number): void {
  const lin = (base + (off >>> 0)) | 0;
  if (size === 4) c.sysWrite32(lin, v);
  else c.sysWrite16(lin, v);
}

// innerStack()'s answer.
let stackSel = 0;
let stackEsp = 0;

/** SS:ESP for ring `dpl` from the current TSS (32- or 16-bit); #TS(TR) past its limit. */
function innerStack(c: Cpu, dpl: number): void {
  const type = c.segAccess[TR] & 0xf;
  const base = c.segBase[TR];
  if (type === TSS32_AVAIL || type === TSS32_BUSY) {
    const off = 4 + dpl * 8;
    if (off + 5 > c.segLimit[TR]) c.faultCode(10, c.segSel[TR] & 0xfffc);
    stackEsp = c.sysRead32((base + off) | 0);
    stackSel = c.sysRead16((base + off + 4) | 0);
  } else {
    const off = 2 + dpl * 4;
    if (off + 3 > c.segLimit[TR]) c.faultCode(10, c.segSel[TR] & 0xfffc);
    stackEsp = c.sysRead16((base + off) | 0);
    stackSel = c.sysRead16((base + off + 2) | 0);
  }
}

// ------------------------------------------------------------------ the current stack

/** #SS(0) unless `n` pushes of `size` bytes fit below the current stack top. */
function checkRoom(c: Cpu, n: number, size: number): void {
  const mask = c.ss32 ? -1 : 0xffff;
  let sp = c.regs[ESP];
  for (let i = 0; i < n; i++) {
    sp = (sp - size) & mask;
    c.linW(SS, sp, size);
  }
}

/** Push the return CS:EIP (after checkRoom passed; a #PF here has moved no register). */
function pushReturn(c: Cpu, size: number): void {
  const mask = c.ss32 ? -1 : 0xffff;
  const sp = c.regs[ESP];
  const csSlot = (sp - size) & mask;
  const ipSlot = (sp - 2 * size) & mask;
  if (size === 4) {
    c.wr32(SS, csSlot, c.segSel[CS]);
    c.wr32(SS, ipSlot, c.eip);
  } else {
    c.wr16(SS, csSlot, c.segSel[CS]);
    c.wr16(SS, ipSlot, c.eip);
  }
  c.setSp(ipSlot);
}
