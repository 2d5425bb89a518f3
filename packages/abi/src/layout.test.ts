// Do C and TypeScript agree? Generates the headers into a temporary directory, writes a C
// file that evaluates offsetof/sizeof/_Alignof for every member of every struct (nested
// members and first/last array elements too) and every #define, compiles it with
// `gcc -m32 -ffreestanding`, reads the numbers back out of the object's .data section and
// compares them with what the TypeScript descriptions say, one labelled number at a time.
// The same is done for a few fixture structs that exercise each i386 layout rule on its
// own, and the headers are checked to compile alone as strict C89 and from assembly.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offsetDefine, renderStruct, renderTypesHeader, sizeDefine } from './c-header';
import { writeHeaders } from './gen-headers';
import { ABI_HEADER, HEADERS } from './headers';
import { defineStruct, isScalar, type Layout } from './struct';

/** One number to compute in C and compare with the TypeScript value. */
interface Probe {
  readonly label: string;
  readonly c: string;
  readonly ts: number;
}

const SENTINEL = 0x4c475354;
const CFLAGS = ['-m32', '-ffreestanding', '-nostdlib', '-fno-pic', '-O0', '-Wall', '-Wextra', '-Werror'];

let work = '';
let include = '';

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}\n${e.stderr ?? e.message}`, { cause: error });
  }
}

/** Compiles `source` (C or, with a .S name, assembler) and returns a section's bytes. */
function compileSection(name: string, source: string, section: string, extra: string[] = []): Uint8Array {
  const src = join(work, name);
  const obj = `${src}.o`;
  const bin = `${src}.${section.slice(1)}.bin`;
  writeFileSync(src, source);
  run('gcc', [...CFLAGS, ...extra, '-I', include, '-c', src, '-o', obj]);
  run('objcopy', ['-O', 'binary', `--only-section=${section}`, obj, bin]);
  return new Uint8Array(readFileSync(bin));
}

/**
 * offsetof/sizeof probes for every member reachable from `root`: `layout` sits at `base`
 * and its members are named `prefix` + name. Arrays are probed at their first and last
 * element, and nested structs are walked through those elements.
 */
function memberProbes(root: string, layout: Layout, prefix: string, base: number): Probe[] {
  const probes: Probe[] = [];
  for (const field of layout.fields) {
    const path = `${prefix}${field.name}`;
    const offset = base + field.offset;
    probes.push({ label: `offsetof(${root}, ${path})`, c: `offsetof(${root}, ${path})`, ts: offset });
    probes.push({ label: `sizeof(${root}.${path})`, c: `sizeof(((${root} *)0)->${path})`, ts: field.size });
    const elements =
      field.count === undefined
        ? [{ path, offset }]
        : [...new Set([0, field.count - 1])].map((i) => ({ path: `${path}[${i}]`, offset: offset + i * field.stride }));
    for (const element of elements) {
      if (field.count !== undefined) {
        probes.push({ label: `offsetof(${root}, ${element.path})`, c: `offsetof(${root}, ${element.path})`, ts: element.offset });
      }
      if (!isScalar(field.type)) probes.push(...memberProbes(root, field.type, `${element.path}.`, element.offset));
    }
  }
  return probes;
}

function structProbes(struct: Layout, withDefines: boolean): Probe[] {
  const root = `struct ${struct.name}`;
  const probes: Probe[] = [
    { label: `sizeof(${root})`, c: `sizeof(${root})`, ts: struct.size },
    { label: `_Alignof(${root})`, c: `_Alignof(${root})`, ts: struct.align },
    ...memberProbes(root, struct, '', 0),
  ];
  if (withDefines) {
    probes.push({ label: sizeDefine(struct), c: sizeDefine(struct), ts: struct.size });
    for (const f of struct.fields) probes.push({ label: offsetDefine(struct, f.name), c: offsetDefine(struct, f.name), ts: f.offset });
  }
  return probes;
}

function defineProbes(): Probe[] {
  return [...HEADERS, ABI_HEADER].flatMap((spec) =>
    spec.groups.flatMap((group) =>
      Object.entries(group.values).map(([name, value]): Probe =>
        typeof value === 'string'
          ? { label: `strlen(${name})`, c: `sizeof(${name}) - 1`, ts: value.length }
          : { label: name, c: `(unsigned int)(${name})`, ts: value >>> 0 },
      ),
    ),
  );
}

/** Compiles the probes after `prelude` and returns {label: value} as C computed them. */
function evaluateInC(name: string, prelude: string, probes: readonly Probe[]): Record<string, number> {
  const source = [
    '#include <stddef.h>',
    prelude,
    'unsigned int lguest_probes[] = {',
    ...probes.map((p) => `\t${p.c},`),
    `\t${SENTINEL}u`,
    '};',
    '',
  ].join('\n');
  const data = compileSection(name, source, '.data', ['-std=gnu11']);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  expect(data.byteLength).toBe(4 * (probes.length + 1));
  expect(view.getUint32(4 * probes.length, true)).toBe(SENTINEL);
  return Object.fromEntries(probes.map((p, i) => [p.label, view.getUint32(4 * i, true)]));
}

function expected(probes: readonly Probe[]): Record<string, number> {
  return Object.fromEntries(probes.map((p) => [p.label, p.ts]));
}

beforeAll(() => {
  try {
    execFileSync('gcc', ['-m32', '-x', 'c', '-c', '-o', '/dev/null', '-'], { input: 'int x;\n', stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error('layout.test needs gcc that can build i386 code (-m32). On Debian/Ubuntu: apt-get install -y gcc gcc-multilib binutils', {
      cause: error,
    });
  }
  work = mkdtempSync(join(tmpdir(), 'lguest-abi-layout-'));
  include = join(work, 'include');
  writeHeaders(include);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('gcc -m32 and the TypeScript descriptions agree', () => {
  for (const spec of HEADERS.filter((h) => h.structs.length > 0)) {
    it(`on every offset and size in ${spec.path}`, () => {
      const probes = spec.structs.flatMap((s) => structProbes(s, true));
      expect(probes.length).toBeGreaterThan(spec.structs.length * 3);
      expect(evaluateInC(spec.path.replace(/\W/g, '_') + '.c', '#include <lguest/abi.h>', probes)).toEqual(expected(probes));
    });
  }

  it('on the value of every #define', () => {
    const probes = defineProbes();
    expect(evaluateInC('defines.c', '#include <lguest/abi.h>', probes)).toEqual(expected(probes));
  });
});

describe('the i386 layout rules agree with gcc on fixtures', () => {
  const small = defineStruct('fx_small', [['x', 'u16'], ['y', 'u8']]);
  const packed = defineStruct('fx_packed', [['a', 'u8'], ['b', 'u32'], ['c', 'u16']], { packed: true });
  const fixtures: Layout[] = [
    small,
    packed,
    defineStruct('fx_u64', [['a', 'u8'], ['b', 'u64'], ['c', 'u8'], ['d', 's64', 2], ['e', 'u16']]),
    defineStruct('fx_mixed', [['a', 'u8'], ['b', 'u16'], ['c', 'u8'], ['d', 'u32'], ['e', 's8', 3], ['f', 's16']]),
    defineStruct('fx_nested', [['a', 'u8'], ['b', small, 3], ['c', 'u8'], ['d', packed], ['e', 'u32']]),
    defineStruct('fx_packed_outer', [['a', 'u8'], ['b', small], ['c', 'u64'], ['d', 'u32', 2]], { packed: true }),
    defineStruct('fx_aligned', [['a', 'u32'], ['b', 'u8']], { align: 64 }),
    defineStruct('fx_packed_aligned', [['a', 'u8'], ['b', 'u32']], { packed: true, align: 8 }),
  ];

  it('offsets, sizes and alignments', () => {
    const prelude = [renderTypesHeader(), ...fixtures.map(renderStruct)].join('\n');
    const probes = fixtures.flatMap((s) => structProbes(s, false));
    expect(evaluateInC('fixtures.c', prelude, probes)).toEqual(expected(probes));
  });
});

describe('the generated headers', () => {
  it('each compile on their own as strict C89', () => {
    for (const path of ['lguest/types.h', ...[...HEADERS, ABI_HEADER].map((h) => h.path)]) {
      const src = join(work, 'alone.c');
      writeFileSync(src, `#include <${path}>\nint lguest_alone;\n`);
      run('gcc', [...CFLAGS, '-std=c89', '-pedantic', '-I', include, '-fsyntax-only', src]);
    }
  });

  it('can be used from assembler sources', () => {
    const source = [
      '#include <lguest/abi.h>',
      '\t.text',
      '\tmovl $LHCALL_SEND_DMA, %eax',
      '\tint $LGUEST_TRAP_ENTRY',
      '\t.data',
      '\t.long LGUEST_DATA_irq_enabled, LGUEST_PAGES_regs_trapnum, SIZEOF_LGUEST_REGS, SWITCHER_ADDR, LGUEST_CS',
      '\t.ascii LGUEST_SIGNATURE',
      '',
    ].join('\n');
    expect([...compileSection('probe.S', source, '.text')]).toEqual([0xb8, 13, 0, 0, 0, 0xcd, 0x1f]);
    const data = compileSection('probe.S', source, '.data');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect([0, 1, 2, 3, 4].map((i) => view.getUint32(4 * i, true))).toEqual([0, 4068, 72, 0xffc00000, 0x50]);
    expect(Buffer.from(data.subarray(20)).toString('latin1')).toBe('GenuineLguest');
  });
});
