// Protection-control instructions: the ones a kernel uses to set up and inspect the
// protected-mode machinery — the descriptor-table registers (LGDT/LIDT/SGDT/SIDT), the LDT
// and task registers (LLDT/LTR/SLDT/STR), the machine status word (LMSW/SMSW), TLB
// invalidation (INVLPG) — and the unprivileged probes a program may use to ask about a
// selector without risking a fault (LAR, LSL, VERR, VERW, ARPL). The lguest host loads the
// guest's GDT and IDT with these before its first switch; the guest kernel runs them in
// ring 1, where the privileged ones fault and the hypervisor emulates them.

import { Vector } from '../contract';
import type { Cpu } from './cpu';
import { LDTR, TR, CR0_PE } from './regs';
import { ZF } from './flags';
import { ea, readE16 } from './modrm';
import {
  ACC_CODE,
  ACC_DC,
  ACC_RW,
  ACC_S,
  accDpl,
  descAccess,
  descLimit,
  loadFromDescriptor,
  readDescriptor,
  recomputeAllBounds,
  setSegCache,
  setTssBusy,
} from './segments';

/** System descriptor types LAR reports on (TSSes, LDT, call and task gates) as bit masks. */
const LAR_TYPES = (1 << 0x1) | (1 << 0x2) | (1 << 0x3) | (1 << 0x4) | (1 << 0x5) | (1 << 0x9) | (1 << 0xb) | (1 << 0xc);
/** System descriptor types with a limit LSL reports (TSSes and the LDT). */
const LSL_TYPES = (1 << 0x1) | (1 << 0x2) | (1 << 0x3) | (1 << 0x9) | (1 << 0xb);

/** 0F 00: SLDT STR LLDT LTR VERR VERW — protected mode only (#UD in real and V86 mode). */
export function group6(c: Cpu, modrm: number): void {
  const op = (modrm >> 3) & 7;
  if (op >= 6 || !c.protectedMode || c.v86) c.fault(Vector.UD);
  switch (op) {
    case 0:
      storeSelector(c, modrm, c.segSel[LDTR]);
      return;
    case 1:
      storeSelector(c, modrm, c.segSel[TR]);
      return;
    case 2:
      if (c.cpl !== 0) c.faultCode(13, 0);
      lldt(c, readE16(c, modrm));
      return;
    case 3:
      if (c.cpl !== 0) c.faultCode(13, 0);
      ltr(c, readE16(c, modrm));
      return;
    default:
      c.fl.setStatus(verify(c, readE16(c, modrm), op === 5) ? ZF : 0, ZF);
  }
}

/**
 * 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG. With a 16-bit operand size LGDT/LIDT take
 * a 24-bit base, and SGDT/SIDT store the 24-bit base with a zero high byte, as the 386 and
 * 486 do.
 */
export function group7(c: Cpu, modrm: number): void {
  const op = (modrm >> 3) & 7;
  const mem = modrm < 0xc0;
  // Privileged in protected mode, V86 included (where CPL is 3).
  const privileged = c.protectedMode && c.cpl !== 0;
  switch (op) {
    case 0:
    case 1: {
      if (!mem) c.fault(Vector.UD);
      const off = ea(c, modrm);
      const seg = c.eaSeg;
      const limit = op === 0 ? c.gdtLimit : c.idtLimit;
      const base = op === 0 ? c.gdtBase : c.idtBase;
      c.linW(seg, off, 6);
      c.wr16(seg, off, limit);
      c.wr32(seg, (off + 2) | 0, c.o32 ? base : base & 0xffffff);
      return;
    }
    case 2:
    case 3: {
      if (!mem) c.fault(Vector.UD);
      if (privileged) c.faultCode(13, 0);
      const off = ea(c, modrm);
      const seg = c.eaSeg;
      const limit = c.rd16(seg, off);
      let base = c.rd32(seg, (off + 2) | 0);
      if (!c.o32) base &= 0xffffff;
      if (op === 2) {
        c.gdtLimit = limit;
        c.gdtBase = base;
      } else {
        c.idtLimit = limit;
        c.idtBase = base;
      }
      return;
    }
    case 4:
      // SMSW: a register destination with 32-bit operand size receives all of CR0.
      if (!mem) {
        if (c.o32) c.regs[modrm & 7] = c.cr0;
        else c.r16[(modrm & 7) << 1] = c.cr0;
      } else {
        const off = ea(c, modrm);
        c.wr16(c.eaSeg, off, c.cr0);
      }
      return;
    case 6: {
      if (privileged) c.faultCode(13, 0);
      lmsw(c, readE16(c, modrm));
      return;
    }
    case 7: {
      if (!mem) c.fault(Vector.UD);
      if (privileged) c.faultCode(13, 0);
      const off = ea(c, modrm);
      // No limit check: INVLPG names a linear address, it does not access it.
      c.invlpg((c.segBase[c.eaSeg] + off) | 0);
      return;
    }
    default:
      c.fault(Vector.UD);
  }
}

