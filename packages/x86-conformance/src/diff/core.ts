// The same cases on a core. The machine is built to look, from CPL 3, like the Linux process
// the native oracle runs in: flat 32-bit user code and data segments under the selectors
// the host reported, an LDT whose three entries cover the data area as the oracle's do
// (32-bit, 16-bit, 16-bit expand-down), FS and GS on them, IF set, IOPL 0, and the case's
// ES, SS and GS. Underneath, in low memory, a minimal ring-0 world: GDT, IDT, TSS, one HLT stub
// per vector, so any exception lands on a HLT whose address names the vector and leaves the
// ring-3 state in the frame on the ring-0 stack.
//
// Paging is on, as under Linux: the data area, the code page and the two guard pages below
// the data area (read-only, then absent) are mapped for CPL 3 as the native side maps them,
// the ring-0 world below 64 KiB for the supervisor only, and nothing else.
//
// The snippet is followed by HLT instead of the native `jmp *epilogue`. At CPL 3 that HLT
// raises #GP(0) with the frame's EIP at the end of the snippet: that, and only that, is a
// normal completion.

import {
  EMPTY_IO_BUS,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  Exit,
  type Machine,
  type SegmentState,
} from '@lguest/x86';
import type { DiffCase, Outcome } from './case';
import {
  CODE_BASE,
  CODE_SIZE,
  CODE_WINDOW,
  DATA_BASE,
  DATA_SIZE,
  DOWN_LIMIT,
  EDGE_SIZE,
  GUARD_READONLY,
  LDT16_SELECTOR,
  LDT_DOWN_SELECTOR,
  LDT_SELECTOR,
  REGION_BASE,
  REGION_SIZE,
} from './layout';
import { fillRegion } from './prng';

const RAM_BYTES = 2 << 20;
/** PE, ET, WP, AM and PG as Linux sets them: EFLAGS.AC at CPL 3 turns on alignment checking. */
const CR0 = 0x1 | 0x10 | 0x10000 | 0x40000 | 0x80000000;
const GDT = 0x1000;
const GDT_ENTRIES = 64;
const IDT = 0x2000;
const STUBS = 0x3000;
const STUB_SPACING = 4;
const TSS = 0x4000;
const LDT = 0x5000;
const LDT_LIMIT = 3 * 8 - 1;
const RING0_STACK_TOP = 0x9000;
const PAGE_DIRECTORY = 0xa000;
const PAGE_TABLE = 0xb000;
/** Page-table entry bits: present, writable, user. */
const PTE_P = 1,
  PTE_W = 2,
  PTE_U = 4;
const GUARD = 64;
const BUDGET = 20_000;

/** Access rights in SegmentState form (descriptor high dword bits 8–23, shifted down). */
const ACCESS_USER_CODE = 0xc0fb; // P, DPL 3, code execute/read accessed, 32-bit, 4 KiB
const ACCESS_USER_DATA = 0xc0f3; // P, DPL 3, data read/write accessed, 32-bit, 4 KiB
const ACCESS_KERNEL_CODE = 0xc09b;
const ACCESS_KERNEL_DATA = 0xc093;
const ACCESS_LDT_DATA = 0x40f3; // P, DPL 3, data read/write accessed, B, byte granular
const ACCESS_LDT_DATA16 = 0x00f3; // the same without B: a 16-bit stack
const ACCESS_LDT_DOWN16 = 0x00f7; // expand-down read/write accessed, 16-bit
const ACCESS_LDT = 0x0082;
const ACCESS_TSS_BUSY = 0x008b;

const EXIT_NAMES: Readonly<Record<number, string>> = {
  [Exit.Budget]: 'Budget (no HLT within the budget)',
  [Exit.HostEscape]: 'HostEscape',
  [Exit.TripleFault]: 'TripleFault',
  [Exit.Breakpoint]: 'Breakpoint',
  [Exit.Stopped]: 'Stopped',
  [Exit.Watchpoint]: 'Watchpoint',
};

