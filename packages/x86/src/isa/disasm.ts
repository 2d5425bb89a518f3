// The disassembler: the decoder's output spelled as text, for traces, test failures and the
// host's error messages ("unhandled trap 13 at 0xc0101234: mov %eax,%cr3"). The default is
// AT&T syntax as GNU objdump spells it — size suffixes only where no register operand gives
// the size, `%ds:(%esi)` string operands, `*` before indirect targets — so its output can be
// compared with objdump's line for line; disasm.test.ts does exactly that. Intel syntax is
// available too, in the style of `objdump -M intel`. The x87 escapes D8–DF are spelled as
// objdump spells them too; WAIT (9B) stays an instruction of its own, where objdump joins it
// to a following FNSTSW into FSTSW.
//
// Everything here is derived from the table entry and the decoded fields; the only
// knowledge of its own is spelling: GNU's names for a few mnemonics and when objdump shows
// a suffix.

import { decode, isDecodeError, operandBits, type Decoded } from './decode';
import { CONDITIONS, usesAddressSize, usesOperandSize, usesSegment } from './table';
import type { Operand } from './types';

export type Syntax = 'att' | 'intel';

export interface DisasmOptions {
  /** 'att' (the default) or 'intel'. */
  syntax?: Syntax;
  /** The address of the instruction, for relative branch targets. Defaults to the offset. */
  address?: number;
}

export interface Disassembly {
  /** The instruction as text, or "(bad)" when the bytes are not one. */
  text: string;
  /** Bytes consumed (at least 1 when any byte was available, so a caller can step on). */
  length: number;
  /** Why the bytes did not decode, when they did not. */
  error?: string;
}

const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** GNU spellings of condition codes that differ from Intel's opcode-map names. */
const GNU_CONDITION: Record<string, string> = { nb: 'ae', z: 'e', nz: 'ne', nbe: 'a', nl: 'ge', nle: 'g' };

/** GNU (AT&T) names for Intel mnemonics that objdump spells differently. */
const ATT_NAME: Record<string, string> = {
  callf: 'lcall',
  jmpf: 'ljmp',
  retf: 'lret',
  cwde: 'cwtl',
  cbw: 'cbtw',
  cdq: 'cltd',
  cwd: 'cwtd',
  pushad: 'pusha',
  popad: 'popa',
  pushfd: 'pushf',
  popfd: 'popf',
  iretd: 'iret',
  wait: 'fwait',
  sal: 'shl',
};

/** Instructions whose operand size shows as a suffix (w/l) only when it is not the mode's
 *  default: the stack and control-transfer family. */
const STACK_SIZED = new Set([
  'push',
  'pop',
  'pusha',
  'popa',
  'pushf',
  'popf',
  'iret',
  'call',
  'jmp',
  'ret',
  'lcall',
  'ljmp',
  'lret',
  'enter',
  'leave',
]);

/** Instructions objdump never gives a suffix although their operand could be memory. */
const NEVER_SUFFIXED = new Set(['sldt', 'str', 'smsw', 'lldt', 'ltr', 'verr', 'verw', 'lmsw', 'invlpg', 'cmpxchg8b']);

/** Operands that give an instruction its size when they are registers. */
const SIZING: ReadonlySet<Operand> = new Set<Operand>(['Gb', 'Gw', 'Gd', 'Gv', 'Zb', 'Zv', 'AL', 'AX', 'eAX', 'Rd']);

function hex(v: number): string {
  return '0x' + v.toString(16);
}

function signedHex(v: number): string {
  return v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
}

/** `v` masked to `bits` (up to 32), as an unsigned number. */
function unsigned(v: number, bits: number): number {
  return bits >= 32 ? v >>> 0 : v & ((1 << bits) - 1);
}

function regName(n: number, bits: number): string {
  return bits === 8 ? R8[n] : bits === 16 ? R16[n] : R32[n];
}

