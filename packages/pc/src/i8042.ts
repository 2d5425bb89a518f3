// The 8042 keyboard controller (ports 0x60 data, 0x64 status/command), with a keyboard and
// no mouse. It matters to a native Linux for two reasons: its driver probes it at boot (and
// then registers the AT keyboard on IRQ 1), and `reboot` resets the PC through it — the
// controller's output port bit 0 is wired to the CPU's reset line, and command 0xFE pulses
// it. That is how `native_machine_emergency_restart` restarts a PC; here the reset ends
// `run()` with 'reset' (there is no firmware to start again).
//
// The controller is infinitely fast: the input buffer is never full, a command's reply is in
// the output buffer at once. Bytes wait in a queue behind the one-byte output buffer; each
// byte from the keyboard raises IRQ 1 while the command byte enables it. The auxiliary
// (mouse) port has nothing attached and reports so to its interface test; we answer no AUX
// loopback (as AT-type controllers do not), so a driver finds no AUX port. The keyboard
// acknowledges every command (0xFA); reset answers the self-test pass (0xAA), identify the
// MF2 id (0xAB 0x83), echo 0xEE. Typing is not modelled: the console is the UART.

import type { PortDevice } from './port-bus';

export const I8042_DATA = 0x60;
export const I8042_COMMAND = 0x64;
export const KEYBOARD_IRQ = 1;

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08;
const STATUS_UNLOCKED = 0x10;
/** Command byte: keyboard interrupt enable, system flag, AUX disabled, translation. */
const CTR_KBDINT = 0x01;
const CTR_DEFAULT = 0x01 | 0x04 | 0x20 | 0x40;
/** Output port: bit 0 is the CPU's reset line (active low), bit 1 the A20 gate. */
const OUTPUT_PORT_DEFAULT = 0x03;

/** The controller's registers and output queue, for a snapshot. */
export interface I8042State {
  ctr: number;
  outputPort: number;
  queue: { byte: number; keyboard: boolean }[];
  pending: number;
  lastWasCommand: boolean;
  resetRequested: boolean;
}

export class I8042 implements PortDevice {
  private ctr = CTR_DEFAULT;
  private outputPort = OUTPUT_PORT_DEFAULT;
  /** Bytes to read, oldest first, each with whether it came from the keyboard. */
  private readonly queue: { byte: number; keyboard: boolean }[] = [];
  /** A command waiting for its parameter byte on port 0x60. */
  private pending = 0;
  private lastWasCommand = false;
  /** Set once the guest has pulsed the reset line. */
  resetRequested = false;

  /**
   * `setIrq` drives IRQ 1 (level: a keyboard byte is waiting and interrupts are enabled);
   * `onReset` runs once, when the guest resets the PC.
   */
  constructor(
    private readonly setIrq: (level: boolean) => void,
    private readonly onReset: () => void,
  ) {}

  save(): I8042State {
    const { ctr, outputPort, pending, lastWasCommand, resetRequested } = this;
    return { ctr, outputPort, queue: this.queue.map((q) => ({ ...q })), pending, lastWasCommand, resetRequested };
  }

  /** Puts back what `save` gave (the level of its interrupt line is the PIC's to restore). */
  load(s: I8042State): void {
    const { queue, ...registers } = s;
    Object.assign(this, registers);
    this.queue.splice(0, this.queue.length, ...queue.map((q) => ({ ...q })));
  }

  in8(port: number): number {
    if (port === I8042_COMMAND) {
      return (
        (this.queue.length ? STATUS_OBF : 0) | STATUS_SYS | (this.lastWasCommand ? STATUS_CMD : 0) | STATUS_UNLOCKED
      );
    }
    const next = this.queue.shift();
    this.updateIrq();
    return next ? next.byte : 0x00;
  }

  out8(port: number, value: number): void {
    if (port === I8042_COMMAND) {
      this.lastWasCommand = true;
      this.command(value);
    } else {
      this.lastWasCommand = false;
      this.data(value);
    }
    this.updateIrq();
  }

  private reply(byte: number, keyboard = false): void {
    this.queue.push({ byte, keyboard });
  }

  private command(cmd: number): void {
    this.pending = 0;
    switch (cmd) {
      case 0x20: // read the command byte
        this.reply(this.ctr);
        return;
      case 0x60: // write the command byte (next data byte)
      case 0xd1: // write the output port (next data byte)
      case 0xd2: // write the keyboard output buffer (next data byte)
        this.pending = cmd;
        return;
      case 0xa7: // disable AUX
        this.ctr |= 0x20;
        return;
      case 0xa8: // enable AUX
        this.ctr &= ~0x20;
        return;
      case 0xa9: // AUX interface test: 0x02, clock line stuck high — nothing is attached
        this.reply(0x02);
        return;
      case 0xaa: // controller self-test: passed
        this.reply(0x55);
        return;
      case 0xab: // keyboard interface test: no error
        this.reply(0x00);
        return;
      case 0xad: // disable the keyboard
        this.ctr |= 0x10;
        return;
      case 0xae: // enable the keyboard
        this.ctr &= ~0x10;
        return;
      case 0xd0: // read the output port
        this.reply(this.outputPort);
        return;
      default:
        // 0xF0-0xFF pulse output port bits low for 6 µs: bit 0 is the reset line.
        if (cmd >= 0xf0 && (cmd & 1) === 0) this.reset();
    }
  }

  private data(value: number): void {
    const cmd = this.pending;
    this.pending = 0;
    switch (cmd) {
      case 0x60:
        this.ctr = value;
        return;
      case 0xd1:
        this.outputPort = value;
        if ((value & 1) === 0) this.reset();
        return;
      case 0xd2:
        this.reply(value, true);
        return;
    }
    this.keyboard(value);
  }

  /** A byte for the keyboard itself. */
  private keyboard(value: number): void {
    this.reply(0xfa, true);
    if (value === 0xff)
      this.reply(0xaa, true); // reset: self-test passed
    else if (value === 0xf2) {
      this.reply(0xab, true); // identify: an MF2 keyboard
      this.reply(0x83, true);
    } else if (value === 0xee) this.queue[this.queue.length - 1].byte = 0xee; // echo
  }

  private reset(): void {
    if (this.resetRequested) return;
    this.resetRequested = true;
    this.onReset();
  }

  private updateIrq(): void {
    this.setIrq(this.queue.length > 0 && this.queue[0].keyboard && (this.ctr & CTR_KBDINT) !== 0);
  }
}
