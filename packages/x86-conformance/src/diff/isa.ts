// Where the differential kit gets the instruction-set table and the disassembler: both come
// from '@lguest/x86', the single source of truth for what the generator covers and how a
// mismatch's bytes are spelled.

import { disassemble, FORMS, type InstructionForm } from '@lguest/x86';
export type { FlagEffect, InstructionForm, Operand } from '@lguest/x86';
/** Whether a ModRM byte follows the form's opcode (the table's own rule). */
export { hasModrm } from '@lguest/x86';

/** Every form of the instruction-set table. */
export function instructionForms(): readonly InstructionForm[] {
  return FORMS;
}

/** One 32-bit instruction at `address` as AT&T text, for a mismatch report. */
export function disassembleOne(bytes: Uint8Array, address: number): string {
  return disassemble(bytes, 0, true, { address }).text;
}