/** The mnemonic with GNU condition-code names (jnz → jne, setnle → setg). */
function gnuConditions(m: string, opcode: number): string {
  const low = opcode & 0xff;
  const isJcc = (opcode >= 0x70 && opcode <= 0x7f) || (opcode >= 0x0f80 && opcode <= 0x0f8f);
  const isSet = opcode >= 0x0f90 && opcode <= 0x0f9f;
  const isCmov = opcode >= 0x0f40 && opcode <= 0x0f4f;
  if (!isJcc && !isSet && !isCmov) return m;
  const cc = CONDITIONS[low & 15].name;
  return (isJcc ? 'j' : isSet ? 'set' : 'cmov') + (GNU_CONDITION[cc] ?? cc);
}

/** Size of the r/m register when it is one, following objdump for the Ew forms that
 *  really take a register of the operand size (MOV Sreg, LAR, LSL). */
function rmBits(d: Decoded, op: Operand): number {
  if (op === 'Ew' && (d.opcode === 0x8e || d.opcode === 0x0f02 || d.opcode === 0x0f03)) return d.o32 ? 32 : 16;
  return operandBits(op, d.o32);
}

/** An r/m operand (E or M), as opposed to a fixed register such as ES. */
function isRm(op: Operand): boolean {
  return (op[0] === 'E' || op[0] === 'M') && op !== 'ES';
}

function isMemory(d: Decoded, op: Operand): boolean {
  if (isRm(op)) return d.mod !== 3;
  switch (op[0]) {
    case 'O':
    case 'X':
    case 'Y':
      return true;
    default:
      return false;
  }
}

// ------------------------------------------------------------------ x87

/** The table's memory-operand notation: AT&T's size suffix and Intel's PTR size for each. */
const X87_MEMORY: Record<string, { suffix: string; ptr: string }> = {
  m32fp: { suffix: 's', ptr: 'DWORD PTR ' },
  m64fp: { suffix: 'l', ptr: 'QWORD PTR ' },
  m80fp: { suffix: 't', ptr: 'TBYTE PTR ' },
  m16int: { suffix: 's', ptr: 'WORD PTR ' },
  m32int: { suffix: 'l', ptr: 'DWORD PTR ' },
  m64int: { suffix: 'll', ptr: 'QWORD PTR ' },
  m80bcd: { suffix: '', ptr: 'TBYTE PTR ' },
  m2byte: { suffix: '', ptr: 'WORD PTR ' },
};

/** The x87 instruction as the table writes it (Intel order): its mnemonic and operands. */
function x87Parts(d: Decoded): { m: string; ops: string[]; memory?: string } {
  const x87 = d.form.x87;
  const text = (d.mod === 3 ? x87?.registers[d.rm] : x87?.memory) ?? '';
  const [m, rest = ''] = text.split(' ');
  const ops = rest ? rest.split(',') : [];
  return d.mod === 3 ? { m, ops } : { m, ops: [], memory: ops[0] };
}

/**
 * AT&T spelling of an x87 instruction, as objdump writes it: a size suffix on memory forms
 * (flds/fldl/fldt, filds/fildl/fildll), `%st(i)` operands reversed, and — the System V
 * assembler's old convention, which GNU keeps — FSUB/FSUBR and FDIV/FDIVR swapped in the
 * register forms whose destination is ST(i) (DC and DE E0–FF).
 */
function formatAttX87(d: Decoded, address: number): string {
  const { m, ops, memory } = x87Parts(d);
  if (memory !== undefined) {
    // The environment and state layouts show their size only when a prefix chose it.
    const layout = memory.includes('/') && d.opsizePrefix ? (d.o32 ? 'l' : 's') : '';
    return `${m}${X87_MEMORY[memory]?.suffix ?? layout} ${attOperand(d, 'Ef', address)}`;
  }
  let name = m;
  if ((d.opcode === 0xdc || d.opcode === 0xde) && d.reg >= 4) {
    name = /^f(sub|div)r/.test(m) ? m.replace(/^f(sub|div)r/, 'f$1') : m.replace(/^f(sub|div)/, 'f$1r');
  }
  const operands = ops.map((o) => '%' + o).reverse();
  return operands.length ? `${name} ${operands.join(',')}` : name;
}

