// The two 8259A programmable interrupt controllers of a PC/AT. The timer, the UART and the
// other ISA devices raise IRQ lines here; the master PIC (ports 0x20/0x21, IRQ 0-7) raises the
// CPU's INTR line, and the slave PIC (ports 0xA0/0xA1, IRQ 8-15) hangs off the master's IRQ 2.
// A native guest's first job with them is the ICW1-ICW4 dance that moves their vectors away
// from the CPU exceptions (to 32-47, say); then it masks and unmasks lines through OCW1 and
// says "done" with an EOI through OCW2 after each interrupt.
//
// What is modelled (Intel 8259A data sheet): initialisation (ICW1-4, with or without ICW3/ICW4),
// the interrupt mask (OCW1), non-specific and specific EOI and the priority rotations (OCW2),
// reading IRR or ISR through the command port (OCW3), automatic EOI, edge- and level-triggered
// inputs, the spurious IRQ 7 when nothing is left to acknowledge, and the cascade. Not
// modelled: special mask mode, poll mode, special fully nested mode, buffered mode, 8080 mode.

import type { InterruptController } from '@lguest/x86';
import type { PortDevice } from './port-bus';

/** Bits of ICW1 (a command-port write with bit 4 set). */
const ICW1_IC4 = 0x01;
const ICW1_SNGL = 0x02;
const ICW1_LTIM = 0x08;
/** Bit of ICW4. */
const ICW4_AEOI = 0x02;

/** Where the initialisation sequence is: the next data-port write is this ICW. */
const enum InitStep {
  Ready = 0,
  Icw2 = 2,
  Icw3 = 3,
  Icw4 = 4,
}

/** One 8259A's state, for a snapshot. */
export interface PicChipState {
  irr: number;
  isr: number;
  imr: number;
  vectorBase: number;
  icw3: number;
  lowestPriority: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  levelTriggered: boolean;
  lines: number;
  readIsr: boolean;
  step: number;
  needIcw3: boolean;
  needIcw4: boolean;
}

/** One 8259A. */
export class Pic8259 {
  /** Interrupt request register: lines that asked and were not acknowledged yet. */
  irr = 0;
  /** In-service register: acknowledged and waiting for their EOI. */
  isr = 0;
  /** Interrupt mask register (OCW1): a set bit ignores that line. */
  imr = 0xff;
  /** The vector of IRQ 0 on this chip (ICW2, the low 3 bits are 0). */
  vectorBase = 0;
  /** ICW3: on the master, the lines with a slave on them; on a slave, its cascade identity. */
  icw3 = 0;
  /** The line with the lowest priority (rotation changes it; 7 after initialisation). */
  lowestPriority = 7;
  autoEoi = false;
  /** OCW2 "rotate in automatic EOI mode": each automatic EOI makes its line the lowest. */
  rotateOnAutoEoi = false;
  levelTriggered = false;
  /** Current input levels, to find rising edges. */
  private lines = 0;
  /** OCW3: read the ISR (true) or the IRR (false) from the command port. */
  private readIsr = false;
  private step = InitStep.Ready;
  private needIcw3 = false;
  private needIcw4 = false;

  constructor(readonly name: string) {}

  /** The chip's registers and where its initialisation sequence is, as plain data. */
  save(): PicChipState {
    return {
      irr: this.irr,
      isr: this.isr,
      imr: this.imr,
      vectorBase: this.vectorBase,
      icw3: this.icw3,
      lowestPriority: this.lowestPriority,
      autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi,
      levelTriggered: this.levelTriggered,
      lines: this.lines,
      readIsr: this.readIsr,
      step: this.step,
      needIcw3: this.needIcw3,
      needIcw4: this.needIcw4,
    };
  }

  /** Puts back what `save` gave (every field is a number or a flag). */
  load(s: PicChipState): void {
    Object.assign(this, s);
  }

