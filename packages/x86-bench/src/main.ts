// `npm run bench`: the CPU benchmark. One fixed workload, every engine in the same run —
// native, each registered core of @lguest/x86 (flat and paged), v86 (interpreter and JIT,
// flat and paged) — each checksum held against the TypeScript reference, then a table (or
// JSON rows) of instructions, seconds and MIPS. Progress and problems go to stderr, so
// `--json` output on stdout stays clean. Exits 1 if any engine failed or got a wrong sum.

import type { CoreFactory } from '@lguest/x86';
import { NO_CORES_MESSAGE, registeredCores } from './cores';
import type { Measurement } from './measurement';
import { hex32 } from './measurement';
import { parseOptions, pagingRuns, USAGE } from './options';
import type { Options } from './options';
import { referenceChecksum } from './reference';
import { formatTable, medianRun, toRow } from './report';
import { runOnCore } from './run-core';
import { nativeProgram, runNative } from './run-native';
import { runOnV86, v86EngineName } from './run-v86';
import { loadV86 } from './v86-api';
import type { V86Package } from './v86-api';
import { findPackageDir, loadWorkloadImages, metalInstructions, QUICK_ITERATIONS, workloadName } from './workload';
import type { WorkloadImages } from './workload';

/** Native runs take milliseconds, so take the median of at least this many. */
const NATIVE_MIN_RUNS = 5;

interface Engine {
  name: string;
  runs: number;
  /** An untimed run of the quick workload first, so V8 has compiled the emulator itself. */
  warmUp?: () => unknown;
  /** For engines that must retire exactly the workload's count: that count. */
  exactInstructions?: number;
  run(): Measurement | Promise<Measurement>;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const packageDir = findPackageDir(process.argv[1] ?? process.cwd());
  const images = loadWorkloadImages(packageDir);
  const workload = workloadName(options.iterations);
  const expected = referenceChecksum(options.iterations);
  progress(
    `bench: ${workload}: ${options.iterations} iterations, ${metalInstructions(options.iterations)} instructions, checksum ${hex32(expected)}`,
  );

  const failures: string[] = [];
  const engines = selectEngines(options, images, packageDir, failures);
  const results: Measurement[] = [];
  for (const engine of engines) {
    try {
      results.push(await measure(engine, expected));
    } catch (e) {
      failures.push((e as Error).message);
      progress(`bench: FAILED: ${(e as Error).message}`);
    }
  }

  if (options.json)
    console.log(
      JSON.stringify(
        results.map((m) => toRow(workload, m)),
        null,
        2,
      ),
    );
  else if (results.length > 0) console.log(formatTable(workload, results));
  for (const failure of failures) console.error(`bench: FAILED: ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

/** The engines to run, in table order; problems with the choice itself go to `failures`. */
function selectEngines(options: Options, images: WorkloadImages, packageDir: string, failures: string[]): Engine[] {
  const { iterations, repeat } = options;
  const engines: Engine[] = [];
  if (options.native) {
    try {
      const program = nativeProgram(images);
      if (program.reason) {
        progress(`bench: WARNING: ${program.reason}; the native row is the x86-64 build of the same workload`);
      }
      engines.push({
        name: program.engine,
        runs: Math.max(repeat, NATIVE_MIN_RUNS),
        run: () => runNative(program, iterations),
      });
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  for (const core of selectCores(options, failures)) {
    for (const paging of pagingRuns(options.paging)) {
      engines.push({
        name: paging ? `${core.name}+paging` : core.name,
        runs: repeat,
        exactInstructions: metalInstructions(iterations),
        warmUp: () => runOnCore(core, images, QUICK_ITERATIONS, paging),
        run: () => runOnCore(core, images, iterations, paging),
      });
    }
  }
  let v86: Promise<V86Package> | undefined;
  const jitModes = [...(options.v86NoJit ? [false] : []), ...(options.v86Jit ? [true] : [])];
  for (const jit of jitModes) {
    for (const paging of pagingRuns(options.paging)) {
      engines.push({
        name: v86EngineName({ jit, paging }),
        runs: repeat,
        warmUp: async () => runOnV86(await (v86 ??= loadV86(packageDir)), images, QUICK_ITERATIONS, { jit, paging }),
        run: async () => runOnV86(await (v86 ??= loadV86(packageDir)), images, iterations, { jit, paging }),
      });
    }
  }
  return engines;
}

function selectCores(options: Options, failures: string[]): readonly CoreFactory[] {
  if (!options.allCores && options.coreNames.length === 0) return [];
  const cores = registeredCores();
  if (cores.length === 0) {
    // Asked for by name or by --engines: an error. By default: said loudly, the rest still runs.
    if (options.enginesGiven) failures.push(NO_CORES_MESSAGE);
    progress(`bench: ${options.enginesGiven ? 'FAILED' : 'WARNING'}: ${NO_CORES_MESSAGE}; the core rows are left out`);
    return [];
  }
  const chosen = options.allCores ? [...cores] : [];
  for (const name of options.coreNames) {
    const core = cores.find((c) => c.name === name);
    if (!core) failures.push(`no engine or core named ${name} (cores: ${cores.map((c) => c.name).join(', ')})`);
    else if (!chosen.includes(core)) chosen.push(core);
  }
  return chosen;
}

/** Runs an engine `runs` times, checking every checksum, and reports the median run. */
async function measure(engine: Engine, expected: number): Promise<Measurement> {
  const runs: Measurement[] = [];
  if (engine.warmUp) {
    progress(`bench: ${engine.name}: warming up…`);
    await engine.warmUp();
  }
  for (let i = 0; i < engine.runs; i++) {
    progress(`bench: ${engine.name}${engine.runs > 1 ? ` (run ${i + 1} of ${engine.runs})` : ''}…`);
    const m = await engine.run();
    if (m.checksum !== expected) {
      throw new Error(
        `${engine.name}: wrong checksum ${hex32(m.checksum)}, expected ${hex32(expected)}: the engine computed the workload wrongly`,
      );
    }
    runs.push(m);
  }
  const best = medianRun(runs);
  if (!best) throw new Error(`${engine.name}: no run`);
  if (engine.exactInstructions !== undefined && best.instructions !== engine.exactInstructions) {
    // The right answer with the wrong count: a core miscounting retirement, or workload.ts's
    // count gone stale after a compiler change (the unit test tells which).
    progress(
      `bench: WARNING: ${engine.name} retired ${best.instructions} instructions; the run is exactly ${engine.exactInstructions}`,
    );
  }
  return best;
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
