// One instruction: prefixes, then the one-byte opcode map. The hot cases (ALU, MOV, PUSH/POP,
// Jcc, CALL/RET) are written out here so V8 compiles them into one jump table; rarer or
// bigger semantics call into alu.ts, string.ts and the protected-mode mechanism files.
// The 0F map lives in exec0f.ts.

import { type Cpu, EAX, ECX, EDX, EBX, ESP, EBP, ES, CS, SS, DS, R8 } from './cpu';
import { IF, TF, DF, VM, RF, CF, AF, PF, ZF, SF, AC, ID, IOPL, NT, OSZAPC } from './flags';
import { Exit } from '../contract';
import { ea, readE8, readE16, readE32, writeE8, writeE16, writeE32 } from './modrm';
import * as A from './alu';
import { execute0F } from './exec0f';
import { stringOp } from './string';
import { loadSeg } from './segments';
import { softwareInterrupt, deliver } from './interrupts';
import { jmpFar, callFar, retFar } from './far';
import { iret } from './iret';
import { arpl } from './system';
import { EV_SHADOW } from './cpu';

/** Prefix bytes, for the prefix loop. */
const PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIX[p] = 1;

export function execute(c: Cpu): void {
  let op = c.fetch8();
  c.o32 = c.a32 = c.cs32;
  c.segOvr = -1;
  c.rep = 0;
  if (PREFIX[op] !== 0) op = prefixes(c, op);
  const regs = c.regs;
  let m: number, v: number, off: number, r: number;
  switch (op) {
    // ---- ALU Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz for ADD OR ADC SBB AND SUB XOR CMP
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38: {
      m = c.fetch8();
      const src = c.r8[R8[(m >> 3) & 7]];
      const kind = op >> 3;
      if (m >= 0xc0) {
        const d = R8[m & 7];
        r = A.alu(c, kind, c.r8[d], src, 7);
        if (kind !== A.ALU_CMP) c.r8[d] = r;
      } else {
        off = ea(c, m);
        if (kind === A.ALU_CMP) A.alu(c, kind, c.rd8(c.eaSeg, off), src, 7);
        else c.rmwWrite8(A.alu(c, kind, c.rmwRead8(c.eaSeg, off), src, 7));
      }
      return;
    }
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: {
      m = c.fetch8();
      const kind = op >> 3;
      if (c.o32) {
        const src = regs[(m >> 3) & 7];
        if (m >= 0xc0) {
          r = A.alu(c, kind, regs[m & 7], src, 31);
          if (kind !== A.ALU_CMP) regs[m & 7] = r;
        } else {
          off = ea(c, m);
          if (kind === A.ALU_CMP) A.alu(c, kind, c.rd32(c.eaSeg, off), src, 31);
          else c.rmwWrite32(A.alu(c, kind, c.rmwRead32(c.eaSeg, off), src, 31));
        }
      } else {
        const src = c.r16[((m >> 3) & 7) << 1];
        if (m >= 0xc0) {
          r = A.alu(c, kind, c.r16[(m & 7) << 1], src, 15);
          if (kind !== A.ALU_CMP) c.r16[(m & 7) << 1] = r;
        } else {
          off = ea(c, m);
          if (kind === A.ALU_CMP) A.alu(c, kind, c.rd16(c.eaSeg, off), src, 15);
          else c.rmwWrite16(A.alu(c, kind, c.rmwRead16(c.eaSeg, off), src, 15));
        }
      }
      return;
    }
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a: {
      m = c.fetch8();
      const d = R8[(m >> 3) & 7];
      r = A.alu(c, op >> 3, c.r8[d], readE8(c, m), 7);
      if (op >> 3 !== A.ALU_CMP) c.r8[d] = r;
      return;
    }
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: {
      m = c.fetch8();
      const d = (m >> 3) & 7;
      if (c.o32) {
        r = A.alu(c, op >> 3, regs[d], readE32(c, m), 31);
        if (op >> 3 !== A.ALU_CMP) regs[d] = r;
      } else {
        r = A.alu(c, op >> 3, c.r16[d << 1], readE16(c, m), 15);
        if (op >> 3 !== A.ALU_CMP) c.r16[d << 1] = r;
      }
      return;
    }
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
      r = A.alu(c, op >> 3, c.r8[0], c.fetch8(), 7);
      if (op >> 3 !== A.ALU_CMP) c.r8[0] = r;
      return;
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d:
      if (c.o32) {
        r = A.alu(c, op >> 3, regs[EAX], c.fetch32(), 31);
        if (op >> 3 !== A.ALU_CMP) regs[EAX] = r;
      } else {
        r = A.alu(c, op >> 3, c.r16[0], c.fetch16(), 15);
        if (op >> 3 !== A.ALU_CMP) c.r16[0] = r;
      }
      return;

    // ---- segment register push/pop
    case 0x06: pushSeg(c, ES); return;
    case 0x0e: pushSeg(c, CS); return;
    case 0x16: pushSeg(c, SS); return;
    case 0x1e: pushSeg(c, DS); return;
    case 0x07: popSeg(c, ES); return;
    case 0x17: popSeg(c, SS); return;
    case 0x1f: popSeg(c, DS); return;

    case 0x0f:
      execute0F(c);
      return;

    case 0x27: A.daa(c); return;
    case 0x2f: A.das(c); return;
    case 0x37: A.aaa(c); return;
    case 0x3f: A.aas(c); return;

    // ---- INC/DEC/PUSH/POP register
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      if (c.o32) regs[op & 7] = A.inc(c, regs[op & 7], 31);
      else c.r16[(op & 7) << 1] = A.inc(c, c.r16[(op & 7) << 1], 15);
      return;
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      if (c.o32) regs[op & 7] = A.dec(c, regs[op & 7], 31);
      else c.r16[(op & 7) << 1] = A.dec(c, c.r16[(op & 7) << 1], 15);
      return;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (c.o32) c.push32(regs[op & 7]);
      else c.push16(c.r16[(op & 7) << 1]);
      return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      if (c.o32) {
        v = c.pop32();
        regs[op & 7] = v;
      } else {
        v = c.pop16();
        c.r16[(op & 7) << 1] = v;
      }
      return;

    case 0x60: pusha(c); return;
    case 0x61: popa(c); return;
    case 0x62: bound(c); return;
    case 0x63:
      arpl(c, c.fetch8());
      return;
    case 0x68:
      c.pushV(c.o32 ? c.fetch32() : c.fetch16());
      return;
    case 0x6a:
      c.pushV((c.fetch8() << 24) >> 24);
      return;
    case 0x69: case 0x6b: {
      m = c.fetch8();
      const d = (m >> 3) & 7;
      if (c.o32) {
        v = readE32(c, m);
        const imm = op === 0x69 ? c.fetch32() : (c.fetch8() << 24) >> 24;
        regs[d] = A.imul2(c, v, imm, 31);
      } else {
        v = readE16(c, m);
        const imm = op === 0x69 ? c.fetch16() : (c.fetch8() << 24) >> 24;
        c.r16[d << 1] = A.imul2(c, v, imm, 15);
      }
      return;
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      stringOp(c, op);
      return;

    // ---- Jcc rel8
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
      v = (c.fetch8() << 24) >> 24;
      if (c.fl.test(op & 15)) jump(c, (c.eip + v) | 0);
      return;

    // ---- group 1: ALU with immediate
    case 0x80: case 0x82: {
      m = c.fetch8();
      const kind = (m >> 3) & 7;
      if (m >= 0xc0) {
        const d = R8[m & 7];
        r = A.alu(c, kind, c.r8[d], c.fetch8(), 7);
        if (kind !== A.ALU_CMP) c.r8[d] = r;
      } else {
        off = ea(c, m);
        if (kind === A.ALU_CMP) {
          v = c.rd8(c.eaSeg, off);
          A.alu(c, kind, v, c.fetch8(), 7);
        } else {
          v = c.rmwRead8(c.eaSeg, off);
          c.rmwWrite8(A.alu(c, kind, v, c.fetch8(), 7));
        }
      }
      return;
    }
    case 0x81: case 0x83: {
      m = c.fetch8();
      const kind = (m >> 3) & 7;
      if (c.o32) {
        if (m >= 0xc0) {
          const imm = op === 0x81 ? c.fetch32() : (c.fetch8() << 24) >> 24;
          r = A.alu(c, kind, regs[m & 7], imm, 31);
          if (kind !== A.ALU_CMP) regs[m & 7] = r;
        } else {
          off = ea(c, m);
          const imm = op === 0x81 ? c.fetch32() : (c.fetch8() << 24) >> 24;
          if (kind === A.ALU_CMP) A.alu(c, kind, c.rd32(c.eaSeg, off), imm, 31);
          else c.rmwWrite32(A.alu(c, kind, c.rmwRead32(c.eaSeg, off), imm, 31));
        }
      } else {
        if (m >= 0xc0) {
          const imm = op === 0x81 ? c.fetch16() : (c.fetch8() << 24) >> 24;
          r = A.alu(c, kind, c.r16[(m & 7) << 1], imm, 15);
          if (kind !== A.ALU_CMP) c.r16[(m & 7) << 1] = r;
        } else {
          off = ea(c, m);
          const imm = op === 0x81 ? c.fetch16() : (c.fetch8() << 24) >> 24;
          if (kind === A.ALU_CMP) A.alu(c, kind, c.rd16(c.eaSeg, off), imm, 15);
          else c.rmwWrite16(A.alu(c, kind, c.rmwRead16(c.eaSeg, off), imm, 15));
        }
      }
      return;
    }
    case 0x84:
      m = c.fetch8();
      A.alu(c, A.ALU_AND, readE8(c, m), c.r8[R8[(m >> 3) & 7]], 7);
      return;
    case 0x85:
      m = c.fetch8();
      if (c.o32) A.alu(c, A.ALU_AND, readE32(c, m), regs[(m >> 3) & 7], 31);
      else A.alu(c, A.ALU_AND, readE16(c, m), c.r16[((m >> 3) & 7) << 1], 15);
      return;
    case 0x86: {
      m = c.fetch8();
      const g = R8[(m >> 3) & 7];
      if (m >= 0xc0) {
        const d = R8[m & 7];
        v = c.r8[d];
        c.r8[d] = c.r8[g];
      } else {
        off = ea(c, m);
        v = c.rmwRead8(c.eaSeg, off);
        c.rmwWrite8(c.r8[g]);
      }
      c.r8[g] = v;
      return;
    }
    case 0x87: {
      m = c.fetch8();
      const g = (m >> 3) & 7;
      if (c.o32) {
        if (m >= 0xc0) {
          v = regs[m & 7];
          regs[m & 7] = regs[g];
        } else {
          off = ea(c, m);
          v = c.rmwRead32(c.eaSeg, off);
          c.rmwWrite32(regs[g]);
        }
        regs[g] = v;
      } else {
        if (m >= 0xc0) {
          v = c.r16[(m & 7) << 1];
          c.r16[(m & 7) << 1] = c.r16[g << 1];
        } else {
          off = ea(c, m);
          v = c.rmwRead16(c.eaSeg, off);
          c.rmwWrite16(c.r16[g << 1]);
        }
        c.r16[g << 1] = v;
      }
      return;
    }

    // ---- MOV
    case 0x88:
      m = c.fetch8();
      writeE8(c, m, c.r8[R8[(m >> 3) & 7]]);
      return;
    case 0x89:
      m = c.fetch8();
      if (c.o32) {
        if (m >= 0xc0) regs[m & 7] = regs[(m >> 3) & 7];
        else {
          off = ea(c, m);
          c.wr32(c.eaSeg, off, regs[(m >> 3) & 7]);
        }
      } else writeE16(c, m, c.r16[((m >> 3) & 7) << 1]);
      return;
    case 0x8a:
      m = c.fetch8();
      c.r8[R8[(m >> 3) & 7]] = readE8(c, m);
      return;
    case 0x8b:
      m = c.fetch8();
      if (c.o32) {
        if (m >= 0xc0) regs[(m >> 3) & 7] = regs[m & 7];
        else {
          off = ea(c, m);
          regs[(m >> 3) & 7] = c.rd32(c.eaSeg, off);
        }
      } else c.r16[((m >> 3) & 7) << 1] = readE16(c, m);
      return;
    case 0x8c: {
      m = c.fetch8();
      const s = (m >> 3) & 7;
      if (s > 5) c.fault(6);
      if (m >= 0xc0 && c.o32) regs[m & 7] = c.segSel[s];
      else writeE16(c, m, c.segSel[s]);
      return;
    }
    case 0x8d:
      m = c.fetch8();
      if (m >= 0xc0) c.fault(6);
      off = ea(c, m);
      if (c.o32) regs[(m >> 3) & 7] = off;
      else c.r16[((m >> 3) & 7) << 1] = off;
      return;
    case 0x8e: {
      m = c.fetch8();
      const s = (m >> 3) & 7;
      if (s === CS || s > 5) c.fault(6);
      loadSeg(c, s, readE16(c, m));
      if (s === SS) c.events |= EV_SHADOW;
      return;
    }
    case 0x8f: {
      // POP Ev: the address uses ESP after the pop.
      m = c.fetch8();
      if (((m >> 3) & 7) !== 0) c.fault(6);
      const size = c.o32 ? 4 : 2;
      const sp0 = c.sp();
      v = c.o32 ? c.rd32(SS, sp0) : c.rd16(SS, sp0);
      if (m >= 0xc0) {
        c.setSp(sp0 + size);
        if (c.o32) regs[m & 7] = v;
        else c.r16[(m & 7) << 1] = v;
      } else {
        const saved = regs[ESP];
        c.setSp(sp0 + size);
        try {
          if (c.o32) writeE32(c, m, v);
          else writeE16(c, m, v);
        } catch (e) {
          regs[ESP] = saved;
          throw e;
        }
      }
      return;
    }

    case 0x90:
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      if (c.o32) {
        v = regs[EAX];
        regs[EAX] = regs[op & 7];
        regs[op & 7] = v;
      } else {
        v = c.r16[0];
        c.r16[0] = c.r16[(op & 7) << 1];
        c.r16[(op & 7) << 1] = v;
      }
      return;
    case 0x98:
      if (c.o32) regs[EAX] = (c.r16[0] << 16) >> 16;
      else c.r16[0] = (c.r8[0] << 24) >> 24;
      return;
    case 0x99:
      if (c.o32) regs[EDX] = regs[EAX] >> 31;
      else c.r16[EDX << 1] = (c.r16[0] << 16) >> 31;
      return;
    case 0x9a: {
      off = c.o32 ? c.fetch32() : c.fetch16();
      const sel = c.fetch16();
      callFar(c, sel, off);
      return;
    }
    case 0x9b:
      // WAIT: with no coprocessor only CR0.TS and MP matter.
      if ((c.cr0 & 0xa) === 0xa) c.fault(7);
      return;
    case 0x9c:
      if (c.v86 && (c.fl.flags & IOPL) !== IOPL) c.faultCode(13, 0);
      v = c.getEflags() & ~(VM | RF);
      if (c.o32) c.push32(v);
      else c.push16(v);
      return;
    case 0x9d:
      popf(c);
      return;
    case 0x9e:
      c.fl.setStatus(c.r8[1], SF | ZF | AF | PF | CF);
      return;
    case 0x9f:
      c.r8[1] = (c.getEflags() & 0xd5) | 2;
      return;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      off = c.a32 ? c.fetch32() : c.fetch16();
      const seg = c.segOvr >= 0 ? c.segOvr : DS;
      if (op === 0xa0) c.r8[0] = c.rd8(seg, off);
      else if (op === 0xa2) c.wr8(seg, off, c.r8[0]);
      else if (op === 0xa1) {
        if (c.o32) regs[EAX] = c.rd32(seg, off);
        else c.r16[0] = c.rd16(seg, off);
      } else if (c.o32) c.wr32(seg, off, regs[EAX]);
      else c.wr16(seg, off, c.r16[0]);
      return;
    }
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      stringOp(c, op);
      return;
    case 0xa8:
      A.alu(c, A.ALU_AND, c.r8[0], c.fetch8(), 7);
      return;
    case 0xa9:
      if (c.o32) A.alu(c, A.ALU_AND, regs[EAX], c.fetch32(), 31);
      else A.alu(c, A.ALU_AND, c.r16[0], c.fetch16(), 15);
      return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      c.r8[R8[op & 7]] = c.fetch8();
      return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      if (c.o32) regs[op & 7] = c.fetch32();
      else c.r16[(op & 7) << 1] = c.fetch16();
      return;

    // ---- group 2 shifts
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      m = c.fetch8();
      const kind = (m >> 3) & 7;
      const byte = (op & 1) === 0;
      const sb = byte ? 7 : c.o32 ? 31 : 15;
      if (m >= 0xc0) {
        const count = op <= 0xc1 ? c.fetch8() : op <= 0xd1 ? 1 : c.r8[4];
        const rm = m & 7;
        if (byte) c.r8[R8[rm]] = A.shift(c, kind, c.r8[R8[rm]], count, 7);
        else if (sb === 31) regs[rm] = A.shift(c, kind, regs[rm], count, 31);
        else c.r16[rm << 1] = A.shift(c, kind, c.r16[rm << 1], count, 15);
      } else {
        off = ea(c, m);
        const count = op <= 0xc1 ? c.fetch8() : op <= 0xd1 ? 1 : c.r8[4];
        if (byte) c.rmwWrite8(A.shift(c, kind, c.rmwRead8(c.eaSeg, off), count, 7));
        else if (sb === 31) c.rmwWrite32(A.shift(c, kind, c.rmwRead32(c.eaSeg, off), count, 31));
        else c.rmwWrite16(A.shift(c, kind, c.rmwRead16(c.eaSeg, off), count, 15));
      }
      return;
    }
    case 0xc2: case 0xc3: {
      const imm = op === 0xc2 ? c.fetch16() : 0;
      const sp0 = c.sp();
      v = c.o32 ? c.rd32(SS, sp0) : c.rd16(SS, sp0);
      if ((v >>> 0) > c.segLimit[CS]) c.faultCode(13, 0);
      c.setSp(sp0 + (c.o32 ? 4 : 2) + imm);
      c.eip = v;
      return;
    }
    case 0xc4: case 0xc5: {
      m = c.fetch8();
      if (m >= 0xc0) c.fault(6);
      loadFarPointer(c, m, op === 0xc4 ? ES : DS);
      return;
    }
    case 0xc6:
      m = c.fetch8();
      if (((m >> 3) & 7) !== 0) c.fault(6);
      if (m >= 0xc0) c.r8[R8[m & 7]] = c.fetch8();
      else {
        off = ea(c, m);
        c.wr8(c.eaSeg, off, c.fetch8());
      }
      return;
    case 0xc7:
      m = c.fetch8();
      if (((m >> 3) & 7) !== 0) c.fault(6);
      if (m >= 0xc0) {
        if (c.o32) regs[m & 7] = c.fetch32();
        else c.r16[(m & 7) << 1] = c.fetch16();
      } else {
        off = ea(c, m);
        const seg = c.eaSeg;
        if (c.o32) c.wr32(seg, off, c.fetch32());
        else c.wr16(seg, off, c.fetch16());
      }
      return;
    case 0xc8:
      enter(c);
      return;
    case 0xc9: {
      // LEAVE: the stack pointer takes (E)BP at the stack's size, then pops (E)BP.
      const bp = c.ss32 ? regs[EBP] : c.r16[EBP << 1];
      v = c.o32 ? c.rd32(SS, bp) : c.rd16(SS, bp);
      c.setSp(bp + (c.o32 ? 4 : 2));
      if (c.o32) regs[EBP] = v;
      else c.r16[EBP << 1] = v;
      return;
    }
    case 0xca:
      retFar(c, c.fetch16());
      return;
    case 0xcb:
      retFar(c, 0);
      return;
    case 0xcc:
      softwareInterrupt(c, 3);
      return;
    case 0xcd:
      softwareInterrupt(c, c.fetch8());
      return;
    case 0xce:
      if (c.fl.of()) softwareInterrupt(c, 4);
      return;
    case 0xcf:
      iret(c);
      return;
    case 0xd4:
      A.aam(c, c.fetch8());
      return;
    case 0xd5:
      A.aad(c, c.fetch8());
      return;
    case 0xd6:
      // SALC: AL = CF ? 0xFF : 0 (undocumented but present on every i386/i486).
      c.r8[0] = c.fl.cf() ? 0xff : 0;
      return;
    case 0xd7: {
      const seg = c.segOvr >= 0 ? c.segOvr : DS;
      off = c.a32 ? (regs[EBX] + c.r8[0]) | 0 : (c.r16[EBX << 1] + c.r8[0]) & 0xffff;
      c.r8[0] = c.rd8(seg, off);
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      escape(c);
      return;

    // ---- LOOP / JCXZ / IN / OUT / CALL / JMP
    case 0xe0: case 0xe1: case 0xe2: {
      v = (c.fetch8() << 24) >> 24;
      let count: number;
      if (c.a32) count = regs[ECX] = (regs[ECX] - 1) | 0;
      else count = c.r16[ECX << 1] = (c.r16[ECX << 1] - 1) & 0xffff;
      let take = count !== 0;
      if (op === 0xe0) take = take && c.fl.zf() === 0;
      else if (op === 0xe1) take = take && c.fl.zf() !== 0;
      if (take) jump(c, (c.eip + v) | 0);
      return;
    }
    case 0xe3:
      v = (c.fetch8() << 24) >> 24;
      if ((c.a32 ? regs[ECX] : c.r16[ECX << 1]) === 0) jump(c, (c.eip + v) | 0);
      return;
    case 0xe4:
      v = c.fetch8();
      c.checkIo(v, 1);
      c.r8[0] = c.io.in8(v);
      return;
    case 0xe5:
      v = c.fetch8();
      if (c.o32) {
        c.checkIo(v, 4);
        regs[EAX] = c.io.in32(v);
      } else {
        c.checkIo(v, 2);
        c.r16[0] = c.io.in16(v);
      }
      return;
    case 0xe6:
      v = c.fetch8();
      c.checkIo(v, 1);
      c.io.out8(v, c.r8[0]);
      return;
    case 0xe7:
      v = c.fetch8();
      if (c.o32) {
        c.checkIo(v, 4);
        c.io.out32(v, regs[EAX] >>> 0);
      } else {
        c.checkIo(v, 2);
        c.io.out16(v, c.r16[0]);
      }
      return;
    case 0xe8: {
      v = c.o32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
      const target = c.o32 ? (c.eip + v) | 0 : (c.eip + v) & 0xffff;
      if ((target >>> 0) > c.segLimit[CS]) c.faultCode(13, 0);
      c.pushV(c.eip);
      c.eip = target;
      return;
    }
    case 0xe9:
      v = c.o32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
      jump(c, (c.eip + v) | 0);
      return;
    case 0xea: {
      off = c.o32 ? c.fetch32() : c.fetch16();
      const sel = c.fetch16();
      jmpFar(c, sel, off);
      return;
    }
    case 0xeb:
      v = (c.fetch8() << 24) >> 24;
      jump(c, (c.eip + v) | 0);
      return;
    case 0xec:
      v = c.r16[EDX << 1];
      c.checkIo(v, 1);
      c.r8[0] = c.io.in8(v);
      return;
    case 0xed:
      v = c.r16[EDX << 1];
      if (c.o32) {
        c.checkIo(v, 4);
        regs[EAX] = c.io.in32(v);
      } else {
        c.checkIo(v, 2);
        c.r16[0] = c.io.in16(v);
      }
      return;
    case 0xee:
      v = c.r16[EDX << 1];
      c.checkIo(v, 1);
      c.io.out8(v, c.r8[0]);
      return;
    case 0xef:
      v = c.r16[EDX << 1];
      if (c.o32) {
        c.checkIo(v, 4);
        c.io.out32(v, regs[EAX] >>> 0);
      } else {
        c.checkIo(v, 2);
        c.io.out16(v, c.r16[0]);
      }
      return;
    case 0xf1:
      // ICEBP: a debug trap that ignores the gate's DPL.
      deliver(c, 1, false, 0, 1, false);
      return;
    case 0xf4:
      if (c.protectedMode && c.cpl !== 0) c.faultCode(13, 0);
      c.halted = true;
      c.exit(Exit.Halt);
      return;
    case 0xf5:
      c.fl.setCF(!c.fl.cf());
      return;
    case 0xf6: case 0xf7:
      group3(c, op);
      return;
    case 0xf8:
      c.fl.setCF(false);
      return;
    case 0xf9:
      c.fl.setCF(true);
      return;
    case 0xfa:
      if (!iflagAllowed(c)) c.faultCode(13, 0);
      c.fl.flags &= ~IF;
      return;
    case 0xfb:
      if (!iflagAllowed(c)) c.faultCode(13, 0);
      if ((c.fl.flags & IF) === 0) {
        c.fl.flags |= IF;
        c.events |= EV_SHADOW;
      }
      return;
    case 0xfc:
      c.fl.flags &= ~DF;
      return;
    case 0xfd:
      c.fl.flags |= DF;
      return;
    case 0xfe: {
      m = c.fetch8();
      const kind = (m >> 3) & 7;
      if (kind > 1) c.fault(6);
      if (m >= 0xc0) {
        const d = R8[m & 7];
        c.r8[d] = kind === 0 ? A.inc(c, c.r8[d], 7) : A.dec(c, c.r8[d], 7);
      } else {
        off = ea(c, m);
        v = c.rmwRead8(c.eaSeg, off);
        c.rmwWrite8(kind === 0 ? A.inc(c, v, 7) : A.dec(c, v, 7));
      }
      return;
    }
    case 0xff:
      group5(c);
      return;
    default:
      // F0/F2/F3 and segment prefixes never reach here; 0xD6..: all defined above.
      c.fault(6);
  }
}

