// The shape of the instruction-set table: one entry per instruction form, written in the
// operand notation of the Intel manuals' opcode maps. The decoder, the disassembler, the
// conformance generator and any second core derive what they need from these entries.

/**
 * Operand codes, after the Intel opcode-map notation:
 * - Addressing: `E` ModRM r/m (register or memory), `G` ModRM reg (general register),
 *   `M` ModRM memory only, `R` ModRM r/m register only, `S` ModRM reg as a segment register,
 *   `C`/`D` ModRM reg as a control/debug register, `I` immediate, `J` relative offset,
 *   `A` direct far pointer, `O` memory offset (moffs), `X` DS:(E)SI, `Y` ES:(E)DI,
 *   `Z` a general register in the low 3 bits of the opcode byte, `Ef` the ModRM byte of a
 *   coprocessor escape (D8–DF: any r/m; memory is addressed but its size is the FPU's).
 * - Sizes: `b` byte, `w` word, `d` dword, `v` word or dword by operand size, `p` 32- or
 *   48-bit far pointer, `a` two words or dwords (BOUND), `q` qword, `bs` byte sign-extended
 *   to the operand size.
 * - Fixed operands: register names, `1` (the constant one).
 */
export type Operand =
  | 'Eb'
  | 'Ew'
  | 'Ed'
  | 'Ev'
  | 'Gb'
  | 'Gw'
  | 'Gd'
  | 'Gv'
  | 'M'
  | 'Mp'
  | 'Ma'
  | 'Mq'
  | 'Mw'
  | 'Ms'
  | 'Rd'
  | 'Sw'
  | 'Cd'
  | 'Dd'
  | 'Ib'
  | 'Iw'
  | 'Iv'
  | 'Ibs'
  | 'Jb'
  | 'Jv'
  | 'Ap'
  | 'Ob'
  | 'Ov'
  | 'Xb'
  | 'Xv'
  | 'Yb'
  | 'Yv'
  | 'Zb'
  | 'Zv'
  | 'Ef'
  | 'AL'
  | 'CL'
  | 'DX'
  | 'AX'
  | 'eAX'
  | '1'
  | 'ES'
  | 'CS'
  | 'SS'
  | 'DS'
  | 'FS'
  | 'GS';

/** Flags by letter, in `odiszapc` order: o d i s z a p c. */
export interface FlagEffect {
  /** Flags the instruction reads. */
  read?: string;
  /** Flags it writes with defined values. */
  written?: string;
  /** Flags it leaves undefined (a test must mask them). */
  undefined?: string;
}

/** What ends a basic block (a block-compiling core stops before or after these). */
export type BlockEnd =
  | 'jump' // unconditional transfer
  | 'branch' // conditional transfer
  | 'call'
  | 'return'
  | 'interrupt' // INT n, INT3, INTO, IRET, exceptions by design (UD2, BOUND may)
  | 'halt'
  | 'system'; // changes the mode, CR0/3/4, segments in a way later decoding depends on

/**
 * The x87 forms of one escape opcode and ModRM reg field (D8–DF are groups): the memory form
 * (mod != 3) and the eight register forms (mod = 3) by the r/m field. Each is Intel's
 * mnemonic with its operands ('fadd m32fp', 'fsub st(i),st'), or undefined where the
 * encoding raises #UD.
 */
export interface X87Forms {
  readonly memory?: string;
  readonly registers: readonly (string | undefined)[];
}

export interface InstructionForm {
  /** The opcode: one byte (0x00–0xFF), or 0x0F00 | byte for the two-byte map. */
  opcode: number;
  /** For group opcodes: the ModRM reg field (0–7) this form occupies. */
  reg?: number;
  /** Lower-case Intel mnemonic ('add', 'jcc' forms spelled out: 'jz'). */
  mnemonic: string;
  /**
   * Intel's mnemonic when the operand size is 16 bits, where it differs ('cbw' for 'cwde',
   * 'pusha' for 'pushad'); for JECXZ it is the address size that selects 'jcxz'.
   */
  mnemonic16?: string;
  /** Operands in Intel order (destination first). */
  operands: readonly Operand[];
  flags?: FlagEffect;
  ends?: BlockEnd;
  /** LOCK is allowed (when the destination is memory). */
  lockable?: boolean;
  /** A string instruction: REP repeats it; 'cc' means REPE/REPNE also test ZF. */
  rep?: 'rep' | 'cc';
  /** Only at CPL 0 in protected mode (#GP(0) elsewhere); `iopl` means CPL <= IOPL. */
  privilege?: 'cpl0' | 'iopl';
  /** Not in real or virtual-8086 mode (#UD there). */
  protectedOnly?: boolean;
  /** The processor generation that introduced it, for documentation and generators. */
  since?: 86 | 186 | 286 | 386 | 486 | 586 | 686;
  /** Short note on quirks the executor implements (shown by the disassembler's verbose mode). */
  note?: string;
  /** D8–DF: which memory and register forms exist (operand `Ef`). */
  x87?: X87Forms;
}
