// What an instruction's meaning asks of its starting state, beyond edge values: a stack
// inside the region (flat, or an LDT stack segment, 16- or 32-bit, expand-down, or at its
// limit), string pointers and counts, ENTER frames that do not overlap, BOUND limits, bit
// offsets that stay in the region, divisors and dividends that fit or overflow on purpose,
// branch targets inside the snippet, shift counts, CMPXCHG and CMPS/SCAS operands that match.

import { AC, type Builder, ID, type Loc, type MemSeg, NT, OSZAPC, PREFIX_SEG } from './builder';
import type { StackKind } from './case';
import { BIT_SCANS, BIT_TESTS, DIVIDES, DOUBLE_SHIFTS, isIndirectTransfer, LOOPS, SHIFTS, usesStack } from './forms';
import {
  DATA_BASE,
  DOWN_LIMIT,
  EAX,
  EBP,
  EBX,
  ECX,
  EDI,
  EDX,
  EFLAGS_DF,
  ESI,
  ESP,
  GUARD_ABSENT,
  GUARD_READONLY,
  LONG_MODE_USER_DS,
  REGION_BASE,
  REGION_SIZE,
} from './layout';
import type { Prng } from './prng';

/** A vector for INT n: any but the host's system call gate (0x80). */
export function intVector(rng: Prng): number {
  if (rng.chance(0.1)) return rng.pick([3, 4]);
  for (;;) {
    const v = rng.below(256);
    if (v !== 0x80) return v;
  }
}

/** A shift or rotate count: every count 0–31 often, then counts that the CPU masks. */
export function shiftCount(b: Builder): number {
  const rng = b.rng;
  let c = rng.chance(0.7) ? rng.below(32) : rng.chance(0.5) ? rng.range(32, 63) : rng.below(256);
  // SHLD/SHRD of 16-bit operands by more than 16 leave the result undefined: not generated.
  if (DOUBLE_SHIFTS.has(b.form.mnemonic) && b.osz === 16 && (c & 31) > 16) c = (c & ~31) | rng.below(17);
  return c;
}

/** ESP (and EBP for ENTER/LEAVE) for the forms that use the stack. */
export function planStack(b: Builder): void {
  const { rng, form } = b;
  const m = form.mnemonic;
  if (!usesStack(form)) return;
  const seg: MemSeg = b.stack === 'flat' ? 'flat' : 'ldt';
  const sp16 = b.stack === 'ldt16' || b.stack === 'down16';
  if (m === 'enter') {
    placeEnterFrame(b, seg, sp16);
  } else if (b.stack === 'flat' && !PAGE_EDGE_UNFIT.has(m) && rng.chance(0.08)) {
    // ESP at the bottom of the data area, or inside the read-only or the absent page below
    // it: a push meets a page it may not write (#PF, error code 7 or 6), a pop one it may
    // not read (4) or reads the read-only page's zeros.
    b.regs[ESP] = guardAddress(b);
    b.fix(ESP);
    b.notes.push('ESP at the guard pages below the data area');
  } else if (b.stack !== 'flat' && b.stack !== 'ldt16' && !AT_LIMIT_UNFIT.has(m) && rng.chance(0.1)) {
    // ESP at the end of the 64 KiB stack segment, or just above an expand-down limit:
    // pushes and pops may raise #SS(0).
    const edge = b.stack === 'down16' && rng.chance(0.7) ? DOWN_LIMIT + 1 : 0x10000;
    const sp = edge - 4 + rng.below(8);
    b.regs[ESP] = sp16 ? ((b.regs[ESP] & 0xffff0000) | (sp & 0xffff)) >>> 0 : sp;
    b.fix(ESP);
    b.notes.push('ESP at the stack limit');
  } else {
    b.stackT = rng.chance(0.85) ? rng.range(36, 55) * 4 : rng.range(144, 220);
    b.pointAt(ESP, seg, b.stackT, sp16);
  }
  if (m === 'leave' && b.stack === 'flat' && rng.chance(0.15)) {
    // LEAVE pops EBP from where EBP points: the guard pages make that pop fault (or read 0).
    b.regs[EBP] = guardAddress(b);
    b.fix(EBP);
    b.notes.push('EBP at the guard pages below the data area');
  } else if (m === 'leave') {
    b.pointAt(EBP, seg, rng.chance(0.8) ? rng.range(32, 63) * 4 : rng.range(128, 252), sp16);
  }
  if (b.stack !== 'flat') b.notes.push(STACK_NOTES[b.stack]);
}

