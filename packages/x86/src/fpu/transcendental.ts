// The x87 transcendental instructions' arithmetic: FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
// F2XM1, FYL2X, FYL2XP1. Special operands (zeros, infinities, NaNs, out-of-range
// arguments) follow the Intel tables exactly; finite results are computed in double-double
// arithmetic (about 106 bits) and rounded once to the extended format under RC.

import { X87, Cls, IE, DE, ZE, PE, RES, RES2 } from './x87';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

// Double-double helpers: a value is hi + lo with |lo| <= ulp(hi)/2. Results in DD_HI/DD_LO.
let ddHi = 0,
  ddLo = 0;

function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  ddHi = s;
  ddLo = a - (s - bb) + (b - bb);
}

const SPLIT = 134217729; // 2^27 + 1
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a),
    al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b),
    bl = b - bh;
  ddHi = p;
  ddLo = ah * bh - p + ah * bl + al * bh + al * bl;
}

function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh);
  const sh = ddHi,
    sl = ddLo + al + bl;
  ddHi = sh + sl;
  ddLo = sl - (ddHi - sh);
}

function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const ph = ddHi,
    pl = ddLo + ah * bl + al * bh;
  ddHi = ph + pl;
  ddLo = pl - (ddHi - ph);
}

function ddDiv(ah: number, al: number, bh: number, bl: number): void {
  const q1 = ah / bh;
  ddMul(q1, 0, bh, bl);
  twoSum(ah - ddHi, al - ddLo);
  const r = ddHi + ddLo;
  const q2 = r / bh;
  ddMul(q1, 0, bh, bl);
  let rh = ah - ddHi;
  let rl = al - ddLo;
  ddMul(q2, 0, bh, bl);
  rh -= ddHi;
  rl -= ddLo;
  const q3 = (rh + rl) / bh;
  twoSum(q1, q2);
  ddAdd(ddHi, ddLo, q3, 0);
}

/** Split slot s (finite, nonzero) into a double-double hi + lo, exactly, with a binary scale. */
let valHi = 0,
  valLo = 0,
  valScale = 0;
function slotToDD(f: X87, s: number): void {
  // The 64-bit significand as two 32-bit halves scaled into doubles: exact.
  const e = f.se[s] & 0x7fff;
  const sign = f.se[s] >> 15 ? -1 : 1;
  const be = (e === 0 ? 1 : e) - 16383;
  valScale = be;
  const h = f.hi[s] * 2 ** -31,
    l = f.lo[s] * 2 ** -63;
  twoSum(h, l);
  valHi = sign * ddHi;
  valLo = sign * ddLo;
}

/** Slot d = (hi + lo) * 2^scale, rounded once to 64 bits under RC (always inexact). */
function ddToSlot(f: X87, d: number, hi: number, lo: number, scale: number): void {
  if (hi === 0) {
    f.setZero(d, 0);
    return;
  }
  f.sumScaled(hi, lo, scale);
  if (d !== RES) f.copy(d, RES);
  f.flags |= PE;
}

// ---------------------------------------------------------------- sin/cos/tan

// pi/2 as three doubles (a 159-bit value) for Cody–Waite reduction.
const PIO2_1 = 1.5707963267948966,
  PIO2_2 = 6.123233995736766e-17,
  PIO2_3 = -1.4973849048591698e-33;

let redHi = 0,
  redLo = 0,
  redQ = 0;

/** Reduce x (hi + lo) by multiples of pi/2 in double-double: r in [-pi/4, pi/4], quadrant q. */
function reduce(xh: number, xl: number): void {
  const q = Math.round((xh + xl) / PIO2_1);
  // r = x - q*pi/2, with q*pi/2 computed exactly in three parts.
  twoProd(q, PIO2_1);
  let ph = ddHi,
    pl = ddLo;
  twoSum(xh, -ph);
  let rh = ddHi,
    rl = ddLo + xl - pl;
  twoProd(q, PIO2_2);
  ph = ddHi;
  pl = ddLo;
  ddAdd(rh, rl, -ph, -pl);
  rh = ddHi;
  rl = ddLo;
  ddAdd(rh, rl, -q * PIO2_3, 0);
  redHi = ddHi;
  redLo = ddLo;
  redQ = ((q % 4) + 4) % 4;
}