/** Intel spelling of an x87 instruction, as `objdump -M intel` writes it. */
function formatIntelX87(d: Decoded, address: number): string {
  const { m, ops, memory } = x87Parts(d);
  if (memory !== undefined) {
    const layout = memory.includes('/') && d.opsizePrefix ? (d.o32 ? 'd' : 'w') : '';
    return `${m}${layout} ${X87_MEMORY[memory]?.ptr ?? ''}${intelOperand(d, 'Ef', address, 0)}`;
  }
  return ops.length ? `${m} ${ops.join(',')}` : m;
}

// ------------------------------------------------------------------ AT&T

function attMemory(d: Decoded): string {
  const ea = d.ea;
  if (!ea) return '';
  const seg = d.segment >= 0 ? `%${SEGS[d.segment]}:` : '';
  const names = ea.a32 ? R32 : R16;
  if (ea.base < 0 && ea.index < 0 && d.sib < 0) return seg + hex(unsigned(ea.disp, ea.a32 ? 32 : 16));
  let text = seg;
  if (d.dispSize > 0) text += signedHex(ea.disp);
  const base = ea.base >= 0 ? `%${names[ea.base]}` : '';
  if (ea.index >= 0) text += ea.a32 ? `(${base},%${names[ea.index]},${ea.scale})` : `(${base},%${names[ea.index]})`;
  else if (d.sib >= 0 && (ea.base !== 4 || ea.scale !== 1)) text += `(${base},%eiz,${ea.scale})`;
  else if (base) text += `(${base})`;
  return text;
}

function attOperand(d: Decoded, op: Operand, address: number, index = 0): string {
  switch (op) {
    case 'Eb':
    case 'Ew':
    case 'Ed':
    case 'Ev':
    case 'M':
    case 'Mp':
    case 'Ma':
    case 'Mq':
    case 'Mw':
    case 'Ms':
      return d.mod === 3 ? `%${regName(d.rm, rmBits(d, op))}` : attMemory(d);
    case 'Ef':
      return d.mod === 3 ? `%st(${d.rm})` : attMemory(d);
    case 'Rd':
      return `%${R32[d.rm]}`;
    case 'Gb':
    case 'Gw':
    case 'Gd':
    case 'Gv':
      return `%${regName(d.reg, operandBits(op, d.o32))}`;
    case 'Zb':
    case 'Zv':
      return `%${regName(d.opcode & 7, operandBits(op, d.o32))}`;
    case 'Sw':
      return `%${SEGS[d.reg]}`;
    case 'Cd':
      return `%cr${d.reg}`;
    case 'Dd':
      return `%db${d.reg}`;
    case 'Ib':
    case 'Iw':
    case 'Iv':
      // ENTER's nesting level is the second immediate.
      return '$' + hex(unsigned(index > 0 && d.imm2Size > 0 ? d.imm2 : d.imm, operandBits(op, d.o32)));
    case 'Ibs':
      return '$' + hex(unsigned(d.imm, d.o32 ? 32 : 16));
    case 'Jb':
    case 'Jv':
      return hex(unsigned(address + d.length + d.imm, d.o32 ? 32 : 16));
    case 'Ap':
      return `$${hex(d.imm2)},$${hex(d.imm)}`;
    case 'Ob':
    case 'Ov':
      return attMemory(d);
    case 'Xb':
    case 'Xv':
      return `%${SEGS[d.segment >= 0 ? d.segment : 3]}:(%${d.a32 ? 'esi' : 'si'})`;
    case 'Yb':
    case 'Yv':
      return `%es:(%${d.a32 ? 'edi' : 'di'})`;
    case 'AL':
      return '%al';
    case 'CL':
      return '%cl';
    case 'DX':
      return '(%dx)';
    case 'AX':
      return '%ax';
    case 'eAX':
      return d.o32 ? '%eax' : '%ax';
    case '1':
      return '';
    default:
      return `%${op.toLowerCase()}`;
  }
}

