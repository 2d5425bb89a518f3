// Hardware task switches: JMP or CALL to a TSS or task gate, an interrupt or exception
// through a task gate, and IRET with NT set. lguest itself never switches tasks this way
// (its switcher changes CR3 and the stacks by hand), but a guest may, and the classic
// robust double-fault handler is a task gate — the only way to survive a #DF caused by a
// broken kernel stack.
//
// A switch has two halves. Before the switch point everything that can fail is checked
// and the incoming TSS is read whole, so a fault leaves the old task untouched. Then the
// old task's state is saved, the busy bits and back link are updated and TR changes: from
// here on the CPU *is* the new task, and faults raised while loading its segments are
// delivered in its context (EIP included), as the SDM describes.
//
// Choices where the manuals are silent or disagree: only IRET clears NT in the outgoing
// task's saved EFLAGS (SDM table "Effect of a Task Switch"; a JMP leaves it alone, and the
// incoming task's NT after a JMP comes from its TSS). A 16-bit TSS zero-extends EIP and
// EFLAGS, sets the upper halves of the general registers to 0xFFFF (as a real 386 does),
// and leaves FS and GS null.
//
// The debug-trap (T) bit of a 32-bit TSS (bit 0 of the word at offset 0x64): a switch into
// a task whose TSS has it set raises #DB once the switch is complete, before the new task's
// first instruction, with DR6.BT set (SDM "Task-State Segment", "Debug Exception"). It is a
// trap, so the #DB's saved EIP is that first instruction. A 16-bit TSS has no T bit.

import type { Cpu } from './cpu';
import { CS, SS, ES, DS, FS, GS, LDTR, TR, ESP, CR0_TS } from './regs';
import { NT, VM } from './flags';
import {
  ACC_CODE,
  ACC_DC,
  ACC_PRESENT,
  ACC_RW,
  ACC_S,
  accDpl,
  descAccess,
  descBase,
  descLimit,
  loadFromDescriptor,
  loadNull,
  markAccessed,
  readDescriptor,
  setSegCache,
  setTssBusy,
} from './segments';

export const enum TaskReason {
  Jump = 0,
  Call = 1,
  Interrupt = 2,
  Iret = 3,
}

const TASK_GATE = 0x05;

// The incoming task's TSS image, read before the switch point. Indices: EIP, EFLAGS, the
// eight general registers in ModRM order, the six segment selectors in Seg order, LDT, CR3.
const I_EIP = 0,
  I_EFLAGS = 1,
  I_REGS = 2,
  I_SEGS = 10,
  I_LDT = 16,
  I_CR3 = 17,
  I_TRAP = 18;
const image = new Int32Array(19);
/** The T bit in the TSS's word at 0x64. */
const TSS_T = 1;

/** Segment registers loaded from a TSS, in the order their descriptors are checked. */
const LOAD_ORDER = [SS, CS, ES, DS, FS, GS] as const;

/**
 * Switch to the task named by `sel`: a TSS descriptor, or for JMP/CALL also a task gate
 * (whose DPL and present bit the caller has checked). `ext` is the EXT bit for any error
 * code this raises; `hasCode` pushes `code` on the new task's stack (an exception through a
 * task gate). Faults before the switch point use the old task's context; after, the new.
 */
