// Devices, as the launcher keeps them. A guest finds its devices in the page just above its
// RAM: sixteen descriptors of {type, features, status, num_pages, pfn}. Each device the
// launcher adds takes the next descriptor (its IRQ is its index + 1; IRQ 0 is the timer) and,
// if it asks for them, pages of device memory above that page. Its launcher half is a few
// callbacks: output the guest sends with SEND_DMA to the device's watch key, input the
// device has ready (the launcher breaks the guest out to let it deliver it), and set-up once
// guest memory exists (a --sharenet device maps its shared file over its page there).

import { LGUEST_DEVICE_DESC, LGUEST_MAX_DEVICES, deviceIrq } from '@lguest/abi';
import type { Launcher } from './launcher';

/** One section of a DMA buffer: guest-physical address and length. */
export interface DmaSection {
  readonly addr: number;
  readonly len: number;
}

/** A DMA the guest sent to a device's watch key (read() of the control file returned it). */
export interface DmaOutput {
  /** Guest-physical address of the struct lguest_dma. */
  readonly dma: number;
  /** The key it was sent to. */
  readonly key: number;
  /** Its sections, each checked to lie inside guest memory. */
  readonly sections: readonly DmaSection[];
  /** The bytes of all sections, one after the other. */
  bytes(): Uint8Array;
}

/** What a device is: its descriptor's contents and its launcher-side callbacks. */
export interface DeviceSpec {
  /** LGUEST_DEVICE_T_CONSOLE, _NET or _BLOCK. */
  readonly type: number;
  /** Device-specific feature bits (descriptor `features`). */
  readonly features?: number;
  /** Pages of device memory after the descriptor page (0 for the console). */
  readonly numPages?: number;
  /** The key whose DMA this device handles (the console's is 0); see Device.watchKey. */
  readonly watchKey?: number;
  /** Once guest memory is mapped, before the guest starts. */
  setup?(device: Device, launcher: Launcher): void | Promise<void>;
  /** Guest output to the watch key; returns what goes into the DMA's used_len. */
  handleOutput?(out: DmaOutput, device: Device, launcher: Launcher): number | Promise<number>;
  /**
   * Called (with the guest stopped) after the device said `launcher.inputReady(device)`.
   * Deliver the input, e.g. with launcher.injectInput. Return false to stop being called.
   */
  handleInput?(device: Device, launcher: Launcher): boolean | Promise<boolean>;
}

/** A device the launcher added. */
export class Device {
  /** Slot in the descriptor page. */
  readonly index: number;
  /** Its interrupt: index + 1. */
  readonly irq: number;
  /** Guest-physical address of its descriptor. */
  readonly desc: number;
  /** Guest-physical address of its first page of device memory (0 if it has none). */
  readonly pages: number;
  readonly numPages: number;
  readonly spec: DeviceSpec;
  /** DMA sent to this key goes to handleOutput; set it (e.g. to `pages`) before run(). */
  watchKey: number | null;
  /** The device said it has input, and handleInput has not been called since. */
  inputPending = false;
  /** handleInput returned false: the device is no longer asked. */
  inputClosed = false;

  constructor(index: number, desc: number, pages: number, spec: DeviceSpec) {
    this.index = index;
    this.irq = deviceIrq(index);
    this.desc = desc;
    this.pages = pages;
    this.numPages = spec.numPages ?? 0;
    this.spec = spec;
    this.watchKey = spec.watchKey ?? null;
  }

  /** The descriptor as the launcher writes it (status starts at 0; the guest sets it). */
  descriptor(): Uint8Array {
    const bytes = new Uint8Array(LGUEST_DEVICE_DESC.size);
    const view = new DataView(bytes.buffer);
    LGUEST_DEVICE_DESC.f.type.set(view, 0, this.spec.type);
    LGUEST_DEVICE_DESC.f.features.set(view, 0, this.spec.features ?? 0);
    LGUEST_DEVICE_DESC.f.num_pages.set(view, 0, this.numPages);
    LGUEST_DEVICE_DESC.f.pfn.set(view, 0, this.pages / 4096);
    return bytes;
  }
}

/** Descriptors in the device page. */
export const MAX_DEVICES = LGUEST_MAX_DEVICES;
