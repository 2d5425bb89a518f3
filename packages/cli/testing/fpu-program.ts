// Test helper: the x87 program of testing/fpu/fpu.c built twice from the one source — a
// static i386 Linux program for the guest, and a static x86-64 Linux program that runs the
// same x87 arithmetic natively here (this machine cannot execute i386 code). Neither links a
// libc: each build brings its own few system calls.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = join(__dirname, 'fpu', 'fpu.c');

/** What both builds share: C11's excess precision (float and double expressions evaluated in
 *  long double, rounded on assignment and cast), no libc, no builtins but sqrt/rint. */
const COMMON = [
  '-std=c11',
  '-fexcess-precision=standard',
  '-fno-math-errno',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-ffreestanding',
  '-nostdlib',
  '-static',
  '-fno-pic',
  '-no-pie',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
];

export interface FpuPrograms {
  /** The static i386 program for the Linux guest. */
  i386: string;
  /** The same source for x86-64 with x87 arithmetic (-mfpmath=387), runnable here. */
  native: string;
}

function gcc(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`gcc ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}. The FPU test needs gcc with gcc-multilib.`);
}

/** Builds both programs into a fresh temporary directory. */
export function buildFpuPrograms(): FpuPrograms {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-fpu-'));
  const i386 = join(dir, 'fpu-i386');
  const native = join(dir, 'fpu-x86-64');
  gcc([...COMMON, '-m32', '-march=i686', '-mno-sse', '-m80387', '-o', i386, SOURCE]);
  gcc([...COMMON, '-m64', '-mfpmath=387', '-o', native, SOURCE]);
  return { i386, native };
}

/** Runs the native build with `args`; returns its stdout and stderr. */
export function runNative(programs: FpuPrograms, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(programs.native, args, { encoding: 'latin1' });
  if (r.error || r.status !== 0) throw new Error(`${programs.native} failed: ${r.error?.message ?? r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Lines of `objdump -d` of the native build that use SSE or MMX registers: none, or the
 *  comparison would not be of x87 arithmetic alone. */
export function nonX87Instructions(programs: FpuPrograms): string[] {
  const r = spawnSync('objdump', ['-d', programs.native], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0) throw new Error(`objdump -d ${programs.native} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n').filter((l) => /%xmm|%ymm|%mm\d|\tcvt/.test(l));
}