/** Consume prefix bytes; returns the opcode that follows them. */
function prefixes(c: Cpu, op: number): number {
  let count = 0;
  let lock = false;
  while (PREFIX[op] !== 0) {
    switch (op) {
      case 0x26: c.segOvr = ES; break;
      case 0x2e: c.segOvr = CS; break;
      case 0x36: c.segOvr = SS; break;
      case 0x3e: c.segOvr = DS; break;
      case 0x64: c.segOvr = 4; break;
      case 0x65: c.segOvr = 5; break;
      case 0x66: c.o32 = !c.cs32; break;
      case 0x67: c.a32 = !c.cs32; break;
      case 0xf0: lock = true; break;
      default: c.rep = op; break;
    }
    // An instruction longer than 15 bytes raises #GP(0).
    if (++count >= 15) c.faultCode(13, 0);
    op = c.fetch8();
  }
  if (lock && !lockable(c, op)) c.fault(6);
  return op;
}

/** Whether LOCK may prefix this instruction: a read-modify-write with a memory destination. */
function lockable(c: Cpu, op: number): boolean {
  const eip = c.eip;
  try {
    let reg: number;
    let m: number;
    if (op === 0x0f) {
      const op2 = c.fetch8();
      m = c.fetch8();
      reg = (m >> 3) & 7;
      const ok =
        op2 === 0xab || op2 === 0xb3 || op2 === 0xbb || op2 === 0xb0 || op2 === 0xb1 || op2 === 0xc0 ||
        op2 === 0xc1 || (op2 === 0xba && reg >= 5) || (op2 === 0xc7 && reg === 1);
      return ok && m < 0xc0;
    }
    m = c.fetch8();
    reg = (m >> 3) & 7;
    if (m >= 0xc0) return false;
    if (op < 0x40) return (op & 7) < 2 && op >> 3 !== 7;
    if (op >= 0x80 && op <= 0x83) return reg !== 7;
    if (op === 0x86 || op === 0x87) return true;
    if (op === 0xf6 || op === 0xf7) return reg === 2 || reg === 3;
    if (op === 0xfe || op === 0xff) return reg < 2;
    return false;
  } finally {
    c.eip = eip;
  }
}

