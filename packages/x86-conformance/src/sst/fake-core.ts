// A deliberately tiny core for the kit's own tests: real mode only, and only what the ADD
// r/m8,r8 (opcode 00) and HLT captures need — segment-override and LOCK prefixes, 16-bit
// ModRM addressing, exact flags, #UD through the IVT for anything else (including LOCK
// without a memory destination, as on a 386). It implements the contract honestly so the
// runner is exercised the way a real core exercises it; it is not a model for one.

import { type CoreFactory, type CpuCore, type CpuState, Exit, type Machine, type SegmentState } from '@lguest/x86';

/** Knobs to make the fake core wrong on purpose, so tests can see the runner catch it. */
export interface FakeFaults {
  /** Leave AF untouched on ADD. */
  noAuxCarry?: boolean;
  /** Also write the byte after an ADD's memory destination. */
  strayWrite?: boolean;
  /** Raise this exception for every SS-relative memory operand, as if it overran the limit. */
  ssVector?: number;
}

const seg = (selector = 0, access = 0x93): SegmentState => ({ selector, base: selector << 4, limit: 0xffff, access });

function resetState(): CpuState {
  return {
    eax: 0,
    ecx: 0,
    edx: 0,
    ebx: 0,
    esp: 0,
    ebp: 0,
    esi: 0,
    edi: 0,
    eip: 0xfff0,
    eflags: 2,
    es: seg(),
    cs: { selector: 0xf000, base: 0xffff0000, limit: 0xffff, access: 0x9b },
    ss: seg(),
    ds: seg(),
    fs: seg(),
    gs: seg(),
    ldtr: seg(0, 0x82),
    tr: seg(0, 0x8b),
    gdtr: { base: 0, limit: 0xffff },
    idtr: { base: 0, limit: 0x3ff },
    cr0: 0x10,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    dr: [0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400],
    cpl: 0,
    halted: false,
    instructions: 0,
  };
}

function copyState(s: CpuState): CpuState {
  const c = (x: SegmentState): SegmentState => ({ ...x });
  return {
    ...s,
    es: c(s.es),
    cs: c(s.cs),
    ss: c(s.ss),
    ds: c(s.ds),
    fs: c(s.fs),
    gs: c(s.gs),
    ldtr: c(s.ldtr),
    tr: c(s.tr),
    gdtr: { ...s.gdtr },
    idtr: { ...s.idtr },
    dr: [...s.dr],
  };
}

/** Thrown inside `step` to deliver an exception; never escapes `run`. */
class Fault {
  constructor(readonly vector: number) {}
}

class FakeCore implements CpuCore {
  readonly name = 'fake';
  retired = 0;
  readonly escapeCode = 0;
  irqLine = false;
  private s = resetState();
  /** Segment register number of the last ModRM operand. */
  private lastSegment = -1;
  private readonly mem: Uint8Array;

  constructor(
    machine: Machine,
    private readonly faults: FakeFaults,
  ) {
    this.mem = new Uint8Array(machine.memory);
  }

  reset(): void {
    this.s = resetState();
  }
  getState(): CpuState {
    return copyState(this.s);
  }
  setState(state: CpuState): void {
    this.s = copyState(state);
  }
  requestStop(): void {}
  setBreakpoint(): void {}
  clearBreakpoint(): void {}
  setWatchpoint(): void {}
  clearWatchpoint(): boolean {
    return false;
  }
  watchHit(): null {
    return null;
  }
  invalidatePhysical(): void {}
  flushTlb(): void {}

  run(budget: number): Exit {
    this.retired = 0;
    while (this.retired < budget) {
      const start = this.s.eip;
      try {
        const halted = this.step();
        this.retired++;
        if (halted) return Exit.Halt;
      } catch (e) {
        if (!(e instanceof Fault)) throw e;
        this.s.eip = start;
        this.interrupt(e.vector);
        this.retired++; // count deliveries too, so a fault loop still ends at the budget
      }
    }
    return Exit.Budget;
  }

