import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sstDir } from './data';
import { MooFormatError, readMoo, Reg } from './moo';

// A tiny MOO writer, just enough to build files the reader must accept or reject.
const chunk = (tag: string, ...parts: Uint8Array[]): Uint8Array => {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write(tag, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
};
const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);
const u16 = (...v: number[]): Uint8Array => {
  const b = Buffer.alloc(2 * v.length);
  v.forEach((x, i) => b.writeUInt16LE(x, 2 * i));
  return b;
};
const u32 = (...v: number[]): Uint8Array => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32LE(x, 4 * i));
  return b;
};
const header = (count: number): Uint8Array => chunk('MOO ', u8(1, 0, 0, 0), u32(count), Buffer.from('C286'));
const meta = (): Uint8Array =>
  chunk('META', u8(1, 0, 6), u32(0xf4), Buffer.from('hlt     '), u32(1), Buffer.alloc(8), u8(0, 0xff, 0, 0));
const fullRegs = (): Uint8Array =>
  chunk('REGS', u16(0x3fff), u16(1, 2, 3, 4, 0x1000, 0x2000, 0x3000, 0x4000, 0x100, 0x200, 0x300, 0x400, 0x10, 0xf002));
const ram = (...pairs: [number, number][]): Uint8Array =>
  chunk('RAM ', u32(pairs.length), ...pairs.map(([a, v]) => Buffer.concat([u32(a), u8(v)])));
const test = (index: number, extra: Uint8Array[] = [], finalRegs = chunk('REGS', u16(0x1000), u16(0x11))): Uint8Array =>
  chunk(
    'TEST',
    u32(index),
    chunk('GMET', Buffer.alloc(10)),
    chunk('NAME', u32(3), Buffer.from('hlt')),
    chunk('BYTS', u32(1), u8(0xf4)),
    chunk('INIT', fullRegs(), ram([0x10010, 0xf4])),
    chunk('FINA', finalRegs, ram()),
    ...extra,
    chunk('HASH', Buffer.alloc(20, 0xab)),
  );

describe('MOO reader', () => {
  it('maps REGS onto the canonical order and reads every sub-chunk', () => {
    const file = readMoo(Buffer.concat([header(1), meta(), test(0, [chunk('EXCP', u8(13), u32(0x1234))])]));
    expect(file.cpuId).toBe('C286');
    expect(file.meta.mnemonic).toBe('hlt');
    expect(file.wide).toBe(false);
    const t = file.tests[0];
    // REGS order is AX BX CX DX CS SS DS ES SP BP SI DI IP FLAGS.
    expect(t.initial.regs.values[Reg.EAX]).toBe(1);
    expect(t.initial.regs.values[Reg.CS]).toBe(0x1000);
    expect(t.initial.regs.values[Reg.SS]).toBe(0x2000);
    expect(t.initial.regs.values[Reg.ESP]).toBe(0x100);
    expect(t.initial.regs.values[Reg.EIP]).toBe(0x10);
    expect(t.initial.regs.values[Reg.EFLAGS]).toBe(0xf002);
    expect(t.final.regs.present).toBe(1 << Reg.EIP);
    expect(Array.from(t.initial.ram.addresses)).toEqual([0x10010]);
    expect(t.exception).toEqual({ vector: 13, flagAddress: 0x1234 });
    expect(t.hash).toBe('ab'.repeat(20));
    expect(t.name).toBe('hlt');
  });

  it('reads gzip and plain alike', () => {
    const plain = Buffer.concat([header(1), meta(), test(0)]);
    expect(readMoo(gzipSync(plain))).toEqual(readMoo(plain));
  });

  it('skips unknown chunks by their length, at the top and inside tests', () => {
    const file = readMoo(
      Buffer.concat([header(1), chunk('ZZZZ', u8(1, 2, 3)), meta(), test(0, [chunk('NEW1', u32(7))])]),
    );
    expect(file.tests).toHaveLength(1);
  });

  it('rejects a header count that does not match the tests', () => {
    expect(() => readMoo(Buffer.concat([header(2), meta(), test(0)]), 'x.MOO')).toThrow(
      /x\.MOO.*announces 2 tests, file holds 1/,
    );
  });

  it('rejects register masks with bits above the last register', () => {
    const bad = chunk('REGS', u16(0x5000), u16(0x11, 0x22));
    expect(() => readMoo(Buffer.concat([header(1), meta(), test(0, [], bad)]))).toThrow(
      /mask 0x5000 has bits above 13/,
    );
  });

  it('rejects an incomplete initial register file', () => {
    const init = chunk('INIT', chunk('REGS', u16(0x0001), u16(5)), ram());
    const t = chunk('TEST', u32(0), chunk('BYTS', u32(1), u8(0xf4)), init, chunk('FINA', ram()));
    expect(() => readMoo(Buffer.concat([header(1), meta(), t]))).toThrow(/INIT register mask 0x1 is not complete/);
  });

  it('rejects chunks that overrun their container and RAM lists of the wrong size', () => {
    const whole = Buffer.concat([header(1), meta(), test(0)]);
    expect(() => readMoo(whole.subarray(0, whole.length - 3))).toThrow(MooFormatError);
    const badRam = chunk('RAM ', u32(2), u32(1), u8(1));
    const t = chunk('TEST', u32(0), chunk('BYTS', u32(1), u8(0xf4)), chunk('INIT', fullRegs(), badRam), chunk('FINA'));
    expect(() => readMoo(Buffer.concat([header(1), meta(), t]))).toThrow(/RAM holds 5 bytes for 2 entries/);
  });

  it('insists on the MOO header first and a supported version', () => {
    expect(() => readMoo(Buffer.concat([meta(), header(0)]))).toThrow(/must start with a "MOO " chunk/);
    const v2 = chunk('MOO ', u8(2, 0, 0, 0), u32(0), Buffer.from('C286'));
    expect(() => readMoo(Buffer.concat([v2, meta()]))).toThrow(/version 2\.0 is not supported/);
  });

  it('reads the 386EX sample: RG32 order, EA32, bus cycles', () => {
    const file = readMoo(readFileSync(join(sstDir(), '386/00.MOO')));
    expect(file.cpuId).toBe('386E');
    expect(file.wide).toBe(true);
    expect(file.tests).toHaveLength(500);
    const t = file.tests[0];
    expect(t.name).toBe('add [ss:bp+60h],bl');
    expect(t.initial.regs.values[Reg.CR0]).toBe(0x7ffefff0);
    expect(t.initial.regs.values[Reg.DR6]).toBe(0xffff0ff0);
    expect(t.initial.regs.values[Reg.EFLAGS] >>> 18).toBe(0x3fff);
    expect(t.initial.ea?.offset).toBeDefined();
    expect(file.tests.every((x) => x.cycles > 0)).toBe(true);
    expect(file.tests.filter((x) => x.exception?.vector === 6)).toHaveLength(2);
  });

  it('reads a 286 group file with consecutive indices and no cycles', () => {
    const file = readMoo(readFileSync(join(sstDir(), '286/F6.6.MOO.gz')));
    expect(file.meta.opcode).toBe(0xf6);
    expect(file.tests.map((t) => t.index)).toEqual([...Array(1000).keys()]);
    expect(file.tests.some((t) => t.cycles)).toBe(false);
    expect(file.tests.filter((t) => t.exception)).toHaveLength(537);
  });
});
