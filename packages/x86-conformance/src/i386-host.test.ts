// The probe tells the truth: where it says i386 programs run, the differential test's i386
// oracle runs; where it says they do not, that oracle fails to run too, and the reason says why.

import { i386Execution } from './i386-host';
import { instructionForms } from './diff/isa';
import { runNative } from './diff/native';
import { generateCases, makePlan } from './diff/plan';

describe('the probe of i386 execution', () => {
  test('agrees with the i386 oracle program itself', () => {
    const probe = i386Execution();
    const cases = generateCases(makePlan(instructionForms(), 'add'), 1, 20);
    if (probe.runs) {
      expect(runNative(cases).outcomes).toHaveLength(20);
    } else {
      expect(probe.reason).toMatch(/i386/);
      expect(() => runNative(cases)).toThrow(/native: the oracle program failed/);
    }
  });

  test('probes once per process', () => {
    expect(i386Execution()).toBe(i386Execution());
  });
});