/** Vectors that push an error code. */
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);

const I = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 } as const;

/** Runs cases on cores of one factory, on one reused machine. */
export class CoreHarness {
  readonly core: CpuCore;
  private readonly mem: Uint8Array;
  private readonly dv: DataView;
  private readonly kernelCs: number;
  private readonly kernelDs: number;
  private readonly trSel: number;
  private readonly ldtSel: number;
  private lastCodeOffset = -1;

  constructor(
    readonly factory: CoreFactory,
    private readonly userCs: number,
    private readonly userDs: number,
  ) {
    const machine: Machine = {
      memory: new ArrayBuffer(RAM_BYTES),
      io: EMPTY_IO_BUS,
    };
    this.mem = new Uint8Array(machine.memory);
    this.dv = new DataView(machine.memory);
    const taken = new Set([userCs >> 3, userDs >> 3]);
    if ((userCs & 7) !== 3 || (userDs & 7) !== 3 || userCs >> 3 >= GDT_ENTRIES || userDs >> 3 >= GDT_ENTRIES) {
      throw new Error(`core harness: unexpected host selectors CS=${userCs.toString(16)} DS=${userDs.toString(16)}`);
    }
    const free = [...Array(GDT_ENTRIES).keys()].filter((i) => i > 0 && !taken.has(i));
    this.kernelCs = free[0] << 3;
    this.kernelDs = free[1] << 3;
    this.trSel = free[2] << 3;
    this.ldtSel = free[3] << 3;
    this.core = factory.create(machine);
  }

  /** Writes the GDT, LDT, IDT, TSS and stubs (every case: a core bug must not leak onward). */
  private writeSystem(): void {
    this.mem.fill(0, GDT, LDT + LDT_LIMIT + 1);
    const desc = (at: number, base: number, limit: number, access: number): void => {
      const raw = access & 0x8000 ? limit >>> 12 : limit;
      const lo = ((base & 0xffff) << 16) | (raw & 0xffff);
      const hi = (base & 0xff000000) | ((access << 8) & 0x00f0ff00) | (raw & 0xf0000) | ((base >>> 16) & 0xff);
      this.dv.setUint32(at, lo >>> 0, true);
      this.dv.setUint32(at + 4, hi >>> 0, true);
    };
    desc(GDT + this.userCs - 3, 0, 0xffffffff, ACCESS_USER_CODE);
    desc(GDT + this.userDs - 3, 0, 0xffffffff, ACCESS_USER_DATA);
    desc(GDT + this.kernelCs, 0, 0xffffffff, ACCESS_KERNEL_CODE);
    desc(GDT + this.kernelDs, 0, 0xffffffff, ACCESS_KERNEL_DATA);
    desc(GDT + this.trSel, TSS, 103, ACCESS_TSS_BUSY);
    desc(GDT + this.ldtSel, LDT, LDT_LIMIT, ACCESS_LDT);
    desc(LDT, DATA_BASE, 0xffff, ACCESS_LDT_DATA);
    desc(LDT + 8, DATA_BASE, 0xffff, ACCESS_LDT_DATA16);
    desc(LDT + 16, DATA_BASE, DOWN_LIMIT, ACCESS_LDT_DOWN16);
    for (let v = 0; v < 256; v++) {
      const handler = STUBS + v * STUB_SPACING;
      // Interrupt gates; INT3 and INTO are reachable from CPL 3 as on Linux.
      const dpl = v === 3 || v === 4 ? 3 : 0;
      this.dv.setUint32(IDT + v * 8, ((this.kernelCs << 16) | (handler & 0xffff)) >>> 0, true);
      this.dv.setUint32(IDT + v * 8 + 4, ((handler & 0xffff0000) | 0x8e00 | (dpl << 13)) >>> 0, true);
      this.mem.fill(0xf4, handler, handler + STUB_SPACING);
    }
    this.writePageTables();
    this.dv.setUint32(TSS + 4, RING0_STACK_TOP, true);
    this.dv.setUint32(TSS + 8, this.kernelDs, true);
    this.dv.setUint16(TSS + 102, 0xffff, true); // I/O bitmap beyond the limit: no ports
  }