  /** Drives input `line` (0-7) to `level`. An edge-triggered chip latches rising edges only. */
  setIrq(line: number, level: boolean): void {
    const bit = 1 << line;
    if (level) {
      if (this.levelTriggered || (this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      if (this.levelTriggered) this.irr &= ~bit;
    }
  }

  /** The line that would be delivered now (pending, unmasked, above everything in service), or -1. */
  pendingLine(extraIrr = 0): number {
    const requests = (this.irr | extraIrr) & ~this.imr;
    if (requests === 0) return -1;
    for (let i = 1; i <= 8; i++) {
      const line = (this.lowestPriority + i) & 7;
      // A line in service blocks itself and every line of lower priority.
      if (this.isr & (1 << line)) return -1;
      if (requests & (1 << line)) return line;
    }
    return -1;
  }

  /**
   * The INTA cycle for `line` (from pendingLine): moves it from IRR to ISR (unless automatic
   * EOI) and returns its vector.
   */
  acknowledgeLine(line: number): number {
    const bit = 1 << line;
    if (!this.levelTriggered) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowestPriority = line;
    } else {
      this.isr |= bit;
    }
    return (this.vectorBase + line) & 0xff;
  }

  /** The spurious vector: what INTA returns when the request went away before it. */
  spuriousVector(): number {
    return (this.vectorBase + 7) & 0xff;
  }

  /** Reads the command (even) or data (odd) port. */
  read(odd: boolean): number {
    if (odd) return this.imr;
    return this.readIsr ? this.isr : this.irr;
  }

  /** Writes the command (even) or data (odd) port. */
  write(odd: boolean, value: number): void {
    if (!odd) {
      if (value & 0x10) this.icw1(value);
      else if (value & 0x08) this.ocw3(value);
      else this.ocw2(value);
      return;
    }
    switch (this.step) {
      case InitStep.Icw2:
        this.vectorBase = value & 0xf8;
        this.step = this.needIcw3 ? InitStep.Icw3 : this.needIcw4 ? InitStep.Icw4 : InitStep.Ready;
        return;
      case InitStep.Icw3:
        this.icw3 = value;
        this.step = this.needIcw4 ? InitStep.Icw4 : InitStep.Ready;
        return;
      case InitStep.Icw4:
        this.autoEoi = (value & ICW4_AEOI) !== 0;
        this.step = InitStep.Ready;
        return;
      default:
        this.imr = value; // OCW1
    }
  }

  /** ICW1 starts initialisation: mask cleared, nothing in service, edge detection reset. */
  private icw1(value: number): void {
    this.step = InitStep.Icw2;
    this.needIcw3 = (value & ICW1_SNGL) === 0;
    this.needIcw4 = (value & ICW1_IC4) !== 0;
    this.levelTriggered = (value & ICW1_LTIM) !== 0;
    this.imr = 0;
    this.isr = 0;
    this.irr = this.levelTriggered ? this.lines : 0;
    this.lowestPriority = 7;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.readIsr = false;
  }

  /** OCW2: EOIs and priority rotation (bits R, SL, EOI; level in bits 0-2). */
  private ocw2(value: number): void {
    const level = value & 7;
    switch (value >> 5) {
      case 0b001: // non-specific EOI
        this.eoiHighest(false);
        return;
      case 0b101: // rotate on non-specific EOI
        this.eoiHighest(true);
        return;
      case 0b011: // specific EOI
        this.isr &= ~(1 << level);
        return;
      case 0b111: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.lowestPriority = level;
        return;
      case 0b110: // set priority
        this.lowestPriority = level;
        return;
      case 0b100: // rotate in automatic EOI mode (set)
        this.rotateOnAutoEoi = true;
        return;
      case 0b000: // rotate in automatic EOI mode (clear)
        this.rotateOnAutoEoi = false;
        return;
      default: // 0b010: no operation
    }
  }

  /** Clears the highest-priority in-service bit, optionally making it the lowest priority. */
  private eoiHighest(rotate: boolean): void {
    for (let i = 1; i <= 8; i++) {
      const line = (this.lowestPriority + i) & 7;
      if (this.isr & (1 << line)) {
        this.isr &= ~(1 << line);
        if (rotate) this.lowestPriority = line;
        return;
      }
    }
  }

  /** OCW3: which register the command port reads (RR, RIS). */
  private ocw3(value: number): void {
    if (value & 0x02) this.readIsr = (value & 0x01) !== 0;
  }
}

/** The line of the master that the slave's INT output drives. */
const CASCADE_LINE = 2;

/**
 * The master/slave pair as the CPU sees it: IRQ 0-15 in, one INTR line and the INTA cycle
 * out. Whenever a change may have made an interrupt deliverable it calls `raiseIntr` (the
 * harness sets the core's irqLine there); the core then asks `intrPending`/`acknowledge`.
 */
export class DualPic implements InterruptController, PortDevice {
  readonly master = new Pic8259('master');
  readonly slave = new Pic8259('slave');

  constructor(private readonly raiseIntr: () => void) {}

  save(): { master: PicChipState; slave: PicChipState } {
    return { master: this.master.save(), slave: this.slave.save() };
  }

  /** Puts back what `save` gave, then tells the CPU if that leaves an interrupt to take. */
  load(s: { master: PicChipState; slave: PicChipState }): void {
    this.master.load(s.master);
    this.slave.load(s.slave);
    this.update();
  }

  /** Drives IRQ line `irq` (0-15). */
  setIrq(irq: number, level: boolean): void {
    if (irq < 0 || irq > 15) throw new Error(`IRQ ${irq} does not exist on a PC/AT (0-15)`);
    if (irq < 8) this.master.setIrq(irq, level);
    else this.slave.setIrq(irq - 8, level);
    this.update();
  }

  /** A rising then falling edge on `irq`: how an edge-triggered device says "now". */
  pulseIrq(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  intrPending(): boolean {
    return this.master.pendingLine(this.cascadeIrr()) >= 0;
  }

  acknowledge(): number {
    const line = this.master.pendingLine(this.cascadeIrr());
    if (line < 0) return this.master.spuriousVector();
    if (line === CASCADE_LINE && this.slave.pendingLine() >= 0) {
      this.master.acknowledgeLine(line);
      return this.slave.acknowledgeLine(this.slave.pendingLine());
    }
    if (line === CASCADE_LINE && (this.master.irr & (1 << CASCADE_LINE)) === 0) {
      // The slave's request vanished between INTR and INTA: the slave answers spuriously.
      this.master.acknowledgeLine(line);
      return this.slave.spuriousVector();
    }
    return this.master.acknowledgeLine(line);
  }

  /** Port access: 0x20/0x21 for the master, 0xA0/0xA1 for the slave. */
  in8(port: number): number {
    return this.chip(port).read((port & 1) !== 0);
  }

  out8(port: number, value: number): void {
    this.chip(port).write((port & 1) !== 0, value);
    this.update();
  }

  private chip(port: number): Pic8259 {
    return port >= 0xa0 ? this.slave : this.master;
  }

  /** The slave's INT output seen as a request on the master's cascade line. */
  private cascadeIrr(): number {
    return this.slave.pendingLine() >= 0 ? 1 << CASCADE_LINE : 0;
  }

  private update(): void {
    if (this.intrPending()) this.raiseIntr();
  }
}
