// The long-mode oracle at work: oracle64.ts writes the program, this file assembles and links
// it with `gcc -nostdlib -static` for x86-64, runs it, and reads back one Outcome per case in
// the i386 oracle's terms: instruction pointers past the instruction under test are moved
// back by the bytes its 64-bit encoding added (long-mode.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiffCase } from './case';
import { CODE_BASE, OUT_SIZE } from './layout';
import { i386Eip, longModeCode } from './long-mode';
import { type NativeRun, parseOutput } from './native';
import { HEADER } from './oracle';
import { EXIT_REASONS64, oracle64Source } from './oracle64';

/** Assembles, links and runs the long-mode oracle for `cases`. Throws with the reason when it cannot. */
export function runLongMode(cases: readonly DiffCase[]): NativeRun {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-diff64-'));
  try {
    const src = join(dir, 'oracle64.s');
    const exe = join(dir, 'oracle64');
    writeFileSync(src, oracle64Source(cases));
    const t0 = performance.now();
    const cc = spawnSync('gcc', ['-nostdlib', '-static', '-no-pie', '-o', exe, src], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) {
      throw new Error(
        `long-mode oracle: gcc -nostdlib -static failed (${cc.error?.message ?? cc.stderr.trim().slice(0, 2000)}). ` +
          'It needs gcc and binutils for x86-64.',
      );
    }
    const t1 = performance.now();
    const run = spawnSync(exe, [], { maxBuffer: HEADER + cases.length * OUT_SIZE + 4096, timeout: 120_000 });
    const t2 = performance.now();
    if (run.error || run.status !== 0) {
      const status = run.status ?? -1;
      const why =
        run.error?.message ?? (run.signal ? `killed by ${run.signal}` : (EXIT_REASONS64[status] ?? `exit ${status}`));
      throw new Error(`long-mode oracle: the program failed: ${why}`);
    }
    const parsed = parseOutput(run.stdout, cases.length);
    cases.forEach((c, i) => {
      const o = parsed.outcomes[i];
      if (o.vector >= 0) o.eip = i386Eip(o.eip, CODE_BASE + c.codeOffset, longModeCode(c), c.insn.length);
    });
    return { ...parsed, buildMs: t1 - t0, runMs: t2 - t1 };
  } finally {
    // LGUEST_DIFF_KEEP=1 keeps oracle64.s and the program for a look with objdump or gdb.
    if (process.env.LGUEST_DIFF_KEEP) console.error(`long-mode oracle: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
