// System control port B (0x61) of the PC: the gate of PIT channel 2 and the speaker enable
// (bits 0 and 1, kept as written), and, read back, channel 2's output (bit 5) and the
// memory-refresh toggle (bit 4, which flips on every read here rather than every 15 µs).
// A kernel calibrates its TSC against channel 2 through this port: gate on, a count in
// mode 0, then poll bit 5 until the count runs out. The gate itself is not modelled:
// channel 2 counts whether or not it is set.

import type { PitChannel } from './pit';
import type { PortDevice } from './port-bus';

export const SYSTEM_PORT_B = 0x61;

export class SystemPortB implements PortDevice {
  private bits = 0;
  private refresh = 0;

  constructor(private readonly channel2: PitChannel) {}

  save(): { bits: number; refresh: number } {
    return { bits: this.bits, refresh: this.refresh };
  }

  load(s: { bits: number; refresh: number }): void {
    ({ bits: this.bits, refresh: this.refresh } = s);
  }

  in8(): number {
    this.refresh ^= 0x10;
    return (this.bits & 0x0f) | this.refresh | (this.channel2.output() ? 0x20 : 0);
  }

  out8(_port: number, value: number): void {
    this.bits = value & 0x0f;
  }
}
