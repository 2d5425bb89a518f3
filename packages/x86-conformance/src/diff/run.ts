// One differential run: plan the forms, generate the cases, run them natively (on the i386
// oracle, or on the long-mode one where the host runs no i386 programs), run them on every
// core, compare. The Jest test and `npm run diff` both call runDiff().

import type { CoreFactory } from '@lguest/x86';
import type { DiffCase, Outcome } from './case';
import { differences, describeMismatch } from './compare';
import { CoreHarness } from './core';
import { exclusionReason, formName } from './forms';
import { instructionForms, type InstructionForm } from './isa';
import { KNOWN_CORE_MISMATCHES, knownMismatch, type KnownMismatch } from './known';
import { LONG_MODE_CASE_LIMITS } from './long-mode';
import { runNative } from './native';
import { runLongMode } from './native64';
import { generateCases, makePlan, type OracleName, type Plan } from './plan';

export interface DiffOptions {
  seed: number;
  cases: number;
  /** Only forms with this mnemonic (or this exact form name). */
  form?: string;
  cores: readonly CoreFactory[];
  /** Mismatches described in full per core (default 20). */
  details?: number;
  /** The host program the cases run on (default i386). */
  oracle?: OracleName;
}

export interface CoreResult {
  core: string;
  mismatches: number;
  /** Mismatches of forms listed in KNOWN_CORE_MISMATCHES, by entry. */
  known: Map<KnownMismatch, number>;
  /** Reports of the first `details` unexpected mismatches. */
  reports: string[];
  /** One line per form with unexpected mismatches: name and count. */
  byForm: Map<string, number>;
  ms: number;
}

export interface DiffResult {
  plan: Plan;
  cases: DiffCase[];
  native: Outcome[];
  /** Cases per supported form, and how many of them faulted natively. */
  perForm: Map<InstructionForm, { cases: number; faulted: number }>;
  cores: CoreResult[];
  timings: { generateMs: number; buildMs: number; nativeMs: number };
}

export function runDiff(opts: DiffOptions): DiffResult {
  const plan = makePlan(instructionForms(), opts.form, opts.oracle ?? 'i386');
  const t0 = performance.now();
  const cases = generateCases(plan, opts.seed, opts.cases);
  const generateMs = performance.now() - t0;
  const native = plan.oracle === 'i386' ? runNative(cases) : runLongMode(cases);
  const perForm = new Map<InstructionForm, { cases: number; faulted: number }>();
  for (const f of plan.supported) perForm.set(f, { cases: 0, faulted: 0 });
  cases.forEach((c, i) => {
    const s = perForm.get(c.form);
    if (!s) return;
    s.cases++;
    if (native.outcomes[i].vector >= 0) s.faulted++;
  });
  const details = opts.details ?? 20;
  const results: CoreResult[] = [];
  for (const factory of opts.cores) {
    const t = performance.now();
    const harness = new CoreHarness(factory, native.cs, native.ds);
    const r: CoreResult = {
      core: factory.name,
      mismatches: 0,
      known: new Map(),
      reports: [],
      byForm: new Map(),
      ms: 0,
    };
    cases.forEach((c, i) => {
      const got = harness.run(c);
      const lines = differences(c, native.outcomes[i], got);
      if (lines.length === 0) return;
      const known = knownMismatch(factory.name, c, native.outcomes[i]);
      if (known) {
        r.known.set(known, (r.known.get(known) ?? 0) + 1);
        return;
      }
      r.mismatches++;
      const name = formName(c.form);
      r.byForm.set(name, (r.byForm.get(name) ?? 0) + 1);
      if (r.reports.length < details) r.reports.push(describeMismatch(factory.name, c, native.outcomes[i], lines));
    });
    r.ms = performance.now() - t;
    results.push(r);
  }
  return {
    plan,
    cases,
    native: native.outcomes,
    perForm,
    cores: results,
    timings: { generateMs, buildMs: native.buildMs, nativeMs: native.runMs },
  };
}

/** The run as text: coverage, timings, per core the mismatches and known mismatches. */
export function summary(r: DiffResult): string {
  const lines: string[] = [];
  const covered = [...r.perForm.values()].filter((s) => s.cases > 0).length;
  lines.push(
    `${r.cases.length} cases over ${covered}/${r.plan.supported.length} forms (${r.plan.excluded.length} excluded) ` +
      `of the instruction-set table, on the ${r.plan.oracle} oracle`,
  );
  const t = r.timings;
  lines.push(`generate ${ms(t.generateMs)}, assemble+link ${ms(t.buildMs)}, native run ${ms(t.nativeMs)}`);
  for (const c of r.cores) {
    lines.push(`core "${c.core}": ${c.mismatches} unexpected mismatches in ${ms(c.ms)}`);
    for (const [name, n] of [...c.byForm].sort((a, b) => b[1] - a[1]))
      lines.push(`  ${n.toString().padStart(6)}  ${name}`);
    for (const [k, n] of c.known) lines.push(`  known: ${k.title}, ${n} cases — ${k.reason}`);
    const unseen = KNOWN_CORE_MISMATCHES.filter((k) => k.core === c.core && !c.known.has(k));
    if (unseen.length) lines.push(`  known mismatches not met in this run: ${unseen.map((k) => k.title).join('; ')}`);
    lines.push(...c.reports);
  }
  return lines.join('\n');
}

