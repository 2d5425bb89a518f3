// Turning measurements into the table people read and the JSON scripts read.

import type { Measurement } from './measurement';
import { NATIVE64_ENGINE, NATIVE_ENGINE } from './run-native';

/** One row of `--json` output. */
export interface Row {
  workload: string;
  engine: string;
  instructions: number;
  seconds: number;
  mips: number;
}

export function toRow(workload: string, m: Measurement): Row {
  return { workload, engine: m.engine, instructions: m.instructions, seconds: m.seconds, mips: mips(m) };
}

/** The run of median time (of an even number, the faster of the middle two), or undefined. */
export function medianRun<M extends { seconds: number }>(runs: readonly M[]): M | undefined {
  if (runs.length === 0) return undefined;
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[(sorted.length - 1) >> 1];
}

export function mips(m: Measurement): number {
  return m.instructions / m.seconds / 1e6;
}

/**
 * The table: workload, engine, instructions, seconds, MIPS, and the slowdown: how many times
 * native's MIPS the engine's MIPS is below (native itself is 1.0×). Instructions the engine did not count itself are marked *.
 */
export function formatTable(workload: string, measurements: readonly Measurement[]): string {
  const native = measurements.find((m) => m.engine === NATIVE_ENGINE || m.engine === NATIVE64_ENGINE);
  const header = ['workload', 'engine', 'instructions', 'seconds', 'MIPS', 'slowdown'];
  const rows = measurements.map((m) => [
    workload,
    m.engine,
    `${m.instructions.toLocaleString('en-US')}${m.counted ? '' : '*'}`,
    m.seconds.toFixed(m.seconds < 1 ? 4 : 2),
    mips(m).toFixed(1),
    native ? `${(mips(native) / mips(m)).toFixed(1)}×` : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Text columns left-aligned, numbers right-aligned.
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (measurements.some((m) => !m.counted)) {
    out.push('* the exact count of the workload, known from callgrind (the engine keeps no counter)');
  }
  if (native?.engine === NATIVE64_ENGINE) {
    out.push(
      '  The x86-64 build does the same work in its own instructions; its MIPS are i386 instructions per second.',
    );
  }
  return out.join('\n');
}
