// The x87 transcendental instructions' arithmetic: FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
// F2XM1, FYL2X, FYL2XP1. Special operands (zeros, infinities, NaNs, out-of-range
// arguments) follow the Intel tables; finite results are computed in double-double
// arithmetic (about 106 bits) on significands with the binary scale kept apart, and rounded
// once to the extended format under RC. Like the hardware, FSIN/FCOS/FSINCOS/FPTAN reduce
// their argument exactly modulo a 66-bit approximation of pi/2, which decides the result's
// low bits for large arguments.

import { X87, Cls, IE, ZE, PE, RES, RES2, sub3, diff3 } from './x87';

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

/** Slot s (finite, nonzero) as a significand in [1, 2) (double-double, signed) and a scale. */
let valHi = 0,
  valLo = 0,
  valScale = 0;
function slotToDD(f: X87, s: number): void {
  let e = f.se[s] & 0x7fff;
  const sign = f.se[s] >> 15 ? -1 : 1;
  let h = f.hi[s],
    l = f.lo[s];
  if (e === 0) {
    // Denormal: normalise.
    e = 1;
    while (h < 0x80000000) {
      h = ((h << 1) | (l >>> 31)) >>> 0;
      l = (l << 1) >>> 0;
      e -= 1;
    }
  }
  valScale = e - 16383;
  twoSum(h * 2 ** -31, l * 2 ** -63);
  valHi = sign * ddHi;
  valLo = sign * ddLo;
}

/** Slot d = (hi + lo) * 2^scale, rounded once to 64 bits under RC (always inexact). */
function ddToSlot(f: X87, d: number, hi: number, lo: number, scale: number): void {
  f.sumScaled(hi, lo, scale);
  if (d !== RES) f.copy(d, RES);
  f.flags |= PE;
}

/** A term far below the last bit, to make a rounding direction visible (x - tiny). */
const STEER = 2 ** -120;

// ---------------------------------------------------------------- sin/cos/tan

// pi/2 as the hardware has it: the 66-bit integer P times 2^-65 (P = pi * 2^64, truncated).
const P2 = 0x3,
  P1 = 0x243f6a88,
  P0 = 0x85a308d3;
const TWO32 = 4294967296;

let redHi = 0,
  redLo = 0,
  redQ = 0;

/**
 * Reduce |x| = m * 2^s * 2^-65 (m the 64-bit significand hi:lo, s >= 1) modulo P: the
 * nearest multiple, its quadrant in redQ and the exact remainder r = R * 2^-65 as a
 * double-double in redHi/redLo.
 */
function reduce(mh: number, ml: number, s: number): void {
  let r2 = 0,
    r1 = 0,
    r0 = 0,
    q = 0;
  const bits = 64 + s;
  for (let i = 0; i < bits; i++) {
    const b = bits - 1 - i - s;
    const bit = b >= 0 ? (b >= 32 ? (mh >>> (b - 32)) & 1 : (ml >>> b) & 1) : 0;
    r2 = r2 * 2 + (r1 >>> 31);
    r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
    r0 = ((r0 << 1) | bit) >>> 0;
    q = (q * 2) & 3;
    if (r2 > P2 || (r2 === P2 && (r1 > P1 || (r1 === P1 && r0 >= P0)))) {
      sub3(r2, r1, r0, P2, P1, P0);
      r2 = diff3.d2;
      r1 = diff3.d1;
      r0 = diff3.d0;
      q |= 1;
    }
  }
  // Round to the nearest multiple: if 2R > P, take R - P.
  const t2 = r2 * 2 + (r1 >>> 31),
    t1 = ((r1 << 1) | (r0 >>> 31)) >>> 0,
    t0 = (r0 << 1) >>> 0;
  let sign = 1;
  if (t2 > P2 || (t2 === P2 && (t1 > P1 || (t1 === P1 && t0 > P0)))) {
    sub3(P2, P1, P0, r2, r1, r0);
    r2 = diff3.d2;
    r1 = diff3.d1;
    r0 = diff3.d0;
    sign = -1;
    q = (q + 1) & 3;
  }
  twoSum(r2 * 2 ** 64 + r1 * TWO32, r0);
  redHi = sign * ddHi * 2 ** -65;
  redLo = sign * ddLo * 2 ** -65;
  redQ = q;
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
  let th = rh,
    tl = rl,
    sh = rh,
    sl = rl;
  let uh = 1,
    ul = 0,
    ch = 1,
    cl = 0;
  for (let n = 1; n < 40; n++) {
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
    if (Math.abs(th) <= 1e-36 * Math.abs(sh) && Math.abs(uh) <= 1e-36) break;
  }
  sinH = sh;
  sinL = sl;
  cosH = ch;
  cosL = cl;
}

