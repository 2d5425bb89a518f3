// Comparing a core's outcome with the native one, and saying how they differ in a form a
// person can act on: the form, the bytes (and their disassembly when '@lguest/x86' has a
// disassembler), the inputs, and each difference native-versus-core.

import type { DiffCase, Outcome } from './case';
import { formName } from './forms';
import { disassembleOne } from './isa';
import { CODE_BASE, EFLAGS_VISIBLE, REG_NAMES } from './layout';
import { EFLAGS_BITS } from '../eflags';

const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);
const TRAPS = new Set([1, 3, 4]);
const VECTOR_NAMES: Readonly<Record<number, string>> = {
  0: '#DE',
  1: '#DB',
  3: '#BP',
  4: '#OF',
  5: '#BR',
  6: '#UD',
  7: '#NM',
  8: '#DF',
  10: '#TS',
  11: '#NP',
  12: '#SS',
  13: '#GP',
  14: '#PF',
  16: '#MF',
  17: '#AC',
};

function hex(v: number, digits = 8): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

export function flagNames(bits: number): string {
  return EFLAGS_BITS.filter(([b]) => bits & b)
    .map(([, n]) => n)
    .join(' ');
}

export function vectorName(v: number): string {
  return v < 0 ? 'none' : `${VECTOR_NAMES[v] ?? 'vector ' + v}`;
}

function exception(o: Outcome): string {
  if (o.vector < 0) return 'none';
  const code = ERROR_CODE_VECTORS.has(o.vector) ? `(${hex(o.error, 1)})` : '';
  return `${vectorName(o.vector)}${code} at ${hex(o.eip)}`;
}

/** How `core` differs from `native` for case `c`, one line per difference; [] when it matches. */
export function differences(c: DiffCase, native: Outcome, core: Outcome): string[] {
  if (core.problem) return [core.problem];
  const out: string[] = [];
  const faulted = native.vector >= 0 && native.vector === core.vector;
  // A fault leaves the state as it was before the instruction: all of it is defined then.
  // A trap (#DB single-step, #BP, #OF) comes after the instruction completed: the case's
  // undefined results stay undefined.
  const before = faulted && !TRAPS.has(native.vector);
  if (native.vector !== core.vector) out.push(`exception: native ${exception(native)}, core ${exception(core)}`);
  else if (faulted) {
    if (native.eip !== core.eip) out.push(`exception EIP: native ${hex(native.eip)}, core ${hex(core.eip)}`);
    if (ERROR_CODE_VECTORS.has(native.vector) && native.error !== core.error) {
      out.push(`error code: native ${hex(native.error, 1)}, core ${hex(core.error, 1)}`);
    }
  }
  for (let r = 0; r < 8; r++) {
    const mask = before ? 0xffffffff : c.regMask[r];
    if (((native.regs[r] ^ core.regs[r]) & mask) !== 0) {
      out.push(`${REG_NAMES[r]}: native ${hex(native.regs[r])}, core ${hex(core.regs[r])}`);
    }
  }
  const flagsMask = before ? EFLAGS_VISIBLE : c.flagsMask;
  const df = (native.eflags ^ core.eflags) & flagsMask;
  if (df !== 0) out.push(`eflags: native ${hex(native.eflags)}, core ${hex(core.eflags)} (differ in ${flagNames(df)})`);
  const ignored = new Uint8Array(native.region.length);
  if (!before) for (const [at, len] of c.memIgnore) ignored.fill(1, Math.max(at, 0), at + len);
  let i = 0;
  while (i < native.region.length) {
    if (ignored[i] || native.region[i] === core.region[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < native.region.length && !ignored[j] && native.region[j] !== core.region[j]) j++;
    const n = Array.from(native.region.subarray(i, j), (v) => hex(v, 2)).join(' ');
    const k = Array.from(core.region.subarray(i, j), (v) => hex(v, 2)).join(' ');
    out.push(`region[+0x${i.toString(16)}..+0x${(j - 1).toString(16)}]: native ${n}, core ${k}`);
    i = j;
  }
  for (let k = 0; k < native.edges.length; k++) {
    if (native.edges[k] === core.edges[k]) continue;
    const half = native.edges.length / 2;
    const where = k < half ? `data+0x${k.toString(16)}` : `data+0x${(0x10000 - 2 * half + k).toString(16)}`;
    out.push(`${where}: native ${hex(native.edges[k], 2)}, core ${hex(core.edges[k], 2)}`);
  }
  return out;
}

/** A mismatch report: what was run, from what state, and how the core differed. */
export function describeMismatch(coreName: string, c: DiffCase, native: Outcome, lines: string[]): string {
  const bytes = Array.from(c.insn, (v) => hex(v, 2)).join(' ');
  const rest =
    c.snippet.length > c.insn.length
      ? ` | ${Array.from(c.snippet.subarray(c.insn.length), (v) => hex(v, 2)).join(' ')}`
      : '';
  const dis = disassembleOne(c.insn, CODE_BASE + c.codeOffset);
  const regs = REG_NAMES.map((n, r) => `${n}=${hex(c.regs[r])}`).join(' ');
  const notes = c.notes.length ? ` [${c.notes.join(', ')}]` : '';
  const out = [
    `[${coreName}] case ${c.index}: ${formName(c.form)}${notes}`,
    `  bytes ${bytes}${rest}   ; ${dis}`,
    `  in: ${regs} eflags=${hex(c.eflags)} (${flagNames(c.eflags & 0xcd5) || '-'}) code@${hex(c.codeOffset, 3)}`,
    `  native: exception ${exception(native)}`,
    ...lines.map((l) => `  ${l}`),
  ];
  return out.join('\n');
}
