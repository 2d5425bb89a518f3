// Floating point inside real Linux under lguest, compared with this machine's CPU. The program
// (testing/fpu/fpu.c) computes with the x87 — arithmetic in three precisions, conversions
// between floats and 16/32/64-bit integers (FIST under each rounding mode, overflow to the
// integer indefinite included), C arithmetic under each rounding and precision control, a
// masked divide by zero and an unmasked one that the kernel delivers as SIGFPE (FPE_FLTDIV,
// with the control and status words it saved) — and prints every result as the hex of its
// bytes. The guest runs its static i386 build under Linux 2.6.23 under lguest on our core;
// this machine cannot execute i386 code, so the reference is the same source built for
// x86-64 with x87 arithmetic (-mfpmath=387, C11 excess precision, the same control word
// 0x37f Linux i386 starts a process with) and run natively here. What is printed does not
// depend on the ABI, so the two must agree byte for byte: that is a comparison of our x87,
// lg's FPU switching and the guest kernel's FPU and signal handling with a real CPU and a
// real kernel, not with i386 hardware running i386 Linux.
//
// Then two copies run at once, each a long loop that changes the rounding mode on every step
// with live values on the x87 stack; both must print what the native build prints, and the
// kernel must have preempted them while they computed (getrusage, on their stderr).

import { lguest } from './lguest';
import { buildFpuPrograms, nonX87Instructions, runNative, type FpuPrograms } from '../testing/fpu-program';
import { klibcInitramfs, LINUX, linuxTests } from '../testing/linux';

/** Steps of each concurrent copy's long run: enough to span many scheduler ticks. */
const STEPS = 800_000;

const INIT = `#!/bin/sh
PATH=/bin
export PATH
# sh gives a background job /dev/null as its stdin.
mknod /dev/null c 1 3
echo "== one"
fpu 2>/one.err
echo "== two"
fpu ${STEPS} >/a 2>/a.err &
fpu ${STEPS} >/b 2>/b.err &
wait
echo "== a"
cat /a
echo "== b"
cat /b
echo "== switches"
cat /a.err /b.err
echo "== end"
poweroff
`;

const run = linuxTests('x87 floating point in Linux under lguest');
const maybe = run ? describe : describe.skip;

/** The part of the console between the marker `== name` and the next marker. */
function section(out: string, name: string): string {
  const start = out.indexOf(`== ${name}\n`);
  if (start < 0) throw new Error(`no "== ${name}" in the console:\n${out.slice(-3000)}`);
  const end = out.indexOf('\n== ', start + 1);
  return out.slice(start + name.length + 4, end < 0 ? undefined : end + 1);
}

maybe('x87 floating point in Linux 2.6.23 under lguest, against this machine', () => {
  let programs: FpuPrograms;
  let initrd = '';
  beforeAll(() => {
    programs = buildFpuPrograms();
    initrd = klibcInitramfs(INIT, { fpu: programs.i386 });
  });

  it('prints what the same C prints natively, alone and as two copies at once', async () => {
    let stdout = '';
    let stderr = '';
    const status = await lguest(
      ['run', '--clock=virtual', '--timeout=600', `--initrd=${initrd}`, '64', LINUX.bzImage, 'console=hvc0'],
      {
        stdout: { write: (c) => (stdout += Buffer.from(c).toString('latin1')) },
        stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
        cwd: process.cwd(),
        defaultKernel: LINUX.bzImage,
      },
    );
    // The hvc console's tty turns each "\n" a program writes into "\r\n" (ONLCR).
    const out = stdout.replace(/\r\n/g, '\n');
    expect(stderr).toBe('');
    expect(status).toBe(0);

    // The reference computes with the x87 only: not one SSE instruction in it.
    expect(nonX87Instructions(programs)).toEqual([]);
    const one = runNative(programs, []).stdout;
    // The native run itself took the unmasked divide by zero as SIGFPE, FPE_FLTDIV.
    expect(one).toContain('SIGFPE signo=8 si_signo=8 si_code=3 saved cw=037b');
    expect(section(out, 'one')).toBe(one);

    const long = runNative(programs, [String(STEPS)]).stdout;
    expect(long).toContain(`long run ${STEPS} sum `);
    expect(section(out, 'a')).toBe(long);
    expect(section(out, 'b')).toBe(long);

    // Both copies were preempted while they computed, so their FPU states did meet. (How
    // often varies a little from run to run — 1 to 3 times at this length — with when the
    // host's timer interrupts land.)
    const switches = [...section(out, 'switches').matchAll(/fpu: (\d+) involuntary/g)].map((m) => Number(m[1]));
    console.log(`two copies at once: preempted ${switches.join(' and ')} times while computing`);
    expect(switches).toHaveLength(2);
    for (const n of switches) expect(n).toBeGreaterThanOrEqual(1);
  });
});
