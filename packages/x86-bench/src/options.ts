// The benchmark's command line.

import { FULL_ITERATIONS, QUICK_ITERATIONS } from './workload';

export const USAGE = `usage: npm run bench -- [options]

Runs one fixed i386 workload (~200 million instructions) natively, on every registered
core of @lguest/x86 (flat and with paging) and on v86 (interpreter and JIT, flat and with
paging), checks every checksum, and prints instructions, seconds and MIPS for each.

  --quick            ~10 million instructions instead of ~200 million
  --iterations N     run exactly N rounds of the workload loop (26 instructions each)
  --engines LIST     comma-separated, from: native, cores, a core's name, v86 (both modes),
                     v86-jit, v86-nojit                 (default: native,cores,v86)
  --paging MODE      on, off or both: paging for the cores and v86          (default: both)
  --repeat N         run each engine N times and report the median run (default: 3;
                     native always runs at least 5 times, it takes milliseconds)
  --json             print the rows as JSON: [{workload, engine, instructions, seconds, mips}]
  --help             this text`;

export type PagingMode = 'on' | 'off' | 'both';

export interface Options {
  iterations: number;
  native: boolean;
  /** Every registered core. */
  allCores: boolean;
  /** Cores asked for by name. */
  coreNames: string[];
  v86Jit: boolean;
  v86NoJit: boolean;
  /** Whether --engines was given (a missing core is then an error, not a warning). */
  enginesGiven: boolean;
  paging: PagingMode;
  repeat: number;
  json: boolean;
  help: boolean;
}

/** Parses argv (without node and the script); throws an Error whose message says what is wrong. */
export function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    iterations: FULL_ITERATIONS,
    native: false,
    allCores: false,
    coreNames: [],
    v86Jit: false,
    v86NoJit: false,
    enginesGiven: false,
    paging: 'both',
    repeat: 3,
    json: false,
    help: false,
  };
  let engines = 'native,cores,v86';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        options.iterations = QUICK_ITERATIONS;
        break;
      case '--iterations':
        options.iterations = positiveInteger(arg, value());
        break;
      case '--engines':
        engines = value();
        options.enginesGiven = true;
        break;
      case '--paging': {
        const mode = value();
        if (mode !== 'on' && mode !== 'off' && mode !== 'both')
          throw new Error(`--paging takes on, off or both, not ${mode}`);
        options.paging = mode;
        break;
      }
      case '--repeat':
        options.repeat = positiveInteger(arg, value(), 1000);
        break;
      case '--json':
        options.json = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  for (const engine of engines.split(',').map((e) => e.trim())) {
    switch (engine) {
      case 'native':
        options.native = true;
        break;
      case 'cores':
        options.allCores = true;
        break;
      case 'v86':
        options.v86Jit = options.v86NoJit = true;
        break;
      case 'v86-jit':
        options.v86Jit = true;
        break;
      case 'v86-nojit':
        options.v86NoJit = true;
        break;
      case '':
        throw new Error('--engines has an empty entry');
      default:
        options.coreNames.push(engine);
    }
  }
  return options;
}

/** Keeps a run below 2^32 instructions, where v86's counter wraps. */
const MAX_ITERATIONS = 150_000_000;

function positiveInteger(option: string, text: string, max = MAX_ITERATIONS): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max)
    throw new Error(`${option} takes a whole number from 1 to ${max}, not ${text}`);
  return n;
}

/** The paging settings to run each emulated engine with. */
export function pagingRuns(mode: PagingMode): boolean[] {
  return mode === 'both' ? [false, true] : [mode === 'on'];
}
