// The PC's I/O port space. Every `in` and `out` the CPU core executes lands here and is
// dispatched by port number to the device that claimed it: the PICs at 0x20/0xA0, the PIT
// at 0x40, the UART at 0x3F8, the power-off port at 0x604. Like an ISA bus, a port nobody
// claimed reads as all ones and swallows writes, so a guest probing for hardware we lack
// sees "nothing there" rather than a crash.

import type { IoBus } from '@lguest/x86';

/** A device's view of its ports: byte accesses, plus optional wider ones. */
export interface PortDevice {
  in8(port: number): number;
  out8(port: number, value: number): void;
  /** A 16-bit access; without it the bus splits the access into two byte accesses. */
  in16?(port: number): number;
  out16?(port: number, value: number): void;
}

const PORTS = 0x10000;

/** An IoBus that dispatches each port to the device registered for it. */
export class PortBus implements IoBus {
  private readonly devices: (PortDevice | undefined)[] = new Array<PortDevice | undefined>(PORTS);

  /** Claims `count` ports from `first` for `device`. Throws if any is already claimed. */
  register(first: number, count: number, device: PortDevice): void {
    if (first < 0 || count < 1 || first + count > PORTS) {
      throw new Error(`port range 0x${first.toString(16)}+${count} is outside the 64 KiB I/O space`);
    }
    for (let p = first; p < first + count; p++) {
      if (this.devices[p]) throw new Error(`I/O port 0x${p.toString(16)} is claimed twice`);
    }
    for (let p = first; p < first + count; p++) this.devices[p] = device;
  }

  in8(port: number): number {
    const d = this.devices[port & 0xffff];
    return d ? d.in8(port & 0xffff) & 0xff : 0xff;
  }

  in16(port: number): number {
    port &= 0xffff;
    const d = this.devices[port];
    if (d?.in16) return d.in16(port) & 0xffff;
    return this.in8(port) | (this.in8((port + 1) & 0xffff) << 8);
  }

  in32(port: number): number {
    port &= 0xffff;
    return (this.in16(port) | (this.in16((port + 2) & 0xffff) << 16)) >>> 0;
  }

  out8(port: number, value: number): void {
    this.devices[port & 0xffff]?.out8(port & 0xffff, value & 0xff);
  }

  out16(port: number, value: number): void {
    port &= 0xffff;
    const d = this.devices[port];
    if (d?.out16) {
      d.out16(port, value & 0xffff);
      return;
    }
    this.out8(port, value);
    this.out8((port + 1) & 0xffff, value >>> 8);
  }

  out32(port: number, value: number): void {
    port &= 0xffff;
    this.out16(port, value);
    this.out16((port + 2) & 0xffff, value >>> 16);
  }
}
