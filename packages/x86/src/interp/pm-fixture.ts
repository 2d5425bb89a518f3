// Test-only: a small protected-mode machine for the far/iret/tasking/system tests. It owns
// 1 MiB of RAM with a GDT, an IDT, an LDT and TSSes at fixed places, writes descriptors
// byte by byte as a kernel would, and puts the CPU into a chosen ring with setState — so a
// test can call one mechanism directly and look at exactly what it did to memory and state.

import { EMPTY_IO_BUS, type SegmentState } from '../contract';
import { Cpu } from './cpu';
import { FAULT } from './regs';
import { descAccess, descBase, descLimit } from './segments';

export const GDT = 0x1000,
  GDT_LIMIT = 0x3ff,
  IDT = 0x2000,
  LDT = 0x1800,
  TSS_A = 0x3000,
  TSS_B = 0x3100,
  TSS_C = 0x3200;

// Selectors of the standard GDT (see standardGdt).
export const CODE0 = 0x08,
  DATA0 = 0x10,
  CODE3 = 0x1b,
  DATA3 = 0x23,
  CODE1 = 0x29,
  DATA1 = 0x31,
  TSSA = 0x38,
  TSSB = 0x40,
  CONF0 = 0x58,
  LDTSEL = 0x70,
  CODE16 = 0x78,
  DATA16 = 0x80,
  TSSC = 0x88;

// Access bytes (P, DPL, S, type) of the descriptors tests build.
export const A_CODE = 0x9a,
  A_CONF = 0x9e,
  A_DATA = 0x92,
  A_TSS32 = 0x89,
  A_TSS16 = 0x81,
  A_LDT = 0x82,
  A_CALL32 = 0x8c,
  A_CALL16 = 0x84,
  A_TASK = 0x85,
  A_INT32 = 0x8e;
export const DPL3 = 0x60,
  DPL1 = 0x20;
// Flags nibble: G and D/B.
export const F_32 = 0xc,
  F_16 = 0x0;

export function newCpu(): Cpu {
  return new Cpu({ memory: new ArrayBuffer(1 << 20), io: EMPTY_IO_BUS });
}

export function w8(c: Cpu, a: number, v: number): void {
  c.mem8[a] = v;
}
export function w16(c: Cpu, a: number, v: number): void {
  c.mem8[a] = v;
  c.mem8[a + 1] = v >> 8;
}
export function w32(c: Cpu, a: number, v: number): void {
  w16(c, a, v);
  w16(c, a + 2, v >>> 16);
}
export function r16(c: Cpu, a: number): number {
  return c.mem8[a] | (c.mem8[a + 1] << 8);
}
export function r32(c: Cpu, a: number): number {
  return (r16(c, a) | (r16(c, a + 2) << 16)) >>> 0;
}