/** sin and cos of r (|r| <= pi/4) in double-double by Taylor series. */
let sinH = 0,
  sinL = 0,
  cosH = 0,
  cosL = 0;
function sincosDD(rh: number, rl: number): void {
  ddMul(rh, rl, rh, rl);
  const r2h = ddHi,
    r2l = ddLo;
  // sin: r - r^3/3! + ...; cos: 1 - r^2/2! + ...
  let th = rh,
    tl = rl; // current term for sin
  let sh = rh,
    sl = rl;
  let ch = 1,
    cl = 0;
  let uh = 1,
    ul = 0; // current term for cos
  for (let n = 1; n < 30; n++) {
    // sin term: t *= -r^2 / ((2n)(2n+1))
    ddMul(th, tl, r2h, r2l);
    ddDiv(ddHi, ddLo, -(2 * n) * (2 * n + 1), 0);
    th = ddHi;
    tl = ddLo;
    ddAdd(sh, sl, th, tl);
    sh = ddHi;
    sl = ddLo;
    ddMul(uh, ul, r2h, r2l);
    ddDiv(ddHi, ddLo, -(2 * n - 1) * (2 * n), 0);
    uh = ddHi;
    ul = ddLo;
    ddAdd(ch, cl, uh, ul);
    ch = ddHi;
    cl = ddLo;
    if (Math.abs(th) < 1e-40 * Math.abs(sh) && Math.abs(uh) < 1e-40) break;
  }
  sinH = sh;
  sinL = sl;
  cosH = ch;
  cosL = cl;
}

/** Value of slot s as a double-double times 2^valScale folded in (|x| < 2^63). */
function slotValue(f: X87, s: number): void {
  slotToDD(f, s);
  const k = 2 ** valScale;
  valHi *= k;
  valLo *= k;
}

/**
 * kind 0 sin, 1 cos, 2 tan (RES = tan), 3 sincos (RES = sin, RES2 = cos). Returns false when
 * the operand is out of range (|x| >= 2^63: C2 = 1, nothing changes).
 */
export function trig(f: X87, x: number, kind: number): boolean {
  const c = f.classify(x);
  if (c === Cls.Unsupported || c === Cls.Inf) {
    f.flags |= IE;
    f.setIndefinite(RES);
    f.setIndefinite(RES2);
    return true;
  }
  if (c === Cls.QNaN || c === Cls.SNaN) {
    if (c === Cls.SNaN) f.flags |= IE;
    f.set(RES, f.se[x], (f.hi[x] | 0x40000000) >>> 0, f.lo[x]);
    f.copy(RES2, RES);
    return true;
  }
  if ((f.se[x] & 0x7fff) >= 16383 + 63) return false;
  if (c === Cls.Denormal) {
    f.flags |= DE;
    if ((f.cw & DE) === 0) return true;
  }
  if (c === Cls.Zero) {
    f.copy(RES, x);
    f.set(RES2, 16383, 0x80000000, 0);
    if (kind === 1) f.copy(RES, RES2);
    return true;
  }
  slotValue(f, x);
  const tiny = (f.se[x] & 0x7fff) < 16383 - 40;
  if (tiny && kind !== 1) {
    // sin x = tan x = x (1 -+ x^2/3...): x itself, rounded as hardware does (inexact).
    f.copy(RES, x);
    f.flags |= PE;
    f.set(RES2, 16383, 0x80000000, 0);
    if (kind === 3) {
      // cos of a tiny number rounds to 1 (or just below it when rounding down).
      ddToSlot(f, RES2, 1, -Math.pow(2, -120), 0);
    }
    return true;
  }
  reduce(valHi, valLo);
  sincosDD(redHi, redLo);
  let sh = sinH,
    sl = sinL,
    ch = cosH,
    cl = cosL;
  switch (redQ) {
    case 1: {
      const th = sh,
        tl = sl;
      sh = ch;
      sl = cl;
      ch = -th;
      cl = -tl;
      break;
    }
    case 2:
      sh = -sh;
      sl = -sl;
      ch = -ch;
      cl = -cl;
      break;
    case 3: {
      const th = sh,
        tl = sl;
      sh = -ch;
      sl = -cl;
      ch = th;
      cl = tl;
      break;
    }
  }
  if (kind === 0) ddToSlot(f, RES, sh, sl, 0);
  else if (kind === 1) ddToSlot(f, RES, ch, cl, 0);
  else if (kind === 2) {
    ddDiv(sh, sl, ch, cl);
    ddToSlot(f, RES, ddHi, ddLo, 0);
  } else {
    ddToSlot(f, RES, sh, sl, 0);
    ddToSlot(f, RES2, ch, cl, 0);
  }
  return true;
}

