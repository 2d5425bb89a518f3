// The x87 floating-point unit: eight 80-bit registers, the control, status and tag words,
// and exact extended-precision arithmetic under every precision and rounding control.
//
// Registers and temporaries live in typed arrays: slot s holds sign and biased exponent in
// `se[s]` and the 64-bit significand (explicit integer bit included) as two unsigned 32-bit
// halves `hi[s]`, `lo[s]`. Slots 0–7 are the physical registers; ST(i) is slot
// (TOP + i) & 7. Slots 8 and up are scratch for memory operands, results and constants.
//
// Arithmetic works on an unpacked form: a sign, an unbounded biased exponent and a
// normalised significand of 96 bits (hi:lo:ext) plus a sticky bit. `round()` turns that
// into a register or memory-format value, raising precision, underflow and overflow as the
// hardware does (tininess is detected after rounding; unmasked overflow and underflow to a
// register rebias the exponent by 24576). Nothing here allocates or uses BigInt.

/** Status-word bits. */
export const IE = 0x1,
  DE = 0x2,
  ZE = 0x4,
  OE = 0x8,
  UE = 0x10,
  PE = 0x20,
  SF = 0x40,
  ES = 0x80,
  C0 = 0x100,
  C1 = 0x200,
  C2 = 0x400,
  C3 = 0x4000,
  BUSY = 0x8000;
export const CC = C0 | C1 | C2 | C3;

/** Operand classes, as `classify()` reports them. */
export const enum Cls {
  Zero = 0,
  Normal = 1,
  Denormal = 2,
  Inf = 3,
  QNaN = 4,
  SNaN = 5,
  Unsupported = 6,
}

// Scratch slots.
export const T0 = 8,
  T1 = 9,
  T2 = 10,
  RES = 11,
  RES2 = 12,
  K = 13;

const BIAS = 16383;
/** Biased extended exponents of the smallest and largest normal single and double. */
export const SGL_MIN = BIAS - 126,
  SGL_MAX = BIAS + 127,
  DBL_MIN = BIAS - 1022,
  DBL_MAX = BIAS + 1023,
  EXT_MIN = 1,
  EXT_MAX = 0x7ffe;
const WRAP = 24576;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const TWO32 = 4294967296;

/**
 * Result of sub3: three limbs, d1 and d0 of 32 bits, d2 the rest. An object with a fixed
 * shape, reused, so that the long-division loops calling sub3 allocate nothing.
 */
export const diff3 = { d2: 0, d1: 0, d0: 0 };

/** a2:a1:a0 - b2:b1:b0 (the first not below the second), borrowing across limbs, into diff3. */
export function sub3(a2: number, a1: number, a0: number, b2: number, b1: number, b0: number): void {
  let d0 = a0 - b0,
    br = 0;
  if (d0 < 0) {
    d0 += TWO32;
    br = 1;
  }
  let d1 = a1 - b1 - br;
  br = 0;
  if (d1 < 0) {
    d1 += TWO32;
    br = 1;
  }
  diff3.d2 = a2 - b2 - br;
  diff3.d1 = d1;
  diff3.d0 = d0;
}

/** Precision in bits for each precision-control setting (the reserved 01 acts as 64 on this
 *  machine's CPU, which the FPU kit checks). */
const PRECISION = [24, 64, 53, 64];

/** 66-bit constants (hi, lo, two more bits, and whether the rest is nonzero), for FLDxx. */
// log2(10), log2(e), pi, log10(2), ln(2) as 1.xxx * 2^e significands.
const CONSTS: readonly (readonly [number, number, number, number])[] = [
  // hi, lo, biased exponent, the bits after the 64th as a 32-bit word
  [0xd49a784b, 0xcd1b8afe, BIAS + 1, 0x492bf6ff], // log2(10) = 3.3219...
  [0xb8aa3b29, 0x5c17f0bb, BIAS, 0xbe87fed0], // log2(e) = 1.4426...
  [0xc90fdaa2, 0x2168c234, BIAS + 1, 0xc4c6628b], // pi
  [0x9a209a84, 0xfbcff798, BIAS - 2, 0x8f8959ac], // log10(2)
  [0xb17217f7, 0xd1cf79ab, BIAS - 1, 0xc9e3b398], // ln(2)
];

export class X87 {
  /** Control word (FNINIT: 0x037F). */
  cw = 0x37f;
  /** Status word without TOP (bits 11–13 are kept in `top`). */
  sw = 0;
  top = 0;
  /** Bit i set: physical register i is empty. */
  empty = 0xff;
  // The last non-control instruction and its memory operand (FSTENV/FSAVE).
  fip = 0;
  fcs = 0;
  fop = 0;
  fdp = 0;
  fds = 0;

  readonly se = new Uint16Array(16);
  readonly hi = new Uint32Array(16);
  readonly lo = new Uint32Array(16);

  /** A scratch slot holding a denormal single or double operand (normal as an extended). */
  memDenormal = -1;
  /** Exceptions raised by the operation in progress (IE..PE, SF). */
  flags = 0;
  /** The last rounding incremented the magnitude (C1 after an inexact result). */
  up = 0;

  // Unpacked operands a and b, and the work value w.
  private aS = 0;
  private aE = 0;
  private aHi = 0;
  private aLo = 0;
  private bS = 0;
  private bE = 0;
  private bHi = 0;
  private bLo = 0;
  private wS = 0;
  private wE = 0;
  private wHi = 0;
  private wLo = 0;
  private wX = 0;
  private wSt = 0;
  // Output of norm64: three numbers come back through fields rather than an array or
  // object so the per-instruction paths stay free of allocation.
  private nE = 0;
  private nHi = 0;
  private nLo = 0;

  /** 64-bit integer results of `toInt`, and 32-bit pieces of memory formats. */
  r0 = 0;
  r1 = 0;
  r2 = 0;

  constructor() {
    this.init();
  }

  init(): void {
    this.cw = 0x37f;
    this.sw = 0;
    this.top = 0;
    this.empty = 0xff;
    this.fip = this.fcs = this.fop = this.fdp = this.fds = 0;
  }

  /** Every architectural bit of the FPU as 34 integers. */
  snapshot(): Int32Array {
    const s = new Int32Array(34);
    s[0] = this.cw;
    s[1] = this.sw;
    s[2] = this.top;
    s[3] = this.empty;
    s[4] = this.fip;
    s[5] = this.fcs;
    s[6] = this.fop;
    s[7] = this.fdp;
    s[8] = this.fds;
    for (let i = 0; i < 8; i++) {
      s[10 + i * 3] = this.se[i];
      s[11 + i * 3] = this.hi[i];
      s[12 + i * 3] = this.lo[i];
    }
    return s;
  }

  /** Load a snapshot() (null: the FNINIT state, registers kept). */
  restore(s: Int32Array | null): void {
    if (s === null) return this.init();
    this.cw = s[0];
    this.sw = s[1];
    this.top = s[2];
    this.empty = s[3];
    this.fip = s[4] >>> 0;
    this.fcs = s[5];
    this.fop = s[6];
    this.fdp = s[7] >>> 0;
    this.fds = s[8];
    for (let i = 0; i < 8; i++) this.set(i, s[10 + i * 3], s[11 + i * 3] >>> 0, s[12 + i * 3] >>> 0);
  }

