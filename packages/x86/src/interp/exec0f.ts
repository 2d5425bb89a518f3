// The two-byte (0F xx) opcode map: system instructions, near Jcc, SETcc, CMOVcc, bit
// operations, double shifts, MOVZX/MOVSX, the 486 atomics, CPUID/RDTSC, and the host escape.

import { type Cpu } from './cpu';
import { EAX, ECX, EDX, EBX, ESP, CS, FS, GS, SS, R8, CR0_PE, CR0_PG, CR0_WP, CR0_ET, CR0_TS } from './regs';
import { CR0_CD, CR0_NW, CR4_PSE, CR4_TSD, EV_RDTSC } from './regs';
import { Exit, Vector } from '../contract';
import { ZF, CF, VM, IF, RF } from './flags';
import { ea, readE8, readE16, readE32, writeE8 } from './modrm';
import * as A from './alu';
import { group6, group7, larLsl } from './system';
import { loadFarPointer, popSeg, jump } from './exec';
import { recomputeAllBounds, setSegCache } from './segments';

const TWO32 = 4294967296;
/** CR4.PCE: RDPMC allowed at any privilege. */
const CR4_PCE = 0x100;

/** CPUID leaf 0 vendor string, "lguest.ts386", as EBX, EDX, ECX. */
const VENDOR = [0x6575676c, 0x742e7473, 0x36383373];
/**
 * CPUID.1:EDX — exactly what this core implements: FPU (the x87), PSE, TSC, MSR (RDMSR and
 * WRMSR for the MSRs it models), CX8, SEP (SYSENTER/SYSEXIT), CMOV.
 */
export const CPUID_FEATURES = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 15);
/** Family 6 (P6: CMOV, FCMOV, FCOMI, RDPMC, UD2, the long NOP, SYSENTER), model 3, stepping 3. */
export const CPUID_SIGNATURE = 0x633;
/** The brand string of leaves 0x80000002–0x80000004, 48 bytes with the NUL. */
export const CPUID_BRAND = 'lguest.ts i686 (P6 integer core, x87 FPU)';
const BRAND = ((): Int32Array => {
  const bytes = new Uint8Array(48);
  for (let i = 0; i < CPUID_BRAND.length && i < 47; i++) bytes[i] = CPUID_BRAND.charCodeAt(i);
  return new Int32Array(bytes.buffer);
})();

// Model-specific registers this core has.
const MSR_PERFCTR0 = 0xc1,
  MSR_SYSENTER_CS = 0x174,
  MSR_SYSENTER_ESP = 0x175,
  MSR_SYSENTER_EIP = 0x176,
  MSR_EVNTSEL0 = 0x186;

/** Executes the instruction after a 0F byte: one handler per second opcode byte. */
export function execute0F(c: Cpu): void {
  const op = c.fetch8();
  OPS_0F[op](c, op);
}

function opInvalid0F(c: Cpu, _op: number): void {
  c.fault(Vector.UD);
}

// ---- system
function op00(c: Cpu, _op: number): void {
  group6(c, c.fetch8());
}

function op01(c: Cpu, _op: number): void {
  group7(c, c.fetch8());
}

/** LAR (0F 02) and LSL (0F 03). */
function larOrLsl(c: Cpu, op: number): void {
  larLsl(c, c.fetch8(), op === 0x03);
}

/** The host escape (see contract.ts): defined at CPL 0 only. */
function op04(c: Cpu, _op: number): void {
  const code = c.fetch8();
  if (c.v86 || c.cpl !== 0) c.fault(Vector.UD);
  c.escapeCode = code;
  c.exit(Exit.HostEscape);
}

/** CLTS. */
function op06(c: Cpu, _op: number): void {
  privileged(c);
  c.cr0 &= ~CR0_TS;
}

/** INVD and WBINVD: no caches to invalidate, only the privilege check. */
function op08(c: Cpu, _op: number): void {
  privileged(c);
}

/** MOV to and from control and debug registers (0F 20–23). */
function op20(c: Cpu, op: number): void {
  moveControl(c, op);
}