// ---------------------------------------------------------------- logs and exponentials

const LN2_H = 0.6931471805599453,
  LN2_L = 2.3190468138462996e-17;

/** ln(1 + u) for |u| small-ish, double-double, via atanh series: 2 atanh(u / (2 + u)). */
function log1pDD(uh: number, ul: number): void {
  ddAdd(uh, ul, 2, 0);
  ddDiv(uh, ul, ddHi, ddLo);
  const zh = ddHi,
    zl = ddLo;
  ddMul(zh, zl, zh, zl);
  const z2h = ddHi,
    z2l = ddLo;
  let th = zh,
    tl = zl,
    sh = zh,
    sl = zl;
  for (let n = 1; n < 200; n++) {
    ddMul(th, tl, z2h, z2l);
    th = ddHi;
    tl = ddLo;
    ddDiv(th, tl, 2 * n + 1, 0);
    const ah = ddHi,
      al = ddLo;
    ddAdd(sh, sl, ah, al);
    sh = ddHi;
    sl = ddLo;
    if (Math.abs(ah) < 1e-36 * Math.abs(sh)) break;
  }
  ddHi = 2 * sh;
  ddLo = 2 * sl;
}

/** log2 of a positive finite slot as double-double. */
function log2DD(f: X87, s: number, plusOne: boolean): void {
  slotToDD(f, s);
  let mh = valHi,
    ml = valLo,
    e = valScale;
  if (plusOne) {
    // x + 1 where x is within the FYL2XP1 range: compute ln(1+x) directly.
    const k = 2 ** e;
    log1pDD(mh * k, ml * k);
  } else {
    // m in [1, 2): bring it to [sqrt(1/2), sqrt(2)) so ln(m) = log1p(m - 1) converges fast.
    if (mh > Math.SQRT2) {
      mh /= 2;
      ml /= 2;
      e += 1;
    }
    ddAdd(mh, ml, -1, 0);
    log1pDD(ddHi, ddLo);
  }
  // log2 = ln / ln2 + e
  ddDiv(ddHi, ddLo, LN2_H, LN2_L);
  if (!plusOne) ddAdd(ddHi, ddLo, e, 0);
}

