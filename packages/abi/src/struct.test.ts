// The struct engine on its own: i386 layout rules, path offsets, accessors, read/write.
// (Whether gcc agrees with these rules is layout.test.ts's job.)

import { defineStruct } from './struct';

const view = () => new DataView(new ArrayBuffer(256));

describe('i386 layout rules', () => {
  it('aligns each scalar to its size and pads the tail to the struct alignment', () => {
    const s = defineStruct('t', [['a', 'u8'], ['b', 'u16'], ['c', 'u8'], ['d', 'u32'], ['e', 'u8']]);
    expect(s.offsetOf).toEqual({ a: 0, b: 2, c: 4, d: 8, e: 12 });
    expect(s.align).toBe(4);
    expect(s.size).toBe(16);
  });

  it('aligns 64-bit members to 4, not 8', () => {
    const s = defineStruct('t', [['a', 'u8'], ['b', 'u64'], ['c', 's64']]);
    expect(s.offsetOf).toEqual({ a: 0, b: 4, c: 12 });
    expect(s.align).toBe(4);
    expect(s.size).toBe(20);
  });

  it('lays out arrays as count × element and nested structs at their own alignment', () => {
    const inner = defineStruct('inner', [['x', 'u16'], ['y', 'u8']]);
    expect([inner.size, inner.align]).toEqual([4, 2]);
    const s = defineStruct('outer', [['tag', 'u8'], ['items', inner, 3], ['bytes', 'u8', 5], ['last', 'u32']]);
    expect(s.offsetOf).toEqual({ tag: 0, items: 2, bytes: 14, last: 20 });
    expect(s.size).toBe(24);
    expect(s.f.items.stride).toBe(4);
    expect(s.f.items.at(2)).toBe(10);
    expect(s.f.bytes.size).toBe(5);
  });

  it('packed removes all padding, inside and at the end', () => {
    const s = defineStruct('t', [['a', 'u8'], ['b', 'u32'], ['c', 'u16']], { packed: true });
    expect(s.offsetOf).toEqual({ a: 0, b: 1, c: 5 });
    expect([s.size, s.align]).toEqual([7, 1]);
  });

  it('a packed struct nested in an unpacked one is byte aligned there', () => {
    const p = defineStruct('p', [['a', 'u16'], ['b', 'u32']], { packed: true });
    const s = defineStruct('t', [['c', 'u8'], ['p', p], ['d', 'u8']]);
    expect(s.offsetOf).toEqual({ c: 0, p: 1, d: 7 });
    expect(s.size).toBe(8);
  });

  it('align raises the alignment and so the padded size', () => {
    const s = defineStruct('t', [['a', 'u32', 3]], { align: 16 });
    expect([s.size, s.align, s.alignAttr]).toEqual([16, 16, 16]);
  });

  it('rejects malformed descriptions with a message naming the problem', () => {
    expect(() => defineStruct('t', [['a', 'u8'], ['a', 'u8']])).toThrow("duplicate field 'a'");
    expect(() => defineStruct('t', [['a b', 'u8']])).toThrow('not a C identifier');
    expect(() => defineStruct('1t', [['a', 'u8']])).toThrow('not a C identifier');
    expect(() => defineStruct('t', [['a', 'u8', 0]])).toThrow('positive integer');
    expect(() => defineStruct('t', [['a', 'u8', 1.5]])).toThrow('positive integer');
    expect(() => defineStruct('t', [['a', 'u8']], { align: 12 })).toThrow('power of two');
    expect(() => defineStruct('t', [])).toThrow('at least one field');
  });
});

describe('member paths', () => {
  const pair = defineStruct('pair', [['lo', 'u32'], ['hi', 'u32']]);
  const s = defineStruct('t', [['n', 'u32'], ['pairs', pair, 4], ['tail', 'u16', 2]]);

  it('resolves nested members and array elements', () => {
    expect(s.offset('n')).toBe(0);
    expect(s.offset('pairs')).toBe(4);
    expect(s.offset('pairs[3].hi')).toBe(4 + 3 * 8 + 4);
    expect(s.offset('tail[1]')).toBe(36 + 2);
  });

  it('throws on members that do not exist or indexes out of range', () => {
    expect(() => s.offset('nope')).toThrow("struct t has no member 'nope'");
    expect(() => s.offset('pairs[4].lo')).toThrow('indexes outside pairs');
    expect(() => s.offset('n[0]')).toThrow('indexes outside n');
    expect(() => s.offset('n.x')).toThrow("no member 'n.x'");
    expect(() => s.offset('pairs[1].')).toThrow('no member');
  });
});