export function taskSwitch(c: Cpu, sel: number, reason: TaskReason, hasCode: boolean, code: number, ext: number): void {
  sel &= 0xffff;
  const iret = reason === TaskReason.Iret;
  if ((reason === TaskReason.Jump || reason === TaskReason.Call) && readDescriptor(c, sel)) {
    if (((c.descHi >>> 8) & 0x1f) === TASK_GATE) sel = c.descLo >>> 16;
  }

  // --- checks on the incoming TSS: an IRET reports a bad back link as #TS, others as #GP.
  const err = (sel & 0xfffc) | ext;
  const bad = iret ? 10 : 13;
  if (sel & 4) c.faultCode(bad, err);
  if (!readDescriptor(c, sel)) c.faultCode(bad, err);
  const lo = c.descLo,
    hi = c.descHi;
  const type = (hi >>> 8) & 0x1f;
  const is32 = type === 0x09 || type === 0x0b;
  if (!is32 && type !== 0x01 && type !== 0x03) c.faultCode(bad, err);
  const busy = (type & 2) !== 0;
  if (busy !== iret) c.faultCode(bad, err);
  if ((hi & 0x8000) === 0) c.faultCode(11, err);
  const base = descBase(lo, hi);
  const limit = descLimit(lo, hi);
  if (limit < (is32 ? 0x67 : 0x2b)) c.faultCode(10, err);
  readImage(c, base, is32);

  // --- save the outgoing task. A fault here (#PF) has changed no register.
  const oldSel = c.segSel[TR];
  let eflags = c.getEflags();
  if (iret) eflags &= ~NT;
  saveState(c, eflags);

  // --- the switch point.
  if (reason === TaskReason.Jump || iret) setTssBusy(c, oldSel, false);
  if (!iret) setTssBusy(c, sel, true);
  if (reason === TaskReason.Call || reason === TaskReason.Interrupt) c.sysWrite16(base, oldSel);
  setSegCache(c, TR, sel, base, limit, descAccess(hi) | 0x02);
  // The T bit: #DB (DR6.BT) once the switch is done, before the new task's first instruction.
  if (image[I_TRAP]) c.requestTaskTrap();
  c.cr0 |= CR0_TS;
  if (is32 && c.paging) {
    c.loadCr3(image[I_CR3]);
  }
  let newFlags = image[I_EFLAGS];
  if (reason === TaskReason.Call || reason === TaskReason.Interrupt) newFlags |= NT;
  c.setEflags(newFlags, 0x3f7fd7);
  for (let r = 0; r < 8; r++) c.regs[r] = image[I_REGS + r];
  c.eip = image[I_EIP];
  // A fault from here on restarts the new task's first instruction.
  c.instrStart = c.eip;
  const vm = (newFlags & VM) !== 0;
  // Selectors first, with caches nothing may use until their descriptors pass the checks.
  for (let s = ES; s <= GS; s++) {
    const v = image[I_SEGS + s];
    if (vm) setSegCache(c, s, v, v << 4, 0xffff, s === CS ? 0xfb : 0xf3);
    else setSegCache(c, s, v, 0, 0, 0);
  }
  setSegCache(c, LDTR, image[I_LDT], 0, 0, 0);
  c.setCpl(vm ? 3 : image[I_SEGS + CS] & 3);
  c.updateMode();

  // --- qualify the new task's descriptors, in its context.
  loadTaskLdt(c, image[I_LDT], ext);
  if (!vm) for (const s of LOAD_ORDER) loadTaskSegment(c, s, image[I_SEGS + s], ext);
  c.updateMode();
  if (hasCode) pushErrorCode(c, code, is32 ? 4 : 2, ext);
  if (c.eip >>> 0 > c.segLimit[CS]) c.faultCode(13, ext);
}

/** Read the incoming TSS into `image` (EIP and registers zero-extended from a 16-bit TSS). */
function readImage(c: Cpu, base: number, is32: boolean): void {
  // The back link is read too, so a CALL's write to it cannot fault after the switch point.
  c.sysRead16(base);
  if (is32) {
    image[I_CR3] = c.sysRead32((base + 0x1c) | 0);
    image[I_EIP] = c.sysRead32((base + 0x20) | 0);
    image[I_EFLAGS] = c.sysRead32((base + 0x24) | 0);
    for (let r = 0; r < 8; r++) image[I_REGS + r] = c.sysRead32((base + 0x28 + r * 4) | 0);
    for (let s = 0; s < 6; s++) image[I_SEGS + s] = c.sysRead16((base + 0x48 + s * 4) | 0);
    image[I_LDT] = c.sysRead16((base + 0x60) | 0);
    image[I_TRAP] = c.sysRead16((base + 0x64) | 0) & TSS_T;
  } else {
    image[I_CR3] = c.cr3;
    image[I_EIP] = c.sysRead16((base + 0x0e) | 0);
    image[I_EFLAGS] = c.sysRead16((base + 0x10) | 0);
    // A 386 leaves the upper halves of the general registers all ones (0xFFFF).
    for (let r = 0; r < 8; r++) image[I_REGS + r] = 0xffff0000 | c.sysRead16((base + 0x12 + r * 2) | 0) | 0;
    for (let s = 0; s < 4; s++) image[I_SEGS + s] = c.sysRead16((base + 0x22 + s * 2) | 0);
    image[I_SEGS + FS] = 0;
    image[I_SEGS + GS] = 0;
    image[I_LDT] = c.sysRead16((base + 0x2a) | 0);
    image[I_TRAP] = 0;
  }
}