/** FYL2X (plusOne false) / FYL2XP1: RES = y * log2(x [+1]). */
export function ylog2(f: X87, x: number, y: number, plusOne: boolean): void {
  const cx = f.classify(x),
    cy = f.classify(y);
  if (cx === Cls.Unsupported || cy === Cls.Unsupported) return invalid(f);
  const nx = cx === Cls.QNaN || cx === Cls.SNaN,
    ny = cy === Cls.QNaN || cy === Cls.SNaN;
  if (nx || ny) {
    // Same rules as the arithmetic: reuse add's NaN selection through a NaN + NaN.
    f.add(x, y, false);
    return;
  }
  const sx = f.se[x] >> 15,
    sy = f.se[y] >> 15;
  if (!plusOne && sx === 1 && cx !== Cls.Zero) return invalid(f);
  if (cx === Cls.Denormal || cy === Cls.Denormal) {
    f.flags |= DE;
    if ((f.cw & DE) === 0) return;
  }
  if (!plusOne) {
    if (cx === Cls.Zero) {
      if (cy === Cls.Zero) return invalid(f);
      if (cy === Cls.Inf) return (f.setInf(RES, sy ^ 1), undefined);
      f.flags |= ZE;
      f.setInf(RES, sy ^ 1);
      return;
    }
    if (cx === Cls.Inf) {
      if (cy === Cls.Zero) return invalid(f);
      f.setInf(RES, sy);
      return;
    }
    // x finite positive: log2(x) sign
    const isOne = (f.se[x] & 0x7fff) === 16383 && f.hi[x] === 0x80000000 && f.lo[x] === 0;
    if (cy === Cls.Inf) {
      if (isOne) return invalid(f);
      const l2neg = (f.se[x] & 0x7fff) < 16383;
      f.setInf(RES, sy ^ (l2neg ? 1 : 0));
      return;
    }
    if (isOne || cy === Cls.Zero) {
      const l2neg = (f.se[x] & 0x7fff) < 16383;
      f.setZero(RES, sy ^ (isOne ? 0 : l2neg ? 1 : 0));
      return;
    }
  } else {
    if (cx === Cls.Zero) {
      if (cy === Cls.Inf) return invalid(f);
      f.setZero(RES, sx ^ sy);
      return;
    }
    if (cy === Cls.Zero) {
      if (cx === Cls.Inf) return invalid(f);
      f.setZero(RES, sx ^ sy);
      return;
    }
    if (cx === Cls.Inf || cy === Cls.Inf) {
      if (cx === Cls.Inf && sx === 1) return invalid(f);
      f.setInf(RES, sx ^ sy);
      return;
    }
  }
  log2DD(f, x, plusOne);
  const lh = ddHi,
    ll = ddLo;
  slotToDD(f, y);
  const yh = valHi,
    yl = valLo,
    ys = valScale;
  ddMul(lh, ll, yh, yl);
  ddToSlot(f, RES, ddHi, ddLo, ys);
}

/** FPATAN: RES = atan2(y, x) (y = ST(1), x = ST(0)). */
export function atan2x(f: X87, y: number, x: number): void {
  const cx = f.classify(x),
    cy = f.classify(y);
  if (cx === Cls.Unsupported || cy === Cls.Unsupported) return invalid(f);
  if (cx === Cls.QNaN || cx === Cls.SNaN || cy === Cls.QNaN || cy === Cls.SNaN) {
    f.add(y, x, false);
    return;
  }
  if (cx === Cls.Denormal || cy === Cls.Denormal) {
    f.flags |= DE;
    if ((f.cw & DE) === 0) return;
  }
  const sx = f.se[x] >> 15,
    sy = f.se[y] >> 15;
  // Reduce both to double-doubles with a common scale.
  let xh: number,
    xl = 0,
    yh: number,
    yl = 0;
  let ex = 0,
    ey = 0;
  if (cx === Cls.Inf) xh = sx ? -Infinity : Infinity;
  else if (cx !== Cls.Zero) {
    slotToDD(f, x);
    xh = valHi;
    xl = valLo;
    ex = valScale;
  } else xh = sx ? -0 : 0;
  if (cy === Cls.Inf) yh = sy ? -Infinity : Infinity;
  else if (cy !== Cls.Zero) {
    slotToDD(f, y);
    yh = valHi;
    yl = valLo;
    ey = valScale;
  } else yh = sy ? -0 : 0;
  if (cx === Cls.Zero || cy === Cls.Zero || cx === Cls.Inf || cy === Cls.Inf) {
    const r = Math.atan2(yh, xh);
    if (r === 0 || Object.is(r, -0)) f.setZero(RES, sy);
    else {
      // Multiples of pi/4 exactly rounded.
      const k = Math.round(r / (Math.PI / 4));
      piMultiple(f, k, sy);
    }
    return;
  }
  // Scale so the ratio is formed without overflow: only ey - ex matters.
  const d = ey - ex;
  if (d > 900) {
    piMultiple(f, 2, sy);
    return;
  }
  if (d < -900) {
    // |y/x| tiny: atan2 = y/x (x > 0) or +-pi (x < 0).
    if (sx) piMultiple(f, 4, sy);
    else {
      f.div(y, x);
      f.flags |= PE;
    }
    return;
  }
  const sc = 2 ** d;
  yh *= sc;
  yl *= sc;
  atanDD(yh, yl, xh, xl);
  ddToSlot(f, RES, ddHi, ddLo, 0);
}