/**
 * sin and cos of r + q * pi/2 (q in 0..3, |r| <= pi/4) into sinH/sinL, cosH/cosL: the
 * quadrant only swaps and negates the series results.
 */
function sincosQuadrant(rh: number, rl: number, q: number): void {
  sincosDD(rh, rl);
  const sh = sinH,
    sl = sinL,
    ch = cosH,
    cl = cosL;
  switch (q) {
    case 1:
      sinH = ch;
      sinL = cl;
      cosH = -sh;
      cosL = -sl;
      break;
    case 2:
      sinH = -sh;
      sinL = -sl;
      cosH = -ch;
      cosL = -cl;
      break;
    case 3:
      sinH = -ch;
      sinL = -cl;
      cosH = sh;
      cosL = sl;
      break;
  }
}

const ONE_SE = 16383;

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
  if (f.denormalStops(c)) return true;
  if (c === Cls.Zero) {
    f.copy(RES, x);
    f.set(RES2, ONE_SE, 0x80000000, 0);
    if (kind === 1) f.copy(RES, RES2);
    return true;
  }
  slotToDD(f, x);
  const neg = valHi < 0;
  const mh = Math.abs(valHi),
    ml = neg ? -valLo : valLo,
    e = valScale;
  if (e < -40) {
    // sin x = x - x^3/6, tan x = x + x^3/3, cos x = 1 - x^2/2: the second term only steers
    // the rounding.
    const sgn = neg ? -1 : 1;
    if (kind === 1 || kind === 3) ddToSlot(f, RES, 1, -STEER, 0);
    if (kind === 3) f.copy(RES2, RES);
    if (kind === 0 || kind === 3) ddToSlot(f, RES, sgn * mh, -sgn * mh * STEER, e);
    else if (kind === 2) ddToSlot(f, RES, sgn * mh, sgn * mh * STEER, e);
    return true;
  }
  let rh: number, rl: number, q: number;
  if (e < -1) {
    rh = mh * 2 ** e;
    rl = ml * 2 ** e;
    q = 0;
  } else {
    // The significand as a 64-bit integer: |x| = sig * 2^(e - 63) = sig * 2^(e + 2) * 2^-65.
    reduce(f.hi[x], f.lo[x], e + 2);
    rh = redHi;
    rl = redLo;
    q = redQ;
  }
  sincosQuadrant(rh, rl, q);
  let sh = sinH,
    sl = sinL;
  const ch = cosH,
    cl = cosL;
  if (neg) {
    sh = -sh;
    sl = -sl;
  }
  if (kind === 0) ddToSlot(f, RES, sh, sl, 0);
  else if (kind === 1) ddToSlot(f, RES, ch, cl, 0);
  else if (kind === 2) {
    ddDiv(sh, sl, ch, cl);
    ddToSlot(f, RES, ddHi, ddLo, 0);
  } else {
    ddToSlot(f, RES2, ch, cl, 0);
    ddToSlot(f, RES, sh, sl, 0);
  }
  return true;
}

// ---------------------------------------------------------------- logs and exponentials

const LN2_H = 0.6931471805599453,
  LN2_L = 2.3190468138462996e-17;

/** ln(1 + u) for |u| <= 0.42, double-double, as 2 atanh(u / (2 + u)). */
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
    if (Math.abs(ah) <= 1e-36 * Math.abs(sh)) break;
  }
  ddHi = 2 * sh;
  ddLo = 2 * sl;
}

/** log2(m * 2^e) for m in [1, 2) as a double-double (in ddHi/ddLo). */
function log2Significand(mh0: number, ml0: number, e0: number): void {
  let mh = mh0,
    ml = ml0,
    e = e0;
  if (mh > Math.SQRT2) {
    mh /= 2;
    ml /= 2;
    e += 1;
  }
  ddAdd(mh, ml, -1, 0);
  if (ddHi === 0) {
    ddHi = e;
    ddLo = 0;
    return;
  }
  log1pDD(ddHi, ddLo);
  ddDiv(ddHi, ddLo, LN2_H, LN2_L);
  ddAdd(ddHi, ddLo, e, 0);
}

