// The native oracle at work: oracle.ts writes the program, this file assembles and links it
// with `gcc -m32 -nostdlib -static`, runs it, and reads back one Outcome per case. Nothing
// is cached between runs; building 20,000 cases takes a fraction of a second.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiffCase, Outcome } from './case';
import {
  EDGE_SIZE,
  NO_VECTOR,
  OUT_EDGES,
  OUT_EFLAGS,
  OUT_EIP,
  OUT_ERROR,
  OUT_REGION,
  OUT_SIZE,
  OUT_VECTOR,
  REGION_SIZE,
} from './layout';
import { EXIT_REASONS, HEADER, MAGIC, oracleSource } from './oracle';

/** The host's answers: its user selectors and one outcome per case. */
export interface NativeRun {
  cs: number;
  ds: number;
  outcomes: Outcome[];
  /** Milliseconds spent assembling and linking, and running. */
  buildMs: number;
  runMs: number;
}

/** Assembles, links and runs the oracle for `cases`. Throws with the reason when it cannot. */
export function runNative(cases: readonly DiffCase[]): NativeRun {
  return buildAndRun(cases, {
    label: 'native',
    dirPrefix: 'lguest-diff-',
    name: 'oracle',
    source: oracleSource(cases),
    gccFlags: ['-m32', '-nostdlib', '-static'],
    gccHint: 'The native oracle needs gcc with 32-bit support and a kernel that runs i386 programs.',
    programFailed: 'native: the oracle program failed',
    exitReasons: EXIT_REASONS,
  });
}

/** How one oracle program is built and what its failures are called. */
export interface OracleProgram {
  /** The prefix of this oracle's error messages. */
  label: string;
  /** The prefix of the temporary directory the program is built in. */
  dirPrefix: string;
  /** The base name of the program (and of its `.s` source) in the temporary directory. */
  name: string;
  source: string;
  /** gcc's flags before `-no-pie -o`; they are also named when gcc fails. */
  gccFlags: string[];
  /** What to install when gcc fails. */
  gccHint: string;
  /** The message a failed run starts with, before its reason. */
  programFailed: string;
  exitReasons: Readonly<Record<number, string>>;
}

/**
 * Assembles and links an oracle program with gcc, runs it and parses its output. Both
 * oracles write the same output records, so only the build flags and the wording differ.
 */
export function buildAndRun(cases: readonly DiffCase[], p: OracleProgram): NativeRun {
  const dir = mkdtempSync(join(tmpdir(), p.dirPrefix));
  try {
    const src = join(dir, `${p.name}.s`);
    const exe = join(dir, p.name);
    writeFileSync(src, p.source);
    const t0 = performance.now();
    const cc = spawnSync('gcc', [...p.gccFlags, '-no-pie', '-o', exe, src], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) {
      throw new Error(
        `${p.label}: gcc ${p.gccFlags.join(' ')} failed (${cc.error?.message ?? cc.stderr.trim().slice(0, 2000)}). ` +
          p.gccHint,
      );
    }
    const t1 = performance.now();
    const run = spawnSync(exe, [], { maxBuffer: HEADER + cases.length * OUT_SIZE + 4096, timeout: 120_000 });
    const t2 = performance.now();
    if (run.error || run.status !== 0) {
      const status = run.status ?? -1;
      const why =
        run.error?.message ?? (run.signal ? `killed by ${run.signal}` : (p.exitReasons[status] ?? `exit ${status}`));
      throw new Error(`${p.programFailed}: ${why}`);
    }
    const parsed = parseOutput(run.stdout, cases.length);
    return { ...parsed, buildMs: t1 - t0, runMs: t2 - t1 };
  } finally {
    // LGUEST_DIFF_KEEP=1 keeps the source and the program for a look with objdump or gdb.
    if (process.env.LGUEST_DIFF_KEEP) console.error(`${p.label}: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the oracle's stdout. */
export function parseOutput(out: Buffer, count: number): { cs: number; ds: number; outcomes: Outcome[] } {
  if (out.length !== HEADER + count * OUT_SIZE) {
    throw new Error(`native: expected ${HEADER + count * OUT_SIZE} bytes of output, got ${out.length}`);
  }
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  if (dv.getUint32(0, true) !== MAGIC) throw new Error('native: bad output header');
  const status = dv.getUint32(12, true);
  if (status !== count) {
    const at = HEADER + (status & 0x7fffffff) * OUT_SIZE;
    throw new Error(
      `native: the driver itself faulted (vector ${dv.getUint32(at + OUT_VECTOR, true)} at EIP ` +
        `0x${dv.getUint32(at + OUT_EIP, true).toString(16)}) after case ${status & 0x7fffffff}`,
    );
  }
  const cs = dv.getUint32(4, true);
  const ds = dv.getUint32(8, true);
  const outcomes: Outcome[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER + i * OUT_SIZE;
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = dv.getUint32(at + r * 4, true);
    const vector = dv.getUint32(at + OUT_VECTOR, true);
    outcomes.push({
      regs,
      eflags: dv.getUint32(at + OUT_EFLAGS, true),
      vector: vector === NO_VECTOR ? -1 : vector,
      error: vector === NO_VECTOR ? 0 : dv.getUint32(at + OUT_ERROR, true),
      eip: vector === NO_VECTOR ? 0 : dv.getUint32(at + OUT_EIP, true),
      region: Uint8Array.from(out.subarray(at + OUT_REGION, at + OUT_REGION + REGION_SIZE)),
      edges: Uint8Array.from(out.subarray(at + OUT_EDGES, at + OUT_EDGES + 2 * EDGE_SIZE)),
    });
  }
  return { cs, ds, outcomes };
}
