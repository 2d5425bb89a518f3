// `npm run programs -- [--core NAME] [PROGRAM…]`: run the self-checking programs and print
// their full console output.
import { resolve } from 'node:path';
import { cores } from '@lguest/x86-cores';
import { PROGRAMS, loadProgram, runProgram } from './programs';

const args = process.argv.slice(2);
const coreName = args.includes('--core') ? args[args.indexOf('--core') + 1] : undefined;
const chosen = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--core');
const root = resolve(process.argv[1], '../../..');
let failed = 0;
for (const core of cores.filter((c) => !coreName || c.name === coreName)) {
  for (const program of chosen.length ? chosen : PROGRAMS) {
    const r = runProgram(core, program, loadProgram(root, program));
    process.stdout.write(r.output);
    console.log(
      `== ${core.name}/${program}: status ${String(r.status)}${r.stop ? ` (${r.stop})` : ''}, ${r.instructions} instructions`,
    );
    if (r.status !== 0 || r.stop) failed++;
  }
}
process.exit(failed ? 1 : 0);