/** WRMSR. */
function op30(c: Cpu, _op: number): void {
  privileged(c);
  wrmsr(c);
}

/** RDTSC: CR4.TSD makes it privileged in protected mode. */
function op31(c: Cpu, _op: number): void {
  if ((c.cr4 & CR4_TSD) !== 0 && c.protectedMode && c.cpl !== 0) c.faultCode(Vector.GP, 0);
  c.events |= EV_RDTSC;
}

/** RDMSR. */
function op32(c: Cpu, _op: number): void {
  privileged(c);
  rdmsr(c);
}

/** RDPMC: CR4.PCE lets CPL > 0 read the counters. */
function op33(c: Cpu, _op: number): void {
  const regs = c.regs;
  if ((c.cr4 & CR4_PCE) === 0 && c.protectedMode && (c.cpl !== 0 || c.v86)) c.faultCode(Vector.GP, 0);
  const n = regs[ECX];
  if (n !== 0 && n !== 1) c.faultCode(Vector.GP, 0);
  const v = c.perfCounter[n];
  regs[EAX] = v % TWO32;
  regs[EDX] = Math.floor(v / TWO32);
}

function op34(c: Cpu, _op: number): void {
  sysenter(c);
}

function op35(c: Cpu, _op: number): void {
  sysexit(c);
}

/**
 * Prefetch hints (0F 18) and the hint NOPs (0F 19–1F, the long NOP 0F 1F /0): the operand
 * is decoded but not accessed.
 */
function hintNop(c: Cpu, _op: number): void {
  const m = c.fetch8();
  if (m < 0xc0) ea(c, m);
}

// ---- CMOVcc, Jcc rel16/32, SETcc: one wrapper per condition (registered below)
function cmov(c: Cpu, cc: number): void {
  const m = c.fetch8();
  if (c.o32) {
    const v = readE32(c, m);
    if (c.fl.test(cc)) c.regs[(m >> 3) & 7] = v;
  } else {
    const v = readE16(c, m);
    if (c.fl.test(cc)) c.r16[((m >> 3) & 7) << 1] = v;
  }
}

function jccNear(c: Cpu, cc: number): void {
  const v = c.o32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
  if (c.fl.test(cc)) jump(c, (c.eip + v) | 0);
}

function setcc(c: Cpu, cc: number): void {
  writeE8(c, c.fetch8(), c.fl.test(cc) ? 1 : 0);
}

// ---- FS and GS
/** PUSH FS (0F A0) and PUSH GS (0F A8): a 32-bit push writes only the selector's 16 bits. */
function pushFsGs(c: Cpu, op: number): void {
  const regs = c.regs;
  const sel = c.segSel[op === 0xa0 ? FS : GS];
  if (c.o32) {
    const n = c.ss32 ? (regs[ESP] - 4) | 0 : (regs[ESP] - 4) & 0xffff;
    const lin = c.linW(SS, n, 4);
    if (c.alignCheck) c.checkAlignment(lin, 4);
    c.wr16(SS, n, sel);
    c.setSp(n);
  } else c.push16(sel);
}

function opA1(c: Cpu, _op: number): void {
  popSeg(c, FS);
}

function opA9(c: Cpu, _op: number): void {
  popSeg(c, GS);
}

function opA2(c: Cpu, _op: number): void {
  cpuid(c);
}

/** BT Ev,Gv / BTS / BTR / BTC (0F A3, AB, B3, BB), and group 8 with an immediate (0F BA). */
function opBA(c: Cpu, _op: number): void {
  bitOp(c, -1, true);
}

