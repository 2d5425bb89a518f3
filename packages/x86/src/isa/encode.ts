// The encoder: an instruction form from the table plus concrete operands, as bytes. It is the
// decoder run backwards and exists for tests and generators — the objdump comparison and the
// table-versus-core check build every form with it, and a conformance generator can too.
// It chooses the shortest standard encoding and checks only what it needs to lay bytes out;
// whether the result is a valid instruction is the decoder's (and the processor's) call.

import { hasModrm } from './table';
import type { InstructionForm } from './types';

/** A memory operand: `[base + index*scale + disp]`. Registers by number (EAX=0 ... EDI=7;
 *  in 16-bit addressing only the pairs BX/BP + SI/DI, and SI DI BP BX alone, exist). */
export interface MemoryOperand {
  base: number;
  index: number;
  scale?: 1 | 2 | 4 | 8;
  disp?: number;
  /** Force the displacement size (bytes: 0, 1, 2 or 4) instead of the shortest. */
  dispSize?: 0 | 1 | 2 | 4;
  /** Use a SIB byte even when none is needed (32-bit addressing; no index is then 100). */
  sib?: boolean;
}

export interface Encoding {
  /** The code segment's default size. */
  mode32: boolean;
  /** Emit a 66 (operand size) / 67 (address size) prefix. */
  opsizePrefix?: boolean;
  addrsizePrefix?: boolean;
  /** Segment override prefix (0–5: ES CS SS DS FS GS). */
  segment?: number;
  lock?: boolean;
  /** 0xF3 or 0xF2. */
  rep?: number;
  /** The ModRM reg field when it is an operand (G, S, C, D); a group's is the form's own. */
  reg?: number;
  /** The r/m operand: a register number, or memory. Defaults to register 0. */
  rm?: number | MemoryOperand;
  /** Immediates in encoding order: Ib/Iw/Iv/Ibs/Jb/Jv values; Ap as [offset, selector];
   *  ENTER as [size, level]; a moffs as its offset. Missing values are 0. */
  imm?: readonly number[];
}

const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** 16-bit addressing r/m for a base/index pair ("base,index" → rm). */
const RM16: Record<string, number> = {
  '3,6': 0,
  '3,7': 1,
  '5,6': 2,
  '5,7': 3,
  '6,-1': 4,
  '7,-1': 5,
  '5,-1': 6,
  '3,-1': 7,
};

function pushLE(out: number[], v: number, size: number): void {
  for (let i = 0; i < size; i++) out.push((v >>> (8 * i)) & 0xff);
}

function fitsInt8(v: number): boolean {
  return v >= -128 && v <= 127;
}

/** ModRM (with reg in place), SIB and displacement for a memory operand. */
function encodeMemory(out: number[], reg: number, m: MemoryOperand, a32: boolean): void {
  const disp = m.disp ?? 0;
  const scale = m.scale ?? 1;
  if (!a32) {
    if (m.base < 0 && m.index < 0) {
      out.push((reg << 3) | 6);
      pushLE(out, disp, 2);
      return;
    }
    const rm = RM16[`${m.base},${m.index}`];
    if (rm === undefined) throw new Error(`no 16-bit addressing form for base ${m.base} index ${m.index}`);
    let size = m.dispSize ?? (disp === 0 && rm !== 6 ? 0 : fitsInt8(disp) ? 1 : 2);
    if (size === 0 && rm === 6) size = 1;
    const mod = size === 0 ? 0 : size === 1 ? 1 : 2;
    out.push((mod << 6) | (reg << 3) | rm);
    pushLE(out, disp, size);
    return;
  }
  if (m.index === 4) throw new Error('ESP cannot be an index register');
  const needSib = m.index >= 0 || m.base === 4 || !!m.sib;
  if (m.base < 0 && m.index < 0) {
    out.push((reg << 3) | 5);
    pushLE(out, disp, 4);
    return;
  }
  const scaleBits = scale === 1 ? 0 : scale === 2 ? 1 : scale === 4 ? 2 : 3;
  if (m.base < 0) {
    // Index without a base: SIB base 101 with mod 00 means disp32 and no base.
    out.push((reg << 3) | 4, (scaleBits << 6) | (m.index << 3) | 5);
    pushLE(out, disp, 4);
    return;
  }
  let size = m.dispSize ?? (disp === 0 && m.base !== 5 ? 0 : fitsInt8(disp) ? 1 : 4);
  if (size === 0 && m.base === 5) size = 1;
  const mod = size === 0 ? 0 : size === 1 ? 1 : 2;
  if (needSib) {
    out.push((mod << 6) | (reg << 3) | 4, (scaleBits << 6) | ((m.index >= 0 ? m.index : 4) << 3) | m.base);
  } else out.push((mod << 6) | (reg << 3) | m.base);
  pushLE(out, disp, size);
}

/**
 * Encode `form` with the operands in `e`. Throws when the request cannot be laid out (a
 * 16-bit address that does not exist, ESP as an index) — bad input from a test, not an
 * encoding the processor would reject, which this function happily produces.
 */
export function encode(form: InstructionForm, e: Encoding): Uint8Array {
  const out: number[] = [];
  const o32 = e.mode32 !== !!e.opsizePrefix;
  const a32 = e.mode32 !== !!e.addrsizePrefix;
  if (e.lock) out.push(0xf0);
  if (e.rep) out.push(e.rep);
  if (e.segment !== undefined && e.segment >= 0) out.push(SEG_PREFIX[e.segment]);
  if (e.opsizePrefix) out.push(0x66);
  if (e.addrsizePrefix) out.push(0x67);
  if (form.opcode > 0xff) out.push(0x0f);
  out.push(form.opcode & 0xff);
  if (hasModrm(form)) {
    const reg = form.reg ?? e.reg ?? 0;
    const rm = e.rm ?? 0;
    if (typeof rm === 'number') out.push(0xc0 | (reg << 3) | rm);
    else encodeMemory(out, reg, rm, a32);
  }
  const imms = e.imm ?? [];
  let k = 0;
  for (const op of form.operands) {
    switch (op) {
      case 'Ib':
      case 'Ibs':
      case 'Jb':
        pushLE(out, imms[k++] ?? 0, 1);
        break;
      case 'Iw':
        pushLE(out, imms[k++] ?? 0, 2);
        break;
      case 'Iv':
      case 'Jv':
        pushLE(out, imms[k++] ?? 0, o32 ? 4 : 2);
        break;
      case 'Ap':
        pushLE(out, imms[k++] ?? 0, o32 ? 4 : 2);
        pushLE(out, imms[k++] ?? 0, 2);
        break;
      case 'Ob':
      case 'Ov':
        pushLE(out, imms[k++] ?? 0, a32 ? 4 : 2);
        break;
    }
  }
  return Uint8Array.from(out);
}
