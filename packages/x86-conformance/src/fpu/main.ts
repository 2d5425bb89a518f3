// The FPU differential kit from the command line: `npm run fpu -- [SEED] [PER_FORM]` runs
// every x87 form PER_FORM times on this CPU and on every registered core, and prints the
// mismatches by form (and the transcendentals' last-bit differences).

import { cores } from '@lguest/x86-cores';
import { describeInput, generateFpuCases, NOT_COMPARED, runFpuDiff, type Mismatch } from './kit';

const seed = Number(process.argv[2] ?? 0x46505531);
const perForm = Number(process.argv[3] ?? 200);
const cases = generateFpuCases(seed, perForm);
for (const n of NOT_COMPARED)
  console.log(`not compared: ${n.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')} — ${n.why}`);
for (const factory of cores) {
  const t0 = performance.now();
  const r = runFpuDiff(cases, factory);
  const ms = performance.now() - t0;
  console.log(
    `${factory.name}: ${r.cases} cases, ${r.mismatches.length} mismatches, ${r.lastBit.length} last-bit differences, ` +
      `${r.known.length} known differences (${ms.toFixed(0)} ms)`,
  );
  const byForm = new Map<string, Mismatch[]>();
  for (const m of r.mismatches) byForm.set(m.form, [...(byForm.get(m.form) ?? []), m]);
  for (const [form, ms] of byForm) {
    console.log(`  ${form}: ${ms.length}`);
    for (const m of ms.slice(0, process.env.FPU_SHOW ? 8 : 3))
      console.log(`    #${m.index} ${describeInput(cases[m.index])}\n      ${m.fields.join('; ')}`);
  }
  const lastBitForms = new Map<string, number>();
  for (const m of r.lastBit) lastBitForms.set(m.form, (lastBitForms.get(m.form) ?? 0) + 1);
  if (lastBitForms.size) console.log(`  last bit: ${[...lastBitForms].map(([f, n]) => `${f} ${n}`).join(', ')}`);
}