describe('accessors', () => {
  const s = defineStruct('t', [
    ['a', 'u8'], ['b', 's16'], ['c', 'u32'], ['d', 's32'], ['e', 'u64'], ['f', 'u16', 3], ['g', 's8'],
  ]);

  it('write little-endian at base + offset and read back', () => {
    const v = view();
    s.f.c.set(v, 100, 0x11223344);
    expect([v.getUint8(104), v.getUint8(105), v.getUint8(106), v.getUint8(107)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(s.f.c.get(v, 100)).toBe(0x11223344);
    s.f.d.set(v, 100, -2);
    expect(s.f.d.get(v, 100)).toBe(-2);
    expect(s.f.c.get(v, 100)).toBe(0x11223344);
    s.f.b.set(v, 100, -300);
    expect(s.f.b.get(v, 100)).toBe(-300);
    s.f.e.set(v, 100, 0x1_0000_0002n);
    expect(v.getUint32(100 + 12, true)).toBe(2);
    expect(s.f.e.get(v, 100)).toBe(0x1_0000_0002n);
  });

  it('keep values unsigned for unsigned members and wrap like a store to memory', () => {
    const v = view();
    s.f.c.set(v, 0, 0xffffffff);
    expect(s.f.c.get(v, 0)).toBe(0xffffffff);
    s.f.a.set(v, 0, 0x1ff);
    expect(s.f.a.get(v, 0)).toBe(0xff);
    s.f.g.set(v, 0, 0xff);
    expect(s.f.g.get(v, 0)).toBe(-1);
  });

  it('index array elements and refuse indexes outside the array', () => {
    const v = view();
    s.f.f.set(v, 0, 7, 2);
    expect(s.f.f.get(v, 0, 2)).toBe(7);
    expect(v.getUint16(s.offsetOf.f + 4, true)).toBe(7);
    expect(() => s.f.f.get(v, 0, 3)).toThrow(RangeError);
    expect(() => s.f.f.set(v, 0, 1, -1)).toThrow('t.f: index -1 outside 0..2');
    expect(() => s.f.c.get(v, 0, 1)).toThrow(RangeError);
  });
});

describe('read, write and zero', () => {
  const inner = defineStruct('inner', [['x', 'u16'], ['y', 'u32']]);
  const s = defineStruct('t', [['n', 'u32'], ['one', inner], ['many', inner, 2], ['bytes', 'u8', 4], ['w', 'u64']]);

  it('round-trip a whole value, nested structs and arrays included', () => {
    const v = view();
    const value = {
      n: 1,
      one: { x: 2, y: 3 },
      many: [{ x: 4, y: 5 }, { x: 6, y: 7 }],
      bytes: [8, 9, 10, 11],
      w: 12n,
    };
    s.write(v, 16, value);
    expect(s.read(v, 16)).toEqual(value);
    expect(inner.f.y.get(v, 16 + s.f.many.at(1))).toBe(7);
  });

  it('write only the members given and leave the other bytes alone', () => {
    const v = view();
    new Uint8Array(v.buffer).fill(0xaa);
    s.write(v, 0, { one: { y: 0 }, bytes: [1] });
    const r = s.read(v, 0);
    expect(r.n).toBe(0xaaaaaaaa);
    expect(r.one).toEqual({ x: 0xaaaa, y: 0 });
    expect(r.bytes).toEqual([1, 0xaa, 0xaa, 0xaa]);
  });

  it('refuse values that do not fit the description', () => {
    const v = view();
    expect(() => s.write(v, 0, { nope: 1 } as never)).toThrow("struct t has no member 'nope'");
    expect(() => s.write(v, 0, { n: 1n } as never)).toThrow('t.n: expected a number for u32, got bigint');
    expect(() => s.write(v, 0, { w: 1 } as never)).toThrow('expected a bigint');
    expect(() => s.write(v, 0, { bytes: [1, 2, 3, 4, 5] })).toThrow('5 elements for an array of 4');
    expect(() => s.write(v, 0, { one: 3 } as never)).toThrow('t.one: expected an object');
  });

  it('zero clears exactly size bytes at base', () => {
    const v = view();
    new Uint8Array(v.buffer).fill(0xff);
    s.zero(v, 8);
    const bytes = new Uint8Array(v.buffer);
    expect(bytes[7]).toBe(0xff);
    expect(bytes.subarray(8, 8 + s.size).every((b) => b === 0)).toBe(true);
    expect(bytes[8 + s.size]).toBe(0xff);
  });

  it('type-checks member names (a compile-time property, checked by typecheck)', () => {
    // @ts-expect-error: no such member
    expect(s.offsetOf.nope).toBeUndefined();
    // Nested accessors are typed through the nested struct.
    const y: number = s.f.one.struct.f.y.get(view(), s.offsetOf.one);
    expect(y).toBe(0);
    const w: bigint = s.f.w.get(view(), 0);
    expect(w).toBe(0n);
  });
});