/** A segment descriptor in the GDT (or the LDT when `table` is LDT). */
export function seg(
  c: Cpu,
  sel: number,
  base: number,
  limit: number,
  access: number,
  flags: number,
  table = GDT,
): void {
  const a = table + (sel & ~7);
  w32(c, a, (limit & 0xffff) | ((base & 0xffff) << 16));
  w32(c, a + 4, ((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000));
}

/** A call, task, interrupt or trap gate at `addr` (a GDT/LDT slot or an IDT entry). */
export function gateAt(c: Cpu, addr: number, sel: number, offset: number, access: number, params = 0): void {
  w32(c, addr, (offset & 0xffff) | (sel << 16));
  w32(c, addr + 4, (offset & 0xffff0000) | (access << 8) | (params & 0x1f));
}
export function gate(c: Cpu, sel: number, target: number, offset: number, access: number, params = 0): void {
  gateAt(c, GDT + (sel & ~7), target, offset, access, params);
}

/** The access byte a descriptor in the GDT has now (to see accessed and busy bits). */
export function accessByte(c: Cpu, sel: number): number {
  return c.mem8[GDT + (sel & ~7) + 5];
}

/** Flat 4 GiB segments for rings 0, 1 and 3, TSSes A, B (32-bit) and C (16-bit), an LDT. */
export function standardGdt(c: Cpu): void {
  c.mem8.fill(0, GDT, GDT + GDT_LIMIT + 1);
  seg(c, CODE0, 0, 0xfffff, A_CODE, F_32);
  seg(c, DATA0, 0, 0xfffff, A_DATA, F_32);
  seg(c, CODE3, 0, 0xfffff, A_CODE | DPL3, F_32);
  seg(c, DATA3, 0, 0xfffff, A_DATA | DPL3, F_32);
  seg(c, CODE1, 0, 0xfffff, A_CODE | DPL1, F_32);
  seg(c, DATA1, 0, 0xfffff, A_DATA | DPL1, F_32);
  seg(c, TSSA, TSS_A, 0x67, A_TSS32, 0);
  seg(c, TSSB, TSS_B, 0x67, A_TSS32, 0);
  seg(c, CONF0, 0, 0xfffff, A_CONF, F_32);
  seg(c, LDTSEL, LDT, 0x3f, A_LDT, 0);
  seg(c, CODE16, 0x10000, 0xffff, A_CODE, F_16);
  seg(c, DATA16, 0x20000, 0xffff, A_DATA, F_16);
  seg(c, TSSC, TSS_C, 0x2b, A_TSS16, 0);
}

/** The descriptor cache a successful load of `sel` would produce (code/data: accessed). */
export function cacheOf(c: Cpu, sel: number, table = GDT): SegmentState {
  if ((sel & 0xfffc) === 0) return { selector: sel, base: 0, limit: 0, access: 0 };
  const a = table + (sel & ~7);
  const lo = r32(c, a) | 0;
  const hi = r32(c, a + 4) | 0;
  const access = descAccess(hi);
  return {
    selector: sel,
    base: descBase(lo, hi) >>> 0,
    limit: descLimit(lo, hi),
    access: access & 0x10 ? access | 1 : access,
  };
}

export interface PmSetup {
  cpl: number;
  cs: number;
  ss: number;
  ds?: number;
  es?: number;
  fs?: number;
  gs?: number;
  esp: number;
  eip?: number;
  eflags?: number;
  tr?: number;
  ldtr?: number;
  cr0?: number;
}

/** Protected mode at ring `cpl` with these selectors loaded (their caches from the GDT). */
export function enterPm(c: Cpu, s: PmSetup): void {
  const st = c.getState();
  st.cr0 = s.cr0 ?? 0x11;
  st.gdtr = { base: GDT, limit: GDT_LIMIT };
  st.idtr = { base: IDT, limit: 0x7ff };
  st.cpl = s.cpl;
  st.cs = cacheOf(c, s.cs);
  st.ss = cacheOf(c, s.ss);
  st.ds = cacheOf(c, s.ds ?? 0);
  st.es = cacheOf(c, s.es ?? 0);
  st.fs = cacheOf(c, s.fs ?? 0);
  st.gs = cacheOf(c, s.gs ?? 0);
  const tr = cacheOf(c, s.tr ?? TSSA);
  tr.access |= 2;
  st.tr = tr;
  st.ldtr = cacheOf(c, s.ldtr ?? 0);
  st.esp = s.esp >>> 0;
  st.eip = (s.eip ?? 0x1000) >>> 0;
  st.eflags = s.eflags ?? 0x2;
  c.setState(st);
  // The TSS TR names is busy in the GDT, as after LTR.
  if ((s.tr ?? TSSA) !== 0) c.mem8[GDT + ((s.tr ?? TSSA) & ~7) + 5] |= 2;
}

/** Run `fn`, which must fault; returns [vector, error code or -1 without one]. */
export function faultOf(c: Cpu, fn: () => void): [number, number] {
  try {
    fn();
  } catch (e) {
    if (e !== FAULT) throw e;
    return [c.excVector, c.excHasCode ? c.excCode : -1];
  }
  throw new Error('expected a fault, but the operation completed');
}

/** Like faultOf, and also require that the architectural state did not change at all. */
export function faultsCleanly(c: Cpu, fn: () => void): [number, number] {
  const before = c.getState();
  const r = faultOf(c, fn);
  expect(c.getState()).toEqual(before);
  return r;
}
