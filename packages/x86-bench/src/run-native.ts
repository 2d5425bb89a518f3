// Running the workload natively: the static Linux program built from the same workload.c
// with the same flags, for i386 — or, on a host whose kernel runs no i386 programs, for
// x86-64, under a row name that says so. It times the workload_run call itself with
// clock_gettime(CLOCK_MONOTONIC), so process creation, loading and exit are not measured.

import { spawnSync } from 'node:child_process';
import { i386Execution } from '@lguest/x86-conformance';
import type { Measurement } from './measurement';
import { workloadInstructions, type WorkloadImages } from './workload';

/** The native row's name when the i386 build runs. */
export const NATIVE_ENGINE = 'native';
/** The native row's name when it is the x86-64 build. */
export const NATIVE64_ENGINE = 'native (x86-64 build: this host cannot run i386)';

/** Which build of the native program runs here, and under what row name. */
export interface NativeProgram {
  engine: string;
  path: string;
  /** Why the i386 build cannot run (x86-64 build only). */
  reason?: string;
}

/**
 * The i386 program where the host runs i386 programs, else the x86-64 one. Throws when
 * LGUEST_REQUIRE_I386=1 and the host cannot run i386 programs.
 */
export function nativeProgram(images: WorkloadImages, env: NodeJS.ProcessEnv = process.env): NativeProgram {
  const probe = i386Execution();
  if (probe.runs) return { engine: NATIVE_ENGINE, path: images.nativePath };
  if (env.LGUEST_REQUIRE_I386 === '1') {
    throw new Error(`LGUEST_REQUIRE_I386=1, but ${probe.reason}: the native i386 row cannot run`);
  }
  return { engine: NATIVE64_ENGINE, path: images.native64Path, reason: probe.reason };
}

/** Runs the native program once; throws with the reason if it cannot run or says nonsense. */
export function runNative(program: NativeProgram, iterations: number): Measurement {
  const result = spawnSync(program.path, [String(iterations)], { encoding: 'utf8' });
  if (result.error) throw new Error(`${program.engine}: cannot run ${program.path} (${result.error.message})`);
  if (result.status !== 0) {
    throw new Error(
      `${program.engine}: ${program.path} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  const match = /^0x([0-9a-f]{8}) (\d+) (\d+)\n$/.exec(result.stdout);
  if (!match) throw new Error(`${program.engine}: unexpected output ${JSON.stringify(result.stdout)}`);
  return {
    engine: program.engine,
    // No counter here: the count is the exact one of the i386 workload_run (see workload.ts);
    // the x86-64 build does the same work in its own instructions.
    instructions: workloadInstructions(iterations),
    counted: false,
    seconds: Number(match[2]) + Number(match[3]) / 1e9,
    checksum: parseInt(match[1], 16),
  };
}
