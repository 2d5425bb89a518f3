// The long-mode oracle at work: oracle64.ts writes the program, this file assembles and links
// it with `gcc -nostdlib -static` for x86-64, runs it, and reads back one Outcome per case in
// the i386 oracle's terms: instruction pointers past the instruction under test are moved
// back by the bytes its 64-bit encoding added (long-mode.ts).

import type { DiffCase } from './case';
import { CODE_BASE } from './layout';
import { i386Eip, longModeCode } from './long-mode';
import { buildAndRun, type NativeRun } from './native';
import { EXIT_REASONS64, oracle64Source } from './oracle64';

/** Assembles, links and runs the long-mode oracle for `cases`. Throws with the reason when it cannot. */
export function runLongMode(cases: readonly DiffCase[]): NativeRun {
  const result = buildAndRun(cases, {
    label: 'long-mode oracle',
    dirPrefix: 'lguest-diff64-',
    name: 'oracle64',
    source: oracle64Source(cases),
    gccFlags: ['-nostdlib', '-static'],
    gccHint: 'It needs gcc and binutils for x86-64.',
    programFailed: 'long-mode oracle: the program failed',
    exitReasons: EXIT_REASONS64,
  });
  cases.forEach((c, i) => {
    const o = result.outcomes[i];
    if (o.vector >= 0) o.eip = i386Eip(o.eip, CODE_BASE + c.codeOffset, longModeCode(c), c.insn.length);
  });
  return result;
}