/** SHLD/SHRD by an immediate (0F A4, AC) or by CL (0F A5, AD). */
function shiftDoubleOp(c: Cpu, left: boolean, byCl: boolean): void {
  const regs = c.regs;
  const m = c.fetch8();
  const sb = c.o32 ? 31 : 15;
  const src = c.o32 ? regs[(m >> 3) & 7] : c.r16[((m >> 3) & 7) << 1];
  if (m >= 0xc0) {
    const count = byCl ? c.r8[4] : c.fetch8();
    const rm = m & 7;
    if (sb === 31) regs[rm] = A.shiftDouble(c, left, regs[rm], src, count, 31);
    else c.r16[rm << 1] = A.shiftDouble(c, left, c.r16[rm << 1], src, count, 15);
  } else {
    const off = ea(c, m);
    const count = byCl ? c.r8[4] : c.fetch8();
    if (sb === 31) c.rmwWrite32(A.shiftDouble(c, left, c.rmwRead32(c.eaSeg, off), src, count, 31));
    else c.rmwWrite16(A.shiftDouble(c, left, c.rmwRead16(c.eaSeg, off), src, count, 15));
  }
}

/** IMUL Gv,Ev. */
function opAF(c: Cpu, _op: number): void {
  const regs = c.regs;
  const m = c.fetch8();
  if (c.o32) regs[(m >> 3) & 7] = A.imul2(c, regs[(m >> 3) & 7], readE32(c, m), 31);
  else c.r16[((m >> 3) & 7) << 1] = A.imul2(c, c.r16[((m >> 3) & 7) << 1], readE16(c, m), 15);
}

/** LSS, LFS, LGS: a far pointer from memory (a register operand is #UD). */
function loadFar(c: Cpu, seg: number): void {
  const m = c.fetch8();
  if (m >= 0xc0) c.fault(Vector.UD);
  loadFarPointer(c, m, seg);
}

/** MOVZX/MOVSX into Gv: `value` is the source already extended to 32 bits. */
function setGv(c: Cpu, m: number, value: number): void {
  if (c.o32) c.regs[(m >> 3) & 7] = value;
  else c.r16[((m >> 3) & 7) << 1] = value;
}

function opB6(c: Cpu, _op: number): void {
  const m = c.fetch8();
  setGv(c, m, readE8(c, m));
}

function opB7(c: Cpu, _op: number): void {
  const m = c.fetch8();
  setGv(c, m, readE16(c, m));
}

function opBE(c: Cpu, _op: number): void {
  const m = c.fetch8();
  setGv(c, m, (readE8(c, m) << 24) >> 24);
}

function opBF(c: Cpu, _op: number): void {
  const m = c.fetch8();
  setGv(c, m, (readE16(c, m) << 16) >> 16);
}

/** BSF (0F BC) and BSR (0F BD): the destination is left alone for a zero source. */
function bitScanOp(c: Cpu, op: number): void {
  const m = c.fetch8();
  const sb = c.o32 ? 31 : 15;
  const v = c.o32 ? readE32(c, m) : readE16(c, m);
  const bit = A.bitScan(c, v, op === 0xbd, sb);
  if (bit >= 0) setGv(c, m, bit);
}

function opC7(c: Cpu, _op: number): void {
  cmpxchg8b(c);
}

/** BSWAP r32 (0F C8+r). */
function bswap(c: Cpu, r: number): void {
  const regs = c.regs;
  if (c.o32) {
    const v = regs[r];
    regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  } else c.r16[r << 1] = 0; // BSWAP of a 16-bit register: undefined; current CPUs give 0
}

/**
 * The two-byte opcode map, as exec.ts's one-byte map: a handler per second byte; opcodes
 * that share a handler but fix a condition or an operation (CMOVcc, Jcc, SETcc, the bit
 * operations, the double shifts, BSWAP's register) get a wrapper each, so the constant folds.
 */