/** A near jump: 16-bit operand size truncates the target; beyond the CS limit is #GP(0). */
export function jump(c: Cpu, target: number): void {
  if (!c.o32) target &= 0xffff;
  if ((target >>> 0) > c.segLimit[CS]) c.faultCode(13, 0);
  c.eip = target;
}

/** CLI/STI: allowed when CPL <= IOPL (V86: IOPL 3); real mode always. */
function iflagAllowed(c: Cpu): boolean {
  if (!c.protectedMode) return true;
  const iopl = (c.fl.flags >> 12) & 3;
  return c.v86 ? iopl === 3 : c.cpl <= iopl;
}

function pushSeg(c: Cpu, seg: number): void {
  if (c.o32) {
    // A 32-bit push of a selector writes only its 16 bits (as current processors do).
    const n = c.ss32 ? (c.regs[ESP] - 4) | 0 : (c.regs[ESP] - 4) & 0xffff;
    c.linW(SS, n, 4);
    c.wr16(SS, n, c.segSel[seg]);
    c.setSp(n);
  } else c.push16(c.segSel[seg]);
}

export function popSeg(c: Cpu, seg: number): void {
  const sp0 = c.sp();
  const sel = c.o32 ? c.rd32(SS, sp0) & 0xffff : c.rd16(SS, sp0);
  loadSeg(c, seg, sel);
  c.setSp(sp0 + (c.o32 ? 4 : 2));
  if (seg === SS) c.events |= EV_SHADOW;
}

