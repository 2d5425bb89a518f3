// Can this host run i386 user programs? The differential test's first oracle and the
// benchmark's native row both execute i386 code on the host CPU, which needs an x86 Linux
// kernel with 32-bit support (IA32 emulation on x86-64). Not every kernel has it, so this
// asks the kernel directly: assemble and link a four-instruction static i386 program (as
// --32, ld -m elf_i386) that exits with a known status, and run it.
//
// The program is started through `sh -c 'exec "$0"'` rather than spawned directly: when
// execve fails with ENOEXEC, Node (like execvp) quietly retries the file as a shell script,
// and the kernel's own words ("Exec format error") would be lost in a shell syntax error.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the probe found: i386 programs run here, or the reason they do not. */
export type I386Execution = { runs: true } | { runs: false; reason: string };

/** The status the probe program exits with. */
const PROBE_STATUS = 42;

const PROBE_SOURCE = `  .text
  .globl _start
_start:
  mov $1, %eax
  mov $${PROBE_STATUS}, %ebx
  int $0x80
`;

let cached: I386Execution | undefined;

/** Whether this host runs i386 user programs; probed once per process. Never throws. */
export function i386Execution(): I386Execution {
  cached ??= probe();
  return cached;
}

function probe(): I386Execution {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-i386-probe-'));
  try {
    const src = join(dir, 'probe.s');
    const obj = join(dir, 'probe.o');
    const exe = join(dir, 'probe');
    writeFileSync(src, PROBE_SOURCE);
    const steps: [string, string[]][] = [
      ['as', ['--32', '-o', obj, src]],
      ['ld', ['-m', 'elf_i386', '-o', exe, obj]],
    ];
    for (const [tool, args] of steps) {
      const r = spawnSync(tool, args, { encoding: 'utf8' });
      if (r.error || r.status !== 0) {
        const why = r.error?.message ?? r.stderr.trim().split('\n')[0];
        return { runs: false, reason: `cannot build an i386 test program: ${tool} ${args[0]} failed (${why})` };
      }
    }
    const run = spawnSync('/bin/sh', ['-c', 'exec "$0"', exe], { encoding: 'utf8', timeout: 30_000 });
    if (run.error) return { runs: false, reason: `cannot start /bin/sh to run an i386 program (${run.error.message})` };
    if (run.status === PROBE_STATUS) return { runs: true };
    const said = run.stderr.trim().split('\n')[0] ?? '';
    const kernel = /: ([^:]*)$/.exec(said)?.[1];
    if (run.status === 126 && kernel) {
      return { runs: false, reason: `this host cannot run i386 programs: exec said "${kernel}"` };
    }
    const how = run.signal ? `was killed by ${run.signal}` : `exited with status ${run.status}`;
    return {
      runs: false,
      reason: `this host cannot run i386 programs: a static i386 program that exits with ${PROBE_STATUS} ${how}${said ? ` (${said})` : ''}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
