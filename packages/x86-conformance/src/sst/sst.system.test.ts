// The gate: every core registered in @lguest/x86 runs every SingleStepTests file — the 325
// files captured on the 80C286 and the 386EX ADD sample — and must pass every test, apart
// from those a class in differences.ts explains. A failing file's message lists its first
// mismatches; `npm run sst -- FILE` shows more.

import { cores } from '@lguest/x86-cores';
import { SST_DIR_ENV, sstDir } from './data';
import { DIFFERENCES_286_ON_386 } from './differences';
import { fileOk, fileReport, totals, totalsText } from './report';
import { type FileResult, SstRunner } from './runner';
import { runSstFile, sstFiles } from './suite';

const dir = sstDir();
const files = sstFiles(dir);
const TESTS_286 = 325 * 1000;
const TESTS_386 = 500;

describe('SingleStepTests data', () => {
  it(`is all there: 325 files of the 286 set and the 386 sample (from ${dir})`, () => {
    expect(files.filter((f) => f.set === '286')).toHaveLength(325);
    expect(files.filter((f) => f.set === '386').map((f) => f.name)).toEqual(['386/00.MOO']);
  });
});

if (cores.length === 0) {
  it('has a core to test', () => {
    throw new Error(
      '@lguest/x86-cores exports an empty `cores` registry: register the core there so the kit can run it',
    );
  });
}

for (const factory of cores) {
  describe(`SingleStepTests on core "${factory.name}"`, () => {
    const runner = new SstRunner(factory, { details: 4 });
    const results: FileResult[] = [];

    it.each(files.map((f) => [f.name, f] as const))('%s', (_name, file) => {
      const r = runSstFile(runner, file);
      results.push(r);
      if (!fileOk(r)) throw new Error(`core "${factory.name}" fails ${file.name}:\n${fileReport(r)}`);
    });

    it('accounts for every test: passed, failed, revoked, or skipped by a named difference', () => {
      const t = totals(results);
      console.log(`core "${factory.name}"\n${totalsText(t, DIFFERENCES_286_ON_386)}`);
      const skipped = Object.values(t.skipped).reduce((a, b) => a + b, 0);
      if (!process.env[SST_DIR_ENV]) expect(t.total).toBe(TESTS_286 + TESTS_386);
      expect(t.passed + t.failed + t.revoked + skipped).toBe(t.total);
      for (const id of Object.keys(t.skipped)) {
        expect(DIFFERENCES_286_ON_386.some((d) => id === d.id || id.startsWith(d.id + ' '))).toBe(true);
      }
    });
  });
}
