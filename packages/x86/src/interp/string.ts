// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with their REP prefixes. A long
// REP runs in chunks: after a chunk the instruction restarts itself with the registers
// already advanced, so interrupts and the run budget are honoured mid-copy, exactly as an
// interrupted REP on hardware resumes.

import { type Cpu } from './cpu';
import { ECX, ESI, EDI, EDX, EAX, ES, DS } from './regs';
import { DF, TF } from './flags';
import { alu, ALU_CMP } from './alu';

const CHUNK = 4096;

export function stringOp(c: Cpu, op: number): void {
  const rep = c.rep;
  if (rep === 0) {
    stringStep(c, op);
    return;
  }
  const a32 = c.a32;
  const regs = c.regs;
  let count = a32 ? regs[ECX] : c.r16[ECX << 1];
  if (count === 0) {
    // I/O permission is checked even when nothing is transferred.
    if (op >= 0x6c && op <= 0x6f) c.checkIo(c.r16[EDX << 1], (op & 1) === 0 ? 1 : c.o32 ? 4 : 2);
    return;
  }
  const compares = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
  // Single-stepping traps after every iteration, so then each execution does one.
  const chunk = (c.fl.flags & TF) !== 0 ? 1 : CHUNK;
  for (let n = 0; n < chunk; n++) {
    stringStep(c, op);
    count = a32 ? (regs[ECX] = (regs[ECX] - 1) | 0) : (c.r16[ECX << 1] = (c.r16[ECX << 1] - 1) & 0xffff);
    if (count === 0) return;
    if (compares && (c.fl.zf() !== 0) !== (rep === 0xf3)) return;
  }
  // More to do: run this instruction again.
  c.eip = c.instrStart;
}

function stringStep(c: Cpu, op: number): void {
  const size = (op & 1) === 0 ? 1 : c.o32 ? 4 : 2;
  const sb = size * 8 - 1;
  const a32 = c.a32;
  const regs = c.regs;
  const delta = (c.fl.flags & DF) !== 0 ? -size : size;
  const srcSeg = c.segOvr >= 0 ? c.segOvr : DS;
  const si = a32 ? regs[ESI] : c.r16[ESI << 1];
  const di = a32 ? regs[EDI] : c.r16[EDI << 1];
  switch (op) {
    case 0xa4:
    case 0xa5:
      write(c, ES, di, read(c, srcSeg, si, size), size);
      advance(c, ESI, delta);
      advance(c, EDI, delta);
      return;
    case 0xa6:
    case 0xa7: {
      const a = read(c, srcSeg, si, size);
      const b = read(c, ES, di, size);
      alu(c, ALU_CMP, a, b, sb);
      advance(c, ESI, delta);
      advance(c, EDI, delta);
      return;
    }
    case 0xaa:
    case 0xab:
      write(c, ES, di, regs[EAX], size);
      advance(c, EDI, delta);
      return;
    case 0xac:
    case 0xad: {
      const v = read(c, srcSeg, si, size);
      if (size === 1) c.r8[0] = v;
      else if (size === 2) c.r16[0] = v;
      else regs[EAX] = v;
      advance(c, ESI, delta);
      return;
    }
    case 0xae:
    case 0xaf:
      alu(c, ALU_CMP, regs[EAX], read(c, ES, di, size), sb);
      advance(c, EDI, delta);
      return;
    case 0x6c:
    case 0x6d: {
      const port = c.r16[EDX << 1];
      c.checkIo(port, size);
      // The destination must be writable before the port is read (a read can have effects).
      c.linW(ES, di, size);
      const v = size === 1 ? c.io.in8(port) : size === 2 ? c.io.in16(port) : c.io.in32(port);
      write(c, ES, di, v, size);
      advance(c, EDI, delta);
      return;
    }
    default: {
      const port = c.r16[EDX << 1];
      c.checkIo(port, size);
      const v = read(c, srcSeg, si, size);
      if (size === 1) c.io.out8(port, v & 0xff);
      else if (size === 2) c.io.out16(port, v & 0xffff);
      else c.io.out32(port, v >>> 0);
      advance(c, ESI, delta);
    }
  }
}

function read(c: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? c.rd8(seg, off) : size === 2 ? c.rd16(seg, off) : c.rd32(seg, off);
}

function write(c: Cpu, seg: number, off: number, v: number, size: number): void {
  if (size === 1) c.wr8(seg, off, v);
  else if (size === 2) c.wr16(seg, off, v);
  else c.wr32(seg, off, v);
}

function advance(c: Cpu, reg: number, delta: number): void {
  if (c.a32) c.regs[reg] = (c.regs[reg] + delta) | 0;
  else c.r16[reg << 1] = c.r16[reg << 1] + delta;
}
