// How a native guest turns the PC off. We copy QEMU's i440FX machine as SeaBIOS sets it up:
// the ACPI PM1a control register at port 0x604 (16 bits). Writing it with SLP_EN (bit 13) set
// and SLP_TYP (bits 10-12) = 0 enters S5, soft-off: `outw(0x604, 0x2000)`. So the same guest
// image powers off under `qemu-system-i386` without any extra device, and here.
//
// A write with another SLP_TYP (a sleep state) is ignored, as are writes without SLP_EN.
// The high byte alone (`outb(0x605, 0x20)`) also works, since the register is two bytes wide.

import type { PortDevice } from './port-bus';

export const POWER_PORT = 0x604;
export const POWER_OFF_VALUE = 0x2000;

const SLP_EN = 0x2000;
const SLP_TYP_MASK = 0x1c00;

export class PowerPort implements PortDevice {
  /** Low byte of PM1a_CNT (kept only to assemble 16-bit writes made one byte at a time). */
  private low = 0;
  poweredOff = false;

  /** `onPowerOff` runs once, on the write that turns the machine off. */
  constructor(private readonly onPowerOff: () => void) {}

  save(): { low: number; poweredOff: boolean } {
    return { low: this.low, poweredOff: this.poweredOff };
  }

  load(s: { low: number; poweredOff: boolean }): void {
    ({ low: this.low, poweredOff: this.poweredOff } = s);
  }

  in8(port: number): number {
    return port === POWER_PORT ? this.low : 0;
  }

  out8(port: number, value: number): void {
    if (port === POWER_PORT) this.low = value;
    else this.out16(POWER_PORT, this.low | (value << 8));
  }

  out16(_port: number, value: number): void {
    this.low = value & 0xff;
    if ((value & SLP_EN) === 0 || (value & SLP_TYP_MASK) !== 0 || this.poweredOff) return;
    this.poweredOff = true;
    this.onPowerOff();
  }
}
