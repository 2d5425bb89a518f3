// Segment registers and descriptors: how a selector becomes a descriptor cache in each mode,
// and the checks a protected-mode load makes. Every other mechanism (far transfers,
// interrupts, task switches) builds on the helpers here.

import { type Cpu } from './cpu';
import { CS, SS, LDTR, EV_DECODE } from './regs';

/** Access-rights bits (descriptor high dword bits 8–23, shifted down by 8). */
export const ACC_ACCESSED = 0x01,
  ACC_RW = 0x02, // writable data / readable code
  ACC_DC = 0x04, // expand-down data / conforming code
  ACC_CODE = 0x08,
  ACC_S = 0x10, // code or data (not system)
  ACC_PRESENT = 0x80,
  ACC_DB = 0x4000,
  ACC_G = 0x8000;

export function accDpl(access: number): number {
  return (access >> 5) & 3;
}

/** Base of a descriptor given as two dwords. */
export function descBase(lo: number, hi: number): number {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000) | 0;
}

/** Byte-granular limit of a descriptor. */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Access rights of a descriptor in the contract's format. */
export function descAccess(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

/**
 * Put a descriptor cache into segment register `seg` and recompute the offsets reads and
 * writes through it may touch. In protected mode the access rights decide; in real and
 * virtual-8086 mode only the limit does.
 */
export function setSegCache(c: Cpu, seg: number, sel: number, base: number, limit: number, access: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = base;
  c.segLimit[seg] = limit >>> 0;
  c.segAccess[seg] = access;
  computeBounds(c, seg);
  if (seg === CS) {
    c.cs32 = !c.v86 && (access & ACC_DB) !== 0 ? 1 : 0;
    c.fetchLen = 0;
    // The instruction that loaded CS finishes with its own sizes; the next one decodes
    // with the new segment's defaults.
    c.events |= EV_DECODE;
  } else if (seg === SS) {
    c.ss32 = !c.v86 && (access & ACC_DB) !== 0 ? 1 : 0;
  }
}

function computeBounds(c: Cpu, seg: number): void {
  const limit = c.segLimit[seg];
  const access = c.segAccess[seg];
  let rdLo = 0,
    rdHi = limit,
    writable = true;
  if (c.protectedMode && !c.v86) {
    if (seg >= LDTR || (access & ACC_PRESENT) === 0 || (access & ACC_S) === 0) {
      rdLo = 1;
      rdHi = 0;
      writable = false;
    } else if (access & ACC_CODE) {
      if ((access & ACC_RW) === 0) {
        rdLo = 1;
        rdHi = 0;
      }
      writable = false;
    } else {
      if (access & ACC_DC) {
        rdLo = limit + 1;
        rdHi = access & ACC_DB ? 0xffffffff : 0xffff;
      }
      writable = (access & ACC_RW) !== 0;
    }
  }
  c.segRdLo[seg] = rdLo;
  c.segRdHi[seg] = rdHi;
  c.segWrLo[seg] = writable ? rdLo : 1;
  c.segWrHi[seg] = writable ? rdHi : 0;
}

/** After a mode change (EFLAGS.VM, CR0.PE): rebuild register `seg`'s cache for the new mode. */
export function loadDescriptorCache(c: Cpu, seg: number): void {
  if (c.v86) setSegCache(c, seg, c.segSel[seg], c.segSel[seg] << 4, 0xffff, seg === CS ? 0xfb : 0xf3);
  else setSegCache(c, seg, c.segSel[seg], c.segBase[seg], c.segLimit[seg], c.segAccess[seg]);
}

/** Recompute every segment's bounds (after CR0.PE changed). */
export function recomputeAllBounds(c: Cpu): void {
  for (let s = 0; s < 8; s++) computeBounds(c, s);
}

/**
 * Read the descriptor `sel` names from the GDT or LDT into c.descLo/descHi/descAddr.
 * Returns false when the selector lies outside its table (callers choose the fault).
 */
export function readDescriptor(c: Cpu, sel: number): boolean {
  const index = sel & ~7;
  let base: number, limit: number;
  if (sel & 4) {
    if ((c.segAccess[LDTR] & ACC_PRESENT) === 0 || (c.segSel[LDTR] & ~3) === 0) return false;
    base = c.segBase[LDTR];
    limit = c.segLimit[LDTR];
  } else {
    base = c.gdtBase;
    limit = c.gdtLimit;
  }
  if (index + 7 > limit) return false;
  c.descAddr = (base + index) | 0;
  c.descLo = c.sysRead32(c.descAddr);
  c.descHi = c.sysRead32((c.descAddr + 4) | 0);
  return true;
}

/** Set the accessed bit of the descriptor last read, as the CPU does on a load. */
export function markAccessed(c: Cpu): void {
  if ((c.descHi & 0x100) === 0) {
    c.descHi |= 0x100;
    c.sysWrite8((c.descAddr + 5) | 0, (c.descHi >>> 8) & 0xff);
  }
}

/** Load the descriptor last read into segment register `seg` with selector `sel`. */
export function loadFromDescriptor(c: Cpu, seg: number, sel: number): void {
  setSegCache(c, seg, sel, descBase(c.descLo, c.descHi), descLimit(c.descLo, c.descHi), descAccess(c.descHi));
}

/** A data-segment register gets the null selector: usable for nothing until reloaded. */
export function loadNull(c: Cpu, seg: number, sel: number): void {
  setSegCache(c, seg, sel, 0, 0, 0);
}

/**
 * MOV/POP/LDS-family load of a data or stack segment register, with every protected-mode
 * check (null selector, table limit, type, DPL/RPL/CPL, present) and its fault.
 */
export function loadSeg(c: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!c.protectedMode || c.v86) {
    if (c.v86) setSegCache(c, seg, sel, sel << 4, 0xffff, seg === CS ? 0xfb : 0xf3);
    else setSegCache(c, seg, sel, sel << 4, c.segLimit[seg], c.segAccess[seg] | ACC_PRESENT);
    return;
  }
  const code = sel & 0xfffc;
  if (code === 0 && (sel & 4) === 0) {
    if (seg === SS) c.faultCode(13, 0);
    loadNull(c, seg, sel);
    return;
  }
  if (!readDescriptor(c, sel)) c.faultCode(13, code);
  const access = descAccess(c.descHi);
  const dpl = accDpl(access);
  const rpl = sel & 3;
  if (seg === SS) {
    if (rpl !== c.cpl) c.faultCode(13, code);
    if ((access & (ACC_S | ACC_CODE | ACC_RW)) !== (ACC_S | ACC_RW)) c.faultCode(13, code);
    if (dpl !== c.cpl) c.faultCode(13, code);
    if ((access & ACC_PRESENT) === 0) c.faultCode(12, code);
  } else {
    if ((access & ACC_S) === 0) c.faultCode(13, code);
    if ((access & (ACC_CODE | ACC_RW)) === ACC_CODE) c.faultCode(13, code); // execute-only code
    const conforming = (access & (ACC_CODE | ACC_DC)) === (ACC_CODE | ACC_DC);
    if (!conforming && (rpl > dpl || c.cpl > dpl)) c.faultCode(13, code);
    if ((access & ACC_PRESENT) === 0) c.faultCode(11, code);
  }
  markAccessed(c);
  loadFromDescriptor(c, seg, sel);
}

/**
 * On a return to an outer ring, data segment registers the new CPL may not use are
 * nulled (their selectors stay architecturally visible as null).
 */
export function invalidateOuterSegments(c: Cpu, segs: readonly number[]): void {
  for (const seg of segs) {
    const access = c.segAccess[seg];
    if ((c.segSel[seg] & 0xfffc) === 0 && (c.segSel[seg] & 4) === 0) continue;
    const conforming = (access & (ACC_CODE | ACC_DC)) === (ACC_CODE | ACC_DC);
    if ((access & ACC_S) === 0 || (!conforming && accDpl(access) < c.cpl)) loadNull(c, seg, 0);
  }
}

/** The TR register's busy bit lives in the descriptor in the GDT; toggle it. */
export function setTssBusy(c: Cpu, sel: number, busy: boolean): void {
  const addr = (c.gdtBase + (sel & ~7) + 5) | 0;
  const b = c.sysRead8(addr);
  c.sysWrite8(addr, busy ? b | 0x02 : b & ~0x02);
}
