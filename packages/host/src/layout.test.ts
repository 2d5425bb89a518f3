import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '@lguest/abi';
import * as layout from './layout';

describe('the host layout', () => {
  it('defines none of the i386 facts @lguest/abi already defines (one home for each constant)', () => {
    const dir = __dirname;
    const twice: string[] = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, name), 'utf8');
      for (const m of text.matchAll(/^export const (\w+)/gm)) {
        if (m[1] in abi) twice.push(`${name}: ${m[1]}`);
      }
    }
    expect(twice).toEqual([]);
  });

  it('re-exports the shared facts with the values the switcher and the guest build against', () => {
    expect(layout.TSS_SELECTOR).toBe(0x80);
    expect(layout.__KERNEL_PERCPU).toBe(0xd8);
    expect(layout.GDT_LIMIT).toBe(abi.GDT_SIZE - 1);
    expect(layout.TSS_SIZE).toBe(104);
    expect(layout.LGUEST_CS).toBe(abi.LGUEST_CS);
  });
});
