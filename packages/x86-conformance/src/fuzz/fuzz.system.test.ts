import { interpreter } from '@lguest/x86';
import { cores } from '@lguest/x86-cores';
import { fuzz, type FuzzMode } from './fuzz';

// At least a million random instructions at each privilege level (and in real and V86
// mode) per core; the core must never throw, and a core other than the interpreter must agree
// with it after every short step (fuzz.ts throws at the first divergence). Bigger runs: `npm run fuzz -- --instructions N`.
const MODES: FuzzMode[] = [0, 1, 2, 3, 'real', 'v86', 'paged0', 'paged3'];
const PER_MODE = 1_000_000;

describe.each(cores.map((c) => [c.name, c] as const))('random code on core %s', (_name, core) => {
  it.each(MODES.map((m) => [String(m), m] as const))(
    'mode %s: 1M instructions, no JavaScript exception (and any core but the interpreter equal to it)',
    (_m, mode) => {
      const result = fuzz(core, mode, PER_MODE, 0x1f00 + MODES.indexOf(mode));
      expect(result.instructions).toBeGreaterThanOrEqual(PER_MODE);
      // The rounds really executed code and ended in more than one way.
      expect(result.rounds).toBeGreaterThan(1);
      console.log(
        `${core.name} mode ${String(mode)}: ${result.instructions} instructions, ${result.rounds} rounds, exits ${JSON.stringify(result.exits)}`,
      );
      expect(Object.keys(result.exits).length).toBeGreaterThan(0);
      // Every core but the reference ran in lockstep with it, step after step, and agreed.
      if (core.name !== interpreter.name) expect(result.compared).toBeGreaterThan(PER_MODE / 100);
    },
  );
});
