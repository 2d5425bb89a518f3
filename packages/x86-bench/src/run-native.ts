// Running the workload natively: the static i386 Linux program built from the same
// workload.c with the same flags. It times the workload_run call itself with
// clock_gettime(CLOCK_MONOTONIC), so process creation, loading and exit are not measured.

import { spawnSync } from 'node:child_process';
import type { Measurement } from './measurement';
import { workloadInstructions } from './workload';

/** Runs build/workload-native.elf once; throws with the reason if it cannot run or says nonsense. */
export function runNative(nativePath: string, iterations: number): Measurement {
  const result = spawnSync(nativePath, [String(iterations)], { encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `native: cannot run ${nativePath} (${result.error.message}). The native engine needs a ` +
        'machine that runs 32-bit i386 Linux programs (an x86 Linux kernel with IA32 emulation).',
    );
  }
  if (result.status !== 0) {
    throw new Error(`native: ${nativePath} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  const match = /^0x([0-9a-f]{8}) (\d+) (\d+)\n$/.exec(result.stdout);
  if (!match) throw new Error(`native: unexpected output ${JSON.stringify(result.stdout)}`);
  return {
    engine: 'native',
    // No counter here: the count is the exact one of workload_run (see workload.ts).
    instructions: workloadInstructions(iterations),
    counted: false,
    seconds: Number(match[2]) + Number(match[3]) / 1e9,
    checksum: parseInt(match[1], 16),
  };
}
