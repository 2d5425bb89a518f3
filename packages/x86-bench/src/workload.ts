// What the benchmark runs: the one workload (workload/workload.c), its sizes, how many
// instructions a run executes, and where the built images are.
//
// The instruction count is exact, not estimated. gcc 12 -O2 -march=i486 compiles
// workload_run into a table fill of 16384 rounds and a loop whose body is 26 instructions on
// both sides of its data-dependent branch, so workload_run(n) executes 81 940 + 26·n
// instructions for n ≥ 1. That was counted with valgrind --tool=callgrind
// --toggle-collect=workload_run on the native program (n = 1, 1000, 2000 and 7 689 156:
// 199 999 996), and the test checks it again on every registered core. If the compiler
// changes the code, those checks fail: recount and update the numbers here.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Instructions workload_run executes outside its loop (for iterations ≥ 1). */
export const WORKLOAD_FIXED_INSTRUCTIONS = 81_940;
/** Instructions per round of the loop. */
export const WORKLOAD_LOOP_INSTRUCTIONS = 26;
/**
 * Instructions of the bare-metal wrapper around the call with bench_paging = 0, from _start
 * up to and including the final HLT: cli, mov, cmp, je, push, call | add, mov, mov, hlt.
 */
export const METAL_WRAPPER_INSTRUCTIONS = 10;

/** The full run: 199 999 996 instructions in workload_run, 200 000 006 from _start to HLT. */
export const FULL_ITERATIONS = 7_689_156;
/** `--quick`: about 10 million instructions. */
export const QUICK_ITERATIONS = 381_462;
/** What the unit test runs: about 108 thousand instructions. */
export const TEST_ITERATIONS = 1_000;

/** Instructions workload_run(iterations) executes. */
export function workloadInstructions(iterations: number): number {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error(`iterations must be a positive integer, not ${iterations}`);
  return WORKLOAD_FIXED_INSTRUCTIONS + WORKLOAD_LOOP_INSTRUCTIONS * iterations;
}

/** Instructions the bare-metal image executes from _start to its HLT, without guest paging. */
export function metalInstructions(iterations: number): number {
  return workloadInstructions(iterations) + METAL_WRAPPER_INSTRUCTIONS;
}

/** A short name for a workload size, used in the report: "loop-200M". */
export function workloadName(iterations: number): string {
  const millions = workloadInstructions(iterations) / 1e6;
  return millions >= 1 ? `loop-${Math.round(millions)}M` : `loop-${Math.round(millions * 1000)}K`;
}

/** The symbols of the bare-metal image the harnesses use. */
export interface MetalSymbols {
  _start: number;
  bench_iterations: number;
  bench_paging: number;
  bench_result: number;
  bench_done: number;
  bench_halt: number;
}

/** Written to bench_done by the wrapper once bench_result holds the checksum. */
export const BENCH_DONE_MAGIC = 0x600df00d;

/** The built workload images of this package. */
export interface WorkloadImages {
  /** The multiboot ELF for the emulated engines. */
  metalElf: Uint8Array;
  metal: MetalSymbols;
  /** Path of the static i386 Linux program. */
  nativePath: string;
  /** Path of the same program built for x86-64, for hosts that run no i386 programs. */
  native64Path: string;
}

/** The package directory, found by walking up from `from` to this package's package.json. */
export function findPackageDir(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"@lguest\/x86-bench"/.test(readFileSync(manifest, 'utf8'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find packages/x86-bench above ${from}`);
  }
}

/** Reads the images `npm run build` made; throws saying how to build them when missing. */
export function loadWorkloadImages(packageDir: string): WorkloadImages {
  const build = join(packageDir, 'build');
  const metalElfPath = join(build, 'workload-metal.elf');
  const symbolsPath = join(build, 'workload-metal.sym.json');
  const nativePath = join(build, 'workload-native.elf');
  const native64Path = join(build, 'workload-native64.elf');
  for (const path of [metalElfPath, symbolsPath, nativePath, native64Path]) {
    if (!existsSync(path)) {
      throw new Error(
        `${path} is missing: build the workload first with \`npx nx run x86-bench:build\` ` +
          '(or `npm run build` in packages/x86-bench; it needs gcc with -m32).',
      );
    }
  }
  const symbols: unknown = JSON.parse(readFileSync(symbolsPath, 'utf8'));
  return {
    metalElf: new Uint8Array(readFileSync(metalElfPath)),
    metal: checkSymbols(symbols, symbolsPath),
    nativePath,
    native64Path,
  };
}

function checkSymbols(symbols: unknown, path: string): MetalSymbols {
  const names = ['_start', 'bench_iterations', 'bench_paging', 'bench_result', 'bench_done', 'bench_halt'] as const;
  if (typeof symbols !== 'object' || symbols === null) throw new Error(`${path}: not a symbol table`);
  const table = symbols as Record<string, unknown>;
  const found: Partial<MetalSymbols> = {};
  for (const name of names) {
    const address = table[name];
    if (typeof address !== 'number') throw new Error(`${path}: symbol ${name} is missing; rebuild the workload`);
    found[name] = address;
  }
  return found as MetalSymbols;
}
