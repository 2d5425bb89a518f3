// How SST results read to a person: one line per file, a few failures in detail, and a
// closing tally that lists every difference class with how many tests it skipped or
// adjusted and why — the accounting that keeps "passes except explained differences" honest.

import type { Difference } from './differences';
import { type MooTest, type RamList, type RegisterFile, REG_NAMES_16, REG_NAMES_32 } from './moo';
import type { FileResult, TestFailure } from './runner';

/** A file passes when no test failed and the core wrote nothing outside the tests' bytes. */
export function fileOk(r: FileResult): boolean {
  return r.failed === 0 && r.strayWrites.length === 0;
}

const tally = (t: Record<string, number>): string =>
  Object.entries(t)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

const sum = (t: Record<string, number>): number => Object.values(t).reduce((a, b) => a + b, 0);

/** `F6.6.MOO.gz  1000 tests: 993 passed, 0 failed; skipped 7 (fpu-escape 7) …  (41 ms)` */
export function fileLine(r: FileResult): string {
  const parts = [`${r.total} tests: ${r.passed} passed, ${r.failed} failed`];
  if (sum(r.skipped)) parts.push(`skipped ${sum(r.skipped)} (${tally(r.skipped)})`);
  if (sum(r.adjusted)) parts.push(`386 result ${sum(r.adjusted)} (${tally(r.adjusted)})`);
  if (r.revoked) parts.push(`revoked ${r.revoked}`);
  if (r.strayWrites.length) parts.push(`stray writes at ${r.strayWrites.map((a) => '0x' + a.toString(16)).join(' ')}`);
  return `${r.file.padEnd(12)} ${parts.join('; ')}  (${Math.round(r.ms)} ms)`;
}

/** A failure as an indented block: header line, then one line per mismatch. */
export function failureText(f: TestFailure): string {
  return [`  #${f.index} ${f.name}  [${f.bytes}]  hash ${f.hash}`, ...f.lines.map((l) => `      ${l}`)].join('\n');
}

/** A file's line followed by its detailed failures and a note on how many were not shown. */
export function fileReport(r: FileResult): string {
  const lines = [fileLine(r), ...r.failures.map(failureText)];
  if (r.failed > r.failures.length) lines.push(`  … and ${r.failed - r.failures.length} more failing tests`);
  return lines.join('\n');
}

export interface Totals {
  files: number;
  failedFiles: number;
  total: number;
  passed: number;
  failed: number;
  revoked: number;
  skipped: Record<string, number>;
  adjusted: Record<string, number>;
  ms: number;
}

export function totals(results: readonly FileResult[]): Totals {
  const t: Totals = {
    files: 0,
    failedFiles: 0,
    total: 0,
    passed: 0,
    failed: 0,
    revoked: 0,
    skipped: {},
    adjusted: {},
    ms: 0,
  };
  for (const r of results) {
    t.files++;
    if (!fileOk(r)) t.failedFiles++;
    t.total += r.total;
    t.passed += r.passed;
    t.failed += r.failed;
    t.revoked += r.revoked;
    t.ms += r.ms;
    for (const [k, n] of Object.entries(r.skipped)) t.skipped[k] = (t.skipped[k] ?? 0) + n;
    for (const [k, n] of Object.entries(r.adjusted)) t.adjusted[k] = (t.adjusted[k] ?? 0) + n;
  }
  return t;
}

/**
 * The closing tally: every class of `differences` that touched a test, with its counts,
 * action and reason, then the ids of those that touched none.
 */
export function totalsText(t: Totals, differences: readonly Difference[]): string {
  const lines = [
    `${t.files} files, ${t.total} tests: ${t.passed} passed, ${t.failed} failed, ` +
      `${sum(t.skipped)} skipped, ${t.revoked} revoked; ${t.failedFiles} files failing  (${(t.ms / 1000).toFixed(1)} s)`,
  ];
  const idle: string[] = [];
  for (const d of differences) {
    const skipped = Object.entries(t.skipped).filter(([k]) => k === d.id || k.startsWith(d.id + ' '));
    const adjusted = t.adjusted[d.id] ?? 0;
    const counts = [
      ...skipped.map(([k, n]) => `${n} skipped${k === d.id ? '' : ' ' + k.slice(d.id.length + 1)}`),
      ...(adjusted ? [`${adjusted} passed with the 386 result`] : []),
    ];
    if (!counts.length) {
      idle.push(d.id);
      continue;
    }
    if (lines.length === 1) lines.push('differences from the recording chip (differences.ts):');
    lines.push(`  ${d.id.padEnd(17)} ${counts.join(', ')} — ${d.action}`);
    lines.push(`  ${''.padEnd(17)} why: ${d.reason}`);
  }
  if (idle.length) lines.push(`  difference classes that touched no test: ${idle.join(', ')}`);
  return lines.join('\n');
}

/** The recorded test in full — initial registers and bytes, then what changed — for debugging. */
export function testDump(test: MooTest, wide: boolean): string {
  const names = wide ? REG_NAMES_32 : REG_NAMES_16;
  const regs = (f: RegisterFile): string =>
    names
      .map((n, r) => (f.present & (1 << r) ? `${n}=${f.values[r].toString(16).padStart(wide ? 8 : 4, '0')}` : ''))
      .filter(Boolean)
      .join(' ');
  const ram = (l: RamList): string =>
    Array.from(
      l.addresses,
      (a, k) => `${a.toString(16).padStart(6, '0')}:${l.values[k].toString(16).padStart(2, '0')}`,
    ).join(' ');
  const lines = [
    `    initial: ${regs(test.initial.regs)}`,
    `    initial ram: ${ram(test.initial.ram)}`,
    `    final:   ${regs(test.final.regs)}`,
    `    final ram: ${ram(test.final.ram)}`,
  ];
  if (test.exception)
    lines.push(
      `    exception: vector ${test.exception.vector}, FLAGS pushed near 0x${test.exception.flagAddress.toString(16)}`,
    );
  return lines.join('\n');
}
