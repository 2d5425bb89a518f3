// `npm run diff -- [--cases N] [--seed S] [--form MNEMONIC] [--core NAME] [--details N]
// [--oracle NAME] [--list]`: the differential test at any size, for the person chasing a
// mismatch. Exits 1 when a core has unexpected mismatches.

import { parseArgs } from 'node:util';
import { cores, findCore } from '@lguest/x86-cores';
import { formName } from './forms';
import { instructionForms } from './isa';
import { hostOracle } from './host-oracle';
import { makePlan, type OracleName } from './plan';
import { protectionClassReport, runDiff, summary, uncheckedReport } from './run';

const USAGE = `usage: npm run diff -- [options]
  --cases N         number of cases (default 20000)
  --seed S          PRNG seed (default 1); a mismatch report's case index + seed reproduce it
  --form MNEMONIC   only forms with this mnemonic (or exact form name, e.g. "add Ev,Gv (01)")
  --core NAME       only this registered core (default: all)
  --details N       mismatches described in full per core (default 20)
  --oracle NAME     i386 or long-mode (default: i386 where the host runs i386 programs)
  --list            list supported and excluded forms (with reasons) and exit`;

/** The oracle asked for, or the one this host offers (saying why when it is not i386). */
function chooseOracle(asked: string | undefined): OracleName {
  if (asked === 'i386' || asked === 'long-mode') return asked;
  if (asked !== undefined) throw new Error(`--oracle wants i386 or long-mode, not '${asked}'`);
  const oracle = hostOracle();
  if (oracle.reason) console.error(`diff: ${oracle.reason}.\n${uncheckedReport(oracle.name)}`);
  return oracle.name;
}

function number(v: string | undefined, what: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what} wants a non-negative integer, not '${v}'`);
  return n;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      form: { type: 'string' },
      core: { type: 'string' },
      details: { type: 'string' },
      oracle: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    const plan = makePlan(
      instructionForms(),
      values.form,
      values.oracle === undefined ? 'i386' : chooseOracle(values.oracle),
    );
    for (const f of plan.supported) console.log(`run       ${formName(f)}`);
    for (const { form, reason } of plan.excluded) console.log(`excluded  ${formName(form)}: ${reason}`);
    return 0;
  }
  const oracle = chooseOracle(values.oracle);
  // The header: what the run checks of the protection classes, loudly, whichever the oracle.
  if (oracle === 'i386' || values.oracle !== undefined) console.error(protectionClassReport(oracle));
  const result = runDiff({
    seed: number(values.seed, '--seed', 1),
    cases: number(values.cases, '--cases', 20_000),
    form: values.form,
    cores: values.core ? [findCore(values.core)] : cores,
    details: number(values.details, '--details', 20),
    oracle,
  });
  console.log(summary(result));
  return result.cores.some((c) => c.mismatches > 0) ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 2;
}
