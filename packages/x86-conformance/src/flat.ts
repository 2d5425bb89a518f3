// The one machine the kit's own runners start a core in: RAM, the empty I/O bus, and the
// state of flat 32-bit protected mode (every segment base 0, limit 4 GiB) at a ring. The FPU
// kit, the protected-mode programs and the fuzzer's protected-mode rounds all start here, each
// adding only what is its own (registers, descriptor tables, paging).

import {
  EMPTY_IO_BUS,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  type IoBus,
  type SegmentState,
} from '@lguest/x86';

/** CR0 with PE and ET: protected mode with a 387-class coprocessor. */
export const CR0_PROTECTED = 0x11;

/** A 4 GiB segment at base 0 (`access` in SegmentState form: descriptor bits 8–23). */
export function flatSegment(selector: number, access: number): SegmentState {
  return { selector, base: 0, limit: 0xffffffff, access };
}

/** Selectors of the flat code and data segments, and the ring they run at. */
export interface FlatSelectors {
  code: number;
  data: number;
  ring: number;
}

/** The multiboot convention the programs and the FPU kit share: code 0x08, data 0x10, ring 0. */
export const RING0_FLAT: FlatSelectors = { code: 0x08, data: 0x10, ring: 0 };

/**
 * `template` (a core's reset state) in flat 32-bit protected mode: CS a 32-bit code segment
 * and DS, ES, FS, GS, SS the data segment, both of DPL `ring`, CPL `ring`, EFLAGS with only
 * its reserved bit, CR0 PE and ET. The caller sets the rest (EIP, ESP, tables).
 */
export function flatProtectedMode(template: CpuState, selectors: FlatSelectors = RING0_FLAT): CpuState {
  const dpl = selectors.ring << 5;
  const data = flatSegment(selectors.data, 0xc093 | dpl);
  return {
    ...template,
    eflags: 0x2,
    cr0: CR0_PROTECTED,
    cpl: selectors.ring,
    cs: flatSegment(selectors.code, 0xc09b | dpl),
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    halted: false,
  };
}

/** A core of `factory` on `bytes` bytes of fresh RAM and `io` (the empty bus by default). */
export function flatMachine(
  factory: CoreFactory,
  bytes: number,
  io: IoBus = EMPTY_IO_BUS,
): { core: CpuCore; memory: ArrayBuffer; mem: Uint8Array } {
  const memory = new ArrayBuffer(bytes);
  const core = factory.create({ memory, io });
  return { core, memory, mem: new Uint8Array(memory) };
}
