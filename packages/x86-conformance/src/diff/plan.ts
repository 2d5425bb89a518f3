// A run's plan: which forms of the table are generated and which are excluded (with the
// reason), and the cases themselves. Forms are dealt round-robin, so every supported form
// gets cases in any run of at least as many cases as there are forms; case i is generated
// from its own PRNG stream, so `seed` and `index` regenerate it exactly.

import type { DiffCase } from './case';
import { exclusionReason, formName } from './forms';
import { generateCase } from './generate';
import type { InstructionForm } from './isa';
import { Prng } from './prng';

export interface Plan {
  forms: readonly InstructionForm[];
  supported: InstructionForm[];
  excluded: { form: InstructionForm; reason: string }[];
  /** Z-operand forms the table lists once per register. */
  zFixed: Set<InstructionForm>;
}

/** Splits `forms` into supported and excluded; `only` keeps the forms with that mnemonic. */
export function makePlan(forms: readonly InstructionForm[], only?: string): Plan {
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
    const reason = exclusionReason(form);
    if (reason) excluded.push({ form, reason });
    else supported.push(form);
  }
  return { forms, supported, excluded, zFixed };
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
    cases.push(
      generateCase({
        form,
        index,
        rng: caseRng(seed, index),
        zFixed: plan.zFixed.has(form),
      }),
    );
  }
  return cases;
}
