// The PC's disk: the primary channel of an ATA (IDE) controller in PIO mode, at ports
// 0x1F0-0x1F7 with its control register at 0x3F6 and its interrupt on IRQ 14 — the
// interface every PC kernel of the lguest era could drive, and the simplest real one. Up to
// two drives, master and slave, each a `AtaDisk` the caller backs with a file.
//
// What a driver does, and what the drive does back:
//  - select a drive (0x1F6: 0xA0 | slave << 4, bit 6 for LBA, bits 0-3 the top of the LBA),
//    set the sector count (0x1F2, 0 meaning 256) and the LBA (0x1F3-0x1F5), write a command
//    to 0x1F7;
//  - IDENTIFY DEVICE (0xEC): 512 bytes of identity to read from the data port 0x1F0;
//  - READ SECTORS (0x20): for each sector, the drive raises IRQ 14 with DRQ set and the
//    driver reads 256 words;
//  - WRITE SECTORS (0x30): DRQ at once, the driver writes 256 words, the drive stores the
//    sector and raises IRQ 14, with DRQ again while sectors remain;
//  - FLUSH CACHE (0xE7): the data is on stable storage when the IRQ comes;
//  - reading the status register (0x1F7) lowers the interrupt; the alternate status (0x3F6)
//    does not. nIEN (bit 1 of the control register) keeps the line quiet.
// A command the drive does not know, a sector past its end, or a write to a read-only disk
// ends with ERR in the status and ABRT or IDNF in the error register, and the IRQ.

import type { PortDevice } from './port-bus';

export const ATA_BASE = 0x1f0;
export const ATA_CONTROL = 0x3f6;
export const ATA_IRQ = 14;

const BSY = 0x80;
const DRDY = 0x40;
const DSC = 0x10;
const DRQ = 0x08;
const ERR = 0x01;
const ERR_ABRT = 0x04;
const ERR_IDNF = 0x10;
const NIEN = 0x02;
const SRST = 0x04;

const CMD_READ = 0x20;
const CMD_READ_NORETRY = 0x21;
const CMD_WRITE = 0x30;
const CMD_WRITE_NORETRY = 0x31;
const CMD_IDENTIFY = 0xec;
const CMD_FLUSH = 0xe7;

/** What a drive is backed by: whole 512-byte sectors. Each call returns false on an I/O error. */
export interface AtaDisk {
  readonly sectors: number;
  readonly readOnly: boolean;
  read(lba: number, into: Uint8Array): boolean;
  write(lba: number, from: Uint8Array): boolean;
  flush(): boolean;
}

type Transfer = 'none' | 'read' | 'write' | 'identify';

/** The channel's registers and the transfer under way, for a snapshot (not the drives). */
export interface AtaState {
  buffer: number[];
  bufferPos: number;
  transfer: Transfer;
  status: number;
  error: number;
  count: number;
  lba: number[];
  select: number;
  control: number;
  remaining: number;
  nextLba: number;
  irq: boolean;
}

/** The primary ATA channel with up to two drives. */
export class AtaChannel implements PortDevice {
  private readonly buffer = new Uint8Array(512);
  private bufferPos = 0;
  private transfer: Transfer = 'none';
  private status = 0;
  private error = 0;
  private count = 0;
  private lba = [0, 0, 0];
  private select = 0xa0;
  private control = 0;
  /** Sectors left in the current transfer, and the next one's LBA. */
  private remaining = 0;
  private nextLba = 0;
  private irq = false;

  constructor(
    private readonly drives: readonly (AtaDisk | null)[],
    private readonly setIrq: (level: boolean) => void,
  ) {
    this.status = this.drive() ? DRDY | DSC : 0;
  }

  save(): AtaState {
    const { bufferPos, transfer, status, error, count, select, control, remaining, nextLba, irq } = this;
    return {
      buffer: Array.from(this.buffer),
      bufferPos,
      transfer,
      status,
      error,
      count,
      lba: [...this.lba],
      select,
      control,
      remaining,
      nextLba,
      irq,
    };
  }

  /** Puts back what `save` gave (the level of its interrupt line is the PIC's to restore). */
  load(s: AtaState): void {
    const { buffer, lba, ...registers } = s;
    Object.assign(this, registers, { lba: [...lba] });
    this.buffer.set(buffer);
  }

  private drive(): AtaDisk | null {
    return this.drives[(this.select >> 4) & 1] ?? null;
  }

  private raise(): void {
    this.irq = true;
    if (!(this.control & NIEN)) this.setIrq(true);
  }

  private lower(): void {
    this.irq = false;
    this.setIrq(false);
  }

  private fail(error: number): void {
    this.transfer = 'none';
    this.error = error;
    this.status = DRDY | DSC | ERR;
    this.raise();
  }

  private currentLba(): number {
    return ((this.select & 0x0f) * 0x1000000 + (this.lba[2] << 16) + (this.lba[1] << 8) + this.lba[0]) >>> 0;
  }

  /** Loads the next sector of a read into the buffer and signals it. */
  private nextRead(): void {
    const d = this.drive();
    if (!d || !d.read(this.nextLba, this.buffer)) {
      this.fail(ERR_ABRT);
      return;
    }
    this.nextLba++;
    this.remaining--;
    this.bufferPos = 0;
    this.transfer = 'read';
    this.status = DRDY | DSC | DRQ;
    this.raise();
  }

