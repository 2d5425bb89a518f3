// IRET: the way back from every interrupt and exception. For lguest this is the hot end of
// the journey: the guest kernel's IRET from ring 1 to its ring-3 programs, the switcher's
// return into the guest, and a nested task's return through its TSS back link.
//
// Real mode and V86 with IOPL 3 pop IP, CS and FLAGS. Protected mode either returns to the
// previous task (NT set), to the same ring, to an outer ring (popping SS:ESP and nulling
// data segments the outer ring may not use), or — from ring 0 with VM set in the popped
// image — into virtual-8086 mode. As in far.ts, every check precedes the first commit.

import type { Cpu } from './cpu';
import { CS, SS, ES, DS, FS, GS, TR, ESP } from './regs';
import { AC, ID, IF, IOPL, NT, RF, VM } from './flags';
import { descLimit, invalidateOuterSegments, markAccessed, setSegCache } from './segments';
import {
  OUTER_DATA_SEGS,
  checkReturnCode,
  checkReturnStack,
  enterCode,
  enterStack,
  loadRealCs,
  restoreDescriptor,
} from './far';
import { taskSwitch, TaskReason } from './tasking';

const VIF = 0x80000,
  VIP = 0x100000;
/** Every EFLAGS bit this core keeps (see cpu.ts). */
const ALL_FLAGS = 0x3f7fd7;
/** The status flags, TF, DF and NT: any IRET in protected mode may change them. */
const ALWAYS = 0x4dd5;

export function iret(c: Cpu): void {
  if (!c.protectedMode) iretReal(c, c.o32 ? 0x257fd5 : 0xffff);
  else if (c.v86) {
    // Without VME, only IOPL 3 lets a V86 task return by itself; otherwise its monitor does.
    if ((c.fl.flags & IOPL) !== IOPL) c.faultCode(13, 0);
    iretReal(c, c.o32 ? ALL_FLAGS & ~(IOPL | VM | VIF | VIP) : 0xffff & ~IOPL);
  } else if (c.fl.flags & NT) {
    // Return to the task that called or was interrupted by this one.
    taskSwitch(c, c.sysRead16(c.segBase[TR]), TaskReason.Iret, false, 0, 0);
  } else iretProtected(c);
}

/** Real mode and V86: pop EIP, CS, EFLAGS; `mask` says which EFLAGS bits the pop may set. */
function iretReal(c: Cpu, mask: number): void {
  const size = c.o32 ? 4 : 2;
  const eip = size === 4 ? c.peek32(0) : c.peek16(0);
  const sel = (size === 4 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  const flags = size === 4 ? c.peek32(8) : c.peek16(4);
  if (eip >>> 0 > c.segLimit[CS]) c.faultCode(13, 0);
  c.setSp(c.sp() + 3 * size);
  loadRealCs(c, sel);
  c.eip = eip;
  c.setEflags(flags, mask);
}

function iretProtected(c: Cpu): void {
  const o32 = c.o32;
  const size = o32 ? 4 : 2;
  const eip = o32 ? c.peek32(0) : c.peek16(0);
  const sel = (o32 ? c.peek32(4) : c.peek16(2)) & 0xffff;
  const flags = o32 ? c.peek32(8) : c.peek16(4);
  if (flags & VM && c.cpl === 0) {
    iretToV86(c, eip, sel, flags);
    return;
  }
  checkReturnCode(c, sel);
  const csLo = c.descLo,
    csHi = c.descHi,
    csAddr = c.descAddr;
  // Which bits the image may change depends on the privilege IRET runs at, not returns to.
  const iopl = (c.fl.flags >> 12) & 3;
  let mask = ALWAYS;
  if (o32) mask |= RF | AC | ID;
  if (c.cpl <= iopl) mask |= IF;
  if (c.cpl === 0) mask |= IOPL | (o32 ? VIF | VIP : 0);
  const rpl = sel & 3;
  if (rpl === c.cpl) {
    if (eip >>> 0 > descLimit(csLo, csHi)) c.faultCode(13, 0);
    markAccessed(c);
    c.setSp(c.sp() + 3 * size);
    enterCode(c, sel, rpl, eip);
    c.setEflags(flags, mask);
    return;
  }
  // Return to an outer ring: its SS:ESP follows EFLAGS.
  const esp = o32 ? c.peek32(12) : c.peek16(6);
  const ssSel = (o32 ? c.peek32(16) : c.peek16(8)) & 0xffff;
  checkReturnStack(c, ssSel, rpl, 11);
  if (eip >>> 0 > descLimit(csLo, csHi)) c.faultCode(13, 0);
  markAccessed(c);
  const ssLo = c.descLo,
    ssHi = c.descHi;
  restoreDescriptor(c, csLo, csHi, csAddr);
  markAccessed(c);
  c.setEflags(flags, mask);
  c.setCpl(rpl);
  enterCode(c, sel, rpl, eip);
  enterStack(c, ssSel, ssLo, ssHi, esp, size);
  invalidateOuterSegments(c, OUTER_DATA_SEGS);
}

/**
 * From ring 0 into virtual-8086 mode: the frame holds EIP CS EFLAGS ESP SS ES DS FS GS as
 * dwords. The popped EFLAGS is taken whole; every segment becomes a V86 paragraph.
 */
function iretToV86(c: Cpu, eip: number, cs: number, flags: number): void {
  const esp = c.peek32(12);
  const ss = c.peek32(16) & 0xffff;
  const es = c.peek32(20) & 0xffff;
  const ds = c.peek32(24) & 0xffff;
  const fs = c.peek32(28) & 0xffff;
  const gs = c.peek32(32) & 0xffff;
  if (eip >>> 0 > 0xffff) c.faultCode(13, 0);
  c.setEflags(flags, ALL_FLAGS);
  c.setCpl(3);
  setSegCache(c, CS, cs, cs << 4, 0xffff, 0xfb);
  setSegCache(c, SS, ss, ss << 4, 0xffff, 0xf3);
  setSegCache(c, ES, es, es << 4, 0xffff, 0xf3);
  setSegCache(c, DS, ds, ds << 4, 0xffff, 0xf3);
  setSegCache(c, FS, fs, fs << 4, 0xffff, 0xf3);
  setSegCache(c, GS, gs, gs << 4, 0xffff, 0xf3);
  c.regs[ESP] = esp;
  c.eip = eip;
  c.updateMode();
}