/**
 * The roles fixed before a ModRM address is solved: string pointers and counts, BT's bit
 * offset register, XLAT's table. Returns the region offsets the memory operand (of
 * `memBytes` bytes) may start at.
 */
export function planFixedRoles(b: Builder, string: boolean, memBytes: number): { lo: number; hi: number } {
  const { rng, form } = b;
  const m = form.mnemonic;
  if (string) planString(b);
  if (BIT_TESTS.has(m) && b.modrmMemory && form.operands[1] !== 'Ib') {
    // A register bit offset moves the access by whole operands from the address: keep
    // both inside the region.
    const size = b.osz / 8;
    const off = rng.range(-640, 639);
    const delta = size * Math.floor(off / b.osz);
    b.writeReg(b.regField, size, off, true);
    b.fix(b.regField);
    b.notes.push(`bit offset ${off}`);
    return { lo: Math.max(0, -delta), hi: Math.min(REGION_SIZE - size, REGION_SIZE - size - delta) };
  }
  if (m === 'xlat') {
    const t = rng.below(REGION_SIZE);
    const al = b.regs[EAX] & 0xff;
    b.fix(EAX);
    const o = b.segOffset(b.memSeg, t) - al;
    b.regs[EBX] = b.asz === 16 ? ((b.regs[EBX] & 0xffff0000) | (o & 0xffff)) >>> 0 : o >>> 0;
    b.fix(EBX);
    b.memT = t;
  }
  return { lo: 0, hi: REGION_SIZE - memBytes };
}

/**
 * Stack forms not run with ESP at the stack limit: RET and POPF would pop whatever lies
 * outside the region (a wild return address, TF); POPA pops register by register on the
 * host and leaves the first ones popped when a later pop faults, which is the
 * implementation's order, not the architecture's.
 */
const AT_LIMIT_UNFIT = new Set(['ret', 'popf', 'popfd', 'popa', 'popad']);

/**
 * A selector for MOV Sreg whose meaning is the same in the host's GDT and the core's: null
 * (any RPL), the user data selector of a 64-bit Linux process and the same with RPL 0, an
 * LDT selector beyond the core's three entries (the process has no LDT), and a GDT selector
 * beyond both tables. DS, ES, FS and GS take null and RPL 0; SS takes neither (#GP(0),
 * #GP(selector)); every bad one is #GP(selector). Not the user code selector: the host's
 * GDT does not answer for it as Linux's documented layout says (a load of 23h raised
 * #GP(20h) on a kernel run by a hypervisor).
 */
function segmentSelector(b: Builder): number {
  const rng = b.rng;
  switch (rng.below(7)) {
    case 0:
    case 4:
      return rng.below(4);
    case 1:
    case 2:
      return LONG_MODE_USER_DS;
    case 3:
      return LONG_MODE_USER_DS & ~3;
    case 5:
      return ((3 + rng.below(0x1ffd)) << 3) | 4 | rng.below(4);
    default:
      return ((64 + rng.below(0x1fc0)) << 3) | rng.below(4);
  }
}

/**
 * Stack forms not run against the guard pages: RET and POPF would pop the read-only page's
 * zeros as a return address or a flags word; PUSHA and POPA fault part-way through, in the
 * implementation's order.
 */
const PAGE_EDGE_UNFIT = new Set([...AT_LIMIT_UNFIT, 'pusha', 'pushad']);

/** A stack address at the guard pages: straddling the data area's bottom (40 %), inside
 *  the read-only page (30 %, mostly near its top) or inside the absent page (30 %). */
function guardAddress(b: Builder): number {
  const rng = b.rng;
  const near = (top: number): number => (rng.chance(0.7) ? top - rng.below(16) : top - 4096 + rng.below(4096));
  if (rng.chance(0.4)) return DATA_BASE - 6 + rng.below(14);
  return rng.chance(0.5) ? near(DATA_BASE) : near(GUARD_READONLY);
}

const STACK_NOTES: Readonly<Record<StackKind, string>> = {
  flat: 'flat stack',
  ldt32: '32-bit LDT stack',
  ldt16: '16-bit LDT stack',
  down16: '16-bit expand-down stack',
};

