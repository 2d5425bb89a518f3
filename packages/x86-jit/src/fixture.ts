// Test fixture: a flat 32-bit protected-mode machine (paging optional) whose every exception
// vector leads to a HLT, and a pair of such machines with equal memory for lockstep runs.

import { EMPTY_IO_BUS, interp, type CpuCore, type CpuState, type Machine, type SegmentState } from '@lguest/x86';
import { JitCpu } from './core';
import { Lockstep } from './lockstep';

export const MEMORY_BYTES = 1 << 20;
export const CODE = 0x10000;
export const DATA = 0x40000;
export const STACK_TOP = 0x80000;
const GDT = 0x800;
const IDT = 0x1000;
const HANDLERS = 0x2000;
const PAGE_DIR = 0x3000;
const PAGE_TABLE = 0x4000;

function seg(selector: number, access: number): SegmentState {
  return { selector, base: 0, limit: 0xffffffff, access };
}

/** Lay out the IDT (vector v: a gate to HANDLERS + 16v, where HLT sits) and page tables. */
export function prepareMemory(mem: Uint8Array): void {
  const view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  for (let v = 0; v < 32; v++) {
    const handler = HANDLERS + v * 16;
    mem[handler] = 0xf4; // hlt
    view.setUint32(IDT + v * 8, (8 << 16) | (handler & 0xffff), true);
    view.setUint32(IDT + v * 8 + 4, (handler & 0xffff0000) | 0x8e00, true);
  }
  // GDT: null, flat 32-bit code (selector 8), flat data (16).
  view.setUint32(GDT + 8, 0x0000ffff, true);
  view.setUint32(GDT + 12, 0x00cf9b00, true);
  view.setUint32(GDT + 16, 0x0000ffff, true);
  view.setUint32(GDT + 20, 0x00cf9300, true);
  view.setUint32(PAGE_DIR, PAGE_TABLE | 0x7, true);
  for (let p = 0; p < 256; p++) view.setUint32(PAGE_TABLE + p * 4, (p << 12) | 0x7, true);
}

/** Flat ring-0 protected mode at `eip`, stack at STACK_TOP, interrupts off. */
export function flatState(base: CpuState, eip: number, paging: boolean): CpuState {
  return {
    ...base,
    eip,
    esp: STACK_TOP,
    eflags: 0x2,
    cs: seg(8, 0xc09b),
    ss: seg(16, 0xc093),
    ds: seg(16, 0xc093),
    es: seg(16, 0xc093),
    fs: seg(16, 0xc093),
    gs: seg(16, 0xc093),
    idtr: { base: IDT, limit: 32 * 8 - 1 },
    gdtr: { base: GDT, limit: 23 },
    cr0: paging ? 0x80000011 : 0x11,
    cr3: paging ? PAGE_DIR : 0,
    cpl: 0,
    halted: false,
  };
}

export function machine(): Machine {
  return { memory: new ArrayBuffer(MEMORY_BYTES), io: EMPTY_IO_BUS };
}

/** A block-compiling core and an interpreter on equal machines holding `code` at CODE. */
export function pair(
  code: Uint8Array,
  options: { paging?: boolean; regs?: Partial<CpuState>; compileThreshold?: number } = {},
): { jit: JitCpu; ref: CpuCore; lockstep: Lockstep; jitMemory: Uint8Array; refMemory: Uint8Array } {
  const mj = machine();
  const mr = machine();
  const jitMemory = new Uint8Array(mj.memory);
  const refMemory = new Uint8Array(mr.memory);
  for (const mem of [jitMemory, refMemory]) {
    prepareMemory(mem);
    mem.set(code, CODE);
  }
  const jit = new JitCpu(mj, options.compileThreshold);
  const ref = new interp.Cpu(mr);
  for (const core of [jit, ref] as CpuCore[]) {
    core.setState({ ...flatState(core.getState(), CODE, options.paging ?? false), ...options.regs });
  }
  return { jit, ref, lockstep: new Lockstep(jit, ref, mj.memory, mr.memory), jitMemory, refMemory };
}