const OPS_0F: ((c: Cpu, op: number) => void)[] = new Array<(c: Cpu, op: number) => void>(256).fill(opInvalid0F);
OPS_0F[0x00] = op00;
OPS_0F[0x01] = op01;
OPS_0F[0x02] = larOrLsl;
OPS_0F[0x03] = larOrLsl;
OPS_0F[0x04] = op04;
OPS_0F[0x06] = op06;
OPS_0F[0x08] = op08;
OPS_0F[0x09] = op08;
for (let op = 0x18; op <= 0x1f; op++) OPS_0F[op] = hintNop;
for (let op = 0x20; op <= 0x23; op++) OPS_0F[op] = op20;
OPS_0F[0x30] = op30;
OPS_0F[0x31] = op31;
OPS_0F[0x32] = op32;
OPS_0F[0x33] = op33;
OPS_0F[0x34] = op34;
OPS_0F[0x35] = op35;
OPS_0F[0x40] = (c: Cpu): void => cmov(c, 0);
OPS_0F[0x41] = (c: Cpu): void => cmov(c, 1);
OPS_0F[0x42] = (c: Cpu): void => cmov(c, 2);
OPS_0F[0x43] = (c: Cpu): void => cmov(c, 3);
OPS_0F[0x44] = (c: Cpu): void => cmov(c, 4);
OPS_0F[0x45] = (c: Cpu): void => cmov(c, 5);
OPS_0F[0x46] = (c: Cpu): void => cmov(c, 6);
OPS_0F[0x47] = (c: Cpu): void => cmov(c, 7);
OPS_0F[0x48] = (c: Cpu): void => cmov(c, 8);
OPS_0F[0x49] = (c: Cpu): void => cmov(c, 9);
OPS_0F[0x4a] = (c: Cpu): void => cmov(c, 10);
OPS_0F[0x4b] = (c: Cpu): void => cmov(c, 11);
OPS_0F[0x4c] = (c: Cpu): void => cmov(c, 12);
OPS_0F[0x4d] = (c: Cpu): void => cmov(c, 13);
OPS_0F[0x4e] = (c: Cpu): void => cmov(c, 14);
OPS_0F[0x4f] = (c: Cpu): void => cmov(c, 15);
OPS_0F[0x80] = (c: Cpu): void => jccNear(c, 0);
OPS_0F[0x81] = (c: Cpu): void => jccNear(c, 1);
OPS_0F[0x82] = (c: Cpu): void => jccNear(c, 2);
OPS_0F[0x83] = (c: Cpu): void => jccNear(c, 3);
OPS_0F[0x84] = (c: Cpu): void => jccNear(c, 4);
OPS_0F[0x85] = (c: Cpu): void => jccNear(c, 5);
OPS_0F[0x86] = (c: Cpu): void => jccNear(c, 6);
OPS_0F[0x87] = (c: Cpu): void => jccNear(c, 7);
OPS_0F[0x88] = (c: Cpu): void => jccNear(c, 8);
OPS_0F[0x89] = (c: Cpu): void => jccNear(c, 9);
OPS_0F[0x8a] = (c: Cpu): void => jccNear(c, 10);
OPS_0F[0x8b] = (c: Cpu): void => jccNear(c, 11);
OPS_0F[0x8c] = (c: Cpu): void => jccNear(c, 12);
OPS_0F[0x8d] = (c: Cpu): void => jccNear(c, 13);
OPS_0F[0x8e] = (c: Cpu): void => jccNear(c, 14);
OPS_0F[0x8f] = (c: Cpu): void => jccNear(c, 15);
OPS_0F[0x90] = (c: Cpu): void => setcc(c, 0);
OPS_0F[0x91] = (c: Cpu): void => setcc(c, 1);
OPS_0F[0x92] = (c: Cpu): void => setcc(c, 2);
OPS_0F[0x93] = (c: Cpu): void => setcc(c, 3);
OPS_0F[0x94] = (c: Cpu): void => setcc(c, 4);
OPS_0F[0x95] = (c: Cpu): void => setcc(c, 5);
OPS_0F[0x96] = (c: Cpu): void => setcc(c, 6);
OPS_0F[0x97] = (c: Cpu): void => setcc(c, 7);
OPS_0F[0x98] = (c: Cpu): void => setcc(c, 8);
OPS_0F[0x99] = (c: Cpu): void => setcc(c, 9);
OPS_0F[0x9a] = (c: Cpu): void => setcc(c, 10);
OPS_0F[0x9b] = (c: Cpu): void => setcc(c, 11);
OPS_0F[0x9c] = (c: Cpu): void => setcc(c, 12);
OPS_0F[0x9d] = (c: Cpu): void => setcc(c, 13);
OPS_0F[0x9e] = (c: Cpu): void => setcc(c, 14);
OPS_0F[0x9f] = (c: Cpu): void => setcc(c, 15);
OPS_0F[0xa0] = pushFsGs;
OPS_0F[0xa1] = opA1;
OPS_0F[0xa2] = opA2;
OPS_0F[0xa3] = (c: Cpu): void => bitOp(c, 0, false); // BT
OPS_0F[0xa4] = (c: Cpu): void => shiftDoubleOp(c, true, false); // SHLD Ev,Gv,Ib
OPS_0F[0xa5] = (c: Cpu): void => shiftDoubleOp(c, true, true); // SHLD Ev,Gv,CL
OPS_0F[0xa8] = pushFsGs;
OPS_0F[0xa9] = opA9;
OPS_0F[0xab] = (c: Cpu): void => bitOp(c, 1, false); // BTS
OPS_0F[0xac] = (c: Cpu): void => shiftDoubleOp(c, false, false); // SHRD Ev,Gv,Ib
OPS_0F[0xad] = (c: Cpu): void => shiftDoubleOp(c, false, true); // SHRD Ev,Gv,CL
OPS_0F[0xaf] = opAF;
OPS_0F[0xb0] = (c: Cpu): void => cmpxchg(c, true);
OPS_0F[0xb1] = (c: Cpu): void => cmpxchg(c, false);
OPS_0F[0xb2] = (c: Cpu): void => loadFar(c, SS);
OPS_0F[0xb3] = (c: Cpu): void => bitOp(c, 2, false); // BTR
OPS_0F[0xb4] = (c: Cpu): void => loadFar(c, FS);
OPS_0F[0xb5] = (c: Cpu): void => loadFar(c, GS);
OPS_0F[0xb6] = opB6;
OPS_0F[0xb7] = opB7;
OPS_0F[0xba] = opBA;
OPS_0F[0xbb] = (c: Cpu): void => bitOp(c, 3, false); // BTC
OPS_0F[0xbc] = bitScanOp;
OPS_0F[0xbd] = bitScanOp;
OPS_0F[0xbe] = opBE;
OPS_0F[0xbf] = opBF;
OPS_0F[0xc0] = (c: Cpu): void => xadd(c, true);
OPS_0F[0xc1] = (c: Cpu): void => xadd(c, false);
OPS_0F[0xc7] = opC7;
OPS_0F[0xc8] = (c: Cpu): void => bswap(c, 0);
OPS_0F[0xc9] = (c: Cpu): void => bswap(c, 1);
OPS_0F[0xca] = (c: Cpu): void => bswap(c, 2);
OPS_0F[0xcb] = (c: Cpu): void => bswap(c, 3);
OPS_0F[0xcc] = (c: Cpu): void => bswap(c, 4);
OPS_0F[0xcd] = (c: Cpu): void => bswap(c, 5);
OPS_0F[0xce] = (c: Cpu): void => bswap(c, 6);
OPS_0F[0xcf] = (c: Cpu): void => bswap(c, 7);