  private command(cmd: number): void {
    const d = this.drive();
    this.error = 0;
    if (!d) return; // no drive answers: the status stays 0
    this.lower();
    switch (cmd) {
      case CMD_IDENTIFY:
        this.identify(d);
        this.bufferPos = 0;
        this.transfer = 'identify';
        this.status = DRDY | DSC | DRQ;
        this.raise();
        return;
      case CMD_READ:
      case CMD_READ_NORETRY:
      case CMD_WRITE:
      case CMD_WRITE_NORETRY: {
        const n = this.count === 0 ? 256 : this.count;
        const lba = this.currentLba();
        if (!(this.select & 0x40) || lba + n > d.sectors) {
          this.fail(ERR_IDNF);
          return;
        }
        this.remaining = n;
        this.nextLba = lba;
        if (cmd === CMD_READ || cmd === CMD_READ_NORETRY) {
          this.nextRead();
        } else if (d.readOnly) {
          this.fail(ERR_ABRT);
        } else {
          this.bufferPos = 0;
          this.transfer = 'write';
          this.status = DRDY | DSC | DRQ; // the first sector is asked for without an IRQ
        }
        return;
      }
      case CMD_FLUSH:
        if (!d.flush()) {
          this.fail(ERR_ABRT);
          return;
        }
        this.status = DRDY | DSC;
        this.raise();
        return;
      default:
        this.fail(ERR_ABRT);
    }
  }

  /** IDENTIFY DEVICE's 256 words: LBA28 capacity, a model name, PIO only. */
  private identify(d: AtaDisk): void {
    const words = new Uint16Array(256);
    const sectors = Math.min(d.sectors, 0x0fffffff);
    const heads = 16;
    const perTrack = 63;
    const cylinders = Math.min(Math.floor(sectors / (heads * perTrack)), 16383);
    const text = (first: number, count: number, s: string) => {
      const padded = s.padEnd(count * 2, ' ');
      for (let i = 0; i < count; i++) words[first + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
    };
    words[0] = 0x0040; // a fixed disk
    words[1] = cylinders;
    words[3] = heads;
    words[6] = perTrack;
    text(10, 10, 'LGUEST-TS-ATA');
    text(23, 4, '1.0');
    text(27, 20, 'lguest.ts ATA disk');
    words[47] = 0x8001;
    words[49] = 0x0200; // LBA supported
    words[53] = 0x0001;
    words[60] = sectors & 0xffff;
    words[61] = sectors >>> 16;
    words[80] = 0x007e; // ATA-1 to ATA-6
    words[82] = 0x4000;
    words[83] = 0x5000; // FLUSH CACHE
    words[86] = 0x1000;
    for (let i = 0; i < 256; i++) {
      this.buffer[2 * i] = words[i] & 0xff;
      this.buffer[2 * i + 1] = words[i] >> 8;
    }
  }

  /** The data port: 16 bits at a time, as PIO moves them. */
  in16(port: number): number {
    if (port !== ATA_BASE) return this.in8(port) | (this.in8(port + 1) << 8);
    if (this.transfer !== 'read' && this.transfer !== 'identify') return 0xffff;
    const v = this.buffer[this.bufferPos] | (this.buffer[this.bufferPos + 1] << 8);
    this.bufferPos += 2;
    if (this.bufferPos >= 512) {
      if (this.transfer === 'read' && this.remaining > 0) this.nextRead();
      else {
        this.transfer = 'none';
        this.status = DRDY | DSC;
      }
    }
    return v;
  }

  out16(port: number, value: number): void {
    if (port !== ATA_BASE) {
      this.out8(port, value & 0xff);
      this.out8(port + 1, value >> 8);
      return;
    }
    if (this.transfer !== 'write') return;
    this.buffer[this.bufferPos] = value & 0xff;
    this.buffer[this.bufferPos + 1] = value >> 8;
    this.bufferPos += 2;
    if (this.bufferPos < 512) return;
    const d = this.drive();
    if (!d || !d.write(this.nextLba, this.buffer)) {
      this.fail(ERR_ABRT);
      return;
    }
    this.nextLba++;
    this.remaining--;
    this.bufferPos = 0;
    if (this.remaining > 0) this.status = DRDY | DSC | DRQ;
    else {
      this.transfer = 'none';
      this.status = DRDY | DSC;
    }
    this.raise();
  }

  in8(port: number): number {
    const present = this.drive() !== null;
    switch (port) {
      case ATA_BASE:
        return this.in16(port) & 0xff;
      case ATA_BASE + 1:
        return this.error;
      case ATA_BASE + 2:
        return this.count;
      case ATA_BASE + 3:
      case ATA_BASE + 4:
      case ATA_BASE + 5:
        return this.lba[port - ATA_BASE - 3];
      case ATA_BASE + 6:
        return this.select;
      case ATA_BASE + 7:
        if (this.irq) this.lower();
        return present ? this.status : 0;
      case ATA_CONTROL:
        return present ? this.status : 0;
      default:
        return 0xff;
    }
  }

  out8(port: number, value: number): void {
    switch (port) {
      case ATA_BASE:
        this.out16(port, value);
        return;
      case ATA_BASE + 1:
        return; // the features register: no command of ours uses it
      case ATA_BASE + 2:
        this.count = value;
        return;
      case ATA_BASE + 3:
      case ATA_BASE + 4:
      case ATA_BASE + 5:
        this.lba[port - ATA_BASE - 3] = value;
        return;
      case ATA_BASE + 6:
        this.select = value | 0xa0;
        this.status = this.drive() ? (this.status & ~BSY) | DRDY | DSC : 0;
        return;
      case ATA_BASE + 7:
        this.command(value);
        return;
      case ATA_CONTROL:
        if (value & SRST) {
          this.transfer = 'none';
          this.error = 1; // "no error" diagnostic code after a reset
          this.status = this.drive() ? DRDY | DSC : 0;
          this.lower();
        }
        this.control = value;
        if (this.control & NIEN) this.setIrq(false);
        else if (this.irq) this.setIrq(true);
        return;
    }
  }
}