function piMultiple(f: X87, k: number, sign: number): void {
  // k * pi/4 as a double-double, rounded once.
  const PI_H = 3.141592653589793,
    PI_L = 1.2246467991473532e-16;
  const q = Math.abs(k);
  ddMul(PI_H, PI_L, q / 4, 0);
  ddToSlot(f, RES, sign ? -ddHi : ddHi, sign ? -ddLo : ddLo, 0);
}

/** atan2 in double-double: a double estimate refined by one Newton step on tan. */
function atanDD(yh: number, yl: number, xh: number, xl: number): void {
  let th = Math.atan2(yh, xh),
    tl = 0;
  for (let it = 0; it < 2; it++) {
    // t -= (sin t * x - cos t * y) / (cos t * x + sin t * y)
    reduce(th, tl);
    sincosDD(redHi, redLo);
    let sh = sinH,
      sl = sinL,
      ch = cosH,
      cl = cosL;
    switch (redQ) {
      case 1: {
        const a = sh,
          b = sl;
        sh = ch;
        sl = cl;
        ch = -a;
        cl = -b;
        break;
      }
      case 2:
        sh = -sh;
        sl = -sl;
        ch = -ch;
        cl = -cl;
        break;
      case 3: {
        const a = sh,
          b = sl;
        sh = -ch;
        sl = -cl;
        ch = a;
        cl = b;
        break;
      }
    }
    ddMul(sh, sl, xh, xl);
    const ah = ddHi,
      al = ddLo;
    ddMul(ch, cl, yh, yl);
    ddAdd(ah, al, -ddHi, -ddLo);
    const nh = ddHi,
      nl = ddLo;
    ddMul(ch, cl, xh, xl);
    const bh = ddHi,
      bl = ddLo;
    ddMul(sh, sl, yh, yl);
    ddAdd(bh, bl, ddHi, ddLo);
    ddDiv(nh, nl, ddHi, ddLo);
    ddAdd(th, tl, -ddHi, -ddLo);
    th = ddHi;
    tl = ddLo;
  }
  ddHi = th;
  ddLo = tl;
}

/** F2XM1: RES = 2^x - 1 for -1 <= x <= 1. */
export function exp2m1(f: X87, x: number): void {
  const c = f.classify(x);
  if (c === Cls.Unsupported) return invalid(f);
  if (c === Cls.QNaN || c === Cls.SNaN) {
    if (c === Cls.SNaN) f.flags |= IE;
    f.set(RES, f.se[x], (f.hi[x] | 0x40000000) >>> 0, f.lo[x]);
    return;
  }
  if (c === Cls.Zero) return f.copy(RES, x);
  if (c === Cls.Inf) {
    if (f.se[x] >> 15) f.set(RES, 0xbfff, 0x80000000, 0);
    else f.copy(RES, x);
    return;
  }
  if (c === Cls.Denormal) {
    f.flags |= DE;
    if ((f.cw & DE) === 0) return;
  }
  slotValue(f, x);
  // 2^x - 1 = expm1(x ln 2); series in double-double.
  ddMul(valHi, valLo, LN2_H, LN2_L);
  const zh = ddHi,
    zl = ddLo;
  if (Math.abs(zh) < 1e-300) {
    ddToSlot(f, RES, zh, zl, 0);
    return;
  }
  let th = zh,
    tl = zl,
    sh = zh,
    sl = zl;
  for (let n = 2; n < 60; n++) {
    ddMul(th, tl, zh, zl);
    ddDiv(ddHi, ddLo, n, 0);
    th = ddHi;
    tl = ddLo;
    ddAdd(sh, sl, th, tl);
    sh = ddHi;
    sl = ddLo;
    if (Math.abs(th) < 1e-36 * Math.abs(sh)) break;
  }
  ddToSlot(f, RES, sh, sl, 0);
}

function invalid(f: X87): void {
  f.flags |= IE;
  f.setIndefinite(RES);
}

/** Bits of a double, for tests. */
export function doubleBits(v: number): [number, number] {
  F64[0] = v;
  return [U32[1], U32[0]];
}
