// The 8253/8254 programmable interval timer: three 16-bit down-counters fed by a 1.193182 MHz
// crystal (ports 0x40-0x42 for the counters, 0x43 for the control word). Channel 0's output
// drives IRQ 0, and that is the heartbeat of a native guest: it programs channel 0 in mode 2
// (rate generator) or 3 (square wave) with a divisor, and then takes one timer interrupt every
// divisor input clocks.
//
// There is no real crystal here: the harness advances the PIT by whole input clocks computed
// from virtual time (retired instructions at a fixed rate), so a run is deterministic. Modes
// 0, 2, 3 and 4 count; modes 1 and 5 wait for a gate edge that never comes (the gates are not
// modelled: channel 0's is tied high, channel 2's speaker gate at port 0x61 is absent). BCD
// counting is accepted but counts in binary. The counter reads back for mode 3 as it would in
// mode 2 (the real chip counts down by two, twice per period).

import type { PortDevice } from './port-bus';

/** The input clock of every channel, in Hz. */
export const PIT_HZ = 1_193_182;

/** RW field of the control word: how the count is read and written. */
const enum Access {
  Latch = 0,
  Low = 1,
  High = 2,
  LowHigh = 3,
}

/** One PIT counter's state, for a snapshot. */
export interface PitChannelState {
  mode: number;
  access: number;
  reload: number;
  count: number;
  running: boolean;
  fired: boolean;
  pendingReload: number;
  writeHighNext: boolean;
  readHighNext: boolean;
  latched: number[];
  bcd: boolean;
}

/** One counter of the PIT. */
export class PitChannel {
  mode = 0;
  private access = Access.LowHigh;
  /** The programmed divisor; 0 stands for 65536. */
  reload = 0;
  /** Input clocks until the counter next reaches its terminal count (1..65536). */
  count = 0x10000;
  /** Whether the counter is counting (a complete count was written in a counting mode). */
  running = false;
  /** Modes 0 and 4: the one terminal count has happened. */
  private fired = false;
  /** Modes 2 and 3: a count written while running takes effect at the next reload. */
  private pendingReload = -1;
  private writeHighNext = false;
  private readHighNext = false;
  private latched: number[] = [];
  private bcd = false;

  save(): PitChannelState {
    return {
      mode: this.mode,
      access: this.access,
      reload: this.reload,
      count: this.count,
      running: this.running,
      fired: this.fired,
      pendingReload: this.pendingReload,
      writeHighNext: this.writeHighNext,
      readHighNext: this.readHighNext,
      latched: [...this.latched],
      bcd: this.bcd,
    };
  }

  load(s: PitChannelState): void {
    Object.assign(this, s, { latched: [...s.latched] });
  }

  /** A control word addressed to this channel (SC = this channel). */
  control(value: number): void {
    const access = (value >> 4) & 3;
    if (access === Access.Latch) {
      this.latchCount();
      return;
    }
    this.access = access as Access;
    this.mode = (value >> 1) & 7;
    if (this.mode > 5) this.mode -= 4; // 6 and 7 are aliases of 2 and 3
    this.bcd = (value & 1) !== 0;
    this.running = false;
    this.fired = false;
    this.pendingReload = -1;
    this.writeHighNext = false;
    this.readHighNext = false;
    this.latched = [];
  }

  /** Counter latch command: freeze the current count for the next read(s). */
  latchCount(): void {
    if (this.latched.length !== 0) return; // a second latch before the read is ignored
    const c = this.currentCount();
    if (this.access === Access.Low) this.latched = [c & 0xff];
    else if (this.access === Access.High) this.latched = [c >> 8];
    else this.latched = [c & 0xff, c >> 8];
  }