/** Instructions reserved to CPL 0 (#GP(0) elsewhere, including virtual-8086 mode). */
function privileged(c: Cpu): void {
  if (c.protectedMode && (c.v86 || c.cpl !== 0)) c.faultCode(Vector.GP, 0);
}

/** MOV to/from CR0/2/3/4 and DR0–7; the ModRM mod field is ignored (always registers). */
function moveControl(c: Cpu, op: number): void {
  const m = c.fetch8();
  const n = (m >> 3) & 7;
  const rm = m & 7;
  const regs = c.regs;
  if (op === 0x20 || op === 0x22) {
    if (n === 1 || n > 4) c.fault(Vector.UD);
    privileged(c);
    if (op === 0x20) {
      regs[rm] = n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : c.cr4;
      return;
    }
    const v = regs[rm];
    if (n === 0) writeCr0(c, v);
    else if (n === 2) c.cr2 = v;
    else if (n === 3) {
      // The page-directory base and the PWT/PCD cache-control bits.
      c.loadCr3(v & 0xfffff018);
    } else {
      // Only what CPUID reports this core implements: TSD (with TSC), PSE, and PCE (P6).
      if ((v & ~(CR4_TSD | CR4_PSE | CR4_PCE)) !== 0) c.faultCode(Vector.GP, 0);
      if ((v ^ c.cr4) & CR4_PSE) c.flushTlb();
      c.cr4 = v;
    }
    return;
  }
  privileged(c);
  const d = n === 4 ? 6 : n === 5 ? 7 : n;
  if (op === 0x21) regs[rm] = c.dr[d];
  else c.dr[d] = regs[rm];
}

