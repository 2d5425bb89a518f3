// The table names the native row for what it is and measures the slowdown against it, the
// i386 build or the x86-64 one.

import type { Measurement } from './measurement';
import { formatTable, medianRun } from './report';
import { NATIVE64_ENGINE, NATIVE_ENGINE } from './run-native';

const core: Measurement = { engine: 'interpreter', instructions: 2e8, counted: true, seconds: 2, checksum: 1 };

function native(engine: string): Measurement {
  return { engine, instructions: 2e8, counted: false, seconds: 0.04, checksum: 1 };
}

describe('the table', () => {
  it.each([NATIVE_ENGINE, NATIVE64_ENGINE])('measures the slowdown against the %s row', (engine) => {
    const table = formatTable('loop-200M', [native(engine), core]);
    expect(table).toMatch(new RegExp(`^loop-200M +${engine.replace(/[()]/g, '\\$&')} .* 1\\.0×$`, 'm'));
    expect(table).toMatch(/^loop-200M +interpreter .* 50\.0×$/m);
  });

  it('says that the x86-64 row counts i386 instructions, and only for that row', () => {
    const note = /x86-64 build does the same work/;
    expect(formatTable('loop-200M', [native(NATIVE64_ENGINE), core])).toMatch(note);
    expect(formatTable('loop-200M', [native(NATIVE_ENGINE), core])).not.toMatch(note);
  });
});

describe('medianRun', () => {
  it('reports the run of median time, of an even count the faster middle one', () => {
    const run = (seconds: number) => ({ seconds });
    expect(medianRun([])).toBeUndefined();
    expect(medianRun([run(3), run(1), run(2)])).toEqual(run(2));
    expect(medianRun([run(4), run(1), run(3), run(2)])).toEqual(run(2));
    expect(medianRun([run(9), run(1), run(1), run(1), run(9)])).toEqual(run(1));
  });
});