/** A value in [lo, hi], a multiple of 4 when the range has one (80 %). */
function stackSlot(rng: Prng, lo: number, hi: number): number {
  const a = Math.ceil(lo / 4);
  const z = Math.floor(hi / 4);
  return a <= z && rng.chance(0.8) ? rng.range(a, z) * 4 : rng.range(lo, hi);
}

/**
 * ENTER: the nesting level, and ESP and EBP such that the frame pointers it copies from
 * below EBP do not overlap the slots it pushes below ESP — with an overlap the result
 * depends on the order the implementation reads and writes in (the host differs from the
 * architectural order there).
 */
function placeEnterFrame(b: Builder, seg: MemSeg, sp16: boolean): void {
  const rng = b.rng;
  b.enterLevel = rng.chance(0.8) ? rng.below(6) : rng.chance(0.5) ? rng.below(32) : rng.below(256);
  const level = b.enterLevel & 31;
  const size = b.osz / 8;
  const top = REGION_SIZE - 4;
  let esp: number;
  let ebp: number;
  const writes = size * (level + 1);
  const reads = size * Math.max(level - 1, 0);
  if (level < 2) {
    esp = stackSlot(rng, writes + 8, top);
    ebp = stackSlot(rng, 4, top);
  } else if (2 * size * level <= top && rng.chance(0.5)) {
    // The copied frame pointers lie below the pushes.
    esp = stackSlot(rng, writes + reads, top);
    ebp = stackSlot(rng, reads, esp - writes);
  } else {
    // They lie above ESP.
    esp = stackSlot(rng, writes, top - reads);
    ebp = stackSlot(rng, esp + reads, top);
  }
  b.stackT = esp;
  b.pointAt(ESP, seg, esp, sp16);
  b.pointAt(EBP, seg, ebp, sp16);
  if (seg === 'flat' && rng.chance(0.25)) {
    // A frame whose new stack top lies on a guard page (or just above): the pushes land in
    // the region, and the frame's allocation must still raise #PF for the page it reaches.
    const pushed = size * (level > 0 ? level + 1 : 1);
    const top = rng.chance(0.2) ? DATA_BASE + rng.below(16) : GUARD_ABSENT + rng.below(0x2000);
    b.enterSize = REGION_BASE + esp - pushed - top;
    b.notes.push('ENTER frame reaching the guard pages');
  }
}

/** String operands: pointers, direction, count, and the segments they go through. */
export function planString(b: Builder): void {
  const rng = b.rng;
  const ops = b.form.operands;
  const size = ops.some((o) => o === 'Xv' || o === 'Yv') ? b.osz / 8 : 1;
  const a16 = b.asz === 16;
  if (b.rep) {
    b.repCount = rng.pick([0, 1, 1, 2, 3, 4, 5, 7, 8, 13, 16]);
    b.writeReg(ECX, a16 ? 2 : 4, b.repCount, true);
    b.fix(ECX);
    b.notes.push(`count ${b.repCount}`);
  }
  const span = Math.max(b.repCount, 1) * size;
  const down = (b.eflags & EFLAGS_DF) !== 0;
  const place = (): number => {
    const first = rng.range(0, REGION_SIZE - span);
    return down ? first + span - size : first;
  };
  let srcSeg: MemSeg | undefined;
  let dstSeg: MemSeg | undefined;
  if (ops.some((o) => o[0] === 'X')) {
    srcSeg = 'flat';
    if (a16 || rng.chance(0.2)) srcSeg = b.ldtOverride();
    else if (rng.chance(0.1)) b.prefixes.push(rng.pick([PREFIX_SEG.ss, PREFIX_SEG.ds, PREFIX_SEG.cs]));
  }
  if (ops.some((o) => o[0] === 'Y')) {
    b.esLdt = a16 || rng.chance(0.2);
    dstSeg = b.esLdt ? 'ldt' : 'flat';
  }
  // Sometimes the run starts at an end of the 64 KiB LDT segment, so that it wraps (16-bit
  // addressing) or faults part-way with #GP(0) (32-bit), leaving the registers at the
  // element that faulted. It then touches only the data area's compared edges.
  const edge = (srcSeg !== undefined && srcSeg !== 'flat') || dstSeg === 'ldt' ? rng.chance(0.08) : false;
  let edgeOffset = 0;
  if (edge) {
    const j = down ? rng.range(0, 16 - size) : rng.range(1, 16);
    edgeOffset = down ? j : 0x10000 - j;
    const most = Math.floor((j + 16) / size) + (down ? 1 : 0);
    if (b.rep) {
      b.repCount = rng.range(1, Math.min(most, 16));
      b.writeReg(ECX, a16 ? 2 : 4, b.repCount, true);
      b.notes[b.notes.length - 1] = `count ${b.repCount}`;
    }
    b.notes.push('string run at the segment edge');
  }
  const point = (r: number, seg: MemSeg): number => {
    if (edge && seg !== 'flat') {
      b.regs[r] = a16 ? ((b.regs[r] & 0xffff0000) | edgeOffset) >>> 0 : edgeOffset;
      b.fix(r);
      return -1;
    }
    const t = place();
    b.pointAt(r, seg, t, a16);
    return t;
  };
  if (srcSeg !== undefined) b.srcT = point(ESI, srcSeg);
  if (dstSeg !== undefined) b.dstT = point(EDI, dstSeg);
}

