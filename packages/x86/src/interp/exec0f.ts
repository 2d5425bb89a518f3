// The two-byte (0F xx) opcode map: system instructions, near Jcc, SETcc, CMOVcc, bit
// operations, double shifts, MOVZX/MOVSX, the 486 atomics, CPUID/RDTSC, and the host escape.

import { type Cpu } from './cpu';
import { EAX, ECX, EDX, EBX, ESP, CS, FS, GS, SS, R8, CR0_PE, CR0_PG, CR0_WP, CR0_ET, CR0_TS } from './regs';
import { CR0_CD, CR0_NW, CR4_PSE, CR4_TSD, EV_RDTSC } from './regs';
import { Exit } from '../contract';
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

export function execute0F(c: Cpu): void {
  const op = c.fetch8();
  const regs = c.regs;
  let m: number, off: number, v: number;
  switch (op) {
    case 0x00:
      group6(c, c.fetch8());
      return;
    case 0x01:
      group7(c, c.fetch8());
      return;
    case 0x02:
    case 0x03:
      larLsl(c, c.fetch8(), op === 0x03);
      return;
    case 0x04: {
      // The host escape (see contract.ts): defined at CPL 0 only.
      const code = c.fetch8();
      if (c.v86 || c.cpl !== 0) c.fault(6);
      c.escapeCode = code;
      c.exit(Exit.HostEscape);
      return;
    }
    case 0x06:
      privileged(c);
      c.cr0 &= ~CR0_TS;
      return;
    case 0x08:
    case 0x09:
      privileged(c);
      return;
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
      moveControl(c, op);
      return;
    case 0x31:
      if ((c.cr4 & CR4_TSD) !== 0 && c.protectedMode && c.cpl !== 0) c.faultCode(13, 0);
      c.events |= EV_RDTSC;
      return;
    case 0x30:
      privileged(c);
      wrmsr(c);
      return;
    case 0x32:
      privileged(c);
      rdmsr(c);
      return;
    case 0x33: {
      // RDPMC: CR4.PCE lets CPL > 0 read the counters.
      if ((c.cr4 & CR4_PCE) === 0 && c.protectedMode && (c.cpl !== 0 || c.v86)) c.faultCode(13, 0);
      const n = regs[ECX];
      if (n !== 0 && n !== 1) c.faultCode(13, 0);
      const v = c.perfCounter[n];
      regs[EAX] = v % TWO32;
      regs[EDX] = Math.floor(v / TWO32);
      return;
    }
    case 0x34:
      sysenter(c);
      return;
    case 0x35:
      sysexit(c);
      return;
    case 0x18:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f:
      // Prefetch hints (0F 18) and the hint NOPs (0F 19–1F, the long NOP 0F 1F /0): the
      // operand is decoded but not accessed.
      m = c.fetch8();
      if (m < 0xc0) ea(c, m);
      return;
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
    case 0x46:
    case 0x47:
    case 0x48:
    case 0x49:
    case 0x4a:
    case 0x4b:
    case 0x4c:
    case 0x4d:
    case 0x4e:
    case 0x4f:
      m = c.fetch8();
      if (c.o32) {
        v = readE32(c, m);
        if (c.fl.test(op & 15)) regs[(m >> 3) & 7] = v;
      } else {
        v = readE16(c, m);
        if (c.fl.test(op & 15)) c.r16[((m >> 3) & 7) << 1] = v;
      }
      return;
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
    case 0x8c:
    case 0x8d:
    case 0x8e:
    case 0x8f:
      v = c.o32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
      if (c.fl.test(op & 15)) jump(c, (c.eip + v) | 0);
      return;
    case 0x90:
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97:
    case 0x98:
    case 0x99:
    case 0x9a:
    case 0x9b:
    case 0x9c:
    case 0x9d:
    case 0x9e:
    case 0x9f:
      writeE8(c, c.fetch8(), c.fl.test(op & 15) ? 1 : 0);
      return;
    case 0xa0:
    case 0xa8: {
      const sel = c.segSel[op === 0xa0 ? FS : GS];
      if (c.o32) {
        const n = c.ss32 ? (regs[4] - 4) | 0 : (regs[4] - 4) & 0xffff;
        const lin = c.linW(SS, n, 4);
        if (c.alignCheck) c.checkAlignment(lin, 4);
        c.wr16(SS, n, sel);
        c.setSp(n);
      } else c.push16(sel);
      return;
    }
    case 0xa1:
      popSeg(c, FS);
      return;
    case 0xa9:
      popSeg(c, GS);
      return;
    case 0xa2:
      cpuid(c);
      return;
    case 0xa3:
    case 0xab:
    case 0xb3:
    case 0xbb:
      bitOp(c, op === 0xa3 ? 0 : op === 0xab ? 1 : op === 0xb3 ? 2 : 3, false);
      return;
    case 0xba:
      bitOp(c, -1, true);
      return;
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: {
      m = c.fetch8();
      const left = op < 0xa8;
      const sb = c.o32 ? 31 : 15;
      const src = c.o32 ? regs[(m >> 3) & 7] : c.r16[((m >> 3) & 7) << 1];
      if (m >= 0xc0) {
        const count = (op & 1) === 0 ? c.fetch8() : c.r8[4];
        const rm = m & 7;
        if (sb === 31) regs[rm] = A.shiftDouble(c, left, regs[rm], src, count, 31);
        else c.r16[rm << 1] = A.shiftDouble(c, left, c.r16[rm << 1], src, count, 15);
      } else {
        off = ea(c, m);
        const count = (op & 1) === 0 ? c.fetch8() : c.r8[4];
        if (sb === 31) c.rmwWrite32(A.shiftDouble(c, left, c.rmwRead32(c.eaSeg, off), src, count, 31));
        else c.rmwWrite16(A.shiftDouble(c, left, c.rmwRead16(c.eaSeg, off), src, count, 15));
      }
      return;
    }
    case 0xaf:
      m = c.fetch8();
      if (c.o32) regs[(m >> 3) & 7] = A.imul2(c, regs[(m >> 3) & 7], readE32(c, m), 31);
      else c.r16[((m >> 3) & 7) << 1] = A.imul2(c, c.r16[((m >> 3) & 7) << 1], readE16(c, m), 15);
      return;
    case 0xb0:
    case 0xb1:
      cmpxchg(c, op === 0xb0);
      return;
    case 0xb2:
    case 0xb4:
    case 0xb5:
      m = c.fetch8();
      if (m >= 0xc0) c.fault(6);
      loadFarPointer(c, m, op === 0xb2 ? SS : op === 0xb4 ? FS : GS);
      return;
    case 0xb6:
      m = c.fetch8();
      v = readE8(c, m);
      if (c.o32) regs[(m >> 3) & 7] = v;
      else c.r16[((m >> 3) & 7) << 1] = v;
      return;
    case 0xb7:
      m = c.fetch8();
      v = readE16(c, m);
      if (c.o32) regs[(m >> 3) & 7] = v;
      else c.r16[((m >> 3) & 7) << 1] = v;
      return;
    case 0xbe:
      m = c.fetch8();
      v = (readE8(c, m) << 24) >> 24;
      if (c.o32) regs[(m >> 3) & 7] = v;
      else c.r16[((m >> 3) & 7) << 1] = v;
      return;
    case 0xbf:
      m = c.fetch8();
      v = (readE16(c, m) << 16) >> 16;
      if (c.o32) regs[(m >> 3) & 7] = v;
      else c.r16[((m >> 3) & 7) << 1] = v;
      return;
    case 0xbc:
    case 0xbd: {
      m = c.fetch8();
      const sb = c.o32 ? 31 : 15;
      v = c.o32 ? readE32(c, m) : readE16(c, m);
      const bit = A.bitScan(c, v, op === 0xbd, sb);
      if (bit >= 0) {
        if (c.o32) regs[(m >> 3) & 7] = bit;
        else c.r16[((m >> 3) & 7) << 1] = bit;
      }
      return;
    }
    case 0xc0:
    case 0xc1:
      xadd(c, op === 0xc0);
      return;
    case 0xc7:
      cmpxchg8b(c);
      return;
    case 0xc8:
    case 0xc9:
    case 0xca:
    case 0xcb:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const r = op & 7;
      if (c.o32) {
        v = regs[r];
        regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
      } else c.r16[r << 1] = 0; // BSWAP of a 16-bit register: undefined; current CPUs give 0
      return;
    }
    default:
      c.fault(6);
  }
}

