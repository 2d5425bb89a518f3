// A run's plan: which forms of the table are generated and which are excluded (with the
// reason), and the cases themselves. Forms are dealt round-robin, so every supported form
// gets cases in any run of at least as many cases as there are forms; case i is generated
// from its own PRNG stream, so `seed` and `index` regenerate it exactly.
//
// A plan is made for one oracle. The long-mode oracle runs fewer forms (long-mode.ts), and
// of a case it cannot reproduce (16-bit addressing, LDT segments, …) it gets another draw of
// the same form from the next stream of the same index, so its runs are just as repeatable.

import type { DiffCase } from './case';
import { exclusionReason, formName } from './forms';
import { generateCase } from './generate';
import type { InstructionForm } from './isa';
import { longModeCaseProblem, longModeExclusionReason } from './long-mode';
import { Prng } from './prng';

/** The host program the cases run on: i386 code, or the same cases as 64-bit code. */
export type OracleName = 'i386' | 'long-mode';

export interface Plan {
  oracle: OracleName;
  forms: readonly InstructionForm[];
  supported: InstructionForm[];
  excluded: { form: InstructionForm; reason: string }[];
  /** Z-operand forms the table lists once per register. */
  zFixed: Set<InstructionForm>;
}

/**
 * Splits `forms` into those `oracle` runs and those it excludes; `only` keeps the forms with
 * that mnemonic.
 */
export function makePlan(forms: readonly InstructionForm[], only?: string, oracle: OracleName = 'i386'): Plan {
  const zFixed = new Set(
    forms.filter(
      (f) =>
        f.operands.some((o) => o[0] === 'Z') &&
        forms.some(
          (g) =>
            g !== f &&
            g.mnemonic === f.mnemonic &&
            g.opcode >> 3 === f.opcode >> 3 &&
            g.opcode !== f.opcode &&
            g.operands.join() === f.operands.join(),
        ),
    ),
  );
  const supported: InstructionForm[] = [];
  const excluded: Plan['excluded'] = [];
  for (const form of forms) {
    if (only !== undefined && form.mnemonic !== only && formName(form) !== only) continue;
    const reason = oracle === 'i386' ? exclusionReason(form) : longModeExclusionReason(form);
    if (reason) excluded.push({ form, reason });
    else supported.push(form);
  }
  return { oracle, forms, supported, excluded, zFixed };
}

/** The PRNG stream of case `index` of a run seeded with `seed`. */
export function caseRng(seed: number, index: number): Prng {
  return new Prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

/** Cases first … first+count-1 of the run. */
export function generateCases(plan: Plan, seed: number, count: number, first = 0): DiffCase[] {
  const n = plan.supported.length;
  if (n === 0) throw new Error('no instruction form to generate (check --form)');
  const cases: DiffCase[] = [];
  for (let index = first; index < first + count; index++) {
    const form = plan.supported[index % n];
    const draw = (attempt: number): DiffCase =>
      generateCase({
        form,
        index,
        rng: caseRng((seed + Math.imul(attempt, 0x6c8e9cf5)) >>> 0, index),
        zFixed: plan.zFixed.has(form),
      });
    let c = draw(0);
    if (plan.oracle === 'long-mode') {
      for (let attempt = 1; longModeCaseProblem(c) !== undefined; attempt++) {
        if (attempt === LONG_MODE_DRAWS)
          throw new Error(`generator: no case of ${formName(form)} the long-mode oracle can run`);
        c = draw(attempt);
      }
    }
    cases.push(c);
  }
  return cases;
}

/** Draws of one case the long-mode oracle may take before the generator is called broken. */
const LONG_MODE_DRAWS = 256;