/** BOUND's two limits, and an index inside, at or outside them. */
export function planBound(b: Builder, loc: Loc & { kind: 'mem' }): void {
  const rng = b.rng;
  const half = loc.size / 2;
  const bits = half * 8;
  const sx = (v: number): number => (bits === 16 ? (v << 16) >> 16 : v | 0);
  let lower = sx(b.randomValue(bits));
  let upper = sx(b.randomValue(bits));
  if (rng.chance(0.6) && lower > upper) [lower, upper] = [upper, lower];
  b.writeMem(loc.t, half, lower);
  b.writeMem(loc.t + half, half, upper);
  const choice = rng.below(5);
  const span = upper - lower;
  const index =
    choice === 0
      ? lower
      : choice === 1
        ? upper
        : choice === 2
          ? lower + Math.floor((rng.u32() / 0x1_0000_0000) * (span + 1))
          : b.randomValue(bits);
  b.writeReg(b.regField, half, index);
}

/** Values the instruction's meaning asks for, over the edge values already in place. */
export function shapeValues(b: Builder, locs: Loc[], afterInsn: number): void {
  const rng = b.rng;
  const form = b.form;
  const m = form.mnemonic;
  const ops = form.operands;
  const skipTarget = (): number => afterInsn + rng.pick(b.skip?.targets ?? [0]);

  if (m === 'ret') {
    if (b.stackT >= 0) b.writeMem(b.stackT, 4, skipTarget());
  } else if (isIndirectTransfer(form)) {
    const loc = locs[0];
    if (loc.kind === 'reg') b.writeReg(loc.r, 4, skipTarget(), true);
    else b.write(loc, skipTarget());
  }
  if (ops.includes('CL') && (SHIFTS.has(m) || DOUBLE_SHIFTS.has(m))) {
    const c = shiftCount(b);
    b.writeReg(ECX, 1, c);
    b.countValue = b.regs[ECX] & 0xff;
    if (DOUBLE_SHIFTS.has(m) && b.osz === 16 && (b.countValue & 31) > 16) {
      // CL is fixed by an address: keep the count defined by masking the result instead.
      b.notes.push('count > 16 (result undefined)');
    }
  } else if (ops.includes('1')) b.countValue = 1;
  if (b.countValue >= 0) b.notes.push(`count ${b.countValue}`);

  if (m === 'mov' && ops[0] === 'Sw') {
    const selector = segmentSelector(b);
    b.write(locs[1], selector);
    b.notes.push(`selector ${selector.toString(16)}`);
  } else if (m === 'pop' && (ops[0] === 'FS' || ops[0] === 'GS') && b.stackT >= 0) {
    const selector = segmentSelector(b);
    b.writeMem(b.stackT, b.osz / 8, selector);
    b.notes.push(`selector ${selector.toString(16)}`);
  } else if ((m === 'lss' || m === 'lfs' || m === 'lgs') && locs[1].kind === 'mem') {
    // The far pointer: the offset (operand size), then the selector.
    const selector = segmentSelector(b);
    b.writeMem(locs[1].t + b.osz / 8, 2, selector);
    b.notes.push(`selector ${selector.toString(16)}`);
  }
  if (DIVIDES.has(m)) shapeDivide(b, locs[0]);
  if (BIT_SCANS.has(m) && rng.chance(0.25)) b.write(locs[1], 0);
  if (BIT_SCANS.has(m) && rng.chance(0.3))
    b.write(locs[1], 1 << rng.below(locs[1].kind === 'none' ? 8 : locs[1].size * 8));
  if (m === 'cmpxchg' && rng.chance(0.5)) b.writeReg(EAX, locs[0].kind === 'none' ? 4 : locs[0].size, b.read(locs[0]));
  if (m === 'cmpxchg8b' && locs[0].kind === 'mem' && rng.chance(0.5)) {
    b.writeReg(EAX, 4, b.readMem(locs[0].t, 4));
    b.writeReg(EDX, 4, b.readMem(locs[0].t + 4, 4));
  }
  if (m === 'popf' || m === 'popfd') {
    let v = rng.u32() & (OSZAPC | EFLAGS_DF | 0x300 | 0x3000 | NT | AC | ID);
    v &= ~0x100; // TF would trap after the next instruction
    if (rng.chance(0.7)) v &= ~(AC | ID | NT);
    if (b.stackT >= 0) b.writeMem(b.stackT, b.osz / 8, v | 2);
  }
  if (m === 'jcxz' || m === 'jecxz' || LOOPS.has(m)) {
    if (rng.chance(0.4)) b.writeReg(ECX, b.asz / 8, rng.pick([0, 1, 2]));
  }
  // Equal leading elements, so REPE goes on for a while and REPNE stops at once.
  if (m === 'cmps' && b.srcT >= 0 && b.dstT >= 0 && rng.chance(0.5)) {
    copyElements(b, rng.below(b.repCount + 1), (i, size) => b.readMem(b.srcT + i * size, size));
  }
  if (m === 'scas' && b.dstT >= 0 && rng.chance(0.5)) {
    const acc = b.readReg(EAX, stringElement(b));
    copyElements(b, rng.below(b.repCount + 1), () => acc);
  }
}

