// The workload computes the same checksum natively, in the TypeScript reference and on every
// registered core, flat and paged, and the cores retire exactly the instructions workload.ts
// says a run takes. Small iteration counts: this checks correctness, it times nothing.

import { NO_CORES_MESSAGE, registeredCores } from './cores';
import { referenceChecksum } from './reference';
import { runOnCore } from './run-core';
import { runNative } from './run-native';
import { findPackageDir, loadWorkloadImages, metalInstructions, TEST_ITERATIONS } from './workload';

const images = loadWorkloadImages(findPackageDir(__dirname));
// One count that takes the branch's both sides in the first rounds and one that ends on each.
const SIZES = [1, TEST_ITERATIONS, TEST_ITERATIONS + 1];

describe('the workload', () => {
  it.each(SIZES)('computes the reference checksum natively (%i iterations)', (iterations) => {
    expect(runNative(images.nativePath, iterations).checksum).toBe(referenceChecksum(iterations));
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
      it.each(SIZES)(`${core.name}${paging ? ' with paging' : ''}: checksum and count (%i iterations)`, (iterations) => {
        const native = runNative(images.nativePath, iterations);
        const run = runOnCore(core, images, iterations, paging);
        expect(run.checksum.toString(16)).toBe(native.checksum.toString(16));
        expect(run.instructions).toBe(metalInstructions(iterations));
      });
    }
  }
});
