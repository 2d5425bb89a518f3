// The machine our cores run the workload on, set up the way a multiboot loader leaves a PC:
// RAM with the image loaded, a GDT with flat 4 GiB ring-0 code and data segments, the CPU in
// 32-bit protected mode at the image's entry with interrupts off. For the paged run the
// harness also builds identity page tables of 4 KiB pages over all of RAM and turns CR0.PG
// on, so every fetch, load and store goes through the TLB.
//
// Low memory layout (the image itself starts at 1 MiB):
//   0x1000  GDT (null, code 0x08, data 0x10)
//   0x2000  page directory
//   0x3000  page tables, one per 4 MiB of RAM

import type { CpuState, IoBus, Machine, SegmentState } from '@lguest/x86';

/** RAM of the benchmark machine: the image, its 64 KiB table and stack fit many times over. */
export const RAM_BYTES = 8 << 20;

const GDT = 0x1000;
const PAGE_DIRECTORY = 0x2000;
const PAGE_TABLES = 0x3000;
const CODE_SELECTOR = 0x08;
const DATA_SELECTOR = 0x10;

/** Descriptor access rights as `SegmentState.access` holds them: P, DPL 0, S, type; D/B and G. */
const ACCESS_CODE = 0xc09b; // execute/read, accessed, 32-bit, 4 KiB granular
const ACCESS_DATA = 0xc093; // read/write, accessed, 32-bit (big), 4 KiB granular

const CR0_PE = 1 << 0;
const CR0_ET = 1 << 4;
const CR0_PG = 0x80000000;
const PTE_PRESENT = 1 << 0;
const PTE_WRITABLE = 1 << 1;
const EFLAGS_RESERVED_ONE = 1 << 1;

/** An I/O bus with nothing on it: every port reads as all ones and ignores writes. */
export class EmptyIoBus implements IoBus {
  in8(): number {
    return 0xff;
  }
  in16(): number {
    return 0xffff;
  }
  in32(): number {
    return 0xffffffff;
  }
  out8(): void {}
  out16(): void {}
  out32(): void {}
}

/** A fresh machine: zeroed RAM and an empty I/O bus. */
export function createMachine(ramBytes = RAM_BYTES): Machine {
  return { memory: new ArrayBuffer(ramBytes), io: new EmptyIoBus() };
}

/** Writes the flat GDT at 0x1000 and returns its table register value. */
export function writeFlatGdt(memory: DataView): { base: number; limit: number } {
  // Each descriptor as two little-endian dwords: base 0, limit 0xfffff pages.
  const descriptors: [number, number][] = [
    [0, 0],
    [0x0000ffff, 0x00cf9b00],
    [0x0000ffff, 0x00cf9300],
  ];
  descriptors.forEach(([low, high], i) => {
    memory.setUint32(GDT + i * 8, low, true);
    memory.setUint32(GDT + i * 8 + 4, high, true);
  });
  return { base: GDT, limit: descriptors.length * 8 - 1 };
}

/**
 * Identity-maps [0, bytes) with 4 KiB pages, present and writable, supervisor only, accessed
 * and dirty bits clear (the core must set them). Returns the page directory address for CR3.
 */
export function buildIdentityPageTables(memory: DataView, bytes: number): number {
  if (bytes % 4096 !== 0) throw new Error('can only map whole pages');
  const pages = bytes / 4096;
  const tables = Math.ceil(pages / 1024);
  const end = PAGE_TABLES + tables * 4096;
  if (end > 0x100000) throw new Error('the page tables would run into the image at 1 MiB');
  for (let i = 0; i < 1024; i++) {
    const pde = i < tables ? (PAGE_TABLES + i * 4096) | PTE_PRESENT | PTE_WRITABLE : 0;
    memory.setUint32(PAGE_DIRECTORY + i * 4, pde >>> 0, true);
  }
  for (let page = 0; page < tables * 1024; page++) {
    const pte = page < pages ? (page * 4096) | PTE_PRESENT | PTE_WRITABLE : 0;
    memory.setUint32(PAGE_TABLES + page * 4, pte >>> 0, true);
  }
  return PAGE_DIRECTORY;
}

function flatSegment(selector: number, access: number): SegmentState {
  return { selector, base: 0, limit: 0xffffffff, access };
}

/**
 * The CPU state a multiboot loader hands over: `reset` (the core's power-on state, for the
 * registers this does not set) changed to flat 32-bit protected mode at ring 0, EIP at
 * `entry`, interrupts off; with `cr3` given, paging on with that page directory.
 */
export function flatProtectedModeState(
  reset: CpuState,
  gdtr: { base: number; limit: number },
  entry: number,
  cr3?: number,
): CpuState {
  const code = flatSegment(CODE_SELECTOR, ACCESS_CODE);
  const data = (): SegmentState => flatSegment(DATA_SELECTOR, ACCESS_DATA);
  return {
    ...reset,
    eax: 0,
    ecx: 0,
    edx: 0,
    ebx: 0,
    esp: 0,
    ebp: 0,
    esi: 0,
    edi: 0,
    eip: entry >>> 0,
    eflags: EFLAGS_RESERVED_ONE,
    cs: code,
    ds: data(),
    es: data(),
    ss: data(),
    fs: data(),
    gs: data(),
    gdtr: { ...gdtr },
    // An empty IDT: should the workload fault, the core triple-faults and the harness says so.
    idtr: { base: 0, limit: 0 },
    cr0: (CR0_PE | CR0_ET | (cr3 === undefined ? 0 : CR0_PG)) >>> 0,
    cr2: 0,
    cr3: cr3 ?? 0,
    cr4: 0,
    cpl: 0,
    halted: false,
  };
}