/** The AT&T mnemonic: GNU's name plus the suffix objdump would show. */
function attMnemonic(d: Decoded): string {
  const form = d.form;
  const size = d.o32 ? 'l' : 'w';
  let m = gnuConditions(d.mnemonic, d.opcode);
  m = ATT_NAME[m] ?? m;
  switch (m) {
    case 'movzx':
    case 'movsx':
      return `mov${m[3]}${form.operands[1] === 'Eb' ? 'b' : 'w'}${size}`;
    case 'loop':
    case 'loope':
    case 'loopne':
      return d.addrsizePrefix ? m + (d.a32 ? 'l' : 'w') : m;
    case 'jecxz':
    case 'jcxz':
      return d.a32 ? 'jecxz' : 'jcxz';
  }
  // Stack and control transfers: a suffix only when the operand size is not the default
  // and no register operand shows it.
  if (STACK_SIZED.has(m)) {
    const regSized = form.operands.some((o) => SIZING.has(o) || (isRm(o) && d.mod === 3));
    return d.opsizePrefix && !regSized ? m + size : m;
  }
  if (NEVER_SUFFIXED.has(m) || m.startsWith('set') || (m === 'mov' && (d.opcode === 0x8c || d.opcode === 0x8e)))
    return m;
  // Anything else: a suffix when a memory (or string) operand has no register to size it.
  let memory = false;
  let sized = false;
  let bits = 0;
  for (const op of form.operands) {
    if (SIZING.has(op) || (isRm(op) && d.mod === 3)) sized = true;
    if (isMemory(d, op)) {
      memory = true;
      bits = op === 'Ms' ? (d.o32 ? 32 : 16) : operandBits(op, d.o32);
    }
  }
  if (!memory || sized || form.operands.includes('Ef')) return m;
  return bits === 8 ? m + 'b' : bits === 16 ? m + 'w' : bits === 32 ? m + 'l' : m;
}

/** The prefixes objdump writes before the mnemonic: LOCK and REP, and by name any prefix
 *  the operands do not show — an unused one, or an address size with nothing to show it. */
function attPrefixes(d: Decoded): string {
  let text = '';
  const form = d.form;
  const memory = d.ea !== null || form.operands.some((o) => o[0] === 'X' || o[0] === 'Y');
  if (d.lock) text += 'lock ';
  if (d.rep !== 0) {
    if (form.rep === 'rep') text += d.rep === 0xf3 ? 'rep ' : 'repnz ';
    else text += d.rep === 0xf3 ? 'repz ' : 'repnz ';
  }
  if (d.segment >= 0 && !usesSegment(form, d.ea !== null)) text += SEGS[d.segment] + ' ';
  if (d.opsizePrefix && !usesOperandSize(form, d.ea !== null)) text += d.mode32 ? 'data16 ' : 'data32 ';
  // objdump names the address size of a moffs either way, and of a ModRM absolute address
  // only when it is 32-bit in 16-bit code.
  const moffs = form.operands.includes('Ob') || form.operands.includes('Ov');
  const absolute = d.ea !== null && d.ea.base < 0 && d.ea.index < 0 && d.sib < 0 && !d.mode32;
  if (d.addrsizePrefix && (!usesAddressSize(form, memory) || moffs || absolute))
    text += d.mode32 ? 'addr16 ' : 'addr32 ';
  return text;
}

