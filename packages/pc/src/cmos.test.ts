// The CMOS clock and RAM, and system port B with PIT channel 2: what a kernel reads at boot.

import { Cmos, CMOS_DEFAULT_EPOCH } from './cmos';
import { Pit } from './pit';
import { SystemPortB } from './system-port';

describe('the CMOS real-time clock', () => {
  it('reads the date in BCD from its epoch plus virtual time, never mid-update', () => {
    let now = 0;
    const cmos = new Cmos(() => now);
    const reg = (i: number) => {
      cmos.out8(0x70, i);
      return cmos.in8(0x71);
    };
    // 2007-10-09 00:00:00 UTC, a Tuesday.
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(reg)).toEqual([0x00, 0x00, 0x00, 0x03, 0x09, 0x10, 0x07, 0x20]);
    now = 3600 * 13 + 60 * 59 + 58.7;
    expect([reg(4), reg(2), reg(0)]).toEqual([0x13, 0x59, 0x58]);
    expect(reg(0x0a) & 0x80).toBe(0); // UIP
    expect(reg(0x0b)).toBe(0x02); // 24 hours, BCD
    expect(reg(0x0d)).toBe(0x80); // valid
    expect(reg(0x10)).toBe(0); // no floppy drives
    cmos.out8(0x70, 0x80 | 0x20); // NMI mask bit ignored
    cmos.out8(0x71, 0x5a);
    expect(reg(0x20)).toBe(0x5a);
    expect(CMOS_DEFAULT_EPOCH).toBe(1191888000);
  });
});

describe('system port B (0x61)', () => {
  it("shows PIT channel 2's output: low while a mode 0 count runs, high when it is out", () => {
    const pit = new Pit(() => undefined);
    const port = new SystemPortB(pit.channels[2]);
    port.out8(0x61, 0x01); // gate on, speaker off
    pit.out8(0x43, 0xb0); // channel 2, lo/hi, mode 0
    pit.out8(0x42, 100);
    pit.out8(0x42, 0);
    expect(port.in8() & 0x21).toBe(0x01);
    expect(pit.clocksUntilEvent()).toBe(100); // channel 0 idle: channel 2's count is next
    pit.advance(99);
    expect(port.in8() & 0x20).toBe(0);
    pit.advance(1);
    expect(port.in8() & 0x20).toBe(0x20);
    expect(pit.clocksUntilEvent()).toBe(Infinity);
    expect((port.in8() ^ port.in8()) & 0x10).toBe(0x10); // the refresh bit toggles
  });
});