function pusha(c: Cpu): void {
  const size = c.o32 ? 4 : 2;
  const sp0 = c.sp();
  const mask = c.ss32 ? -1 : 0xffff;
  c.linW(SS, (sp0 - 8 * size) & mask, 8 * size);
  let p = sp0;
  for (let i = 0; i < 8; i++) {
    p = (p - size) & mask;
    if (size === 4) c.wr32(SS, p, c.regs[i]);
    else c.wr16(SS, p, c.r16[i << 1]);
  }
  c.setSp(p);
}

function popa(c: Cpu): void {
  const size = c.o32 ? 4 : 2;
  const sp0 = c.sp();
  const mask = c.ss32 ? -1 : 0xffff;
  c.linR(SS, sp0, 8 * size);
  const vals = popaScratch;
  for (let i = 0; i < 8; i++) {
    const p = (sp0 + i * size) & mask;
    vals[7 - i] = size === 4 ? c.rd32(SS, p) : c.rd16(SS, p);
  }
  for (let i = 0; i < 8; i++) {
    if (i === ESP) continue;
    if (size === 4) c.regs[i] = vals[i];
    else c.r16[i << 1] = vals[i];
  }
  c.setSp(sp0 + 8 * size);
}
const popaScratch = new Int32Array(8);

function bound(c: Cpu): void {
  const m = c.fetch8();
  if (m >= 0xc0) c.fault(6);
  const off = ea(c, m);
  const seg = c.eaSeg;
  const reg = (m >> 3) & 7;
  if (c.o32) {
    const lo = c.rd32(seg, off);
    const hi = c.rd32(seg, (off + 4) | 0);
    const v = c.regs[reg];
    if (v < lo || v > hi) c.fault(5);
  } else {
    const lo = (c.rd16(seg, off) << 16) >> 16;
    const hi = (c.rd16(seg, (off + 2) & (c.a32 ? -1 : 0xffff)) << 16) >> 16;
    const v = (c.r16[reg << 1] << 16) >> 16;
    if (v < lo || v > hi) c.fault(5);
  }
}

