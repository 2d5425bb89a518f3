// A 16550A UART, COM1 at ports 0x3F8-0x3FF on IRQ 4: where a native guest's console goes.
// The guest writes a byte to THR once LSR says the transmitter is empty, and that byte comes
// out of `serial` at once — the transmitter here is infinitely fast, so THRE is always set
// and polled output never waits. Received bytes (`receive`) queue in the FIFO and set DR.
//
// Registers (offset from the base; DLAB is bit 7 of LCR):
//   0  RBR (read) / THR (write), or DLL when DLAB=1
//   1  IER, or DLM when DLAB=1        4  MCR (bit 4: loopback)
//   2  IIR (read) / FCR (write)        5  LSR: DR (0), THRE (5), TEMT (6)
//   3  LCR                             6  MSR      7  SCR
// Interrupts: "received data available" (IER bit 0) and "THR empty" (IER bit 1) are reported
// in IIR by priority and drive the IRQ line as a level. Line-status and modem-status
// interrupts, FIFO trigger levels and the character timeout are not modelled.

import type { PortDevice } from './port-bus';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const MCR_OUT2 = 0x08;
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const IIR_NONE = 0x01;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_FIFO = 0xc0;

/** The UART's registers and its receive queue, for a snapshot. */
export interface UartState {
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  divisor: number;
  fifoEnabled: boolean;
  rx: number[];
  threPending: boolean;
  irqLevel: boolean;
}

export class Uart16550 implements PortDevice {
  ier = 0;
  lcr = 0x03;
  mcr = 0;
  scr = 0;
  divisor = 12; // 9600 baud until the guest says otherwise
  private fifoEnabled = false;
  private readonly rx: number[] = [];
  /** "THR empty" is pending until IIR reports it or THR is written (16550 rule). */
  private threPending = false;
  private irqLevel = false;

  /**
   * `transmit` receives every byte the guest sends; `setIrq` drives the UART's interrupt line
   * (the PC gates it with MCR OUT2, as the real board does).
   */
  constructor(
    readonly base: number,
    private readonly transmit: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => undefined,
  ) {}

  save(): UartState {
    const { ier, lcr, mcr, scr, divisor, fifoEnabled, threPending, irqLevel } = this;
    return { ier, lcr, mcr, scr, divisor, fifoEnabled, rx: [...this.rx], threPending, irqLevel };
  }

  /** Puts back what `save` gave (the level of its interrupt line is the PIC's to restore). */
  load(s: UartState): void {
    const { rx, ...registers } = s;
    Object.assign(this, registers);
    this.rx.splice(0, this.rx.length, ...rx);
  }

  /** Bytes arriving on the line, queued for the guest to read from RBR. */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) this.rx.push(b & 0xff);
    this.updateIrq();
  }

  in8(port: number): number {
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        return this.readRbr();
      case 1:
        return this.lcr & LCR_DLAB ? this.divisor >> 8 : this.ier;
      case 2: {
        const iir = this.iir();
        if (iir === IIR_THRE) {
          this.threPending = false; // reading IIR acknowledges THRE
          this.updateIrq();
        }
        return iir | (this.fifoEnabled ? IIR_FIFO : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        return LSR_THRE | LSR_TEMT | (this.rx.length > 0 ? LSR_DR : 0);
      case 6:
        // Loopback ties the modem outputs back to the inputs; otherwise report CTS/DSR/DCD up.
        if (this.mcr & MCR_LOOP) return ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4);
        return 0xb0;
      default:
        return this.scr;
    }
  }

  out8(port: number, value: number): void {
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0xff00) | value;
          return;
        }
        if (this.mcr & MCR_LOOP) this.rx.push(value);
        else this.transmit(value);
        this.threPending = true; // the (instant) transmitter is empty again
        break;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0xff) | (value << 8);
          return;
        }
        // Enabling THRE while THR is empty raises the interrupt at once.
        if (value & IER_THRE && !(this.ier & IER_THRE)) this.threPending = true;
        this.ier = value & 0x0f;
        break;
      case 2:
        this.fifoEnabled = (value & 1) !== 0;
        if (value & 0x02) this.rx.length = 0; // clear the receive FIFO
        break;
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        break;
      case 7:
        this.scr = value;
        return;
      default:
        return;
    }
    this.updateIrq();
  }

  private readRbr(): number {
    const b = this.rx.shift();
    this.updateIrq();
    return b ?? 0;
  }

  /** The highest-priority pending interrupt as IIR reports it. */
  private iir(): number {
    if (this.ier & IER_RDA && this.rx.length > 0) return IIR_RDA;
    if (this.ier & IER_THRE && this.threPending) return IIR_THRE;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.iir() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq(level);
    }
  }
}