  // ------------------------------------------------------------------ words

  /** The status word with TOP. */
  status(): number {
    return (this.sw & ~0x3800) | (this.top << 11);
  }

  setStatus(v: number): void {
    this.top = (v >> 11) & 7;
    this.sw = v & 0xc7ff;
    this.syncSummary();
  }

  /** ES and B follow whether any unmasked exception is pending. */
  syncSummary(): void {
    if (this.sw & ~this.cw & 0x3f) this.sw |= ES | BUSY;
    else this.sw &= ~(ES | BUSY);
  }

  /** The full tag word computed from the registers (00 valid, 01 zero, 10 special, 11 empty). */
  tagWord(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) {
      let tag: number;
      if (this.empty & (1 << p)) tag = 3;
      else {
        const c = this.classify(p);
        tag = c === Cls.Normal ? 0 : c === Cls.Zero ? 1 : 2;
      }
      t |= tag << (p * 2);
    }
    return t;
  }

  setTagWord(t: number): void {
    let e = 0;
    for (let p = 0; p < 8; p++) if (((t >> (p * 2)) & 3) === 3) e |= 1 << p;
    this.empty = e;
  }

  rc(): number {
    return (this.cw >> 10) & 3;
  }

  // ------------------------------------------------------------------ slots

  phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return (this.empty & (1 << ((this.top + i) & 7))) !== 0;
  }

  copy(d: number, s: number): void {
    this.se[d] = this.se[s];
    this.hi[d] = this.hi[s];
    this.lo[d] = this.lo[s];
  }

  /** Copy a finite operand as a result: a pseudo-denormal becomes the normal it denotes. */
  canon(d: number, s: number): void {
    this.copy(d, s);
    if ((this.se[d] & 0x7fff) === 0 && this.hi[d] >= 0x80000000) this.se[d] |= 1;
  }

  set(d: number, se: number, hi: number, lo: number): void {
    this.se[d] = se;
    this.hi[d] = hi;
    this.lo[d] = lo;
  }

  setIndefinite(d: number): void {
    this.set(d, 0xffff, 0xc0000000, 0);
  }

  setZero(d: number, sign: number): void {
    this.set(d, sign << 15, 0, 0);
  }

  setInf(d: number, sign: number): void {
    this.set(d, (sign << 15) | 0x7fff, 0x80000000, 0);
  }

  classify(s: number): Cls {
    const e = this.se[s] & 0x7fff;
    const h = this.hi[s];
    if (e === 0) return (h | this.lo[s]) === 0 ? Cls.Zero : Cls.Denormal;
    if ((h & 0x80000000) === 0) return Cls.Unsupported;
    if (e === 0x7fff) {
      if ((h & 0x7fffffff) === 0 && this.lo[s] === 0) return Cls.Inf;
      return h & 0x40000000 ? Cls.QNaN : Cls.SNaN;
    }
    return s === this.memDenormal ? Cls.Denormal : Cls.Normal;
  }

  sign(s: number): number {
    return this.se[s] >> 15;
  }

  // ------------------------------------------------------------------ unpacking

  private unpackA(s: number): void {
    this.aS = this.se[s] >> 15;
    let e = this.se[s] & 0x7fff;
    let h = this.hi[s];
    let l = this.lo[s];
    if (e === 0) {
      // A denormal's exponent field 0 stands for the same scale as 1.
      this.norm64(h, l, 1);
      e = this.nE;
      h = this.nHi;
      l = this.nLo;
    }
    this.aE = e;
    this.aHi = h;
    this.aLo = l;
  }

  /** Load slot s, exactly, into the work value with the given sign (ready to round). */
  private loadW(s: number, sign: number): void {
    this.unpackA(s);
    this.wS = sign;
    this.wE = this.aE;
    this.wHi = this.aHi;
    this.wLo = this.aLo;
    this.wX = 0;
    this.wSt = 0;
  }

  private unpackB(s: number): void {
    this.unpackA(s);
    this.bS = this.aS;
    this.bE = this.aE;
    this.bHi = this.aHi;
    this.bLo = this.aLo;
  }

  /**
   * Shift the 64-bit significand h:l left until bit 63 is set, lowering the exponent e
   * to match; the result is left in nE, nHi, nLo. The significand must be nonzero.
   */
  private norm64(h: number, l: number, e: number): void {
    if (h === 0) {
      h = l;
      l = 0;
      e -= 32;
    }
    const n = Math.clz32(h);
    if (n) {
      h = ((h << n) | (l >>> (32 - n))) >>> 0;
      l = (l << n) >>> 0;
      e -= n;
    }
    this.nE = e;
    this.nHi = h;
    this.nLo = l;
  }

  /** Normalise the work significand (nonzero) to bit 95 set. */
  private normW(): void {
    let h = this.wHi,
      l = this.wLo,
      x = this.wX,
      e = this.wE;
    while (h === 0) {
      h = l;
      l = x;
      x = 0;
      e -= 32;
    }
    const n = Math.clz32(h);
    if (n) {
      h = ((h << n) | (l >>> (32 - n))) >>> 0;
      l = ((l << n) | (x >>> (32 - n))) >>> 0;
      x = (x << n) >>> 0;
      e -= n;
    }
    this.wHi = h;
    this.wLo = l;
    this.wX = x;
    this.wE = e;
  }

  /** Shift the work significand right by n (n >= 0), collecting sticky bits. */
  private shiftW(n: number): void {
    let h = this.wHi,
      l = this.wLo,
      x = this.wX,
      st = this.wSt;
    if (n >= 96) {
      if (h | l | x) st = 1;
      h = l = x = 0;
    } else {
      while (n >= 32) {
        if (x) st = 1;
        x = l;
        l = h;
        h = 0;
        n -= 32;
      }
      if (n) {
        if (x << (32 - n)) st = 1;
        x = ((x >>> n) | (l << (32 - n))) >>> 0;
        l = ((l >>> n) | (h << (32 - n))) >>> 0;
        h = h >>> n;
      }
    }
    this.wHi = h;
    this.wLo = l;
    this.wX = x;
    this.wSt = st;
  }

  // ------------------------------------------------------------------ rounding

  /** Whether a significand (all ones in its top p bits) rounds up to the next power of two. */
  private carriesOut(h: number, l: number, x: number, st: number, p: number, sign: number): boolean {
    let ones: boolean, rb: number, sb: boolean, lsb: number;
    if (p === 64) {
      ones = h === 0xffffffff && l === 0xffffffff;
      rb = x >>> 31;
      sb = (x & 0x7fffffff) !== 0 || st !== 0;
      lsb = 1;
    } else if (p === 53) {
      ones = h === 0xffffffff && l >>> 11 === 0x1fffff;
      rb = (l >>> 10) & 1;
      sb = (l & 0x3ff) !== 0 || x !== 0 || st !== 0;
      lsb = 1;
    } else {
      ones = h >>> 8 === 0xffffff;
      rb = (h >>> 7) & 1;
      sb = (h & 0x7f) !== 0 || l !== 0 || x !== 0 || st !== 0;
      lsb = 1;
    }
    if (!ones) return false;
    return this.increments(rb, sb, lsb, sign);
  }

  private increments(rb: number, sb: boolean, lsb: number, sign: number): boolean {
    if (rb === 0 && !sb) return false;
    switch (this.rc()) {
      case 0:
        return rb !== 0 && (sb || lsb !== 0);
      case 1:
        return sign === 1;
      case 2:
        return sign === 0;
      default:
        return false;
    }
  }

  /**
   * Round the work value (nonzero, normalised) to p bits within biased exponents
   * [eMin, eMax], into slot d. `reg` says the destination is a register: unmasked overflow
   * and underflow then deliver the result with the exponent rebiased; to memory they leave
   * the slot unspecified (the caller stores nothing). Adds to `flags`, sets `up`.
   */
  round(d: number, p: number, eMin: number, eMax: number, reg: boolean): void {
    const sign = this.wS;
    let e = this.wE;
    let tiny = false;
    if (e < eMin) {
      tiny = e < eMin - 1 || !this.carriesOut(this.wHi, this.wLo, this.wX, this.wSt, p, sign);
      if (tiny && (this.cw & UE) === 0 && (!reg || e + WRAP >= eMin)) {
        this.flags |= UE;
        if (!reg) return;
        e += WRAP;
        tiny = false;
      } else if (tiny || e < eMin) {
        this.shiftW(eMin - e);
        e = eMin;
      }
    }
    let h = this.wHi,
      l = this.wLo;
    const x = this.wX,
      st = this.wSt;
    let rb: number, sb: boolean, lsb: number;
    if (p === 64) {
      rb = x >>> 31;
      sb = (x & 0x7fffffff) !== 0 || st !== 0;
      lsb = l & 1;
    } else if (p === 53) {
      rb = (l >>> 10) & 1;
      sb = (l & 0x3ff) !== 0 || x !== 0 || st !== 0;
      lsb = (l >>> 11) & 1;
      l = (l & ~0x7ff) >>> 0;
    } else {
      rb = (h >>> 7) & 1;
      sb = (h & 0x7f) !== 0 || l !== 0 || x !== 0 || st !== 0;
      lsb = (h >>> 8) & 1;
      h = (h & ~0xff) >>> 0;
      l = 0;
    }
    const inexact = rb !== 0 || sb;
    const up = this.increments(rb, sb, lsb, sign);
    if (up) {
      if (p === 64) {
        l += 1;
        if (l >= TWO32) {
          l = 0;
          h += 1;
        }
      } else if (p === 53) {
        l += 0x800;
        if (l >= TWO32) {
          l -= TWO32;
          h += 1;
        }
      } else h += 0x100;
      if (h >= TWO32) {
        h = 0x80000000;
        e += 1;
      }
    }
    if (e > eMax) {
      if ((this.cw & OE) === 0 && reg && e - WRAP > eMax) {
        // Too large even for the rebiased exponent: infinity, whatever the rounding.
        this.flags |= OE | PE;
        this.setInf(d, sign);
        this.up = 1;
        return;
      }
      if ((this.cw & OE) === 0) {
        if (!reg) {
          // To memory: nothing is stored, and only OE is reported.
          this.flags |= OE;
          this.up = 0;
          return;
        }
        this.flags |= OE | (inexact ? PE : 0);
        this.up = up ? 1 : 0;
        e -= WRAP;
      } else {
        this.flags |= OE | PE;
        const rc = this.rc();
        const inf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
        if (inf) this.setInf(d, sign);
        else {
          const mh = p === 24 ? 0xffffff00 : 0xffffffff;
          const ml = p === 64 ? 0xffffffff : p === 53 ? 0xfffff800 : 0;
          this.set(d, (sign << 15) | eMax, mh, ml);
        }
        this.up = inf ? 1 : 0;
        return;
      }
    }
    if (inexact) {
      this.flags |= PE;
      if (tiny) this.flags |= UE;
    }
    this.up = up ? 1 : 0;
    if (h === 0 && l === 0) {
      this.setZero(d, sign);
      return;
    }
    if (h < 0x80000000) {
      // Denormal at eMin: in extended format the exponent field is 0; for the narrower
      // formats the value is kept as a normalised extended number.
      if (eMin === EXT_MIN) e = 0;
      else {
        this.norm64(h, l, e);
        e = this.nE;
        h = this.nHi;
        l = this.nLo;
      }
    }
    this.set(d, (sign << 15) | e, h, l);
  }

  /** Round the work value to a register under the precision control. */
  private roundReg(d: number): void {
    this.round(d, PRECISION[(this.cw >> 8) & 3], EXT_MIN, EXT_MAX, true);
  }

  // ------------------------------------------------------------------ NaNs and specials

  /** Quiet NaN of slot s into d. */
  private quiet(d: number, s: number): void {
    this.set(d, this.se[s], (this.hi[s] | 0x40000000) >>> 0, this.lo[s]);
  }

  /**
   * A denormal operand raises DE. Returns true when DE is unmasked: the instruction then
   * stops before computing, leaving its destination as it was.
   */
  denormalStops(c: Cls): boolean {
    if (c !== Cls.Denormal) return false;
    this.flags |= DE;
    return (this.cw & DE) === 0;
  }

  /** denormalStops for two operands: one DE however many of them are denormal. */
  denormalStops2(cx: Cls, cy: Cls): boolean {
    return this.denormalStops(cx === Cls.Denormal ? cx : cy);
  }

  /**
   * Shared operand screening of a two-operand arithmetic instruction: unsupported formats
   * and NaNs. Returns true when the result (in RES) is decided.
   */
  private nanPair(x: number, y: number, cx: Cls, cy: Cls): boolean {
    if (cx === Cls.Unsupported || cy === Cls.Unsupported) {
      this.invalid();
      return true;
    }
    const nx = cx === Cls.QNaN || cx === Cls.SNaN;
    const ny = cy === Cls.QNaN || cy === Cls.SNaN;
    if (!nx && !ny) return false;
    if (cx === Cls.SNaN || cy === Cls.SNaN) this.flags |= IE;
    if (nx && ny) {
      // Two NaNs: a QNaN beats an SNaN, otherwise the larger significand.
      let pick = x;
      if (cx !== cy) pick = cx === Cls.QNaN ? x : y;
      else {
        const hx = this.hi[x] & 0x3fffffff,
          hy = this.hi[y] & 0x3fffffff;
        if (hy > hx || (hy === hx && this.lo[y] > this.lo[x])) pick = y;
        else if (hy === hx && this.lo[y] === this.lo[x] && this.se[y] < this.se[x]) pick = y;
      }
      this.quiet(RES, pick);
    } else this.quiet(RES, nx ? x : y);
    return true;
  }

  private invalid(): void {
    this.flags |= IE;
    this.setIndefinite(RES);
  }

  // ------------------------------------------------------------------ arithmetic

  /** RES = x + y (negate: x - y), rounded under PC/RC. */
  add(x: number, y: number, negate: boolean): void {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (this.nanPair(x, y, cx, cy)) return;
    const sx = this.sign(x),
      sy = this.sign(y) ^ (negate ? 1 : 0);
    if (cx === Cls.Inf || cy === Cls.Inf) {
      if (cx === Cls.Inf && cy === Cls.Inf && sx !== sy) this.invalid();
      else {
        if (cx === Cls.Denormal || cy === Cls.Denormal) this.flags |= DE;
        this.setInf(RES, cx === Cls.Inf ? sx : sy);
      }
      return;
    }
    if (this.denormalStops2(cx, cy)) return;
    if (cx === Cls.Zero && cy === Cls.Zero) {
      this.setZero(RES, sx === sy ? sx : this.rc() === 1 ? 1 : 0);
      return;
    }
    if (cx === Cls.Zero || cy === Cls.Zero) {
      const s = cx === Cls.Zero ? y : x;
      this.loadW(s, cx === Cls.Zero ? sy : sx);
      this.roundReg(RES);
      return;
    }
    this.unpackB(y);
    this.unpackA(x);
    this.aS = sx;
    this.bS = sy;
    this.addCore();
    if (this.wHi === 0 && this.wLo === 0 && this.wX === 0 && this.wSt === 0) {
      this.setZero(RES, this.rc() === 1 ? 1 : 0);
      return;
    }
    this.roundReg(RES);
  }

  /** w = a + b (signs in aS, bS), both finite nonzero and unpacked. */
  private addCore(): void {
    let aS = this.aS,
      aE = this.aE,
      aHi = this.aHi,
      aLo = this.aLo;
    let bS = this.bS,
      bE = this.bE,
      bHi = this.bHi,
      bLo = this.bLo;
    if (aE < bE || (aE === bE && (aHi < bHi || (aHi === bHi && aLo < bLo)))) {
      let t = aS;
      aS = bS;
      bS = t;
      t = aE;
      aE = bE;
      bE = t;
      t = aHi;
      aHi = bHi;
      bHi = t;
      t = aLo;
      aLo = bLo;
      bLo = t;
    }
    this.wHi = bHi;
    this.wLo = bLo;
    this.wX = 0;
    this.wSt = 0;
    this.shiftW(aE - bE);
    const h = this.wHi,
      l = this.wLo,
      x = this.wX,
      st = this.wSt;
    this.wS = aS;
    this.wE = aE;
    if (aS === bS) {
      let rl = aLo + l;
      let c = 0;
      if (rl >= TWO32) {
        rl -= TWO32;
        c = 1;
      }
      const rh = aHi + h + c;
      this.wX = x;
      this.wLo = rl;
      if (rh >= TWO32) {
        this.wHi = rh - TWO32;
        this.shiftW(1);
        this.wHi = (this.wHi | 0x80000000) >>> 0;
        this.wE = aE + 1;
      } else this.wHi = rh;
      return;
    }
    // |a| >= |b|: subtract, the sticky bits of b borrowing one unit below ext.
    let rx = 0 - x - st;
    let borrow = 0;
    if (rx < 0) {
      rx += TWO32;
      borrow = 1;
    }
    let rl = aLo - l - borrow;
    borrow = 0;
    if (rl < 0) {
      rl += TWO32;
      borrow = 1;
    }
    const rh = aHi - h - borrow;
    this.wHi = rh;
    this.wLo = rl;
    this.wX = rx;
    this.wSt = st;
    if (rh === 0 && rl === 0 && rx === 0) {
      if (st === 0) return;
    }
    this.normW();
  }

  /** RES = x * y. */
  mul(x: number, y: number): void {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (this.nanPair(x, y, cx, cy)) return;
    const s = this.sign(x) ^ this.sign(y);
    if (cx === Cls.Inf || cy === Cls.Inf) {
      if (cx === Cls.Zero || cy === Cls.Zero) this.invalid();
      else {
        if (cx === Cls.Denormal || cy === Cls.Denormal) this.flags |= DE;
        this.setInf(RES, s);
      }
      return;
    }
    if (this.denormalStops2(cx, cy)) return;
    if (cx === Cls.Zero || cy === Cls.Zero) {
      this.setZero(RES, s);
      return;
    }
    this.unpackB(y);
    this.unpackA(x);
    this.wS = s;
    this.mulCore();
    this.roundReg(RES);
  }

  /** w = a * b significands, exponent aE + bE. */
  private mulCore(): void {
    const a0 = this.aLo & 0xffff,
      a1 = this.aLo >>> 16,
      a2 = this.aHi & 0xffff,
      a3 = this.aHi >>> 16;
    const b0 = this.bLo & 0xffff,
      b1 = this.bLo >>> 16,
      b2 = this.bHi & 0xffff,
      b3 = this.bHi >>> 16;
    let t = a0 * b0;
    const r0 = t % 65536;
    t = (t - r0) / 65536 + a0 * b1 + a1 * b0;
    const r1 = t % 65536;
    t = (t - r1) / 65536 + a0 * b2 + a1 * b1 + a2 * b0;
    const r2 = t % 65536;
    t = (t - r2) / 65536 + a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
    const r3 = t % 65536;
    t = (t - r3) / 65536 + a1 * b3 + a2 * b2 + a3 * b1;
    const r4 = t % 65536;
    t = (t - r4) / 65536 + a2 * b3 + a3 * b2;
    const r5 = t % 65536;
    t = (t - r5) / 65536 + a3 * b3;
    const r6 = t % 65536;
    const r7 = (t - r6) / 65536;
    const w0 = r0 + r1 * 65536,
      w1 = r2 + r3 * 65536,
      w2 = r4 + r5 * 65536,
      w3 = r6 + r7 * 65536;
    this.wSt = 0;
    if (w3 >= 0x80000000) {
      this.wHi = w3;
      this.wLo = w2;
      this.wX = w1;
      this.wSt = w0 !== 0 ? 1 : 0;
      this.wE = this.aE + this.bE - BIAS + 1;
    } else {
      this.wHi = ((w3 << 1) | (w2 >>> 31)) >>> 0;
      this.wLo = ((w2 << 1) | (w1 >>> 31)) >>> 0;
      this.wX = ((w1 << 1) | (w0 >>> 31)) >>> 0;
      this.wSt = (w0 & 0x7fffffff) !== 0 ? 1 : 0;
      this.wE = this.aE + this.bE - BIAS;
    }
  }

  /** RES = x / y. */
  div(x: number, y: number): void {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (this.nanPair(x, y, cx, cy)) return;
    const s = this.sign(x) ^ this.sign(y);
    if (cx === Cls.Inf) {
      if (cy === Cls.Inf) this.invalid();
      else {
        if (cy === Cls.Denormal) this.flags |= DE;
        this.setInf(RES, s);
      }
      return;
    }
    if (cy === Cls.Inf) {
      if (cx === Cls.Denormal) this.flags |= DE;
      this.setZero(RES, s);
      return;
    }
    if (cy === Cls.Zero) {
      if (cx === Cls.Zero) this.invalid();
      else {
        this.flags |= ZE;
        this.setInf(RES, s);
      }
      return;
    }
    if (this.denormalStops2(cx, cy)) return;
    if (cx === Cls.Zero) {
      this.setZero(RES, s);
      return;
    }
    this.unpackB(y);
    this.unpackA(x);
    this.wS = s;
    this.divCore();
    this.roundReg(RES);
  }

  /** w = a / b by restoring long division: 66 quotient bits and a sticky remainder. */
  private divCore(): void {
    let rh = this.aHi,
      rl = this.aLo;
    const dh = this.bHi,
      dl = this.bLo;
    let e = this.aE - this.bE + BIAS;
    if (rh < dh || (rh === dh && rl < dl)) {
      rh = rh * 2 + (rl >>> 31);
      rl = (rl << 1) >>> 0;
      e -= 1;
    }
    let qh = 0,
      ql = 0,
      qx = 0;
    for (let i = 0; i < 66; i++) {
      let bit = 0;
      if (rh > dh || (rh === dh && rl >= dl)) {
        rl -= dl;
        let b = 0;
        if (rl < 0) {
          rl += TWO32;
          b = 1;
        }
        rh = rh - dh - b;
        bit = 1;
      }
      if (i < 32) qh = qh * 2 + bit;
      else if (i < 64) ql = ql * 2 + bit;
      else qx = qx * 2 + bit;
      rh = rh * 2 + (rl >>> 31);
      rl = (rl << 1) >>> 0;
    }
    this.wHi = qh;
    this.wLo = ql;
    this.wX = qx * 0x40000000;
    this.wSt = rh !== 0 || rl !== 0 ? 1 : 0;
    this.wE = e;
  }

  /** RES = sqrt(x). */
  sqrt(x: number): void {
    const cx = this.classify(x);
    if (cx === Cls.Unsupported) return this.invalid();
    if (cx === Cls.SNaN || cx === Cls.QNaN) {
      if (cx === Cls.SNaN) this.flags |= IE;
      this.quiet(RES, x);
      return;
    }
    const s = this.sign(x);
    if (cx === Cls.Zero) {
      this.copy(RES, x);
      return;
    }
    if (s === 1) return this.invalid();
    if (cx === Cls.Inf) {
      this.copy(RES, x);
      return;
    }
    if (this.denormalStops(cx)) return;
    this.unpackA(x);
    const t = this.aE - BIAS - 63;
    const k = (t & 1) === 0 ? 68 : 67;
    // Integer square root of N = sig << k, two bits at a time from bit 131 down. The root
    // has 66 bits; the remainder fits three words.
    const sh = this.aHi,
      sl = this.aLo;
    let q2 = 0,
      q1 = 0,
      q0 = 0; // root (up to 66 bits)
    let m2 = 0,
      m1 = 0,
      m0 = 0; // remainder
    for (let i = 65; i >= 0; i--) {
      // rem = rem * 4 + next two bits
      const j = 2 * i - k; // bit index into sig of the lower of the two bits
      let two = 0;
      if (j + 1 >= 0 && j + 1 < 64) two |= ((j + 1 >= 32 ? sh >>> (j + 1 - 32) : sl >>> (j + 1)) & 1) << 1;
      if (j >= 0 && j < 64) two |= (j >= 32 ? sh >>> (j - 32) : sl >>> j) & 1;
      m2 = ((m2 << 2) | (m1 >>> 30)) >>> 0;
      m1 = ((m1 << 2) | (m0 >>> 30)) >>> 0;
      m0 = ((m0 << 2) | two) >>> 0;
      // trial = root * 4 + 1
      const t2 = ((q2 << 2) | (q1 >>> 30)) >>> 0;
      const t1 = ((q1 << 2) | (q0 >>> 30)) >>> 0;
      const t0 = ((q0 << 2) | 1) >>> 0;
      const ge = m2 > t2 || (m2 === t2 && (m1 > t1 || (m1 === t1 && m0 >= t0)));
      q2 = ((q2 << 1) | (q1 >>> 31)) >>> 0;
      q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
      q0 = (q0 << 1) >>> 0;
      if (ge) {
        sub3(m2, m1, m0, t2, t1, t0);
        m2 = diff3.d2;
        m1 = diff3.d1;
        m0 = diff3.d0;
        q0 = (q0 | 1) >>> 0;
      }
    }
    // root: bits 65..0 in q2:q1:q0 -> top 64 bits hi:lo, two more bits into ext.
    this.wS = 0;
    this.wHi = ((q2 << 30) | (q1 >>> 2)) >>> 0;
    this.wLo = ((q1 << 30) | (q0 >>> 2)) >>> 0;
    this.wX = ((q0 & 3) << 30) >>> 0;
    this.wSt = m2 !== 0 || m1 !== 0 || m0 !== 0 ? 1 : 0;
    this.wE = BIAS + 65 + (t - k) / 2;
    this.roundReg(RES);
  }

  // ------------------------------------------------------------------ comparisons

  /**
   * Compare x with y: returns 0 (x > y), 1 (x < y), 2 (equal), 3 (unordered). `quietNaN`:
   * QNaNs compare unordered without IE (FUCOM); otherwise any NaN raises IE.
   */
  compare(x: number, y: number, unordered: boolean): number {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (cx === Cls.Unsupported || cy === Cls.Unsupported) {
      this.flags |= IE;
      return 3;
    }
    const nx = cx === Cls.QNaN || cx === Cls.SNaN,
      ny = cy === Cls.QNaN || cy === Cls.SNaN;
    if (nx || ny) {
      if (!unordered || cx === Cls.SNaN || cy === Cls.SNaN) this.flags |= IE;
      return 3;
    }
    if (cx === Cls.Denormal || cy === Cls.Denormal) this.flags |= DE;
    if (cx === Cls.Zero && cy === Cls.Zero) return 2;
    const sx = this.sign(x),
      sy = this.sign(y);
    if (cx === Cls.Zero) return sy ? 0 : 1;
    if (cy === Cls.Zero) return sx ? 1 : 0;
    if (sx !== sy) return sx ? 1 : 0;
    // Same sign: compare magnitudes (denormals compare correctly as raw fields, and a
    // pseudo-denormal equals the normal number it denotes).
    this.unpackB(y);
    this.unpackA(x);
    let c = 0;
    if (this.aE !== this.bE) c = this.aE > this.bE ? 1 : -1;
    else if (this.aHi !== this.bHi) c = this.aHi > this.bHi ? 1 : -1;
    else if (this.aLo !== this.bLo) c = this.aLo > this.bLo ? 1 : -1;
    if (c === 0) return 2;
    if (sx) c = -c;
    return c > 0 ? 0 : 1;
  }

  // ------------------------------------------------------------------ conversions in

  /** Slot d = a signed integer given as 64 bits (hi, lo as uint32). Exact. */
  fromInt64(d: number, hi: number, lo: number): void {
    let s = 0;
    if (hi >= 0x80000000) {
      s = 1;
      lo = TWO32 - lo;
      hi = 0xffffffff - hi;
      if (lo === TWO32) {
        lo = 0;
        hi += 1;
      }
      hi = hi >>> 0;
    }
    if (hi === 0 && lo === 0) return this.setZero(d, 0);
    let e = BIAS + 63;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      e -= 32;
    }
    const n = Math.clz32(hi);
    if (n) {
      hi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
      lo = (lo << n) >>> 0;
      e -= n;
    }
    this.set(d, (s << 15) | e, hi, lo);
  }

  fromInt32(d: number, v: number): void {
    v |= 0;
    this.fromInt64(d, v < 0 ? 0xffffffff : 0, v >>> 0);
  }

  /** Slot d = the single whose bits are v; SNaNs stay signalling. Returns its class. */
  fromF32(d: number, v: number): Cls {
    const s = v >>> 31,
      e = (v >>> 23) & 0xff,
      f = v & 0x7fffff;
    if (e === 0xff) {
      this.set(d, (s << 15) | 0x7fff, (0x80000000 | (f << 8)) >>> 0, 0);
      return f === 0 ? Cls.Inf : f & 0x400000 ? Cls.QNaN : Cls.SNaN;
    }
    if (e === 0) {
      if (f === 0) {
        this.setZero(d, s);
        return Cls.Zero;
      }
      const n = Math.clz32(f) - 8; // shift to put the leading one at bit 23
      this.set(d, (s << 15) | (BIAS - 126 - n), (f << (8 + n)) >>> 0, 0);
      return Cls.Denormal;
    }
    this.set(d, (s << 15) | (e - 127 + BIAS), (0x80000000 | (f << 8)) >>> 0, 0);
    return Cls.Normal;
  }

  /** Slot d = the double whose bits are (hi, lo). Returns its class. */
  fromF64(d: number, hi: number, lo: number): Cls {
    const s = hi >>> 31,
      e = (hi >>> 20) & 0x7ff;
    const fh = hi & 0xfffff,
      fl = lo >>> 0;
    if (e === 0x7ff) {
      this.set(d, (s << 15) | 0x7fff, (0x80000000 | (fh << 11) | (fl >>> 21)) >>> 0, (fl << 11) >>> 0);
      if (fh === 0 && fl === 0) return Cls.Inf;
      return fh & 0x80000 ? Cls.QNaN : Cls.SNaN;
    }
    if (e === 0) {
      if (fh === 0 && fl === 0) {
        this.setZero(d, s);
        return Cls.Zero;
      }
      // Normalise the 52-bit fraction into a 64-bit significand.
      // Place the fraction as sig = f << 12 (bit 63 is where bit 51 of f lands + 1).
      this.norm64(((fh << 12) | (fl >>> 20)) >>> 0, (fl << 12) >>> 0, BIAS - 1022 - 1);
      this.set(d, (s << 15) | this.nE, this.nHi, this.nLo);
      return Cls.Denormal;
    }
    this.set(d, (s << 15) | (e - 1023 + BIAS), (0x80000000 | (fh << 11) | (fl >>> 21)) >>> 0, (fl << 11) >>> 0);
    return Cls.Normal;
  }

  /** Load a memory single/double for arithmetic: d = value; raises DE for denormals. */
  loadConst(d: number, which: number): void {
    // 0 = 1.0, 1..5 = the CONSTS table, 6 = +0.
    if (which === 0) return this.set(d, BIAS, 0x80000000, 0);
    if (which === 6) return this.setZero(d, 0);
    const k = CONSTS[which - 1];
    let h = k[0],
      l = k[1],
      e = k[2];
    const x = k[3];
    // Rounded to 64 bits by RC (precision control does not apply).
    const rb = x >>> 31;
    const sb = (x & 0x7fffffff) !== 0;
    if (this.increments(rb, sb, l & 1, 0)) {
      l += 1;
      if (l >= TWO32) {
        l = 0;
        h += 1;
        if (h >= TWO32) {
          h = 0x80000000;
          e++;
        }
      }
    }
    this.set(d, e, h >>> 0, l >>> 0);
  }

  // ------------------------------------------------------------------ conversions out

  /**
   * Round slot s to a memory single (reg=false): r0 = the bits. NaNs are truncated (an SNaN
   * quieted with IE). Adds to flags.
   */
  toF32(s: number): void {
    const c = this.classify(s);
    const sign = this.sign(s);
    switch (c) {
      case Cls.Zero:
        this.r0 = (sign << 31) >>> 0;
        return;
      case Cls.Inf:
        this.r0 = ((sign << 31) | 0x7f800000) >>> 0;
        return;
      case Cls.SNaN:
      case Cls.QNaN:
        if (c === Cls.SNaN) this.flags |= IE;
        this.r0 = ((sign << 31) | 0x7fc00000 | ((this.hi[s] >>> 8) & 0x3fffff)) >>> 0;
        return;
      case Cls.Unsupported:
        this.flags |= IE;
        this.r0 = 0xffc00000;
        return;
    }
    this.loadW(s, sign);
    this.round(RES2, 24, SGL_MIN, SGL_MAX, false);
    this.r0 = this.packF32(RES2);
  }

  private packF32(s: number): number {
    const sign = this.sign(s);
    const e = this.se[s] & 0x7fff;
    const h = this.hi[s];
    if (e === 0x7fff) return ((sign << 31) | 0x7f800000 | ((h >>> 8) & 0x7fffff)) >>> 0;
    if (e === 0 && h === 0) return (sign << 31) >>> 0;
    if (e < SGL_MIN) return ((sign << 31) | (h >>> (8 + SGL_MIN - e))) >>> 0;
    return ((sign << 31) | ((e - SGL_MIN + 1) << 23) | ((h >>> 8) & 0x7fffff)) >>> 0;
  }

  /** Round slot s to a memory double: r1:r0 = the bits (high, low). */
  toF64(s: number): void {
    const c = this.classify(s);
    const sign = this.sign(s);
    switch (c) {
      case Cls.Zero:
        this.r1 = (sign << 31) >>> 0;
        this.r0 = 0;
        return;
      case Cls.Inf:
        this.r1 = ((sign << 31) | 0x7ff00000) >>> 0;
        this.r0 = 0;
        return;
      case Cls.SNaN:
      case Cls.QNaN:
        if (c === Cls.SNaN) this.flags |= IE;
        this.r1 = ((sign << 31) | 0x7ff80000 | ((this.hi[s] >>> 11) & 0x7ffff)) >>> 0;
        this.r0 = ((this.hi[s] << 21) | (this.lo[s] >>> 11)) >>> 0;
        return;
      case Cls.Unsupported:
        this.flags |= IE;
        this.r1 = 0xfff80000;
        this.r0 = 0;
        return;
    }
    this.loadW(s, sign);
    this.round(RES2, 53, DBL_MIN, DBL_MAX, false);
    this.packF64(RES2);
  }

  private packF64(s: number): void {
    const sign = this.sign(s);
    const e = this.se[s] & 0x7fff;
    let h = this.hi[s],
      l = this.lo[s];
    if (e === 0x7fff) {
      this.r1 = ((sign << 31) | 0x7ff00000 | ((h >>> 11) & 0xfffff)) >>> 0;
      this.r0 = ((h << 21) | (l >>> 11)) >>> 0;
      return;
    }
    if (e === 0 && h === 0) {
      this.r1 = (sign << 31) >>> 0;
      this.r0 = 0;
      return;
    }
    let ef = e - DBL_MIN + 1;
    if (ef <= 0) {
      // Denormal: shift the significand right so the integer bit lands on bit 52 - (1 - ef).
      let n = 1 - ef;
      while (n >= 32) {
        l = h;
        h = 0;
        n -= 32;
      }
      if (n) {
        l = ((l >>> n) | (h << (32 - n))) >>> 0;
        h = h >>> n;
      }
      ef = 0;
    }
    this.r1 = ((sign << 31) | (ef << 20) | ((h >>> 11) & 0xfffff)) >>> 0;
    this.r0 = ((h << 21) | (l >>> 11)) >>> 0;
  }

  /**
   * Round slot s to an integer under RC into the work value; returns the class-decided
   * outcome: 0 ok (sign in wS, magnitude in r1:r0, r2 = 1 when it needs more than 64 bits),
   * 1 NaN/infinity/unsupported (invalid). Sets PE/up.
   */
  private roundToInt(s: number): number {
    const c = this.classify(s);
    this.r2 = 0;
    if (c === Cls.Inf || c === Cls.QNaN || c === Cls.SNaN || c === Cls.Unsupported) return 1;
    const sign = this.sign(s);
    this.wS = sign;
    this.up = 0;
    if (c === Cls.Zero) {
      this.r1 = this.r0 = 0;
      return 0;
    }
    this.unpackA(s);
    const shift = BIAS + 63 - this.aE;
    if (shift <= 0) {
      // |x| >= 2^63: an integer already; 2^64 or more does not fit.
      this.r1 = this.aHi;
      this.r0 = this.aLo;
      if (shift < 0) this.r2 = 1;
      return 0;
    }
    this.wHi = this.aHi;
    this.wLo = this.aLo;
    this.wX = 0;
    this.wSt = 0;
    this.shiftW(shift);
    const rb = this.wX >>> 31;
    const sb = (this.wX & 0x7fffffff) !== 0 || this.wSt !== 0;
    let h = this.wHi,
      l = this.wLo;
    if (rb || sb) {
      this.flags |= PE;
      if (this.increments(rb, sb, l & 1, sign)) {
        this.up = 1;
        l += 1;
        if (l >= TWO32) {
          l = 0;
          h += 1;
          if (h >= TWO32) {
            h = 0;
            this.r2 = 1;
          }
        }
      }
    }
    this.r1 = h;
    this.r0 = l;
    return 0;
  }

  /**
   * Convert slot s to a signed integer of `bits` (16, 32, 64) under RC: r1:r0 = the two's
   * complement value (r1 unused below 64 bits). Out of range and NaN raise IE and give the
   * integer indefinite.
   */
  toInt(s: number, bits: number): void {
    const flagsBefore = this.flags;
    let bad = this.roundToInt(s) !== 0 || this.r2 !== 0;
    let h = this.r1,
      l = this.r0;
    const neg = this.wS === 1;
    if (!bad) {
      if (bits === 64) {
        if (h > 0x80000000 || (h === 0x80000000 && (l !== 0 || !neg)) || (h === 0x80000000 && !neg)) bad = true;
      } else {
        const limit = bits === 32 ? 0x80000000 : 0x8000;
        if (h !== 0 || l > limit || (l === limit && !neg)) bad = true;
      }
    }
    if (bad) {
      this.flags = flagsBefore | IE;
      this.up = 0;
      this.r1 = bits === 64 ? 0x80000000 : 0;
      this.r0 = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
      return;
    }
    if (neg && (h | l) !== 0) {
      l = TWO32 - l;
      h = 0xffffffff - h;
      if (l === TWO32) {
        l = 0;
        h += 1;
      }
    }
    this.r1 = h >>> 0;
    this.r0 = bits === 16 ? l & 0xffff : l >>> 0;
  }

  /** RES = x rounded to an integer under RC (FRNDINT). */
  roundInt(x: number): void {
    const c = this.classify(x);
    if (c === Cls.Unsupported) return this.invalid();
    if (c === Cls.SNaN || c === Cls.QNaN) {
      if (c === Cls.SNaN) this.flags |= IE;
      return this.quiet(RES, x);
    }
    if (c === Cls.Zero || c === Cls.Inf) return this.copy(RES, x);
    if (this.denormalStops(c)) return;
    this.unpackA(x);
    if (this.aE >= BIAS + 63) {
      this.copy(RES, x);
      return;
    }
    this.roundToInt(x);
    if (this.r2) {
      this.set(RES, (this.wS << 15) | (BIAS + 64), 0x80000000, 0);
      return;
    }
    const sign = this.wS;
    if ((this.r1 | this.r0) === 0) return this.setZero(RES, sign);
    this.fromInt64(RES, this.r1, this.r0);
    this.se[RES] = (this.se[RES] & 0x7fff) | (sign << 15);
  }

  /** Decimal: slot d = the packed BCD in ten bytes (b[0] lowest). Exact. */
  fromBcd(d: number, bytes: Uint8Array): void {
    let h = 0,
      l = 0;
    for (let i = 8; i >= 0; i--) {
      const b = bytes[i];
      for (let k = 0; k < 2; k++) {
        // value = value * 10 + digit (digits above 9 count as their value)
        const digit = k === 0 ? b >> 4 : b & 15;
        const lo10 = l * 10 + digit;
        const carry = Math.floor(lo10 / TWO32);
        l = lo10 - carry * TWO32;
        h = (h * 10 + carry) % TWO32;
      }
    }
    const s = bytes[9] >> 7;
    if (h === 0 && l === 0) return this.setZero(d, s);
    this.fromInt64(d, h, l);
    this.se[d] = (this.se[d] & 0x7fff) | (s << 15);
  }

  /** Slot s rounded under RC into packed BCD bytes; IE and the BCD indefinite when it cannot. */
  toBcd(s: number, out: Uint8Array): void {
    const flagsBefore = this.flags;
    const bad = this.roundToInt(s) !== 0 || this.r2 !== 0;
    let h = this.r1,
      l = this.r0;
    // 10^18 = 0x0DE0B6B3_A7640000
    if (bad || h > 0x0de0b6b3 || (h === 0x0de0b6b3 && l >= 0xa7640000)) {
      this.flags = flagsBefore | IE;
      this.up = 0;
      out.fill(0);
      out[7] = 0xc0;
      out[8] = 0xff;
      out[9] = 0xff;
      return;
    }
    for (let i = 0; i < 9; i++) {
      let pair = 0;
      for (let k = 0; k < 2; k++) {
        const qh = Math.floor(h / 10);
        const rh = h - qh * 10;
        const t = rh * TWO32 + l;
        const ql = Math.floor(t / 10);
        const digit = t - ql * 10;
        h = qh;
        l = ql;
        pair |= digit << (4 * k);
      }
      out[i] = pair;
    }
    out[9] = this.wS << 7;
  }

  // ------------------------------------------------------------------ the other exact ones

  /**
   * FPREM (nearest=false) / FPREM1: RES = partial remainder of x by y. Returns the quotient's
   * low three bits (bit 3 set when the reduction is partial: C2).
   */
  rem(x: number, y: number, nearest: boolean): number {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (this.nanPair(x, y, cx, cy)) return -1;
    if (cx === Cls.Inf || cy === Cls.Zero) {
      this.invalid();
      return -1;
    }
    if (this.denormalStops2(cx, cy)) return -1;
    if (cy === Cls.Inf || cx === Cls.Zero) {
      this.canon(RES, x);
      return 0;
    }
    this.unpackB(y);
    this.unpackA(x);
    const sx = this.aS;
    const d = this.aE - this.bE;
    if (d < 0 && !(nearest && d === -1)) {
      this.canon(RES, x);
      return 0;
    }
    let n = d,
      partial = false;
    if (d >= 64) {
      n = 32 + ((d - 64) & 31);
      partial = true;
    }
    // R = sigX, q = floor(sigX * 2^n / sigY) bit by bit.
    let rh = this.aHi,
      rl = this.aLo;
    const yh = this.bHi,
      yl = this.bLo;
    let q = 0;
    let rExp = this.bE;
    if (d < 0) {
      // FPREM1 with |x| in [|y|/2, |y|): the quotient rounds to 0 or 1.
      rExp = this.aE;
    } else {
      for (let i = 0; i <= n; i++) {
        if (i) {
          rh = rh * 2 + (rl >>> 31);
          rl = (rl << 1) >>> 0;
        }
        q = (q * 2) & 7;
        if (rh > yh || (rh === yh && rl >= yl)) {
          rl -= yl;
          let b = 0;
          if (rl < 0) {
            rl += TWO32;
            b = 1;
          }
          rh = rh - yh - b;
          q |= 1;
        }
      }
      if (partial) rExp = this.bE + (d - n);
    }
    let s = sx;
    if (nearest && !partial) {
      // Compare 2R with Y (or, for d == -1, R = x itself against Y at exponent bE).
      let cmp: number;
      if (d < 0) {
        // x = sigX * 2^(aE), y = sigY * 2^(bE) with aE = bE - 1: 2|x| vs |y| is sigX vs sigY.
        cmp = rh > yh || (rh === yh && rl > yl) ? 1 : rh === yh && rl === yl ? 0 : -1;
        rExp = this.bE - 1;
      } else {
        const th = rh * 2 + (rl >>> 31),
          tl = (rl << 1) >>> 0;
        cmp = th > yh || (th === yh && tl > yl) ? 1 : th === yh && tl === yl ? 0 : -1;
      }
      if (cmp > 0 || (cmp === 0 && (q & 1) === 1)) {
        // R = Y - R (at Y's exponent), the sign flips, the quotient goes up by one.
        if (d < 0) {
          // |y| - |x| with x at exponent bE - 1: in units of bE - 1, 2*sigY - sigX.
          let th = yh * 2 + (yl >>> 31);
          let tl = ((yl << 1) >>> 0) - rl;
          let b = 0;
          if (tl < 0) {
            tl += TWO32;
            b = 1;
          }
          th = th - rh - b;
          rh = th;
          rl = tl;
        } else {
          let tl = yl - rl,
            b = 0;
          if (tl < 0) {
            tl += TWO32;
            b = 1;
          }
          rh = yh - rh - b;
          rl = tl;
        }
        s ^= 1;
        q = (q + 1) & 7;
      }
    }
    if (rh === 0 && rl === 0) {
      this.setZero(RES, sx);
      return q | (partial ? 8 : 0);
    }
    this.wS = s;
    this.wHi = rh;
    this.wLo = rl;
    this.wX = 0;
    this.wSt = 0;
    this.wE = rExp;
    // rh may exceed 32 bits transiently only before the subtraction; here R < Y < 2^64.
    this.normW();
    this.round(RES, 64, EXT_MIN, EXT_MAX, true);
    return q | (partial ? 8 : 0);
  }

  /** FSCALE: RES = x * 2^trunc(y). */
  scale(x: number, y: number): void {
    const cx = this.classify(x),
      cy = this.classify(y);
    if (this.nanPair(x, y, cx, cy)) return;
    const sy = this.sign(y);
    if (cy === Cls.Inf) {
      if ((cx === Cls.Zero && sy === 0) || (cx === Cls.Inf && sy === 1)) return this.invalid();
      if (cx === Cls.Denormal) this.flags |= DE;
      if (cx === Cls.Zero || cx === Cls.Inf) return this.copy(RES, x);
      if (sy === 0) this.setInf(RES, this.sign(x));
      else this.setZero(RES, this.sign(x));
      return;
    }
    if (this.denormalStops2(cx, cy)) return;
    if (cx === Cls.Zero || cx === Cls.Inf) return this.copy(RES, x);
    // n = trunc(y), clamped: anything beyond +-2^16 overflows or underflows anyway.
    let n = 0;
    if (cy !== Cls.Zero) {
      this.unpackB(y);
      const ue = this.bE - BIAS;
      if (ue >= 16) n = 70000;
      else if (ue >= 0) n = this.bHi >>> (31 - ue);
      if (sy) n = -n;
    }
    this.unpackA(x);
    this.wS = this.aS;
    this.wE = this.aE + n;
    this.wHi = this.aHi;
    this.wLo = this.aLo;
    this.wX = 0;
    this.wSt = 0;
    this.round(RES, 64, EXT_MIN, EXT_MAX, true);
  }

  /** FXTRACT: RES = significand (exponent 0), RES2 = exponent as a number. */
  extract(x: number): void {
    const c = this.classify(x);
    if (c === Cls.Unsupported) {
      this.invalid();
      this.copy(RES2, RES);
      return;
    }
    if (c === Cls.SNaN || c === Cls.QNaN) {
      if (c === Cls.SNaN) this.flags |= IE;
      this.quiet(RES, x);
      this.copy(RES2, RES);
      return;
    }
    const s = this.sign(x);
    if (c === Cls.Zero) {
      this.flags |= ZE;
      this.setInf(RES2, 1);
      this.setZero(RES, s);
      return;
    }
    if (c === Cls.Inf) {
      this.setInf(RES2, 0);
      this.copy(RES, x);
      return;
    }
    if (this.denormalStops(c)) return;
    this.unpackA(x);
    this.fromInt32(RES2, this.aE - BIAS);
    this.set(RES, (s << 15) | BIAS, this.aHi, this.aLo);
  }

  // ------------------------------------------------------------------ transcendentals

  /** The value of slot s as a double (for the transcendentals' argument reduction). */
  toNumber(s: number): number {
    const c = this.classify(s);
    const sign = this.sign(s) ? -1 : 1;
    if (c === Cls.Zero) return sign * 0;
    if (c === Cls.Inf) return sign * Infinity;
    if (c === Cls.QNaN || c === Cls.SNaN || c === Cls.Unsupported) return NaN;
    this.unpackA(s);
    return sign * (this.aHi * TWO32 + this.aLo) * Math.pow(2, this.aE - BIAS - 63);
  }

  /** RES = (x + y) * 2^scale for doubles x, y, rounded once to 64 bits under RC. */
  sumScaled(x: number, y: number, scale: number): void {
    this.fromNumber(T1, x);
    if (y === 0) {
      this.unpackA(T1);
      this.wS = this.aS;
      this.wE = this.aE + scale;
      this.wHi = this.aHi;
      this.wLo = this.aLo;
      this.wX = 0;
      this.wSt = 0;
    } else {
      this.fromNumber(T2, y);
      this.unpackB(T2);
      this.unpackA(T1);
      this.addCore();
      this.wE += scale;
    }
    this.round(RES, 64, EXT_MIN, EXT_MAX, true);
  }

  /** Slot d = the double v, exactly. */
  fromNumber(d: number, v: number): void {
    F64[0] = v;
    this.fromF64(d, U32[1], U32[0]);
  }
}