function popf(c: Cpu): void {
  const iopl = (c.fl.flags >> 12) & 3;
  if (c.v86 && iopl !== 3) c.faultCode(13, 0);
  const sp0 = c.sp();
  const v = c.o32 ? c.rd32(SS, sp0) : c.rd16(SS, sp0);
  let mask = OSZAPC | TF | DF | NT | IF | IOPL;
  if (c.o32) mask |= AC | ID;
  if (c.protectedMode) {
    if (c.v86 || c.cpl > 0) mask &= ~IOPL;
    if (!c.v86 && c.cpl > iopl) mask &= ~IF;
  }
  c.setSp(sp0 + (c.o32 ? 4 : 2));
  c.setEflags(v, mask);
}

/** LES/LDS/LSS/LFS/LGS: a far pointer from memory into segment register `seg` and Gv. */
export function loadFarPointer(c: Cpu, m: number, seg: number): void {
  const off = ea(c, m);
  const s = c.eaSeg;
  const reg = (m >> 3) & 7;
  let value: number, sel: number;
  if (c.o32) {
    value = c.rd32(s, off);
    sel = c.rd16(s, (off + 4) | 0);
  } else {
    value = c.rd16(s, off);
    sel = c.rd16(s, (off + 2) & (c.a32 ? -1 : 0xffff));
  }
  loadSeg(c, seg, sel);
  if (c.o32) c.regs[reg] = value;
  else c.r16[reg << 1] = value;
  if (seg === SS) c.events |= EV_SHADOW;
}

