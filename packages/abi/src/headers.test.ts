// The header catalogue and the C rendering, without a compiler: nothing exported is left
// out of the headers, nothing is in two of them, and the C text says what we mean.
// (Compiling the headers is layout.test.ts's job.)

import { formatValue, renderStruct } from './c-header';
import { ABI_HEADER, generateHeaders, HEADERS } from './headers';
import * as abi from './index';
import { defineStruct, type Layout } from './struct';

const SPECS = [...HEADERS, ABI_HEADER];

function isLayout(value: unknown): value is Layout {
  return typeof value === 'object' && value !== null && 'fields' in value && 'size' in value;
}

describe('the header catalogue', () => {
  it('#defines every exported constant in exactly one header, with its exported value', () => {
    const places = new Map<string, string[]>();
    const problems: string[] = [];
    const exported: Record<string, unknown> = abi;
    for (const spec of SPECS) {
      for (const group of spec.groups) {
        for (const [name, value] of Object.entries(group.values)) {
          places.set(name, [...(places.get(name) ?? []), spec.path]);
          if (exported[name] !== value) problems.push(`${spec.path}: ${name} = ${value} is not an export with that value`);
        }
      }
    }
    for (const [name, value] of Object.entries(abi)) {
      if (typeof value !== 'number' && typeof value !== 'string') continue;
      const where = places.get(name) ?? [];
      if (where.length !== 1) problems.push(`${name} is in ${where.length} headers (${where.join(', ')})`);
    }
    expect(problems).toEqual([]);
  });

  it('defines every exported struct in exactly one header', () => {
    const listed = SPECS.flatMap((spec) => spec.structs);
    const values: unknown[] = Object.values(abi);
    const exported = values.filter(isLayout);
    expect(exported.length).toBeGreaterThanOrEqual(15);
    for (const struct of exported) expect([struct.name, listed.filter((s) => s === struct).length]).toEqual([struct.name, 1]);
    for (const struct of listed) expect(exported).toContain(struct);
  });

  it('never #defines one name twice across all the generated headers', () => {
    const names = generateHeaders().flatMap(({ text }) => [...text.matchAll(/^#define (\S+)/gm)].map((m) => m[1]));
    const twice = names.filter((name, i) => names.indexOf(name) !== i);
    expect(twice).toEqual([]);
    expect(names).toContain('LGUEST_DATA_irq_enabled');
    expect(names).toContain('LGUEST_PAGES_regs');
    expect(names).toContain('SIZEOF_LGUEST_DMA');
  });

  it('includes the headers that define nested struct types, and abi.h includes them all', () => {
    const text = new Map(generateHeaders().map(({ path, text: t }) => [path, t]));
    expect(text.get('lguest/switcher.h')).toContain('#include "i386.h"');
    expect(text.get('lguest/lguest.h')).not.toContain('#include "i386.h"');
    for (const spec of HEADERS) expect(text.get('lguest/abi.h')).toContain(`#include "${spec.path.slice('lguest/'.length)}"`);
    expect(text.size).toBe(SPECS.length + 1);
  });
});

describe('C rendering', () => {
  it('formats numbers in decimal, hex on request, and anything above INT_MAX in hex', () => {
    expect(formatValue(42)).toBe('42');
    expect(formatValue(0x1f, true)).toBe('0x1F');
    expect(formatValue(0xffc00000)).toBe('0xFFC00000');
    expect(formatValue(0x7fffffff)).toBe('2147483647');
    expect(formatValue(-1)).toBe('(-1)');
  });

  it('quotes strings and refuses values C cannot hold', () => {
    expect(formatValue('GenuineLguest')).toBe('"GenuineLguest"');
    expect(formatValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(() => formatValue('tab\there')).toThrow('printable ASCII');
    expect(() => formatValue(1.5)).toThrow('not a 32-bit integer');
    expect(() => formatValue(2 ** 32)).toThrow('not a 32-bit integer');
  });

  it('renders members, arrays, nested structs and attributes', () => {
    const inner = defineStruct('inner', [['x', 'u16']]);
    const text = renderStruct(defineStruct('outer', [['a', 's32'], ['b', inner, 2], ['c', 'u64']], { packed: true, align: 8 }));
    expect(text).toBe(['struct outer {', '\ts32 a;', '\tstruct inner b[2];', '\tu64 c;', '} __attribute__((packed, aligned(8)));'].join('\n'));
  });
});
