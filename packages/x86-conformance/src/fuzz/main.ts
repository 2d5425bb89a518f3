// `npm run fuzz -- [--instructions N] [--seed S] [--core NAME]`: a bigger random-code run (every core
// but the interpreter in lockstep with it).
import { cores } from '@lguest/x86-cores';
import { fuzz, type FuzzMode } from './fuzz';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const coreName = args.includes('--core') ? args[args.indexOf('--core') + 1] : undefined;
const instructions = opt('--instructions', 10_000_000);
const seed = opt('--seed', Date.now() & 0xffffffff);
for (const core of cores.filter((c) => !coreName || c.name === coreName)) {
  for (const mode of [0, 1, 2, 3, 'real', 'v86', 'paged0', 'paged3'] as FuzzMode[]) {
    const t0 = performance.now();
    const r = fuzz(core, mode, instructions, seed);
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${core.name} mode ${String(mode)} seed ${seed}: ${r.instructions} instructions in ${r.rounds} rounds, ${s.toFixed(1)} s; exits ${JSON.stringify(r.exits)}${r.compared ? `; ${r.compared} steps in lockstep with the interpreter, equal` : ''}`,
    );
  }
}