function enter(c: Cpu): void {
  const size = c.fetch16();
  const level = c.fetch8() & 31;
  const o = c.o32 ? 4 : 2;
  const mask = c.ss32 ? -1 : 0xffff;
  const regs = c.regs;
  let sp = c.sp();
  let bp = c.ss32 ? regs[EBP] : c.r16[EBP << 1];
  const put = (val: number): void => {
    sp = (sp - o) & mask;
    if (o === 4) c.wr32(SS, sp, val);
    else c.wr16(SS, sp, val);
  };
  put(c.o32 ? regs[EBP] : c.r16[EBP << 1]);
  const frame = sp;
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      bp = (bp - o) & mask;
      put(o === 4 ? c.rd32(SS, bp) : c.rd16(SS, bp));
    }
    put(frame);
  }
  const newSp = (sp - size) & mask;
  // The final stack pointer must be writable (the 486 checks the last byte of the frame).
  if (size > 0) c.linW(SS, newSp, 1);
  if (c.o32) regs[EBP] = frame;
  else c.r16[EBP << 1] = frame;
  c.setSp(newSp);
}

/** D8–DF with no coprocessor: #NM when CR0.EM or TS says so, else the escape is ignored. */
function escape(c: Cpu): void {
  const m = c.fetch8();
  if (c.cr0 & 0xc) c.fault(7);
  if (m < 0xc0) ea(c, m);
}