/** Instructions reserved to CPL 0 (#GP(0) elsewhere, including virtual-8086 mode). */
function privileged(c: Cpu): void {
  if (c.protectedMode && (c.v86 || c.cpl !== 0)) c.faultCode(13, 0);
}

/** MOV to/from CR0/2/3/4 and DR0–7; the ModRM mod field is ignored (always registers). */
function moveControl(c: Cpu, op: number): void {
  const m = c.fetch8();
  const n = (m >> 3) & 7;
  const rm = m & 7;
  const regs = c.regs;
  if (op === 0x20 || op === 0x22) {
    if (n === 1 || n > 4) c.fault(6);
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
      if ((v & ~(CR4_TSD | CR4_PSE | CR4_PCE)) !== 0) c.faultCode(13, 0);
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
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) c.faultCode(13, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) c.faultCode(13, 0);
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
      c.faultCode(13, 0);
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
      c.faultCode(13, 0);
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
  if (!c.protectedMode || cs === 0) c.faultCode(13, 0);
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
  if (!c.protectedMode || c.v86 || c.cpl !== 0 || cs === 0) c.faultCode(13, 0);
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
    if (kind < 0) c.fault(6);
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
  if (((m >> 3) & 7) !== 1 || m >= 0xc0) c.fault(6);
  const off = ea(c, m);
  const seg = c.eaSeg;
  const regs = c.regs;
  const lin = c.linW(seg, off, 8);
  if (c.alignCheck && (lin & 7) !== 0) c.faultCode(17, 0);
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
