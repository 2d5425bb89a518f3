// Which instruction forms the differential test can put on the native oracle, and why the
// rest cannot. The oracle is a Linux process at CPL 3: whatever an instruction does there
// must be fully determined by registers, flags and the scratch region, identically on the
// host chip and on a core given the same descriptors. Forms whose CPL-3 result depends on
// what Linux keeps in its own tables (its GDT, LDT layout, CPUID, the TSC) or that Linux
// intercepts (UMIP emulation) are excluded here with the reason; privileged and IOPL-gated
// forms stay in, because at CPL 3 they must raise #GP(0) on both sides.

import type { InstructionForm, Operand } from './isa';

/** A short name for a form: mnemonic, operands, opcode and group, e.g. `add Ev,Gv (01)`. */
export function formName(form: InstructionForm): string {
  const op = form.opcode > 0xff ? `0F ${hex2(form.opcode & 0xff)}` : hex2(form.opcode);
  const reg = form.reg === undefined ? '' : ` /${form.reg}`;
  const operands = form.operands.length ? ` ${form.operands.join(',')}` : '';
  return `${form.mnemonic}${operands} (${op}${reg})`;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

const SEGMENT_OPERANDS: readonly Operand[] = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];

const SEGMENT_LOAD = 'segment load: the selector must name a descriptor in the host GDT/LDT, which Linux owns';
const FAR = 'far transfer: loads CS (and SS) from the host GDT, which Linux owns';
const UMIP = 'UMIP on the host: Linux traps it at CPL 3 and emulates it with dummy values';
const DESCRIPTOR = 'reads a descriptor from the host GDT/LDT, which Linux owns';

/** Mnemonic → why it is not run on the native oracle. */
const EXCLUDED_MNEMONICS: Readonly<Record<string, string>> = {
  lds: SEGMENT_LOAD,
  les: SEGMENT_LOAD,
  lfs: SEGMENT_LOAD,
  lgs: SEGMENT_LOAD,
  lss: SEGMENT_LOAD,
  callf: FAR,
  jmpf: FAR,
  retf: FAR,
  iretd: `${FAR}; NT would start a task switch`,
  esc: 'x87: the FPU kit (src/fpu) checks every x87 form against this CPU with operands of its own',
  sysenter:
    'SYSENTER at CPL 3 enters the host kernel (a system call, through the host’s MSRs), not the core’s SYSENTER_CS',
  cpuid: 'the result is the host CPU’s identity, not the core’s',
  rdtsc: 'the result is the host’s time-stamp counter',
  sgdt: UMIP,
  sidt: UMIP,
  sldt: UMIP,
  str: UMIP,
  smsw: UMIP,
  lar: DESCRIPTOR,
  lsl: DESCRIPTOR,
  verr: DESCRIPTOR,
  verw: DESCRIPTOR,
  int1: 'INT1/ICEBP raises #DB, which Linux reports with debugger semantics (DR6), not as a plain trap',
};

/** Why `form` is not run against the native oracle, or undefined when it is. */
export function exclusionReason(form: InstructionForm): string | undefined {
  const byName = EXCLUDED_MNEMONICS[form.mnemonic];
  if (byName) return byName;
  const ops = form.operands;
  if (form.opcode >= 0xd8 && form.opcode <= 0xdf) return EXCLUDED_MNEMONICS.esc;
  if (ops.includes('Ap')) return FAR;
  if (ops.includes('Mp') || (form.mnemonic === 'mov' && ops[0] === 'Sw')) return SEGMENT_LOAD;
  if (form.mnemonic === 'pop' && ops.length === 1 && SEGMENT_OPERANDS.includes(ops[0])) return SEGMENT_LOAD;
  return undefined;
}

// --- classification the generator and the masks share --------------------------------

export const SHIFTS = new Set(['rol', 'ror', 'rcl', 'rcr', 'shl', 'sal', 'shr', 'sar']);
export const DOUBLE_SHIFTS = new Set(['shld', 'shrd']);
export const BIT_TESTS = new Set(['bt', 'bts', 'btr', 'btc']);
export const BIT_SCANS = new Set(['bsf', 'bsr']);
export const DIVIDES = new Set(['div', 'idiv']);
export const LOOPS = new Set(['loop', 'loope', 'loopne', 'jecxz']);

/** Mnemonics that use the stack at CPL 3 (ESP must point into the region). */
const STACK_MNEMONICS = new Set(['push', 'pop', 'pushad', 'popad', 'pushfd', 'popfd', 'call', 'ret', 'enter', 'leave']);

export function usesStack(form: InstructionForm): boolean {
  return STACK_MNEMONICS.has(form.mnemonic);
}

/** A near transfer of control: its target is arranged inside the snippet. */
export function isTransfer(form: InstructionForm): boolean {
  const m = form.mnemonic;
  return form.operands.includes('Jb') || form.operands.includes('Jv') || m === 'ret' || isIndirectTransfer(form);
}

export function isIndirectTransfer(form: InstructionForm): boolean {
  const m = form.mnemonic;
  return (m === 'call' || m === 'jmp') && form.operands.some((o) => o === 'Ev' || o === 'Ed');
}

/** A string instruction (operands through DS:ESI / ES:EDI). */
export function isString(form: InstructionForm): boolean {
  return form.operands.some((o) => o === 'Xb' || o === 'Xv' || o === 'Yb' || o === 'Yv');
}

/** Operand-size-dependent forms whose operands do not say so (PUSH ES, ENTER, LEAVE). */
const SIZED_NAMES = new Set(['push', 'pop', 'enter', 'leave']);

/** The operand sizes the form may be generated with. */
export function operandSizes(form: InstructionForm): readonly (16 | 32)[] {
  const m = form.mnemonic;
  // BSWAP of a 16-bit register is undefined.
  if (m === 'bswap') return [32];
  // A near transfer with a 16-bit operand size truncates EIP to 16 bits: the code is not there.
  if (isTransfer(form) || LOOPS.has(m)) return [32];
  // `mnemonic16` names the 16-bit variant (CBW for CWDE, PUSHA for PUSHAD).
  const sized =
    form.operands.some((o) => o.endsWith('v') || o === 'eAX' || o === 'Ma') ||
    form.mnemonic16 !== undefined ||
    SIZED_NAMES.has(m);
  return sized ? [16, 32] : [32];
}