/** 0F 02 LAR, 0F 03 LSL: ZF says whether the selector is visible at this CPL and RPL. */
export function larLsl(c: Cpu, modrm: number, lsl: boolean): void {
  if (!c.protectedMode || c.v86) c.fault(Vector.UD);
  const sel = readE16(c, modrm);
  const reg = (modrm >> 3) & 7;
  let ok = false;
  if ((sel & 0xfffc) !== 0 && readDescriptor(c, sel)) {
    const access = descAccess(c.descHi);
    const dpl = accDpl(access);
    const conforming = (access & (ACC_S | ACC_CODE | ACC_DC)) === (ACC_S | ACC_CODE | ACC_DC);
    const valid = (access & ACC_S) !== 0 || ((lsl ? LSL_TYPES : LAR_TYPES) & (1 << (access & 0xf))) !== 0;
    ok = valid && (conforming || (dpl >= c.cpl && dpl >= (sel & 3)));
  }
  if (ok) {
    // LAR: the descriptor's high dword masked to type/S/DPL/P and AVL/D/G (limit 19:16
    // reads as zero); a 16-bit destination keeps only the low word. LSL: the byte limit.
    const v = lsl ? descLimit(c.descLo, c.descHi) : c.descHi & 0x00f0ff00;
    if (c.o32) c.regs[reg] = v;
    else c.r16[reg << 1] = v;
  }
  c.fl.setStatus(ok ? ZF : 0, ZF);
}

/** 63: ARPL r/m16, r16 — raise the destination selector's RPL to the source's. */
export function arpl(c: Cpu, modrm: number): void {
  if (!c.protectedMode || c.v86) c.fault(Vector.UD);
  const rpl = c.r16[((modrm >> 3) & 7) << 1] & 3;
  let raised = false;
  if (modrm >= 0xc0) {
    const i = (modrm & 7) << 1;
    const dst = c.r16[i];
    if ((dst & 3) < rpl) {
      c.r16[i] = (dst & ~3) | rpl;
      raised = true;
    }
  } else {
    // Written only when the RPL is raised (a read-only operand that needs no change is
    // fine: that is what the hardware does, though Bochs faults).
    const off = ea(c, modrm);
    const seg = c.eaSeg;
    const dst = c.rd16(seg, off);
    if ((dst & 3) < rpl) {
      c.wr16(seg, off, (dst & ~3) | rpl);
      raised = true;
    }
  }
  c.fl.setStatus(raised ? ZF : 0, ZF);
}

/** SLDT/STR: a memory destination is always a word; a 32-bit register is zero-extended. */
function storeSelector(c: Cpu, modrm: number, sel: number): void {
  if (modrm >= 0xc0) {
    if (c.o32) c.regs[modrm & 7] = sel;
    else c.r16[(modrm & 7) << 1] = sel;
  } else {
    const off = ea(c, modrm);
    c.wr16(c.eaSeg, off, sel);
  }
}

/** LLDT: null leaves LDTR unusable; otherwise a present LDT descriptor in the GDT. */
function lldt(c: Cpu, sel: number): void {
  const err = sel & 0xfffc;
  if (err === 0) {
    setSegCache(c, LDTR, sel, 0, 0, 0);
    return;
  }
  if (sel & 4 || !readDescriptor(c, sel)) c.faultCode(13, err);
  if (((c.descHi >>> 8) & 0x1f) !== 0x02) c.faultCode(13, err);
  if ((c.descHi & 0x8000) === 0) c.faultCode(11, err);
  loadFromDescriptor(c, LDTR, sel);
}

/** LTR: an available, present TSS in the GDT, which becomes busy. */
function ltr(c: Cpu, sel: number): void {
  const err = sel & 0xfffc;
  if (err === 0) c.faultCode(13, 0);
  if (sel & 4 || !readDescriptor(c, sel)) c.faultCode(13, err);
  const type = (c.descHi >>> 8) & 0x1f;
  if (type !== 0x01 && type !== 0x09) c.faultCode(13, err);
  if ((c.descHi & 0x8000) === 0) c.faultCode(11, err);
  setTssBusy(c, sel, true);
  c.descHi |= 0x200;
  loadFromDescriptor(c, TR, sel);
}

/** VERR/VERW: could a data-segment load of `sel` at this CPL read (write) the segment? */
function verify(c: Cpu, sel: number, write: boolean): boolean {
  if ((sel & 0xfffc) === 0 || !readDescriptor(c, sel)) return false;
  const access = descAccess(c.descHi);
  if ((access & ACC_S) === 0) return false;
  const code = (access & ACC_CODE) !== 0;
  const conforming = code && (access & ACC_DC) !== 0;
  const dpl = accDpl(access);
  if (!conforming && (dpl < c.cpl || dpl < (sel & 3))) return false;
  if (write) return !code && (access & ACC_RW) !== 0;
  return !code || (access & ACC_RW) !== 0;
}

/** LMSW: loads PE MP EM TS; it can enter protected mode but never leave it. */
function lmsw(c: Cpu, msw: number): void {
  const old = c.cr0;
  c.cr0 = (old & ~0xe) | (msw & 0xf);
  if ((old ^ c.cr0) & CR0_PE) {
    c.updateMode();
    recomputeAllBounds(c);
  }
}
