// Boot: what arch/i386/kernel/head.S, paging_init and trap_init leave behind, written
// straight into emulated RAM. After this the host has a real page directory
// (swapper_pg_dir) with the linear map of lowmem at PAGE_OFFSET, the Linux 2.6.23 GDT,
// an IDT whose every gate leads to an interrupt stub, a TSS whose esp0 is the kernel stack,
// and the entry text. The switcher will save and reload exactly these, so they must be
// what a CPU would accept: the host's first kernel call loads them for real.

import {
  ACCESS_KERNEL_CODE,
  ACCESS_KERNEL_DATA,
  ACCESS_TSS,
  ACCESS_USER_CODE,
  ACCESS_USER_DATA,
  FLAGS_FLAT32,
  GATE_INTERRUPT,
  gateDescriptor,
  segmentDescriptor,
} from './descriptors';
import { assembleInterruptStubs, assembleReturnStub } from './entry';
import {
  CALL_SAVE_OFFSET,
  FRAME_CPU_TABLES,
  FRAME_ENTRY_STUBS,
  FRAME_ENTRY_TEXT,
  FRAME_KERNEL_STACK,
  FRAME_LINEAR_MAP_PTES,
  FRAME_SWAPPER_PGDIR,
  GDT_ENTRIES,
  GDT_ENTRY_DEFAULT_USER_CS,
  GDT_ENTRY_DEFAULT_USER_DS,
  GDT_ENTRY_ESPFIX_SS,
  GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS,
  GDT_ENTRY_PERCPU,
  GDT_ENTRY_TSS,
  GDT_OFFSET,
  IDT_ENTRIES,
  IDT_OFFSET,
  IRQ_STUB_SIZE,
  IRQ_VECTOR_SLOT_OFFSET,
  KERNEL_PGD_INDEX,
  KERNEL_STACK_FRAMES,
  LOWMEM_LIMIT,
  PAGE_OFFSET,
  PAGE_SIZE,
  PTRS_PER_PTE,
  TSS_OFFSET,
  TSS_SIZE,
  _KERNPG_TABLE,
  _PAGE_KERNEL,
  _PAGE_KERNEL_RX,
  __KERNEL_CS,
  __KERNEL_DS,
  frameAddress,
} from './layout';
import { writeEntry } from './pgtable';

/** The descriptor type's accessed bit. */
const ACCESSED = 0x01;

/** Where boot put everything (physical addresses unless named `…Va`). */
export interface BootLayout {
  /** The host page directory (swapper_pg_dir). */
  readonly swapperPgdir: number;
  /** Bytes of physical memory in the linear map: [0, lowmemEnd) ↔ [PAGE_OFFSET, …). */
  readonly lowmemEnd: number;
  /** Frames [0, reservedFrames) are the host's; the page allocator owns the rest. */
  readonly reservedFrames: number;
  readonly gdtVa: number;
  readonly idtVa: number;
  readonly tssVa: number;
  readonly gdtPhys: number;
  readonly idtPhys: number;
  readonly tssPhys: number;
  readonly kernelStackTopVa: number;
  readonly kernelStackTopPhys: number;
  readonly stubsVa: number;
  readonly returnStubVa: number;
  readonly irqVectorSlotPhys: number;
  readonly callSavePhys: number;
}

/** Kernel virtual address of a lowmem physical address (__va). */
export function kernelVa(phys: number): number {
  return (PAGE_OFFSET + phys) >>> 0;
}

/** Lay out and write the host's boot-time state into `ram` (all zeros before). */
export function bootHost(ram: Uint8Array, ram32: Int32Array): BootLayout {
  const totalFrames = ram.byteLength / PAGE_SIZE;
  const lowmemFrames = Math.min(totalFrames, LOWMEM_LIMIT / PAGE_SIZE);
  const ptePages = Math.ceil(lowmemFrames / PTRS_PER_PTE);
  const reservedFrames = FRAME_LINEAR_MAP_PTES + ptePages;
  if (reservedFrames >= lowmemFrames) throw new Error(`a host needs more than ${reservedFrames} pages of memory`);

  const cpu = frameAddress(FRAME_CPU_TABLES);
  const layout: BootLayout = {
    swapperPgdir: frameAddress(FRAME_SWAPPER_PGDIR),
    lowmemEnd: lowmemFrames * PAGE_SIZE,
    reservedFrames,
    gdtVa: kernelVa(cpu + GDT_OFFSET),
    idtVa: kernelVa(cpu + IDT_OFFSET),
    tssVa: kernelVa(cpu + TSS_OFFSET),
    gdtPhys: cpu + GDT_OFFSET,
    idtPhys: cpu + IDT_OFFSET,
    tssPhys: cpu + TSS_OFFSET,
    kernelStackTopVa: kernelVa(frameAddress(FRAME_KERNEL_STACK + KERNEL_STACK_FRAMES)),
    kernelStackTopPhys: frameAddress(FRAME_KERNEL_STACK + KERNEL_STACK_FRAMES),
    stubsVa: kernelVa(frameAddress(FRAME_ENTRY_STUBS)),
    returnStubVa: kernelVa(frameAddress(FRAME_ENTRY_TEXT)),
    irqVectorSlotPhys: cpu + IRQ_VECTOR_SLOT_OFFSET,
    callSavePhys: cpu + CALL_SAVE_OFFSET,
  };

  pagingInit(ram32, layout, lowmemFrames);
  writeGdt(ram32, layout);
  writeTss(ram32, layout);
  ram.set(assembleInterruptStubs(kernelVa(layout.irqVectorSlotPhys)), frameAddress(FRAME_ENTRY_STUBS));
  ram.set(assembleReturnStub(kernelVa(layout.callSavePhys)), frameAddress(FRAME_ENTRY_TEXT));
  trapInit(ram32, layout);
  return layout;
}

