import { parseOptions, pagingRuns } from './options';
import { FULL_ITERATIONS, QUICK_ITERATIONS, metalInstructions, workloadName } from './workload';

describe('bench options', () => {
  it('runs everything at full size by default', () => {
    expect(parseOptions([])).toMatchObject({
      iterations: FULL_ITERATIONS,
      native: true,
      allCores: true,
      coreNames: [],
      v86Jit: true,
      v86NoJit: true,
      enginesGiven: false,
      paging: 'both',
      repeat: 3,
      json: false,
    });
  });

  it('picks engines, sizes and paging', () => {
    const o = parseOptions([
      '--quick',
      '--engines',
      'interpreter,v86-jit',
      '--paging',
      'on',
      '--json',
      '--repeat',
      '5',
    ]);
    expect(o).toMatchObject({
      iterations: QUICK_ITERATIONS,
      native: false,
      allCores: false,
      coreNames: ['interpreter'],
      v86Jit: true,
      v86NoJit: false,
      enginesGiven: true,
      repeat: 5,
      json: true,
    });
    expect(pagingRuns(o.paging)).toEqual([true]);
    expect(pagingRuns('both')).toEqual([false, true]);
    expect(parseOptions(['--iterations', '42']).iterations).toBe(42);
  });

  it('says what is wrong with bad options', () => {
    expect(() => parseOptions(['--fast'])).toThrow('unknown option --fast');
    expect(() => parseOptions(['--iterations', '0'])).toThrow('--iterations takes a whole number from 1 to');
    expect(() => parseOptions(['--iterations', '1e6'])).toThrow('--iterations takes a whole number');
    expect(() => parseOptions(['--paging', 'maybe'])).toThrow('--paging takes on, off or both, not maybe');
    expect(() => parseOptions(['--engines'])).toThrow('--engines needs a value');
    expect(() => parseOptions(['--engines', 'native,,v86'])).toThrow('--engines has an empty entry');
  });

  it('names the sizes by their instruction count', () => {
    expect(metalInstructions(FULL_ITERATIONS)).toBe(200_000_006);
    expect(workloadName(FULL_ITERATIONS)).toBe('loop-200M');
    expect(workloadName(QUICK_ITERATIONS)).toBe('loop-10M');
    expect(workloadName(1000)).toBe('loop-108K');
  });
});