/**
 * What `oracle` leaves unchecked against hardware, for the run's opening words: how many
 * forms of the table it does not run, on top of those no oracle runs, grouped by reason.
 */
/**
 * The classes of protected-mode behaviour that hardware-validated tests once caught the core
 * getting wrong, and what each oracle checks of them against the host CPU. Where neither
 * does, the line says what covers the class instead and that it is not hardware.
 */
export const PROTECTION_CLASSES: readonly { name: string; oracles: Record<OracleName, string>; elsewhere?: string }[] =
  [
    {
      name: 'stack accesses faulting on paging at CPL 3 (PUSH, PUSHF, CALL, ENTER, POP, LEAVE against a read-only and an absent page)',
      oracles: {
        i386: 'checked against the host CPU: every operand size, CALL included',
        'long-mode':
          'checked against the host CPU with 16-bit operands (66h), which move the same bytes in 64-bit mode; not CALL, not 32-bit PUSH/POP/ENTER/LEAVE',
      },
    },
    {
      name: 'segment-register loads (MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS with valid, null and bad selectors)',
      oracles: {
        i386: 'NOT checked: the selectors name descriptors in Linux’s GDT, which the oracle cannot set up',
        'long-mode':
          'partly: MOV Sreg into every segment register, POP FS/GS (16-bit) and LFS/LGS/LSS are checked against the host CPU with null selectors, the user data selector (RPL 3 and 0) and selectors beyond the GDT and the (absent) LDT; NOT POP DS/ES/SS, LDS, LES (invalid in 64-bit mode), nor selectors of other descriptors (Linux owns the GDT)',
      },
      elsewhere:
        'the rest is covered by the SingleStepTests captures (hardware, but an 80C286 in real mode: MOV Sreg, POP Sreg, LDS, LES with no descriptor checks), the `segments` and `rings` programs (checked on Bochs and QEMU, not on hardware) and packages/x86’s unit tests',
    },
    {
      name: 'stack-size transitions (POP SS, MOV SS, LSS switching between 16- and 32-bit SS while pushing and popping)',
      oracles: {
        i386: 'partly: PUSH and POP on 16- and 32-bit LDT stacks are checked against the host CPU; the loads that switch between them are segment loads, NOT checked',
        'long-mode': 'NOT checked: 64-bit mode ignores the size of SS',
      },
      elsewhere:
        'covered instead by packages/x86’s protection tests (POP SS o16/o32 from a 16-bit to a 32-bit stack), written from the manual and the hardware result that found the bug, not checked on hardware here',
    },
  ];

/** The header lines for PROTECTION_CLASSES under `oracle`. */
export function protectionClassReport(oracle: OracleName): string {
  const lines = [`  Protection classes against the host CPU (${oracle} oracle):`];
  for (const c of PROTECTION_CLASSES) {
    lines.push(`    ${c.name}:`, `        ${c.oracles[oracle]}`);
    if (c.elsewhere && c.oracles[oracle].includes('NOT')) lines.push(`        ${c.elsewhere}`);
  }
  return lines.join('\n');
}

export function uncheckedReport(oracle: OracleName): string {
  const forms = instructionForms();
  const plan = makePlan(forms, undefined, oracle);
  // Left out by both oracles (the i386 oracle's exclusions that this plan keeps too).
  const everywhere = plan.excluded.filter(({ form }) => exclusionReason(form) !== undefined).length;
  const byReason = new Map<string, number>();
  for (const { form, reason } of plan.excluded) {
    if (exclusionReason(form) === undefined) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  const lines = [
    `  The ${oracle} oracle checks ${plan.supported.length} of the table's ${forms.length} forms against the host CPU.`,
    `  ${plan.excluded.length} forms are NOT checked against hardware: ${everywhere} that no oracle runs, and ` +
      `${plan.excluded.length - everywhere} that the ${oracle} oracle cannot run:`,
    ...[...byReason].map(([reason, n]) => `    ${n.toString().padStart(3)}  ${reason}`),
  ];
  if (oracle === 'long-mode') {
    lines.push('  Nor does it run cases with:', ...LONG_MODE_CASE_LIMITS.map((l) => `         ${l}`));
  }
  lines.push(protectionClassReport(oracle));
  lines.push('  `npm run diff -- --list --oracle ' + oracle + '` names every form and why.');
  return lines.join('\n');
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
}
