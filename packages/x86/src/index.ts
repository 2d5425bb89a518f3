export * from './contract';
export { interpreter } from './interp/index';
export { x87Registers, withX87Registers, type X87Registers } from './fpu/registers';
export * from './isa/types';
export { FORMS, CONDITIONS, ONE_BYTE_MAP, TWO_BYTE_MAP, entryFor, formFor, hasModrm } from './isa/table';
export type { OpcodeEntry } from './isa/table';
export { decode, isDecodeError, operandBits, MAX_INSTRUCTION_LENGTH } from './isa/decode';
export type { Decoded, DecodeError, DecodeFailure, EffectiveAddress } from './isa/decode';
export { disassemble, disassembleAt, formatDecoded } from './isa/disasm';
export type { Disassembly, DisasmOptions, Syntax } from './isa/disasm';
export { encode } from './isa/encode';
export { regChoices } from './isa/samples';
export type { Encoding, MemoryOperand } from './isa/encode';
/** The interpreter's machinery, for cores that build on its state (see interp/for-cores.ts). */
export * as interp from './interp/for-cores';