  /** Executes one instruction; true for HLT. */
  private step(): boolean {
    const s = this.s;
    let segment = -1;
    let lock = false;
    for (let n = 0; ; n++) {
      if (n > 14) throw new Fault(13);
      const b = this.fetch();
      if (b === 0xf0) lock = true;
      else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) segment = (b >> 3) & 3;
      else if (b === 0x64 || b === 0x65) segment = b - 0x60;
      else if (b === 0x00) break;
      else if (b === 0xf4 && !lock) {
        s.halted = true;
        return true;
      } else throw new Fault(6);
    }
    const modrm = this.fetch();
    const reg = (modrm >> 3) & 7;
    const src = this.reg8(reg);
    if (modrm >> 6 === 3) {
      if (lock) throw new Fault(6);
      this.setReg8(modrm & 7, this.add(this.reg8(modrm & 7), src));
      return false;
    }
    const linear = this.address(modrm, segment);
    if (this.lastSegment === 2 && this.faults.ssVector !== undefined) throw new Fault(this.faults.ssVector);
    const result = this.add(this.mem[linear], src);
    this.mem[linear] = result;
    if (this.faults.strayWrite) this.mem[linear + 1] ^= 0x5a;
    return false;
  }

  private fetch(): number {
    const b = this.mem[this.s.cs.base + (this.s.eip & 0xffff)];
    this.s.eip = (this.s.eip + 1) & 0xffff;
    return b;
  }

  /** Linear address of a 16-bit ModRM memory operand; consumes the displacement. */
  private address(modrm: number, override: number): number {
    const s = this.s;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    const bx = s.ebx & 0xffff,
      bp = s.ebp & 0xffff,
      si = s.esi & 0xffff,
      di = s.edi & 0xffff;
    const bases = [bx + si, bx + di, bp + si, bp + di, si, di, mod === 0 ? 0 : bp, bx];
    let disp = 0;
    if (mod === 1) disp = (this.fetch() << 24) >> 24;
    else if (mod === 2 || (mod === 0 && rm === 6)) disp = this.fetch() | (this.fetch() << 8);
    const bpBased = rm === 2 || rm === 3 || (rm === 6 && mod !== 0);
    const segments = [s.es, s.cs, s.ss, s.ds, s.fs, s.gs];
    this.lastSegment = override >= 0 ? override : bpBased ? 2 : 3;
    const sr = segments[this.lastSegment];
    return sr.base + ((bases[rm] + disp) & 0xffff);
  }

  private reg8(r: number): number {
    const s = this.s;
    const v = [s.eax, s.ecx, s.edx, s.ebx][r & 3];
    return r < 4 ? v & 0xff : (v >> 8) & 0xff;
  }

  private setReg8(r: number, value: number): void {
    const s = this.s;
    const key = (['eax', 'ecx', 'edx', 'ebx'] as const)[r & 3];
    s[key] = r < 4 ? ((s[key] & ~0xff) | value) >>> 0 : ((s[key] & ~0xff00) | (value << 8)) >>> 0;
  }

  /** 8-bit ADD with all six flags. */
  private add(a: number, b: number): number {
    const r = a + b;
    const v = r & 0xff;
    let f = this.s.eflags & ~0x8d5;
    if (r > 0xff) f |= 0x1;
    let ones = 0;
    for (let x = v; x; x >>= 1) ones += x & 1;
    if (!(ones & 1)) f |= 0x4;
    if (this.faults.noAuxCarry) f |= this.s.eflags & 0x10;
    else if ((a ^ b ^ r) & 0x10) f |= 0x10;
    if (v === 0) f |= 0x40;
    if (v & 0x80) f |= 0x80;
    if (~(a ^ b) & (a ^ r) & 0x80) f |= 0x800;
    this.s.eflags = f >>> 0;
    return v;
  }

  /** Real-mode interrupt delivery: push FLAGS, CS, IP; clear IF and TF; load the IVT entry. */
  private interrupt(vector: number): void {
    const s = this.s;
    const push = (v: number): void => {
      s.esp = (s.esp - 2) & 0xffff;
      const a = s.ss.base + s.esp;
      this.mem[a] = v & 0xff;
      this.mem[s.ss.base + ((s.esp + 1) & 0xffff)] = (v >> 8) & 0xff;
    };
    push(s.eflags & 0xffff);
    push(s.cs.selector);
    push(s.eip & 0xffff);
    s.eflags &= ~0x300;
    const entry = vector * 4;
    s.eip = this.mem[entry] | (this.mem[entry + 1] << 8);
    s.cs = seg(this.mem[entry + 2] | (this.mem[entry + 3] << 8), 0x9b);
  }
}

/** A factory for the fake core, optionally with deliberate faults. */
export function fakeCore(faults: FakeFaults = {}): CoreFactory {
  return {
    name: 'fake',
    description: 'ADD r/m8,r8 and HLT only; for testing the conformance kit itself',
    create: (machine) => new FakeCore(machine, faults),
  };
}