export function writeCr0(c: Cpu, v: number): void {
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) c.faultCode(Vector.GP, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) c.faultCode(Vector.GP, 0);
  const old = c.cr0;
  c.cr0 = (v | CR0_ET) & 0xe005003f;
  if ((old ^ c.cr0) & (CR0_PG | CR0_WP | CR0_PE)) c.flushTlb();
  c.updateMode();
  if ((old ^ c.cr0) & CR0_PE) recomputeAllBounds(c);
}

function cpuid(c: Cpu): void {
  const regs = c.regs;
  let leaf = regs[EAX] >>> 0;
  // Beyond the last leaf of either range: the last basic leaf's data, as Intel documents.
  if ((leaf > 1 && leaf < 0x80000000) || leaf > 0x80000004) leaf = 1;
  switch (leaf) {
    case 0:
      regs[EAX] = 1;
      regs[EBX] = VENDOR[0];
      regs[EDX] = VENDOR[1];
      regs[ECX] = VENDOR[2];
      return;
    case 1:
      regs[EAX] = CPUID_SIGNATURE;
      regs[EBX] = 0;
      regs[ECX] = 0;
      regs[EDX] = CPUID_FEATURES;
      return;
    case 0x80000000:
      regs[EAX] = 0x80000004 | 0;
      regs[EBX] = regs[ECX] = regs[EDX] = 0;
      return;
    case 0x80000001:
      regs[EAX] = regs[EBX] = regs[ECX] = regs[EDX] = 0;
      return;
    default: {
      const at = (leaf - 0x80000002) * 4;
      regs[EAX] = BRAND[at];
      regs[EBX] = BRAND[at + 1];
      regs[ECX] = BRAND[at + 2];
      regs[EDX] = BRAND[at + 3];
    }
  }
}

function rdmsr(c: Cpu): void {
  const regs = c.regs;
  const n = regs[ECX] >>> 0;
  let lo: number,
    hi = 0;
  switch (n) {
    case MSR_SYSENTER_CS:
      lo = c.sysenterCs;
      break;
    case MSR_SYSENTER_ESP:
      lo = c.sysenterEsp;
      break;
    case MSR_SYSENTER_EIP:
      lo = c.sysenterEip;
      break;
    case MSR_PERFCTR0:
    case MSR_PERFCTR0 + 1: {
      const v = c.perfCounter[n - MSR_PERFCTR0];
      lo = v % TWO32;
      hi = Math.floor(v / TWO32);
      break;
    }
    case MSR_EVNTSEL0:
    case MSR_EVNTSEL0 + 1:
      lo = c.perfEventSelect[n - MSR_EVNTSEL0];
      break;
    default:
      c.faultCode(Vector.GP, 0);
  }
  regs[EAX] = lo;
  regs[EDX] = hi;
}

function wrmsr(c: Cpu): void {
  const regs = c.regs;
  const n = regs[ECX] >>> 0;
  const lo = regs[EAX];
  switch (n) {
    case MSR_SYSENTER_CS:
      c.sysenterCs = lo & 0xffff;
      return;
    case MSR_SYSENTER_ESP:
      c.sysenterEsp = lo;
      return;
    case MSR_SYSENTER_EIP:
      c.sysenterEip = lo;
      return;
    case MSR_PERFCTR0:
    case MSR_PERFCTR0 + 1:
      // 40-bit counters.
      c.perfCounter[n - MSR_PERFCTR0] = (regs[EDX] & 0xff) * TWO32 + (lo >>> 0);
      return;
    case MSR_EVNTSEL0:
    case MSR_EVNTSEL0 + 1:
      c.perfEventSelect[n - MSR_EVNTSEL0] = lo;
      return;
    default:
      c.faultCode(Vector.GP, 0);
  }
}

