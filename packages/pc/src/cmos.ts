// The CMOS RAM and real-time clock of the MC146818 (ports 0x70 index, 0x71 data): what a PC
// kernel reads its time of day from at boot, and where the BIOS kept its settings. The clock
// runs on the PC's virtual time from a fixed moment (`epochSeconds`, by default 2007-10-09
// 00:00:00 UTC, the day Linux 2.6.23 came out), so a run reads the same date every time. It
// reads in BCD, 24-hour mode, never mid-update (UIP is clear), and raises no interrupts: the
// periodic, alarm and update interrupts of IRQ 8 are not modelled. The other 114 bytes are
// plain RAM, zero at power-on (no floppy drives, no BIOS settings), and keep what is written.

import type { PortDevice } from './port-bus';

export const CMOS_INDEX = 0x70;
export const CMOS_DATA = 0x71;
/** 2007-10-09 00:00:00 UTC. */
export const CMOS_DEFAULT_EPOCH = Date.UTC(2007, 9, 9) / 1000;

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const CENTURY = 0x32;
/** Register B: 24-hour mode (BCD, since DM is clear). */
const B_24H = 0x02;
/** Register D: the RAM and time are valid (the battery is good). */
const D_VRT = 0x80;

export class Cmos implements PortDevice {
  private index = 0;
  private readonly ram = new Uint8Array(128);

  /** `nowSeconds` gives the PC's virtual time since power-on, in seconds. */
  constructor(
    private readonly nowSeconds: () => number,
    private readonly epochSeconds = CMOS_DEFAULT_EPOCH,
  ) {
    this.ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz rate; UIP clear
    this.ram[REG_B] = B_24H;
    this.ram[REG_D] = D_VRT;
  }

  /** The index register and the RAM (the clock is the PC's virtual time, saved with it). */
  save(): { index: number; ram: number[] } {
    return { index: this.index, ram: Array.from(this.ram) };
  }

  load(s: { index: number; ram: number[] }): void {
    this.index = s.index;
    this.ram.set(s.ram);
  }

  in8(port: number): number {
    if (port === CMOS_INDEX) return 0xff;
    const i = this.index;
    if (i <= 9 || i === CENTURY) return this.clock(i);
    if (i === REG_C) return 0; // no interrupt has happened
    return this.ram[i];
  }

  out8(port: number, value: number): void {
    if (port === CMOS_INDEX) {
      this.index = value & 0x7f; // bit 7 masks NMI, which this PC does not have
      return;
    }
    const i = this.index;
    if (i <= 9 || i === CENTURY || i === REG_C || i === REG_D) return; // the clock is not set
    this.ram[i] = i === REG_A ? value & 0x7f : value;
  }

  /** Clock register `i` for the current virtual time, in BCD. */
  private clock(i: number): number {
    const d = new Date((this.epochSeconds + Math.floor(this.nowSeconds())) * 1000);
    const values: Record<number, number> = {
      0: d.getUTCSeconds(),
      2: d.getUTCMinutes(),
      4: d.getUTCHours(),
      6: d.getUTCDay() + 1,
      7: d.getUTCDate(),
      8: d.getUTCMonth() + 1,
      9: d.getUTCFullYear() % 100,
      [CENTURY]: Math.floor(d.getUTCFullYear() / 100),
    };
    const v = values[i] ?? 0; // 1, 3, 5: the alarm, never set
    return ((v / 10) << 4) | (v % 10);
  }
}