/** Save EIP, EFLAGS, the general registers and the selectors into the current TSS. */
function saveState(c: Cpu, eflags: number): void {
  const base = c.segBase[TR];
  const type = c.segAccess[TR] & 0xf;
  if (type === 0x09 || type === 0x0b) {
    c.sysWrite32((base + 0x20) | 0, c.eip);
    c.sysWrite32((base + 0x24) | 0, eflags);
    for (let r = 0; r < 8; r++) c.sysWrite32((base + 0x28 + r * 4) | 0, c.regs[r]);
    for (let s = 0; s < 6; s++) c.sysWrite16((base + 0x48 + s * 4) | 0, c.segSel[s]);
  } else {
    c.sysWrite16((base + 0x0e) | 0, c.eip);
    c.sysWrite16((base + 0x10) | 0, eflags);
    for (let r = 0; r < 8; r++) c.sysWrite16((base + 0x12 + r * 2) | 0, c.regs[r]);
    for (let s = 0; s < 4; s++) c.sysWrite16((base + 0x22 + s * 2) | 0, c.segSel[s]);
  }
}

/** LDTR from the new TSS: null, or a present LDT descriptor in the GDT; else #TS(sel). */
function loadTaskLdt(c: Cpu, sel: number, ext: number): void {
  if ((sel & 0xfffc) === 0) return; // stays null, as set at the switch point
  const err = (sel & 0xfffc) | ext;
  if (sel & 4 || !readDescriptor(c, sel)) c.faultCode(10, err);
  if (((c.descHi >>> 8) & 0x1f) !== 0x02 || (c.descHi & 0x8000) === 0) c.faultCode(10, err);
  loadFromDescriptor(c, LDTR, sel);
}

/**
 * Qualify and load one segment register of the new task (CPL is already its CS RPL).
 * Invalid selectors, types and privileges are #TS(sel); not present is #SS for SS and #NP
 * for the others. Null is allowed for data segments only.
 */
function loadTaskSegment(c: Cpu, seg: number, sel: number, ext: number): void {
  const err = (sel & 0xfffc) | ext;
  if ((sel & 0xfffc) === 0) {
    if (seg === CS || seg === SS) c.faultCode(10, ext);
    loadNull(c, seg, sel);
    return;
  }
  if (!readDescriptor(c, sel)) c.faultCode(10, err);
  const access = descAccess(c.descHi);
  const dpl = accDpl(access);
  const rpl = sel & 3;
  if ((access & ACC_S) === 0) c.faultCode(10, err);
  const code = (access & ACC_CODE) !== 0;
  const conforming = code && (access & ACC_DC) !== 0;
  if (seg === CS) {
    if (!code || (conforming ? dpl > rpl : dpl !== rpl)) c.faultCode(10, err);
  } else if (seg === SS) {
    if (code || (access & ACC_RW) === 0 || rpl !== c.cpl || dpl !== c.cpl) c.faultCode(10, err);
  } else {
    if (code && (access & ACC_RW) === 0) c.faultCode(10, err);
    if (!conforming && (dpl < c.cpl || dpl < rpl)) c.faultCode(10, err);
  }
  if ((access & ACC_PRESENT) === 0) c.faultCode(seg === SS ? 12 : 11, err);
  markAccessed(c);
  loadFromDescriptor(c, seg, sel);
}

/** An exception's error code goes on the new task's stack; #SS(EXT) if it does not fit. */
function pushErrorCode(c: Cpu, code: number, size: number, ext: number): void {
  const sp = c.ss32 ? (c.regs[ESP] - size) | 0 : (c.regs[ESP] - size) & 0xffff;
  const o = sp >>> 0;
  if (o < c.segWrLo[SS] || o + size - 1 > c.segWrHi[SS]) c.faultCode(12, ext);
  if (size === 4) c.wr32(SS, sp, code);
  else c.wr16(SS, sp, code);
  c.setSp(sp);
}