function formatAtt(d: Decoded, address: number): string {
  const form = d.form;
  if (d.opcode === 0x90 && d.opsizePrefix) return `xchg ${d.o32 ? '%eax,%eax' : '%ax,%ax'}`;
  if (form.mnemonic === 'xlat') {
    return `${attPrefixes(d)}xlat %${SEGS[d.segment >= 0 ? d.segment : 3]}:(%${d.a32 ? 'ebx' : 'bx'})`;
  }
  if (form.x87) return attPrefixes(d) + formatAttX87(d, address);
  const m = attMnemonic(d);
  let ops = form.operands.map((op, i) => attOperand(d, op, address, i)).filter((t) => t !== '');
  // AT&T reverses Intel's order, except for the two-immediate ENTER and BOUND.
  if (m !== 'bound' && !m.startsWith('enter')) ops = ops.reverse();
  // Indirect near and far CALL/JMP (FF /2–/5) mark their operand with a star.
  if (d.opcode === 0xff && d.reg >= 2 && d.reg <= 5) ops = ops.map((t) => '*' + t);
  const text = attPrefixes(d) + m;
  return ops.length ? `${text} ${ops.join(',')}` : text;
}

// ------------------------------------------------------------------ Intel

const PTR: Record<number, string> = { 8: 'BYTE', 16: 'WORD', 32: 'DWORD', 48: 'FWORD', 64: 'QWORD' };

/** GNU's Intel-syntax names where they differ from the table's. */
const INTEL_NAME: Record<string, string> = {
  callf: 'call',
  jmpf: 'jmp',
  pushad: 'pusha',
  popad: 'popa',
  pushfd: 'pushf',
  popfd: 'popf',
  iretd: 'iret',
  wait: 'fwait',
  sal: 'shl',
};

/** `[base+index*scale±disp]`, or `seg:0xADDR` for an absolute address. */
function intelAddress(d: Decoded): string {
  const ea = d.ea;
  if (!ea) return '';
  const names = ea.a32 ? R32 : R16;
  if (ea.base < 0 && ea.index < 0 && d.sib < 0) {
    return `${SEGS[d.segment >= 0 ? d.segment : 3]}:${hex(unsigned(ea.disp, ea.a32 ? 32 : 16))}`;
  }
  const seg = d.segment >= 0 ? `${SEGS[d.segment]}:` : '';
  let inner = ea.base >= 0 ? names[ea.base] : '';
  if (ea.index >= 0) inner += `${inner ? '+' : ''}${names[ea.index]}${ea.a32 ? `*${ea.scale}` : ''}`;
  else if (d.sib >= 0 && (ea.base !== 4 || ea.scale !== 1)) inner += `${inner ? '+' : ''}eiz*${ea.scale}`;
  if (d.dispSize > 0) inner += ea.disp < 0 ? `-${hex(-ea.disp)}` : `${inner ? '+' : ''}${hex(ea.disp)}`;
  return `${seg}[${inner}]`;
}

/** Bits objdump's `PTR` shows for a memory operand (0: no size shown). */
function intelPtrBits(d: Decoded, op: Operand): number {
  switch (op) {
    case 'M':
      return d.form.mnemonic === 'invlpg' ? 8 : 0;
    case 'Ms':
    case 'Ef':
      return 0;
    case 'Ev':
      return usesOperandSize(d.form, true) ? operandBits(op, d.o32) : 16;
    default:
      return operandBits(op, d.o32);
  }
}

function intelOperand(d: Decoded, op: Operand, address: number, index: number): string {
  switch (op) {
    case 'Eb':
    case 'Ew':
    case 'Ed':
    case 'Ev':
    case 'M':
    case 'Mp':
    case 'Ma':
    case 'Mq':
    case 'Mw':
    case 'Ms':
    case 'Ef': {
      if (d.mod === 3) return attOperand(d, op, address, index).replace(/^%/, '');
      const bits = intelPtrBits(d, op);
      return (bits ? `${PTR[bits]} PTR ` : '') + intelAddress(d);
    }
    case 'Ob':
    case 'Ov':
      return intelAddress(d);
    case 'Xb':
    case 'Xv':
      return `${PTR[operandBits(op, d.o32)]} PTR ${SEGS[d.segment >= 0 ? d.segment : 3]}:[${d.a32 ? 'esi' : 'si'}]`;
    case 'Yb':
    case 'Yv':
      return `${PTR[operandBits(op, d.o32)]} PTR es:[${d.a32 ? 'edi' : 'di'}]`;
    case 'Ap':
      return `${hex(d.imm2)}:${hex(d.imm)}`;
    case 'Dd':
      return `dr${d.reg}`;
    case 'DX':
      return 'dx';
    case '1':
      return '1';
    default:
      return attOperand(d, op, address, index).replace(/^[%$]/, '');
  }
}

