// The extended arithmetic against JavaScript's own IEEE doubles: under precision control 53
// and round-to-nearest, an x87 add, subtract, multiply, divide or square root of doubles is
// the correctly rounded double (inside the double's exponent range), so every result must
// match bit for bit; under precision control 24 the same holds for singles and Math.fround.
// Then the exact cases the hardware documents: integer conversions under each rounding
// control, the FLD constants, FPREM/FPREM1, FSCALE, FXTRACT, FRNDINT, BCD.

import { X87, Cls, RES, T0, T1, IE, ZE, PE, DE, UE, OE } from './x87';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function load(f: X87, slot: number, v: number): void {
  f64[0] = v;
  f.fromF64(slot, u32[1], u32[0]);
}

function result(f: X87): number {
  f.toF64(RES);
  u32[1] = f.r1;
  u32[0] = f.r0;
  return f64[0];
}

/** A small deterministic generator of awkward doubles. */
function* doubles(n: number, seed: number): Generator<number> {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  for (let i = 0; i < n; i++) {
    u32[1] = ((next() & 0x800fffff) | ((0x3ff + ((next() % 200) - 100)) << 20)) >>> 0;
    u32[0] = next() & (i % 3 === 0 ? 0xffff0000 : 0xffffffff);
    yield f64[0];
  }
}

function fpu(pc: number, rc = 0): X87 {
  const f = new X87();
  f.cw = 0x3f | (pc << 8) | (rc << 10);
  return f;
}

