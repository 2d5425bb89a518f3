// The workload computes the same checksum natively, in the TypeScript reference and on every
// registered core, flat and paged, and the cores retire exactly the instructions workload.ts
// says a run takes. Small iteration counts: this checks correctness, it times nothing.
// Natively means the i386 build where the host runs i386 programs, else the x86-64 build of
// the same source (said at the start of the run; LGUEST_REQUIRE_I386=1 makes that a failure).

import { NO_CORES_MESSAGE, registeredCores } from './cores';
import { referenceChecksum } from './reference';
import { runOnCore } from './run-core';
import { nativeProgram, runNative } from './run-native';
import { findPackageDir, loadWorkloadImages, metalInstructions, TEST_ITERATIONS } from './workload';

const images = loadWorkloadImages(findPackageDir(__dirname));
const native = nativeProgram(images);
if (native.reason) console.warn(`x86-bench: ${native.reason}; "native" below is the x86-64 build of the workload`);
const build = native.reason ? 'x86-64 build' : 'i386 build';
// One count that takes the branch's both sides in the first rounds and one that ends on each.
const SIZES = [1, TEST_ITERATIONS, TEST_ITERATIONS + 1];

describe('the workload', () => {
  it.each(SIZES)(`computes the reference checksum natively (${build}, %i iterations)`, (iterations) => {
    expect(runNative(native, iterations).checksum).toBe(referenceChecksum(iterations));
  });

  it('has known checksums (the reference itself has not drifted)', () => {
    expect(referenceChecksum(TEST_ITERATIONS)).toBe(0xf64ec41d);
    expect(referenceChecksum(7_689_156)).toBe(0x2344513d);
  });
});

describe('the workload on every registered core', () => {
  it('has at least one core to run on', () => {
    if (registeredCores().length === 0) throw new Error(NO_CORES_MESSAGE);
  });

  for (const core of registeredCores()) {
    for (const paging of [false, true]) {
      it.each(SIZES)(
        `${core.name}${paging ? ' with paging' : ''}: checksum (as native, ${build}) and count (%i iterations)`,
        (iterations) => {
          const host = runNative(native, iterations);
          const run = runOnCore(core, images, iterations, paging);
          expect(run.checksum.toString(16)).toBe(host.checksum.toString(16));
          expect(run.instructions).toBe(metalInstructions(iterations));
        },
      );
    }
  }
});
