import { interpreter } from '@lguest/x86';
import { jit } from '@lguest/x86-jit';
import { DEFAULT_CORE, cores, findCore } from './index';

describe('the core registry', () => {
  it('lists the interpreter and the block compiler, by unique names', () => {
    expect(cores).toContain(interpreter);
    expect(cores).toContain(jit);
    expect(new Set(cores.map((c) => c.name)).size).toBe(cores.length);
    expect(findCore(DEFAULT_CORE)).toBe(interpreter);
  });

  it('names the cores that exist when asked for one that does not', () => {
    expect(() => findCore('quantum')).toThrow("unknown CPU core 'quantum'; available: interpreter, jit");
  });
});