describe('extended arithmetic rounds like IEEE doubles under PC=53', () => {
  const xs = [...doubles(400, 1)];
  const ys = [...doubles(400, 2)];
  const ops: [string, (f: X87) => void, (a: number, b: number) => number][] = [
    ['add', (f) => f.add(T0, T1, false), (a, b) => a + b],
    ['sub', (f) => f.add(T0, T1, true), (a, b) => a - b],
    ['mul', (f) => f.mul(T0, T1), (a, b) => a * b],
    ['div', (f) => f.div(T0, T1), (a, b) => a / b],
    ['sqrt', (f) => f.sqrt(T0), (a) => Math.sqrt(Math.abs(a))],
  ];
  for (const [name, op, ref] of ops) {
    it(name, () => {
      const f = fpu(2);
      const bad: string[] = [];
      for (let i = 0; i < xs.length; i++) {
        const a = name === 'sqrt' ? Math.abs(xs[i]) : xs[i];
        load(f, T0, a);
        load(f, T1, ys[i]);
        f.flags = 0;
        op(f);
        const got = result(f);
        const want = ref(a, ys[i]);
        if (!Object.is(got, want)) bad.push(`${a} ${name} ${ys[i]}: ${got} != ${want}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }

  it('singles under PC=24 match Math.fround', () => {
    const f = fpu(0);
    const bad: string[] = [];
    const bs = [...doubles(300, 4)];
    for (const [a0, b0] of [...doubles(300, 3)].map((v, i) => [v, bs[i]])) {
      const a = Math.fround(a0),
        b = Math.fround(b0);
      for (const [op, ref] of [
        [(): void => f.add(T0, T1, false), a + b],
        [(): void => f.mul(T0, T1), a * b],
        [(): void => f.div(T0, T1), a / b],
      ] as [() => void, number][]) {
        load(f, T0, a);
        load(f, T1, b);
        op();
        f.toF32(RES);
        const got = new Float32Array(new Uint32Array([f.r0]).buffer)[0];
        if (!Object.is(got, Math.fround(ref))) bad.push(`${a},${b}: ${got} != ${Math.fround(ref)}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });
});

describe('exact operations', () => {
  it('converts to integers under each rounding control, with IE and the indefinite out of range', () => {
    const cases: [number, number[]][] = [
      [2.5, [2, 2, 3, 2]],
      [-2.5, [-2, -3, -2, -2]],
      [3.5, [4, 3, 4, 3]],
      [-0.4, [0, -1, 0, 0]],
    ];
    for (const [v, want] of cases) {
      for (let rc = 0; rc < 4; rc++) {
        const f = fpu(3, rc);
        load(f, T0, v);
        f.flags = 0;
        f.toInt(T0, 32);
        expect([v, rc, f.r0 | 0, f.flags & PE]).toEqual([v, rc, want[rc], PE]);
      }
    }
    const f = fpu(3);
    load(f, T0, 2147483648);
    f.flags = 0;
    f.toInt(T0, 32);
    expect([f.r0, f.flags]).toEqual([0x80000000, IE]);
    load(f, T0, -2147483648);
    f.flags = 0;
    f.toInt(T0, 32);
    expect([f.r0, f.flags]).toEqual([0x80000000, 0]);
    load(f, T0, -32768.4);
    f.flags = 0;
    f.toInt(T0, 16);
    expect([f.r0, f.flags]).toEqual([0x8000, PE]);
    load(f, T0, -9223372036854775808);
    f.flags = 0;
    f.toInt(T0, 64);
    expect([f.r1, f.r0, f.flags]).toEqual([0x80000000, 0, 0]);
    load(f, T0, -1);
    f.toInt(T0, 64);
    expect([f.r1, f.r0]).toEqual([0xffffffff, 0xffffffff]);
  });

  it('loads the constants rounded by RC', () => {
    const f = fpu(3, 0);
    f.loadConst(T0, 3);
    expect([f.se[T0], f.hi[T0], f.lo[T0]]).toEqual([0x4000, 0xc90fdaa2, 0x2168c235]);
    f.cw = 0x37f | (1 << 10);
    f.loadConst(T0, 3);
    expect(f.lo[T0]).toBe(0x2168c234);
    f.cw = 0x37f;
    f.loadConst(T0, 4);
    expect([f.se[T0], f.hi[T0], f.lo[T0]]).toEqual([0x3ffd, 0x9a209a84, 0xfbcff799]);
  });

  it('divides by zero and takes invalid square roots', () => {
    const f = fpu(3);
    load(f, T0, 1);
    load(f, T1, -0);
    f.flags = 0;
    f.div(T0, T1);
    expect([result(f), f.flags]).toEqual([-Infinity, ZE]);
    load(f, T0, -4);
    f.flags = 0;
    f.sqrt(T0);
    expect([f.se[RES], f.hi[RES], f.lo[RES], f.flags]).toEqual([0xffff, 0xc0000000, 0, IE]);
  });

  it('takes exact remainders with the quotient bits', () => {
    const f = fpu(3);
    load(f, T0, 17);
    load(f, T1, 5);
    const q = f.rem(T0, T1, false);
    expect([result(f), q]).toEqual([2, 3]);
    const q1 = f.rem(T0, T1, true);
    expect([result(f), q1]).toEqual([2, 3]);
    load(f, T0, 18);
    const q2 = f.rem(T0, T1, true);
    expect([result(f), q2]).toEqual([-2, 4]);
    load(f, T0, 7.5);
    load(f, T1, 5);
    f.rem(T0, T1, true);
    expect(result(f)).toBe(-2.5);
    load(f, T0, 2.5);
    f.rem(T0, T1, true);
    expect(result(f)).toBe(2.5);
    load(f, T0, 3);
    f.rem(T0, T1, true);
    expect(result(f)).toBe(-2);
  });

  it('scales, extracts and rounds to integers', () => {
    const f = fpu(3);
    load(f, T0, 3);
    load(f, T1, -2.9);
    f.scale(T0, T1);
    expect(result(f)).toBe(0.75);
    load(f, T0, -12);
    f.extract(T0);
    expect(result(f)).toBe(-1.5);
    load(f, T0, 2.5);
    f.roundInt(T0);
    expect(result(f)).toBe(2);
    f.cw |= 2 << 10;
    f.roundInt(T0);
    expect(result(f)).toBe(3);
  });

  it('denormals, underflow and overflow in double stores', () => {
    const f = fpu(3);
    load(f, T0, 1e-300);
    load(f, T1, 1e-20);
    f.flags = 0;
    f.mul(T0, T1);
    expect(f.flags).toBe(PE);
    f.flags = 0;
    expect(result(f)).toBe(1e-320);
    expect(f.flags & (UE | PE)).toBe(UE | PE);
    load(f, T0, 5e-324);
    expect(f.classify(T0)).toBe(Cls.Normal);
    f.flags = 0;
    load(f, T0, 1e300);
    f.mul(T0, T0);
    expect(result(f)).toBe(Infinity);
    expect(f.flags & OE).toBe(OE);
    expect(f.flags & DE).toBe(0);
  });

  it('packs and unpacks BCD', () => {
    const f = fpu(3);
    const b = new Uint8Array([0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80]);
    f.fromBcd(T0, b);
    expect(result2(f, T0)).toBe(-123456789);
    const out = new Uint8Array(10);
    f.toBcd(T0, out);
    expect([...out]).toEqual([...b]);
  });
});

function result2(f: X87, s: number): number {
  f.toF64(s);
  u32[1] = f.r1;
  u32[0] = f.r0;
  return f64[0];
}
