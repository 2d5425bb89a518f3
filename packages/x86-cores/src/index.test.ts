import { interpreter } from '@lguest/x86';
import { jit } from '@lguest/x86-jit';
import { CORE_VARIABLE, DEFAULT_CORE, cores, defaultCore, defaultCoreName, findCore } from './index';

describe('the core registry', () => {
  it('lists the interpreter and the block compiler, by unique names', () => {
    expect(cores).toContain(interpreter);
    expect(cores).toContain(jit);
    expect(new Set(cores.map((c) => c.name)).size).toBe(cores.length);
    expect(cores.map((c) => c.name)).toContain(DEFAULT_CORE);
  });

  it('names the cores that exist when asked for one that does not', () => {
    expect(() => findCore('quantum')).toThrow("unknown CPU core 'quantum'; available: interpreter, jit");
  });

  it('runs the core LGUEST_CPU names when none is given, else the default', () => {
    expect(defaultCoreName({})).toBe(DEFAULT_CORE);
    expect(defaultCoreName({ [CORE_VARIABLE]: '' })).toBe(DEFAULT_CORE);
    expect(defaultCore({})).toBe(findCore(DEFAULT_CORE));
    expect(defaultCore({ [CORE_VARIABLE]: 'interpreter' })).toBe(interpreter);
    expect(defaultCore({ [CORE_VARIABLE]: 'jit' })).toBe(jit);
    expect(() => defaultCore({ [CORE_VARIABLE]: 'quantum' })).toThrow(
      'LGUEST_CPU=quantum names no CPU core; the cores are interpreter, jit',
    );
  });
});