// Flat 4 GiB segments SYSENTER/SYSEXIT load (access rights as in SegmentState).
const FLAT_CODE0 = 0xc09b,
  FLAT_DATA0 = 0xc093,
  FLAT_CODE3 = 0xc0fb,
  FLAT_DATA3 = 0xc0f3;

/** SYSENTER: to ring 0 at SYSENTER_CS:SYSENTER_EIP with SYSENTER_ESP, flat segments. */
function sysenter(c: Cpu): void {
  const cs = c.sysenterCs & 0xfffc;
  if (!c.protectedMode || cs === 0) c.faultCode(Vector.GP, 0);
  c.setEflags(0, VM | IF | RF);
  c.setCpl(0);
  setSegCache(c, CS, cs, 0, 0xffffffff, FLAT_CODE0);
  setSegCache(c, SS, (cs + 8) & 0xffff, 0, 0xffffffff, FLAT_DATA0);
  c.regs[ESP] = c.sysenterEsp;
  jump(c, c.sysenterEip);
}

/** SYSEXIT: to ring 3 at (SYSENTER_CS + 16):EDX with ESP = ECX, flat segments. */
function sysexit(c: Cpu): void {
  const cs = c.sysenterCs & 0xfffc;
  if (!c.protectedMode || c.v86 || c.cpl !== 0 || cs === 0) c.faultCode(Vector.GP, 0);
  c.setCpl(3);
  setSegCache(c, CS, ((cs + 16) | 3) & 0xffff, 0, 0xffffffff, FLAT_CODE3);
  setSegCache(c, SS, ((cs + 24) | 3) & 0xffff, 0, 0xffffffff, FLAT_DATA3);
  c.regs[ESP] = c.regs[ECX];
  jump(c, c.regs[EDX]);
}

/** BT/BTS/BTR/BTC (kind 0–3). With a register bit offset and a memory operand the offset
 *  is signed and may address outside the operand. */
function bitOp(c: Cpu, kind: number, imm: boolean): void {
  const m = c.fetch8();
  const regs = c.regs;
  const o32 = c.o32;
  const bits = o32 ? 32 : 16;
  if (imm) {
    kind = ((m >> 3) & 7) - 4;
    if (kind < 0) c.fault(Vector.UD);
  }
  let bit: number;
  if (m >= 0xc0) {
    bit = (imm ? c.fetch8() : o32 ? regs[(m >> 3) & 7] : c.r16[((m >> 3) & 7) << 1]) & (bits - 1);
    const rm = m & 7;
    const v = o32 ? regs[rm] : c.r16[rm << 1];
    c.fl.setStatus((v >>> bit) & 1 ? CF : 0, CF);
    if (kind === 0) return;
    const r = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
    if (o32) regs[rm] = r;
    else c.r16[rm << 1] = r;
    return;
  }
  let off = ea(c, m);
  const seg = c.eaSeg;
  if (imm) bit = c.fetch8() & (bits - 1);
  else {
    const raw = o32 ? regs[(m >> 3) & 7] : (c.r16[((m >> 3) & 7) << 1] << 16) >> 16;
    const word = o32 ? raw >> 5 : raw >> 4;
    off = (off + word * (bits >> 3)) | 0;
    if (!c.a32) off &= 0xffff;
    bit = raw & (bits - 1);
  }
  if (kind === 0) {
    const v = o32 ? c.rd32(seg, off) : c.rd16(seg, off);
    c.fl.setStatus((v >>> bit) & 1 ? CF : 0, CF);
    return;
  }
  const v = o32 ? c.rmwRead32(seg, off) : c.rmwRead16(seg, off);
  c.fl.setStatus((v >>> bit) & 1 ? CF : 0, CF);
  const r = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
  if (o32) c.rmwWrite32(r);
  else c.rmwWrite16(r);
}

