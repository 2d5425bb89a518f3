// The FPU is each process's own: between two processes' turns on the CPU the host saves the
// state of the one that ran and loads the other's (a launcher's FPU is its guest's, so two
// guests never see each other's registers).

import { loadCode, testHost, testProcess } from './fixture';
import type { Host } from './host';
import type { KernelCall } from './kernel-call';

function eaxOf(r: KernelCall): number {
  if (r.status !== 'returned') throw new Error(`expected a return, got ${r.status}`);
  return r.regs.eax;
}

describe('per-process FPU state', () => {
  let host: Host;
  beforeEach(() => {
    host = testHost();
  });
  afterEach(() => host.shutdown());

  it('keeps each process its own x87 registers across the other one running', async () => {
    const a = testProcess(host, 'a');
    const b = testProcess(host, 'b');
    const two = loadCode(host, [[0xd9, 0xe8], [0xd9, 0xe8], [0xde, 0xc1], [0xc3]]); // fld1; fld1; faddp; ret
    const pi = loadCode(host, [[0xdb, 0xe3], [0xd9, 0xeb], [0xc3]]); // fninit; fldpi; ret
    // sub $4,%esp; fistpl (%esp); pop %eax; ret
    const pop = loadCode(host, [[0x83, 0xec, 0x04], [0xdb, 0x1c, 0x24], [0x58], [0xc3]]);
    await host.runOnCpu(a, () => host.callKernel(two));
    await host.runOnCpu(b, () => host.callKernel(pi));
    expect(await host.runOnCpu(a, () => eaxOf(host.callKernel(pop)))).toBe(2);
    expect(await host.runOnCpu(b, () => eaxOf(host.callKernel(pop)))).toBe(3);
  });
});
