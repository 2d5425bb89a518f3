import preset from '../../jest.preset.js';
// The browser tests (*.system.test.ts) are the heavy tier: `npm run test-system`.
export default { ...preset, testPathIgnorePatterns: ['\\.system\\.test\\.ts$'] };
