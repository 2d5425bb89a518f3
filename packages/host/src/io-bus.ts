// The host's I/O port space. lguest guests never reach it — a guest's in/out at ring 1
// faults (IOPL 0, no I/O bitmap) and lg emulates or skips the instruction — and the host
// shim has no port devices of its own. It exists because the core contract wants a bus,
// and so that a test or a later device can claim ports. Unclaimed ports read as all ones
// and ignore writes, as on a PC.

import type { IoBus } from '@lguest/x86';

export interface PortHandler {
  /** Read `size` bytes (1, 2 or 4) at `port`. */
  in?(port: number, size: number): number;
  out?(port: number, size: number, value: number): void;
}

export class HostIoBus implements IoBus {
  private readonly ports = new Map<number, PortHandler>();

  /** Claim ports [first, first+count); false if any is taken. */
  register(first: number, count: number, handler: PortHandler): boolean {
    for (let p = first; p < first + count; p++) if (this.ports.has(p & 0xffff)) return false;
    for (let p = first; p < first + count; p++) this.ports.set(p & 0xffff, handler);
    return true;
  }

  unregister(first: number, count: number): void {
    for (let p = first; p < first + count; p++) this.ports.delete(p & 0xffff);
  }

  private read(port: number, size: number, ones: number): number {
    const h = this.ports.get(port & 0xffff);
    return h?.in ? h.in(port & 0xffff, size) & ones : ones;
  }

  private write(port: number, size: number, value: number): void {
    const h = this.ports.get(port & 0xffff);
    if (h?.out) h.out(port & 0xffff, size, value);
  }

  in8(port: number): number {
    return this.read(port, 1, 0xff);
  }
  in16(port: number): number {
    return this.read(port, 2, 0xffff);
  }
  in32(port: number): number {
    return this.read(port, 4, 0xffffffff) >>> 0;
  }
  out8(port: number, value: number): void {
    this.write(port, 1, value & 0xff);
  }
  out16(port: number, value: number): void {
    this.write(port, 2, value & 0xffff);
  }
  out32(port: number, value: number): void {
    this.write(port, 4, value >>> 0);
  }
}
