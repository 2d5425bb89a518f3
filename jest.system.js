// The heavy tier (`test-system`): only the `*.system.test.ts` files of the package it runs in
// (`jest --config ../../jest.system.js --rootDir .`). Their runs are bounded by what they
// count — instructions, virtual time — never by the wall clock; the timeout below only stops
// a test that hangs, and is far beyond what any of them takes on a busy machine.
import preset from './jest.preset.js';

export default {
  ...preset,
  testMatch: ['<rootDir>/src/**/*.system.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30 * 60_000,
};
