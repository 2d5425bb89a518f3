// Random programs in lockstep: loops of random instructions from the table's forms that the
// compiler translates (register and memory operands, 8/16/32-bit sizes, conditional skips),
// run on the block compiler and on the interpreter and compared after every block.
import { Exit, FORMS, decode, encode, isDecodeError, type InstructionForm } from '@lguest/x86';
import { compilable } from './compile';
import { CODE, DATA, pair } from './fixture';
import { Lockstep } from './lockstep';

/** Registers a random instruction may write: not ECX (the loop counter), EBX (the data
 *  pointer) or ESP (the stack). */
const WRITABLE32 = [0, 2, 5, 6, 7];
const WRITABLE8 = [0, 2, 4, 6];
const ANY = [0, 1, 2, 3, 4, 5, 6, 7];
const NEVER = new Set(['call', 'ret', 'jmp', 'leave', 'enter', 'div', 'idiv', 'bound']);

/** xorshift32, so a failing seed reproduces. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const byte = (o: string): boolean => o.endsWith('b') || o === 'AL' || o === 'CL';

/** The forms worth generating: compiled in some encoding, not a transfer, not a divide. */
const CANDIDATES: InstructionForm[] = FORMS.filter((f) => {
  if (NEVER.has(f.mnemonic) || (f.ends !== undefined && !f.mnemonic.startsWith('j'))) return false;
  if (f.mnemonic.startsWith('j') || f.mnemonic === 'nop') return false;
  if (f.operands.some((o) => o === 'Sw' || o === 'Cd' || o === 'Dd' || o.startsWith('X') || o.startsWith('Y'))) {
    return false;
  }
  const rm = f.operands.includes('M') ? { base: 3, index: -1 } : 0;
  const bytes = encode(f, { mode32: true, rm, reg: 0, imm: [1, 1] });
  const d = decode(bytes, 0, true);
  return !isDecodeError(d) && compilable(d);
});

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[r() % list.length];
}

function randomInstruction(r: () => number): Uint8Array {
  for (;;) {
    const f = pick(r, CANDIDATES);
    const dest = f.operands[0] ?? '';
    const twoWritten = f.mnemonic === 'xchg';
    const regs = (operand: string, written: boolean): number[] =>
      written ? (byte(operand) ? WRITABLE8 : WRITABLE32) : ANY;
    if ((dest === 'Zv' || dest === 'Zb') && f.mnemonic !== 'push') {
      const set = regs(dest, true);
      if (!set.includes(f.opcode & 7)) continue;
    }
    const gIndex = f.operands.findIndex((o) => o.startsWith('G'));
    const eIndex = f.operands.findIndex((o) => o.startsWith('E') || o === 'M');
    const reg = gIndex >= 0 ? pick(r, regs(f.operands[gIndex], gIndex === 0 || twoWritten)) : undefined;
    const memory = eIndex >= 0 && (f.operands[eIndex] === 'M' || r() % 2 === 0);
    const rm = memory
      ? { base: 3, index: -1, disp: r() % 253 }
      : eIndex >= 0
        ? pick(r, regs(f.operands[eIndex], eIndex === 0 || twoWritten))
        : 0;
    const moffs = f.operands.some((o) => o.startsWith('O'));
    const imm = moffs ? [DATA + (r() % 250)] : [r(), r() % 40];
    const opsizePrefix = f.operands.some((o) => o.endsWith('v')) && r() % 8 === 0;
    const bytes = encode(f, { mode32: true, reg, rm, imm, opsizePrefix });
    const d = decode(bytes, 0, true);
    if (isDecodeError(d) || !compilable(d)) continue;
    return bytes;
  }
}

/** mov ecx,ROUNDS; mov ebx,DATA; body: (random instructions, some skipped by a random Jcc);
 *  dec ecx; jnz body; hlt */
function randomProgram(seed: number, length: number, rounds: number): Uint8Array {
  const r = rng(seed);
  const out: number[] = [0xb9, rounds, 0, 0, 0, 0xbb, DATA & 0xff, (DATA >> 8) & 0xff, DATA >> 16, 0];
  const body = out.length;
  for (let i = 0; i < length; i++) {
    const insn = randomInstruction(r);
    if (r() % 6 === 0) {
      const next = randomInstruction(r);
      out.push(0x70 | (r() % 16), next.length, ...next);
    }
    out.push(...insn);
  }
  out.push(0x49);
  const rel = body - (out.length + 6);
  out.push(0x0f, 0x85, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff);
  out.push(0xf4);
  return new Uint8Array(out);
}

function run(seed: number, paging: boolean): { lockstep: Lockstep; result: ReturnType<Lockstep['run']> } {
  const r = rng(seed * 7919);
  const code = randomProgram(seed, 24, 30);
  const regs = { eax: r(), edx: r(), ebp: r(), esi: r(), edi: r(), eflags: (r() & 0x8d5) | 2 };
  // Compiled from the 8th round on, so most of the 30 run compiled.
  const { lockstep, jitMemory, refMemory } = pair(code, { paging, regs, compileThreshold: 8 });
  for (let i = 0; i < 256; i++) jitMemory[DATA + i] = refMemory[DATA + i] = r() & 0xff;
  expect(CODE).toBeGreaterThan(0);
  return { lockstep, result: lockstep.run(200_000, { memoryEvery: 4 }) };
}

describe('random programs in lockstep with the interpreter', () => {
  it('has forms of every kind to draw from', () => {
    const names = new Set(CANDIDATES.map((f) => f.mnemonic));
    for (const m of ['add', 'adc', 'sub', 'cmp', 'and', 'xor', 'shl', 'sar', 'rol', 'rcr', 'imul', 'mul']) {
      expect(names).toContain(m);
    }
    for (const m of ['movzx', 'movsx', 'lea', 'push', 'pop', 'inc', 'neg', 'not', 'test', 'xchg', 'bsf', 'shld']) {
      expect(names).toContain(m);
    }
  });

  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('seed %i agrees, flat and paged', (seed) => {
    for (const paging of [false, true]) {
      const { lockstep, result } = run(seed, paging);
      expect(result.divergence?.message ?? null).toBeNull();
      expect(result.exit).toBe(Exit.Halt);
      // The loop ran hot: most of it in compiled blocks.
      expect(lockstep.compiled.inBlocks).toBeGreaterThan(result.retired / 2);
    }
  });
});