/** The Intel mnemonic as objdump -M intel spells it. */
function intelMnemonic(d: Decoded): string {
  const form = d.form;
  let m = gnuConditions(d.mnemonic, d.opcode);
  m = INTEL_NAME[m] ?? m;
  if (m === 'jecxz' || m === 'jcxz') return d.a32 ? 'jecxz' : 'jcxz';
  if (form.operands.includes('Ms')) return m + (d.o32 ? 'd' : 'w');
  // Stack and control transfers show a size only when no operand does.
  if (STACK_SIZED.has(m) || m === 'retf') {
    const shown = form.operands.some((o) => SIZING.has(o) || isRm(o) || o === 'Ap');
    if (d.opsizePrefix && !shown) return m + (d.o32 ? 'd' : 'w');
  }
  return m;
}

function formatIntel(d: Decoded, address: number): string {
  const form = d.form;
  const m = intelMnemonic(d);
  let prefix = attPrefixes(d);
  // LOOP's address size has no suffix in Intel syntax, so objdump names the prefix.
  if (d.addrsizePrefix && d.opcode >= 0xe0 && d.opcode <= 0xe2) prefix += d.mode32 ? 'addr16 ' : 'addr32 ';
  if (d.opcode === 0x90 && d.opsizePrefix) return `xchg ${d.o32 ? 'eax,eax' : 'ax,ax'}`;
  if (form.mnemonic === 'xlat')
    return `${prefix}xlat BYTE PTR ${SEGS[d.segment >= 0 ? d.segment : 3]}:[${d.a32 ? 'ebx' : 'bx'}]`;
  if (form.x87) return prefix + formatIntelX87(d, address);
  const ops = form.operands.map((op, i) => intelOperand(d, op, address, i));
  return ops.length ? `${prefix}${m} ${ops.join(',')}` : prefix + m;
}

// ------------------------------------------------------------------ entry points

/** Text for an instruction already decoded at `address`. */
export function formatDecoded(d: Decoded, address: number, syntax: Syntax = 'att'): string {
  return syntax === 'intel' ? formatIntel(d, address) : formatAtt(d, address);
}

/**
 * Disassemble the instruction at `bytes[offset]` as code of the given default size. Never
 * throws: bytes that are not an instruction give "(bad)" with the reason in `error`.
 */
export function disassemble(
  bytes: Uint8Array,
  offset: number,
  mode32: boolean,
  options: DisasmOptions = {},
): Disassembly {
  const d = decode(bytes, offset, mode32);
  if (isDecodeError(d)) return { text: '(bad)', length: Math.max(1, d.length), error: d.reason };
  const address = options.address ?? offset;
  return { text: formatDecoded(d, address, options.syntax), length: d.length };
}

/**
 * Disassemble at linear address `address` by reading bytes through `read`, which returns a
 * byte or a negative number when the address cannot be read (unmapped, beyond RAM). For the
 * host's messages: `unhandled trap 13 at 0xc0101234: mov %eax,%cr3`.
 */
export function disassembleAt(
  read: (linear: number) => number,
  address: number,
  mode32: boolean,
  options: Omit<DisasmOptions, 'address'> = {},
): Disassembly {
  const buf = new Uint8Array(15);
  let n = 0;
  for (; n < buf.length; n++) {
    const b = read((address + n) >>> 0);
    if (b < 0) break;
    buf[n] = b;
  }
  if (n === 0) return { text: '(unreadable)', length: 0, error: `cannot read ${hex(address >>> 0)}` };
  return disassemble(buf.subarray(0, n), 0, mode32, { ...options, address });
}