  /** 8254 read-back status byte: OUTPUT, NULL COUNT, RW, mode, BCD. */
  latchStatus(): void {
    const out = this.mode === 0 ? this.fired : this.running;
    const status =
      (out ? 0x80 : 0) | (this.running ? 0 : 0x40) | (this.access << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
    this.latched = [status, ...this.latched];
  }

  /** A read of the channel's data port. */
  read(): number {
    const next = this.latched.shift();
    if (next !== undefined) return next;
    const c = this.currentCount();
    switch (this.access) {
      case Access.Low:
        return c & 0xff;
      case Access.High:
        return c >> 8;
      default: {
        const high = this.readHighNext;
        this.readHighNext = !high;
        return high ? c >> 8 : c & 0xff;
      }
    }
  }

  /** A write of the channel's data port: part or all of a new count. */
  write(value: number): void {
    switch (this.access) {
      case Access.Low:
        this.loadCount(value);
        return;
      case Access.High:
        this.loadCount(value << 8);
        return;
      default:
        if (!this.writeHighNext) {
          this.reload = (this.reload & 0xff00) | value;
          this.writeHighNext = true;
          if (this.mode === 0) this.running = false; // mode 0 stops counting on the first byte
          return;
        }
        this.writeHighNext = false;
        this.loadCount((this.reload & 0xff) | (value << 8));
    }
  }

  private loadCount(value: number): void {
    const periodic = this.mode === 2 || this.mode === 3;
    if (periodic && this.running) {
      this.pendingReload = value;
      return;
    }
    this.reload = value;
    this.count = value === 0 ? 0x10000 : value;
    this.fired = false;
    this.running = this.mode === 0 || this.mode === 2 || this.mode === 3 || this.mode === 4;
  }

  /** The value a read would see now (16 bits; 65536 reads as 0). */
  currentCount(): number {
    return this.count & 0xffff;
  }

  /**
   * The OUT pin: in modes 0 and 4 high once the count has run out (mode 0 until a new count,
   * mode 4 taken as high but for the one-clock strobe); in mode 2 high but for the last
   * clock; in mode 3 high for the first half of each period. Low before a count is written.
   */
  output(): boolean {
    if (!this.running) return this.mode !== 0;
    if (this.mode === 0) return this.fired;
    if (this.mode === 4) return true;
    if (this.mode === 2) return this.count !== 1;
    const period = this.reload === 0 ? 0x10000 : this.reload;
    return this.count > period / 2;
  }

  /** Input clocks until the next rising edge of OUT (one timer interrupt), or Infinity. */
  clocksUntilEdge(): number {
    if (!this.running) return Infinity;
    if ((this.mode === 0 || this.mode === 4) && this.fired) return Infinity;
    return this.count;
  }

  /** Advances the counter by `clocks` input clocks and returns how many OUT edges happened. */
  advance(clocks: number): number {
    if (!this.running || clocks <= 0) return 0;
    if (this.mode === 0 || this.mode === 4) {
      if (this.fired) {
        this.count = wrap(this.count - clocks);
        return 0;
      }
      if (clocks < this.count) {
        this.count -= clocks;
        return 0;
      }
      this.fired = true;
      this.count = wrap(this.count - clocks);
      return 1;
    }
    if (clocks < this.count) {
      this.count -= clocks;
      return 0;
    }
    // Terminal count: reload (with a count written meanwhile, if any) and go on.
    let left = clocks - this.count;
    if (this.pendingReload >= 0) {
      this.reload = this.pendingReload;
      this.pendingReload = -1;
    }
    const period = this.reload === 0 ? 0x10000 : this.reload;
    const more = Math.floor(left / period);
    left -= more * period;
    this.count = period - left;
    return 1 + more;
  }
}

/** 16-bit down-counter wrap-around, kept in 1..65536. */
function wrap(count: number): number {
  const c = ((count % 0x10000) + 0x10000) % 0x10000;
  return c === 0 ? 0x10000 : c;
}

/** The three channels and the control port. `onTimer` is called once per channel-0 edge. */
export class Pit implements PortDevice {
  readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()] as const;

  constructor(private readonly onTimer: () => void) {}

  save(): PitChannelState[] {
    return this.channels.map((c) => c.save());
  }

  load(s: readonly PitChannelState[]): void {
    this.channels.forEach((c, i) => c.load(s[i]));
  }

  in8(port: number): number {
    const ch = port & 3;
    return ch === 3 ? 0xff : this.channels[ch].read();
  }

  out8(port: number, value: number): void {
    const ch = port & 3;
    if (ch !== 3) {
      this.channels[ch].write(value);
      return;
    }
    const select = value >> 6;
    if (select !== 3) {
      this.channels[select].control(value);
      return;
    }
    // 8254 read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1-3 pick channels.
    for (let i = 0; i < 3; i++) {
      if ((value & (2 << i)) === 0) continue;
      if ((value & 0x20) === 0) this.channels[i].latchCount();
      if ((value & 0x10) === 0) this.channels[i].latchStatus();
    }
  }

  /** Input clocks until channel 0 next interrupts, or Infinity if it never will. */
  clocksUntilTimer(): number {
    return this.channels[0].clocksUntilEdge();
  }

  /**
   * Input clocks until something a guest can see changes: channel 0's next interrupt, or
   * channel 2's output rising at the end of a mode 0 count (a kernel polls it at port 0x61).
   */
  clocksUntilEvent(): number {
    const ch2 = this.channels[2];
    const edge2 = ch2.mode === 0 ? ch2.clocksUntilEdge() : Infinity;
    return Math.min(this.clocksUntilTimer(), edge2);
  }

  /** Advances every channel by `clocks` input clocks, raising IRQ 0 for channel 0's edges. */
  advance(clocks: number): void {
    const edges = this.channels[0].advance(clocks);
    this.channels[1].advance(clocks);
    this.channels[2].advance(clocks);
    // Edges closer together than the CPU looked collapse into one request, as on the 8259A.
    if (edges > 0) this.onTimer();
  }
}