  /** One page table covers the 2 MiB of RAM; the PDE lets the PTE decide (P, W, U all set). */
  private writePageTables(): void {
    this.mem.fill(0, PAGE_DIRECTORY, PAGE_TABLE + 4096);
    this.dv.setUint32(PAGE_DIRECTORY, PAGE_TABLE | PTE_P | PTE_W | PTE_U, true);
    const map = (from: number, bytes: number, flags: number): void => {
      for (let a = from; a < from + bytes; a += 4096) this.dv.setUint32(PAGE_TABLE + (a >>> 12) * 4, a | flags, true);
    };
    map(0, 0x10000, PTE_P | PTE_W);
    map(GUARD_READONLY, 4096, PTE_P | PTE_U);
    map(DATA_BASE, DATA_SIZE, PTE_P | PTE_W | PTE_U);
    map(CODE_BASE, CODE_SIZE, PTE_P | PTE_W | PTE_U);
  }

  private stackSegment(c: DiffCase): SegmentState {
    switch (c.stack) {
      case 'flat':
        return { selector: this.userDs, base: 0, limit: 0xffffffff, access: ACCESS_USER_DATA };
      case 'ldt32':
        return { selector: LDT_SELECTOR, base: DATA_BASE, limit: 0xffff, access: ACCESS_LDT_DATA };
      case 'ldt16':
        return { selector: LDT16_SELECTOR, base: DATA_BASE, limit: 0xffff, access: ACCESS_LDT_DATA16 };
      case 'down16':
        return { selector: LDT_DOWN_SELECTOR, base: DATA_BASE, limit: DOWN_LIMIT, access: ACCESS_LDT_DOWN16 };
    }
  }

