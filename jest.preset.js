// Shared Jest settings: TypeScript through SWC, workspace packages resolved from source.
//
// Two tiers. `jest` (the `test` target, part of `npm test`) runs every `src/**/*.test.ts`
// except the heavy ones; `jest --config ../../jest.system.js` (the `test-system` target,
// `npm run test:system`) runs only the heavy ones: files named `*.system.test.ts` — whole
// systems booted end to end, the SingleStepTests gate, the fuzzer. CI runs both.
export const SYSTEM_TEST = '\\.system\\.test\\.ts$';

export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@lguest/source', 'node', 'node-addons'] },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', SYSTEM_TEST],
};
