import * as abi from '@lguest/abi';
import { HCALL_NAMES } from './protocol';

test('the page names every hypercall of the ABI by its number, and nothing else', () => {
  const fromAbi = Object.entries(abi)
    .filter(([k, v]) => /^LHCALL_/.test(k) && typeof v === 'number' && !/RING_SIZE|STATUS_/.test(k))
    .map(([k, v]) => [v as number, k.slice('LHCALL_'.length)] as const);
  expect(fromAbi.length).toBeGreaterThan(10);
  for (const [n, name] of fromAbi) expect(HCALL_NAMES[n]).toBe(name);
  expect(HCALL_NAMES.filter((n) => n !== undefined)).toHaveLength(fromAbi.length);
});