  /** Runs one case; never throws for anything the core does. */
  run(c: DiffCase): Outcome {
    const mem = this.mem;
    this.writeSystem();
    const region = mem.subarray(REGION_BASE, REGION_BASE + REGION_SIZE);
    mem.fill(0, REGION_BASE - GUARD, REGION_BASE);
    mem.fill(0, REGION_BASE + REGION_SIZE, REGION_BASE + REGION_SIZE + GUARD);
    fillRegion(c.seed, region);
    mem.fill(0, DATA_BASE, DATA_BASE + EDGE_SIZE);
    mem.fill(0, DATA_BASE + DATA_SIZE - EDGE_SIZE, DATA_BASE + DATA_SIZE);
    for (const [at, v] of c.patches) this.dv.setUint32(REGION_BASE + at, v, true);
    if (this.lastCodeOffset >= 0)
      mem.fill(0, CODE_BASE + this.lastCodeOffset, CODE_BASE + this.lastCodeOffset + CODE_WINDOW);
    const start = CODE_BASE + c.codeOffset;
    mem.fill(0xcc, start, start + CODE_WINDOW);
    mem.set(c.snippet, start);
    const end = start + c.snippet.length;
    mem[end] = 0xf4;
    this.lastCodeOffset = c.codeOffset;

    const core = this.core;
    const flat = (selector: number, access: number): SegmentState => ({ selector, base: 0, limit: 0xffffffff, access });
    const ldtData = (): SegmentState => ({
      selector: LDT_SELECTOR,
      base: DATA_BASE,
      limit: 0xffff,
      access: ACCESS_LDT_DATA,
    });
    const downData = (): SegmentState => ({
      selector: LDT_DOWN_SELECTOR,
      base: DATA_BASE,
      limit: DOWN_LIMIT,
      access: ACCESS_LDT_DOWN16,
    });
    let exit: Exit;
    let state: CpuState;
    try {
      core.reset();
      const reset = core.getState();
      core.setState({
        ...reset,
        eax: c.regs[I.eax],
        ecx: c.regs[I.ecx],
        edx: c.regs[I.edx],
        ebx: c.regs[I.ebx],
        esp: c.regs[I.esp],
        ebp: c.regs[I.ebp],
        esi: c.regs[I.esi],
        edi: c.regs[I.edi],
        eip: start,
        eflags: c.eflags,
        cs: flat(this.userCs, ACCESS_USER_CODE),
        ss: this.stackSegment(c),
        ds: flat(this.userDs, ACCESS_USER_DATA),
        es: c.esLdt ? ldtData() : flat(this.userDs, ACCESS_USER_DATA),
        fs: ldtData(),
        gs: c.gsDown ? downData() : ldtData(),
        ldtr: { selector: this.ldtSel, base: LDT, limit: LDT_LIMIT, access: ACCESS_LDT },
        tr: { selector: this.trSel, base: TSS, limit: 103, access: ACCESS_TSS_BUSY },
        gdtr: { base: GDT, limit: GDT_ENTRIES * 8 - 1 },
        idtr: { base: IDT, limit: 256 * 8 - 1 },
        cr0: CR0,
        cr2: 0,
        cr3: PAGE_DIRECTORY,
        cr4: 0,
        cpl: 3,
        halted: false,
      });
      exit = core.run(BUDGET);
      state = core.getState();
    } catch (e) {
      return problem(`the core threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (exit !== Exit.Halt)
      return problem(`the core stopped with exit ${EXIT_NAMES[exit] ?? exit} instead of reaching a HLT stub`);
    const stubOffset = state.eip - 1 - STUBS;
    if (stubOffset < 0 || stubOffset >= 256 * STUB_SPACING || stubOffset % STUB_SPACING !== 0 || state.cpl !== 0) {
      return problem(`the core halted at EIP ${hex(state.eip)} CPL ${state.cpl}, not on a vector stub`);
    }
    const vector = stubOffset / STUB_SPACING;
    let p = state.esp;
    let error = 0;
    if (ERROR_CODE_VECTORS.has(vector)) {
      error = this.dv.getUint32(p, true);
      p += 4;
    }
    if (p + 20 > RING0_STACK_TOP)
      return problem(`vector ${vector}: the ring-0 frame is not where it should be (ESP ${hex(state.esp)})`);
    const eip = this.dv.getUint32(p, true);
    const cs = this.dv.getUint32(p + 4, true) & 0xffff;
    const eflags = this.dv.getUint32(p + 8, true);
    const esp = this.dv.getUint32(p + 12, true);
    if (cs !== this.userCs) return problem(`vector ${vector} was raised with CS ${hex(cs)} (not the user CS)`);
    const regs = Uint32Array.of(state.eax, state.ecx, state.edx, state.ebx, esp, state.ebp, state.esi, state.edi);
    const guard = [
      ...mem.subarray(REGION_BASE - GUARD, REGION_BASE),
      ...mem.subarray(REGION_BASE + REGION_SIZE, REGION_BASE + REGION_SIZE + GUARD),
    ];
    const edges = new Uint8Array(2 * EDGE_SIZE);
    edges.set(mem.subarray(DATA_BASE, DATA_BASE + EDGE_SIZE));
    edges.set(mem.subarray(DATA_BASE + DATA_SIZE - EDGE_SIZE, DATA_BASE + DATA_SIZE), EDGE_SIZE);
    const out: Outcome = { regs, eflags, vector, error, eip, region: Uint8Array.from(region), edges };
    if (guard.some((v) => v !== 0)) out.problem = 'the core wrote next to the region (an address computed wrongly?)';
    if (vector === 13 && error === 0 && eip === end) {
      out.vector = -1;
      out.eip = 0;
    }
    return out;
  }
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

function problem(what: string): Outcome {
  return {
    regs: new Uint32Array(8),
    eflags: 0,
    vector: -1,
    error: 0,
    eip: 0,
    region: new Uint8Array(REGION_SIZE),
    edges: new Uint8Array(2 * EDGE_SIZE),
    problem: what,
  };
}