/** swapper_pg_dir: the linear map of lowmem in 4 KiB pages; the entry text read-only. */
function pagingInit(ram32: Int32Array, layout: BootLayout, lowmemFrames: number): void {
  const readOnly = new Set([FRAME_ENTRY_STUBS, FRAME_ENTRY_TEXT]);
  for (let frame = 0; frame < lowmemFrames; frame++) {
    const table = frameAddress(FRAME_LINEAR_MAP_PTES + Math.floor(frame / PTRS_PER_PTE));
    const flags = readOnly.has(frame) ? _PAGE_KERNEL_RX : _PAGE_KERNEL;
    writeEntry(ram32, table, frame % PTRS_PER_PTE, frameAddress(frame) | flags);
  }
  const tables = Math.ceil(lowmemFrames / PTRS_PER_PTE);
  for (let i = 0; i < tables; i++) {
    writeEntry(
      ram32,
      layout.swapperPgdir,
      KERNEL_PGD_INDEX + i,
      frameAddress(FRAME_LINEAR_MAP_PTES + i) | _KERNPG_TABLE,
    );
  }
}

/**
 * The Linux 2.6.23 i386 GDT: kernel and user flat segments, ESPFIX, per-CPU and the TSS.
 * Code and data descriptors start out accessed (the CPU would set the bit on first load
 * anyway), so the CPU never needs to write this table — as lg arranges for guest GDTs.
 */
function writeGdt(ram32: Int32Array, layout: BootLayout): void {
  const set = (index: number, [lo, hi]: [number, number]): void => {
    writeEntry(ram32, layout.gdtPhys, index * 2, lo);
    writeEntry(ram32, layout.gdtPhys, index * 2 + 1, hi);
  };
  const flat = (access: number): [number, number] => segmentDescriptor(0, 0xfffff, access | ACCESSED, FLAGS_FLAT32);
  for (let i = 0; i < GDT_ENTRIES; i++) set(i, [0, 0]);
  set(GDT_ENTRY_KERNEL_CS, flat(ACCESS_KERNEL_CODE));
  set(GDT_ENTRY_KERNEL_DS, flat(ACCESS_KERNEL_DATA));
  set(GDT_ENTRY_DEFAULT_USER_CS, flat(ACCESS_USER_CODE));
  set(GDT_ENTRY_DEFAULT_USER_DS, flat(ACCESS_USER_DATA));
  set(GDT_ENTRY_ESPFIX_SS, flat(ACCESS_KERNEL_DATA));
  set(GDT_ENTRY_PERCPU, flat(ACCESS_KERNEL_DATA));
  // The TSS, marked busy as after the boot CPU's ltr.
  set(GDT_ENTRY_TSS, segmentDescriptor(layout.tssVa, TSS_SIZE - 1, ACCESS_TSS | 0x02, 0));
}

/** The host TSS: ring-0 stack = the kernel stack, no I/O bitmap. */
function writeTss(ram32: Int32Array, layout: BootLayout): void {
  const tss = layout.tssPhys;
  for (let i = 0; i < TSS_SIZE / 4; i++) writeEntry(ram32, tss, i, 0);
  writeEntry(ram32, tss, 1, layout.kernelStackTopVa); // esp0
  writeEntry(ram32, tss, 2, __KERNEL_DS); // ss0
  writeEntry(ram32, tss, 25, TSS_SIZE << 16); // io_bitmap_base = 104: no bitmap
}

/** Every IDT gate: a DPL-0 interrupt gate through __KERNEL_CS to that vector's stub. */
function trapInit(ram32: Int32Array, layout: BootLayout): void {
  for (let v = 0; v < IDT_ENTRIES; v++) {
    const [lo, hi] = gateDescriptor(__KERNEL_CS, layout.stubsVa + v * IRQ_STUB_SIZE, GATE_INTERRUPT, 0);
    writeEntry(ram32, layout.idtPhys, v * 2, lo);
    writeEntry(ram32, layout.idtPhys, v * 2 + 1, hi);
  }
}
