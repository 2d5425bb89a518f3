// The 8254: channel 0 programmed the way kernels do (mode 2 or 3, low then high byte), the
// edges it produces as virtual time advances, reading the count back with the latch command
// and the read-back command, one-shot mode 0, and a new count taking effect at the reload.

import { Pit, PIT_HZ } from './pit';

function programmed(mode: number, divisor: number): { pit: Pit; ticks: () => number } {
  let ticks = 0;
  const pit = new Pit(() => ticks++);
  pit.out8(0x43, 0x30 | (mode << 1)); // channel 0, low/high byte, mode
  pit.out8(0x40, divisor & 0xff);
  pit.out8(0x40, divisor >> 8);
  return { pit, ticks: () => ticks };
}

describe('8254 PIT', () => {
  it('runs at 1.193182 MHz', () => {
    expect(PIT_HZ).toBe(1193182);
  });

  it.each([2, 3])('interrupts once per divisor clocks in mode %i', (mode) => {
    const { pit, ticks } = programmed(mode, 11932);
    expect(pit.clocksUntilTimer()).toBe(11932);
    pit.advance(11931);
    expect(ticks()).toBe(0);
    expect(pit.clocksUntilTimer()).toBe(1);
    pit.advance(1);
    expect(ticks()).toBe(1);
    expect(pit.clocksUntilTimer()).toBe(11932);
    for (let i = 0; i < 10; i++) pit.advance(11932);
    expect(ticks()).toBe(11);
  });

  it('does not count before the whole count is written', () => {
    let ticks = 0;
    const pit = new Pit(() => ticks++);
    pit.out8(0x43, 0x34);
    pit.out8(0x40, 0x10);
    expect(pit.clocksUntilTimer()).toBe(Infinity);
    pit.out8(0x40, 0x00);
    expect(pit.clocksUntilTimer()).toBe(0x10);
  });

  it('treats a divisor of 0 as 65536', () => {
    const { pit } = programmed(2, 0);
    expect(pit.clocksUntilTimer()).toBe(65536);
  });

  it('latches the count for a two-byte read', () => {
    const { pit } = programmed(2, 1000);
    pit.advance(300);
    pit.out8(0x43, 0x00); // latch channel 0
    pit.advance(100);
    expect(pit.in8(0x40) | (pit.in8(0x40) << 8)).toBe(700);
    expect(pit.in8(0x40) | (pit.in8(0x40) << 8)).toBe(600);
  });

  it('latches count and status through the read-back command', () => {
    const { pit } = programmed(2, 1000);
    pit.advance(10);
    pit.out8(0x43, 0xc2); // read-back: count and status of channel 0
    expect(pit.in8(0x40) & 0x3f).toBe(0x34); // RW = low/high, mode 2
    expect(pit.in8(0x40) | (pit.in8(0x40) << 8)).toBe(990);
  });

  it('fires once in mode 0 (interrupt on terminal count)', () => {
    const { pit, ticks } = programmed(0, 500);
    pit.advance(499);
    expect(ticks()).toBe(0);
    pit.advance(1);
    expect(ticks()).toBe(1);
    expect(pit.clocksUntilTimer()).toBe(Infinity);
    pit.advance(100000);
    expect(ticks()).toBe(1);
  });

  it('takes a new mode-2 count at the next reload', () => {
    const { pit, ticks } = programmed(2, 1000);
    pit.advance(400);
    pit.out8(0x40, 100);
    pit.out8(0x40, 0);
    expect(pit.clocksUntilTimer()).toBe(600);
    pit.advance(600);
    expect(ticks()).toBe(1);
    expect(pit.clocksUntilTimer()).toBe(100);
  });

  it('collapses several edges in one advance into one interrupt request', () => {
    const { pit, ticks } = programmed(2, 10);
    pit.advance(95);
    expect(ticks()).toBe(1);
    expect(pit.clocksUntilTimer()).toBe(5);
  });
});