function cmpxchg(c: Cpu, byte: boolean): void {
  const m = c.fetch8();
  const regs = c.regs;
  const sb = byte ? 7 : c.o32 ? 31 : 15;
  const reg = (m >> 3) & 7;
  const src = byte ? c.r8[R8[reg]] : sb === 31 ? regs[reg] : c.r16[reg << 1];
  const acc = byte ? c.r8[0] : sb === 31 ? regs[EAX] : c.r16[0];
  let dest: number;
  if (m >= 0xc0) {
    const rm = m & 7;
    dest = byte ? c.r8[R8[rm]] : sb === 31 ? regs[rm] : c.r16[rm << 1];
    A.alu(c, A.ALU_CMP, acc, dest, sb);
    if (c.fl.zf()) {
      if (byte) c.r8[R8[rm]] = src;
      else if (sb === 31) regs[rm] = src;
      else c.r16[rm << 1] = src;
      return;
    }
  } else {
    const off = ea(c, m);
    dest = byte ? c.rmwRead8(c.eaSeg, off) : sb === 31 ? c.rmwRead32(c.eaSeg, off) : c.rmwRead16(c.eaSeg, off);
    A.alu(c, A.ALU_CMP, acc, dest, sb);
    const equal = c.fl.zf() !== 0;
    // The destination is always written: the new value, or its own value back.
    const w = equal ? src : dest;
    if (byte) c.rmwWrite8(w);
    else if (sb === 31) c.rmwWrite32(w);
    else c.rmwWrite16(w);
    if (equal) return;
  }
  if (byte) c.r8[0] = dest;
  else if (sb === 31) regs[EAX] = dest;
  else c.r16[0] = dest;
}

function xadd(c: Cpu, byte: boolean): void {
  const m = c.fetch8();
  const regs = c.regs;
  const sb = byte ? 7 : c.o32 ? 31 : 15;
  const reg = (m >> 3) & 7;
  const src = byte ? c.r8[R8[reg]] : sb === 31 ? regs[reg] : c.r16[reg << 1];
  let dest: number;
  if (m >= 0xc0) {
    const rm = m & 7;
    dest = byte ? c.r8[R8[rm]] : sb === 31 ? regs[rm] : c.r16[rm << 1];
    const sum = A.alu(c, A.ALU_ADD, dest, src, sb);
    if (byte) {
      c.r8[R8[reg]] = dest;
      c.r8[R8[rm]] = sum;
    } else if (sb === 31) {
      regs[reg] = dest;
      regs[rm] = sum;
    } else {
      c.r16[reg << 1] = dest;
      c.r16[rm << 1] = sum;
    }
    return;
  }
  const off = ea(c, m);
  dest = byte ? c.rmwRead8(c.eaSeg, off) : sb === 31 ? c.rmwRead32(c.eaSeg, off) : c.rmwRead16(c.eaSeg, off);
  const sum = A.alu(c, A.ALU_ADD, dest, src, sb);
  if (byte) c.rmwWrite8(sum);
  else if (sb === 31) c.rmwWrite32(sum);
  else c.rmwWrite16(sum);
  if (byte) c.r8[R8[reg]] = dest;
  else if (sb === 31) regs[reg] = dest;
  else c.r16[reg << 1] = dest;
}

function cmpxchg8b(c: Cpu): void {
  const m = c.fetch8();
  if (((m >> 3) & 7) !== 1 || m >= 0xc0) c.fault(Vector.UD);
  const off = ea(c, m);
  const seg = c.eaSeg;
  const regs = c.regs;
  const lin = c.linW(seg, off, 8);
  if (c.alignCheck && (lin & 7) !== 0) c.faultCode(Vector.AC, 0);
  const lo = c.rd32(seg, off);
  const hi = c.rd32(seg, (off + 4) | 0);
  if (lo === regs[EAX] && hi === regs[EDX]) {
    c.wr32(seg, off, regs[EBX]);
    c.wr32(seg, (off + 4) | 0, regs[ECX]);
    c.fl.setStatus(ZF, ZF);
  } else {
    c.wr32(seg, off, lo);
    c.wr32(seg, (off + 4) | 0, hi);
    regs[EAX] = lo;
    regs[EDX] = hi;
    c.fl.setStatus(0, ZF);
  }
}