/** FYL2X (plusOne false) / FYL2XP1: RES = y * log2(x [+1]). */
export function ylog2(f: X87, x: number, y: number, plusOne: boolean): void {
  const cx = f.classify(x),
    cy = f.classify(y);
  if (cx === Cls.Unsupported || cy === Cls.Unsupported) return invalid(f);
  const nx = cx === Cls.QNaN || cx === Cls.SNaN,
    ny = cy === Cls.QNaN || cy === Cls.SNaN;
  if (nx || ny) {
    // The arithmetic's NaN rules: an addition of the two picks the same NaN.
    f.add(x, y, false);
    return;
  }
  const sx = f.se[x] >> 15,
    sy = f.se[y] >> 15;
  if (!plusOne && sx === 1 && cx !== Cls.Zero) return invalid(f);
  if (f.denormalStops2(cx, cy)) return;
  if (!plusOne) {
    if (cx === Cls.Zero) {
      if (cy === Cls.Zero) return invalid(f);
      if (cy !== Cls.Inf) f.flags |= ZE;
      f.setInf(RES, sy ^ 1);
      return;
    }
    if (cx === Cls.Inf) {
      if (cy === Cls.Zero) return invalid(f);
      f.setInf(RES, sy);
      return;
    }
    const isOne = (f.se[x] & 0x7fff) === 16383 && f.hi[x] === 0x80000000 && f.lo[x] === 0;
    const l2neg = (f.se[x] & 0x7fff) < 16383 ? 1 : 0;
    if (cy === Cls.Inf) {
      if (isOne) return invalid(f);
      f.setInf(RES, sy ^ l2neg);
      return;
    }
    if (isOne || cy === Cls.Zero) {
      f.setZero(RES, sy ^ (isOne ? 0 : l2neg));
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
  // L = log2(x) or log2(1 + x) as a double-double times 2^ls.
  slotToDD(f, x);
  let lh: number,
    ll: number,
    ls = 0;
  if (plusOne) {
    const e = valScale;
    if (valHi < 0 && e >= 0) {
      // 1 + x <= 0: the hardware hands back x.
      f.canon(RES, x);
      f.flags |= PE;
      return;
    }
    if (e < -60) {
      // log2(1 + x) = (x - x^2/2) / ln 2, x = m * 2^e.
      ddDiv(valHi, valLo, LN2_H, LN2_L);
      const h = ddHi,
        l = ddLo;
      ddAdd(h, l, -h * valHi * 2 ** (e - 1) - Math.abs(h) * STEER, 0);
      ls = e;
    } else if (e >= 1 && valHi > 0) {
      // log2(x) + log2(1 + 1/x).
      log2Significand(valHi, valLo, e);
      const gh = ddHi,
        gl = ddLo;
      ddDiv(1, 0, valHi, valLo);
      log1pDD(ddHi * 2 ** -e, ddLo * 2 ** -e);
      ddDiv(ddHi, ddLo, LN2_H, LN2_L);
      ddAdd(gh, gl, ddHi, ddLo);
    } else {
      // 1 + x exactly, then its logarithm.
      const k = 2 ** e;
      ddAdd(1, 0, valHi * k, valLo * k);
      const wh = ddHi,
        wl = ddLo;
      if (wh >= Math.SQRT1_2 && wh <= Math.SQRT2) {
        log1pDD(valHi * k, valLo * k);
        ddDiv(ddHi, ddLo, LN2_H, LN2_L);
      } else {
        const ke = Math.floor(Math.log2(wh));
        log2Significand(wh * 2 ** -ke, wl * 2 ** -ke, ke);
      }
    }
    lh = ddHi;
    ll = ddLo;
  } else {
    log2Significand(valHi, valLo, valScale);
    lh = ddHi;
    ll = ddLo;
  }
  slotToDD(f, y);
  ddMul(lh, ll, valHi, valLo);
  ddToSlot(f, RES, ddHi, ddLo, ls + valScale);
}

/** FPATAN: RES = the angle of (x, y) (y = ST(1), x = ST(0)). */
export function atan2x(f: X87, y: number, x: number): void {
  const cx = f.classify(x),
    cy = f.classify(y);
  if (cx === Cls.Unsupported || cy === Cls.Unsupported) return invalid(f);
  if (cx === Cls.QNaN || cx === Cls.SNaN || cy === Cls.QNaN || cy === Cls.SNaN) {
    f.add(y, x, false);
    return;
  }
  if (f.denormalStops2(cx, cy)) return;
  const sx = f.se[x] >> 15,
    sy = f.se[y] >> 15;
  if (cy === Cls.Zero) {
    // +-0, or +-pi when x is negative (including -0).
    if (sx) piMultiple(f, 4, sy);
    else f.setZero(RES, sy);
    return;
  }
  if (cx === Cls.Zero) return piMultiple(f, 2, sy);
  if (cy === Cls.Inf) return piMultiple(f, cx === Cls.Inf ? (sx ? 3 : 1) : 2, sy);
  if (cx === Cls.Inf) {
    if (sx) piMultiple(f, 4, sy);
    else f.setZero(RES, sy);
    return;
  }
  slotToDD(f, x);
  const xh = Math.abs(valHi),
    xl = valHi < 0 ? -valLo : valLo,
    ex = valScale;
  slotToDD(f, y);
  const yh = Math.abs(valHi),
    yl = valHi < 0 ? -valLo : valLo,
    ey = valScale;
  const d = ey - ex;
  if (d > 120) {
    // |y/x| huge: pi/2 - x/y.
    piMultiple(f, 2, sy, true);
    return;
  }
  if (d < -60) {
    // |y/x| tiny: the angle is t = |y/x| (x > 0) or pi - t.
    if (sx) return piMultiple(f, 4, sy, true);
    ddDiv(yh, yl, xh, xl);
    const s = sy ? -1 : 1;
    ddToSlot(f, RES, s * ddHi, s * (ddLo - ddHi * STEER), d);
    return;
  }
  atanDD(yh * 2 ** d, yl * 2 ** d, sx ? -xh : xh, sx ? -xl : xl);
  const s = sy ? -1 : 1;
  ddToSlot(f, RES, s * ddHi, s * ddLo, 0);
}

const PI_H = 3.141592653589793,
  PI_L = 1.2246467991473532e-16;

/** RES = sign * k * pi/4, rounded once; `less` steers the rounding just below it. */
function piMultiple(f: X87, k: number, sign: number, less = false): void {
  ddMul(PI_H, PI_L, k / 4, 0);
  const h = ddHi,
    l = ddLo - (less ? h * STEER : 0);
  ddToSlot(f, RES, sign ? -h : h, sign ? -l : l, 0);
}

/** atan2(y, x) (y >= 0) in double-double: a double estimate refined by Newton steps. */
function atanDD(yh: number, yl: number, xh: number, xl: number): void {
  let th = Math.atan2(yh, xh),
    tl = 0;
  for (let it = 0; it < 2; it++) {
    // t -= (sin t * x - cos t * y) / (cos t * x + sin t * y), with sin/cos of t near the
    // estimate (t in [0, pi]: reduce by pi/2 in double-double).
    let q = 0,
      rh = th,
      rl = tl;
    if (th > Math.PI / 4) {
      q = Math.round(th / (Math.PI / 2));
      ddMul(PI_H, PI_L, q / 2, 0);
      ddAdd(th, tl, -ddHi, -ddLo);
      rh = ddHi;
      rl = ddLo;
    }
    sincosQuadrant(rh, rl, q);
    const sh = sinH,
      sl = sinL,
      ch = cosH,
      cl = cosL;
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

/** F2XM1: RES = 2^x - 1 for -1 <= x <= 1; beyond that the hardware returns x. */
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
  if (f.denormalStops(c)) return;
  const e = (f.se[x] & 0x7fff) - 16383;
  if (e > 0 || (e === 0 && (f.hi[x] !== 0x80000000 || f.lo[x] !== 0))) {
    // Outside [-1, 1] the hardware hands back x, inexact.
    f.canon(RES, x);
    f.flags |= PE;
    return;
  }
  slotToDD(f, x);
  const s = valScale;
  // z = x ln 2 as a significand times 2^s.
  ddMul(valHi, valLo, LN2_H, LN2_L);
  const zh = ddHi,
    zl = ddLo;
  if (s < -60) {
    // expm1(z) = z + z^2/2: the second term at scale s is z^2/2 * 2^s.
    ddToSlot(f, RES, zh, zl + zh * zh * 2 ** (s - 1) + Math.abs(zh) * STEER, s);
    return;
  }
  const k = 2 ** s;
  const ah = zh * k,
    al = zl * k;
  let th = ah,
    tl = al,
    sh = ah,
    sl = al;
  for (let n = 2; n < 60; n++) {
    ddMul(th, tl, ah, al);
    ddDiv(ddHi, ddLo, n, 0);
    th = ddHi;
    tl = ddLo;
    ddAdd(sh, sl, th, tl);
    sh = ddHi;
    sl = ddLo;
    if (Math.abs(th) <= 1e-36 * Math.abs(sh)) break;
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