function stringElement(b: Builder): number {
  return b.form.operands.some((o) => o === 'Xv' || o === 'Yv') ? b.osz / 8 : 1;
}

/** Writes `count` destination elements of a string operation (walking with DF). */
function copyElements(b: Builder, count: number, value: (i: number, size: number) => number): void {
  const size = stringElement(b);
  const dir = (b.eflags & EFLAGS_DF) !== 0 ? -1 : 1;
  for (let i = 0; i < count; i++) b.writeMem(b.dstT + dir * i * size, size, value(dir * i, size));
}

/** DIV/IDIV operands: mostly quotients that fit, sometimes #DE by zero or by overflow. */
function shapeDivide(b: Builder, divisorLoc: Loc): void {
  if (divisorLoc.kind === 'none') return;
  const rng = b.rng;
  const n = divisorLoc.size * 8;
  const signed = b.form.mnemonic === 'idiv';
  const kind = rng.below(20);
  let d: bigint;
  let dividend: bigint;
  const big = (v: number): bigint => BigInt(v >>> 0);
  const full = 1n << BigInt(n);
  const randBits = (bits: number): bigint => {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | big(rng.u32());
    return v & ((1n << BigInt(bits)) - 1n);
  };
  const toSigned = (v: bigint, bits: number): bigint => (v >= 1n << BigInt(bits - 1) ? v - (1n << BigInt(bits)) : v);
  if (kind < 2) {
    d = 0n;
    dividend = randBits(2 * n);
  } else if (kind < 5) {
    // Overflow: the quotient does not fit.
    d = big(b.randomValue(n)) || 1n;
    dividend = randBits(2 * n);
    if (!signed) dividend |= d << BigInt(n);
  } else {
    d = big(b.randomValue(n));
    if (d === 0n) d = 1n;
    if (!signed) {
      const q = randBits(n);
      const r = randBits(n) % d;
      dividend = q * d + r;
    } else {
      const sd = toSigned(d, n);
      const q = toSigned(randBits(n), n);
      const mag = sd < 0n ? -sd : sd;
      let r = randBits(n) % mag;
      if (q * sd < 0n) r = -r;
      dividend = q * sd + r;
      dividend = ((dividend % (full * full)) + full * full) % (full * full);
    }
  }
  b.write(divisorLoc, Number(d & (full - 1n)));
  const lowPart = Number(dividend & (full - 1n));
  const highPart = Number((dividend >> BigInt(n)) & (full - 1n));
  if (n === 8) b.writeReg(EAX, 2, (highPart << 8) | lowPart);
  else {
    b.writeReg(EAX, n / 8, lowPart);
    b.writeReg(EDX, n / 8, highPart);
  }
}
