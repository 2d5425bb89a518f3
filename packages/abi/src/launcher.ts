// What the Launcher, the host and the guest's bus agree on (include/linux/lguest_launcher.h
// in 2.6.23). The Launcher drives a guest by writing LHREQ_* requests to the control file and
// reading it to run the guest; it describes the guest's devices in a page of
// `lguest_device_desc`s just above guest RAM; and all device I/O travels as "DMA": a
// `lguest_dma` lists up to 16 guest-physical buffers, which the host copies to another
// guest's bound buffers or hands to the Launcher by the key it was sent to.
// (lguest-abi.md §3.5, §3.6, §6.1, §6.6.)

import { defineStruct } from './struct';

// --- Control-file write requests: a u32 request word, then u32 arguments ---

/** Args: pfnlimit, pgdir, start, page_offset. Must be the first write. */
export const LHREQ_INITIALIZE = 0;
/** Arg: key. Returns the address of a free bound lguest_dma (its used_len holds the IRQ). */
export const LHREQ_GETDMA = 1;
/** Arg: irq (below LGUEST_IRQS). Marks the interrupt pending. */
export const LHREQ_IRQ = 2;
/** Arg: on. Non-zero makes the running read() return -EAGAIN and blocks until 0 is written. */
export const LHREQ_BREAK = 3;

// --- DMA ---

/** Bound DMA arrays per guest. */
export const LGUEST_MAX_DMA = 32;
/** Buffers (address/length pairs) in one lguest_dma; a zero length ends the list early. */
export const LGUEST_MAX_DMA_SECTIONS = 16;

export const LGUEST_DMA = defineStruct('lguest_dma', [
  ['used_len', 'u32'],
  ['addr', 'u32', LGUEST_MAX_DMA_SECTIONS],
  ['len', 'u16', LGUEST_MAX_DMA_SECTIONS],
], {
  doc:
    'A DMA descriptor: up to LGUEST_MAX_DMA_SECTIONS guest-physical buffers, ended early by a ' +
    'zero len. used_len is 0 while the buffer waits; the host or Launcher sets it to the bytes transferred.',
});

// --- The device descriptor page (at guest-physical `mem`, just above guest RAM) ---

/** Descriptors in the page; a device's IRQ is its index + 1 (IRQ 0 is the timer). */
export const LGUEST_MAX_DEVICES = LGUEST_MAX_DMA / 2;

export const LGUEST_DEVICE_T_CONSOLE = 1;
export const LGUEST_DEVICE_T_NET = 2;
export const LGUEST_DEVICE_T_BLOCK = 3;

// Status bits, set by the guest's bus as it finds and drives the device (REMOVED by the host).
export const LGUEST_DEVICE_S_ACKNOWLEDGE = 1;
export const LGUEST_DEVICE_S_DRIVER = 2;
export const LGUEST_DEVICE_S_DRIVER_OK = 4;
export const LGUEST_DEVICE_S_REMOVED = 8;
export const LGUEST_DEVICE_S_REMOVED_ACK = 16;
export const LGUEST_DEVICE_S_FAILED = 128;

/** Feature bit: the device's interrupts may feed the entropy pool. */
export const LGUEST_DEVICE_F_RANDOMNESS = 0x8000;

export const LGUEST_DEVICE_DESC = defineStruct('lguest_device_desc', [
  ['type', 'u16'],
  ['features', 'u16'],
  ['status', 'u16'],
  ['num_pages', 'u16'],
  ['pfn', 'u32'],
], {
  doc:
    'One slot of the device page: type 0 is an empty slot; pfn/num_pages locate the device ' +
    'memory (above guest RAM); status is written by the guest.',
});

/** The IRQ of the device in descriptor slot `index`. */
export function deviceIrq(index: number): number {
  return index + 1;
}
