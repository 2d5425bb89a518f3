// Lazy arithmetic flags. Most instructions that write OSZAPC are followed by one that reads
// at most ZF or CF (a Jcc), or by another that overwrites them all. So an arithmetic
// instruction only records its operands, result and kind; the six status flags are
// computed when somebody asks. `lazy` says which of the six currently live in the record
// rather than in `flags`.

export const CF = 0x0001;
export const PF = 0x0004;
export const AF = 0x0010;
export const ZF = 0x0040;
export const SF = 0x0080;
export const TF = 0x0100;
export const IF = 0x0200;
export const DF = 0x0400;
export const OF = 0x0800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const ID = 0x200000;

export const OSZAPC = OF | SF | ZF | AF | PF | CF;
export const OSZAP = OF | SF | ZF | AF | PF;

/** Kinds of flag-producing operations recorded in `Flags.op`. */
export const enum LazyOp {
  Add = 0,
  Sub = 1,
  Logic = 2,
  Inc = 3,
  Dec = 4,
}

/** PF is set when the low byte of a result has an even number of one bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b; b >>= 1) bits += b & 1;
  PARITY[i] = bits & 1 ? 0 : PF;
}

/**
 * The flag state of a core: `flags` holds EFLAGS with the lazily-kept bits stale; `op`,
 * `a`, `b`, `res` and `sizeBit` (7, 15 or 31: the sign bit of the operand size) describe
 * the last flag-producing operation for the bits set in `lazy`.
 */
export class Flags {
  flags = 0x2;
  lazy = 0;
  op = 0;
  a = 0;
  b = 0;
  res = 0;
  sizeBit = 31;

  /** Record an operation whose every status flag follows from (a, b, res). */
  set(op: number, a: number, b: number, res: number, sizeBit: number, mask: number): void {
    this.op = op;
    this.a = a;
    this.b = b;
    this.res = res;
    this.sizeBit = sizeBit;
    this.lazy = mask;
  }

  cf(): number {
    if ((this.lazy & CF) === 0) return this.flags & CF;
    const m = sizeMask(this.sizeBit);
    switch (this.op) {
      case LazyOp.Add:
        return (this.res & m) >>> 0 < (this.a & m) >>> 0 ? 1 : 0;
      case LazyOp.Sub:
        return (this.a & m) >>> 0 < (this.b & m) >>> 0 ? 1 : 0;
      default:
        return 0;
    }
  }

  zf(): number {
    if ((this.lazy & ZF) === 0) return this.flags & ZF;
    return (this.res & sizeMask(this.sizeBit)) === 0 ? ZF : 0;
  }

  sf(): number {
    if ((this.lazy & SF) === 0) return this.flags & SF;
    return (this.res >>> this.sizeBit) & 1 ? SF : 0;
  }

  of(): number {
    if ((this.lazy & OF) === 0) return this.flags & OF;
    const s = this.sizeBit;
    switch (this.op) {
      case LazyOp.Add:
        return (((this.a ^ this.res) & (this.b ^ this.res)) >>> s) & 1 ? OF : 0;
      case LazyOp.Sub:
        return (((this.a ^ this.b) & (this.a ^ this.res)) >>> s) & 1 ? OF : 0;
      case LazyOp.Inc:
        return (this.res & sizeMask(s)) >>> 0 === (1 << s) >>> 0 ? OF : 0;
      case LazyOp.Dec:
        return (this.res & sizeMask(s)) >>> 0 === ((1 << s) >>> 0) - 1 ? OF : 0;
      default:
        return 0;
    }
  }

  pf(): number {
    if ((this.lazy & PF) === 0) return this.flags & PF;
    return PARITY[this.res & 0xff];
  }

  af(): number {
    if ((this.lazy & AF) === 0) return this.flags & AF;
    switch (this.op) {
      case LazyOp.Add:
      case LazyOp.Sub:
        return (this.a ^ this.b ^ this.res) & AF;
      case LazyOp.Inc:
        return (this.res & 0xf) === 0 ? AF : 0;
      case LazyOp.Dec:
        return (this.res & 0xf) === 0xf ? AF : 0;
      default:
        return 0;
    }
  }

  /** EFLAGS with every lazy bit resolved. */
  get(): number {
    if (this.lazy === 0) return this.flags;
    let f = this.flags & ~this.lazy;
    const l = this.lazy;
    if (l & CF) f |= this.cf();
    if (l & PF) f |= this.pf();
    if (l & AF) f |= this.af();
    if (l & ZF) f |= this.zf();
    if (l & SF) f |= this.sf();
    if (l & OF) f |= this.of();
    return f;
  }

  /** Resolve the lazy bits into `flags` (before code that edits single status bits). */
  settle(): void {
    if (this.lazy !== 0) {
      this.flags = this.get();
      this.lazy = 0;
    }
  }

  /** Replace the status flags selected by `mask` with those in `value`. */
  setStatus(value: number, mask: number): void {
    this.settle();
    this.flags = (this.flags & ~mask) | (value & mask);
  }

  setCF(on: boolean | number): void {
    this.settle();
    this.flags = on ? this.flags | CF : this.flags & ~CF;
  }

  /** Evaluate condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc). */
  test(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = this.of() !== 0;
        break;
      case 1:
        r = this.cf() !== 0;
        break;
      case 2:
        r = this.zf() !== 0;
        break;
      case 3:
        r = this.cf() !== 0 || this.zf() !== 0;
        break;
      case 4:
        r = this.sf() !== 0;
        break;
      case 5:
        r = this.pf() !== 0;
        break;
      case 6:
        r = (this.sf() !== 0) !== (this.of() !== 0);
        break;
      default:
        r = this.zf() !== 0 || (this.sf() !== 0) !== (this.of() !== 0);
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }
}

/** Mask of an operand whose sign bit is `sizeBit`. */
export function sizeMask(sizeBit: number): number {
  return sizeBit === 31 ? -1 : (1 << (sizeBit + 1)) - 1;
}