function group3(c: Cpu, op: number): void {
  const m = c.fetch8();
  const kind = (m >> 3) & 7;
  const byte = op === 0xf6;
  const sb = byte ? 7 : c.o32 ? 31 : 15;
  if (kind <= 1) {
    const v = byte ? readE8(c, m) : sb === 31 ? readE32(c, m) : readE16(c, m);
    const imm = byte ? c.fetch8() : sb === 31 ? c.fetch32() : c.fetch16();
    A.alu(c, A.ALU_AND, v, imm, sb);
    return;
  }
  if (kind === 2 || kind === 3) {
    // NOT / NEG write back.
    if (m >= 0xc0) {
      const rm = m & 7;
      if (byte) c.r8[R8[rm]] = kind === 2 ? ~c.r8[R8[rm]] : A.neg(c, c.r8[R8[rm]], 7);
      else if (sb === 31) c.regs[rm] = kind === 2 ? ~c.regs[rm] : A.neg(c, c.regs[rm], 31);
      else c.r16[rm << 1] = kind === 2 ? ~c.r16[rm << 1] : A.neg(c, c.r16[rm << 1], 15);
    } else {
      const off = ea(c, m);
      if (byte) {
        const v = c.rmwRead8(c.eaSeg, off);
        c.rmwWrite8(kind === 2 ? ~v : A.neg(c, v, 7));
      } else if (sb === 31) {
        const v = c.rmwRead32(c.eaSeg, off);
        c.rmwWrite32(kind === 2 ? ~v : A.neg(c, v, 31));
      } else {
        const v = c.rmwRead16(c.eaSeg, off);
        c.rmwWrite16(kind === 2 ? ~v : A.neg(c, v, 15));
      }
    }
    return;
  }
  const v = byte ? readE8(c, m) : sb === 31 ? readE32(c, m) : readE16(c, m);
  if (kind === 4) A.mul(c, v, sb);
  else if (kind === 5) A.imul1(c, v, sb);
  else if (kind === 6) A.div(c, v, sb);
  else A.idiv(c, v, sb);
}

