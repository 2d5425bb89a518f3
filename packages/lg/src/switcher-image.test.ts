// The committed switcher-image.ts must be the switcher switcher.S assembles to today (Nx runs
// the build, which writes build/switcher.bin, before the tests). If this fails, run
// `npm run build` here and commit src/switcher-image.ts.

import { SWITCHER_ADDR } from '@lguest/abi';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SWITCHER_SYMBOLS, SWITCHER_TEXT } from './switcher-image';

const build = join(__dirname, '..', 'build');

describe('switcher-image.ts', () => {
  it('holds exactly the bytes of build/switcher.bin', () => {
    const bin = new Uint8Array(readFileSync(join(build, 'switcher.bin')));
    expect(SWITCHER_TEXT.length).toBe(bin.length);
    expect(Buffer.from(SWITCHER_TEXT).equals(Buffer.from(bin))).toBe(true);
  });

  it('holds the symbols of build/switcher.sym.json, inside one page at SWITCHER_ADDR', () => {
    const syms = JSON.parse(readFileSync(join(build, 'switcher.sym.json'), 'utf8')) as Record<string, number>;
    for (const [name, value] of Object.entries(SWITCHER_SYMBOLS)) expect([name, value]).toEqual([name, syms[name]]);
    expect(SWITCHER_SYMBOLS.start_switcher_text).toBe(SWITCHER_ADDR);
    expect(SWITCHER_TEXT.length).toBeLessThanOrEqual(4096);
    // default_idt_entries: 256 stub addresses, each inside the text.
    const table = SWITCHER_SYMBOLS.default_idt_entries - SWITCHER_ADDR;
    const view = new DataView(SWITCHER_TEXT.buffer, SWITCHER_TEXT.byteOffset, SWITCHER_TEXT.byteLength);
    for (let v = 0; v < 256; v++) {
      const stub = view.getUint32(table + 4 * v, true);
      expect(stub).toBeGreaterThan(SWITCHER_SYMBOLS.switch_to_guest);
      expect(stub).toBeLessThan(SWITCHER_SYMBOLS.end_switcher_text);
    }
  });
});
