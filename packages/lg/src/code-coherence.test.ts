// Every trip through the switcher is a kernel call, and every kernel call hands the CPU its
// state with keepTranslations: a block-compiling core then keeps the code it compiled
// instead of rechecking it, trusting the host to report each write of its own into memory
// that holds code. Here the host rewrites a hot routine between two calls, on every core
// (lg's tests are where the registry of cores may be used), as it does when it loads code.

import { Host } from '@lguest/host';
import { cores } from '@lguest/x86-cores';

/** mov ecx, 200; xor eax, eax; l: add eax, STEP; dec ecx; jnz l; ret — STEP at offset 9. */
function routine(step: number): Uint8Array {
  return new Uint8Array([0xb9, 200, 0, 0, 0, 0x31, 0xc0, 0x83, 0xc0, step, 0x49, 0x75, 0xfa, 0xc3]);
}
const STEP_AT = 9;

describe.each(cores.map((c) => [c.name, c] as const))(
  'code the host rewrites between kernel calls, on %s',
  (_, core) => {
    it('runs the new code at the same address once the host has rewritten it', () => {
      const host = new Host({ memoryMiB: 16, clock: 'virtual', hostMounts: [], core });
      try {
        const va = host.loadKernelCode(routine(1));
        expect(va).toBeGreaterThan(0);
        const call = () => {
          const r = host.callKernel(va >>> 0);
          if (r.status !== 'returned') throw new Error(`the call did not return: ${r.status}`);
          return r.regs.eax;
        };
        // Hot enough (200 rounds) for a block compiler to run the loop compiled.
        expect(call()).toBe(200);
        expect(call()).toBe(200);
        // The host rewrites the ADD's immediate and reports it (writePhys).
        host.writePhys(host.pa(va) + STEP_AT, new Uint8Array([3]));
        expect(call()).toBe(600);
        // The whole routine written again, as a host loading new code there would.
        host.writePhys(host.pa(va), routine(5));
        expect(call()).toBe(1000);
      } finally {
        host.shutdown();
      }
    });
  },
);