function group5(c: Cpu): void {
  const m = c.fetch8();
  const kind = (m >> 3) & 7;
  const regs = c.regs;
  switch (kind) {
    case 0:
    case 1: {
      const sb = c.o32 ? 31 : 15;
      if (m >= 0xc0) {
        const rm = m & 7;
        if (sb === 31) regs[rm] = kind === 0 ? A.inc(c, regs[rm], 31) : A.dec(c, regs[rm], 31);
        else c.r16[rm << 1] = kind === 0 ? A.inc(c, c.r16[rm << 1], 15) : A.dec(c, c.r16[rm << 1], 15);
      } else {
        const off = ea(c, m);
        if (sb === 31) {
          const v = c.rmwRead32(c.eaSeg, off);
          c.rmwWrite32(kind === 0 ? A.inc(c, v, 31) : A.dec(c, v, 31));
        } else {
          const v = c.rmwRead16(c.eaSeg, off);
          c.rmwWrite16(kind === 0 ? A.inc(c, v, 15) : A.dec(c, v, 15));
        }
      }
      return;
    }
    case 2: {
      const target = c.o32 ? readE32(c, m) : readE16(c, m);
      if ((target >>> 0) > c.segLimit[CS]) c.faultCode(13, 0);
      c.pushV(c.eip);
      c.eip = target;
      return;
    }
    case 3:
    case 5: {
      if (m >= 0xc0) c.fault(6);
      const off = ea(c, m);
      const s = c.eaSeg;
      const target = c.o32 ? c.rd32(s, off) : c.rd16(s, off);
      const sel = c.rd16(s, (off + (c.o32 ? 4 : 2)) & (c.a32 ? -1 : 0xffff));
      if (kind === 3) callFar(c, sel, target);
      else jmpFar(c, sel, target);
      return;
    }
    case 4: {
      const target = c.o32 ? readE32(c, m) : readE16(c, m);
      jump(c, target);
      return;
    }
    case 6: {
      const v = c.o32 ? readE32(c, m) : readE16(c, m);
      c.pushV(v);
      return;
    }
    default:
      c.fault(6);
  }
}

