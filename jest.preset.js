// Shared Jest settings: TypeScript through SWC, workspace packages resolved from source.
export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@lguest/source', 'node', 'node-addons'] },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.test.ts'],
};
