// The CMOS clock and RAM, system port B with PIT channel 2, and PIT writes placed in virtual
// time: what a kernel reads and times at boot.

import { Cmos, CMOS_DEFAULT_EPOCH } from './cmos';
import { createPc } from './pc';
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

describe('PIT writes in virtual time', () => {
  it('start a count at the instruction that wrote it, however the run is sliced', () => {
    const pc = createPc({ memoryMiB: 2, serial: () => undefined });
    // Real mode at 0:0. 50000 turns of `loop`, then channel 2 in mode 0 with 10000 clocks,
    // then poll port 0x61 until channel 2's output rises, and halt.
    new Uint8Array(pc.machine.memory).set(
      [
        [0xb9, 0x50, 0xc3], // mov cx, 50000
        [0xe2, 0xfe], // loop $
        [0xb0, 0xb0, 0xe6, 0x43], // mov al, 0xb0; out 0x43, al
        [0xb0, 0x10, 0xe6, 0x42], // mov al, 0x10; out 0x42, al
        [0xb0, 0x27, 0xe6, 0x42], // mov al, 0x27; out 0x42, al  (count 0x2710 = 10000)
        [0xe4, 0x61, 0xa8, 0x20, 0x74, 0xfa], // poll: in al, 0x61; test al, 0x20; jz poll
        [0xf4], // hlt (interrupts off)
      ].flat(),
      0,
    );
    const s = pc.core.getState();
    pc.core.setState({ ...s, cs: { ...s.cs, selector: 0, base: 0 }, eip: 0 });
    const r = pc.run({ sliceInstructions: 300_000 });
    expect(r.reason).toBe('halted');
    // 1 + 50000 + 6 instructions to the count, then 10000 PIT clocks (838096 instructions at
    // 100 MHz) of polling: the counter steps on the PIT's own clock edges, the first of which
    // is less than one PIT clock (84 instructions) away; then at most one more turn of the
    // poll loop and the hlt. (Were the count charged the slice's time from before it was
    // written, it would run out about 250000 instructions early.)
    const counting = r.instructions - (1 + 50000 + 6);
    expect(counting).toBeGreaterThanOrEqual(838_096 - 84);
    expect(counting).toBeLessThanOrEqual(838_096 + 4);
  });
});
