import { AtaChannel, ATA_BASE, ATA_CONTROL, type AtaDisk } from './ata';

/** A disk in memory, counting flushes. */
function memoryDisk(sectors: number, readOnly = false): AtaDisk & { bytes: Uint8Array; flushes: number } {
  const bytes = new Uint8Array(sectors * 512);
  return {
    bytes,
    flushes: 0,
    sectors,
    readOnly,
    read(lba, into) {
      into.set(bytes.subarray(lba * 512, lba * 512 + 512));
      return true;
    },
    write(lba, from) {
      bytes.set(from, lba * 512);
      return true;
    },
    flush() {
      this.flushes++;
      return true;
    },
  };
}

function setup(drives: (AtaDisk | null)[]) {
  const irqs: boolean[] = [];
  const ata = new AtaChannel(drives, (level) => irqs.push(level));
  const command = (drive: number, lba: number, count: number, cmd: number) => {
    ata.out8(ATA_BASE + 6, 0xe0 | (drive << 4) | ((lba >>> 24) & 0x0f));
    ata.out8(ATA_BASE + 2, count);
    ata.out8(ATA_BASE + 3, lba & 0xff);
    ata.out8(ATA_BASE + 4, (lba >> 8) & 0xff);
    ata.out8(ATA_BASE + 5, (lba >> 16) & 0xff);
    ata.out8(ATA_BASE + 7, cmd);
  };
  return { ata, irqs, command, status: () => ata.in8(ATA_BASE + 7) };
}

describe('the ATA channel', () => {
  it('identifies a drive: LBA, its capacity in words 60-61, a model name; no slave answers', () => {
    const { ata, command, status } = setup([memoryDisk(70000)]);
    command(0, 0, 0, 0xec);
    expect(status() & 0x08).toBe(0x08);
    const words = Array.from({ length: 256 }, () => ata.in16(ATA_BASE));
    expect(words[49] & 0x0200).toBe(0x0200);
    expect(words[60] | (words[61] << 16)).toBe(70000);
    const model = words
      .slice(27, 47)
      .map((w) => String.fromCharCode(w >> 8, w & 0xff))
      .join('');
    expect(model.trim()).toBe('lguest.ts ATA disk');
    expect(status() & 0x08).toBe(0);
    ata.out8(ATA_BASE + 6, 0xb0);
    expect(status()).toBe(0);
  });

  it('writes and reads sectors, one interrupt per sector, and flushes', () => {
    const disk = memoryDisk(64);
    const { ata, irqs, command, status } = setup([disk]);
    command(0, 5, 2, 0x30);
    expect(status() & 0x08).toBe(0x08); // the first sector is asked for at once
    const word = (i: number) => 0x0100 * (i & 0xff) + 0x41;
    for (let i = 0; i < 256; i++) ata.out16(ATA_BASE, word(i));
    expect(irqs.at(-1)).toBe(true); // the first sector is taken
    expect(status() & 0x08).toBe(0x08); // and the second asked for
    expect(irqs.at(-1)).toBe(false); // reading the status lowered the line
    for (let i = 256; i < 512; i++) ata.out16(ATA_BASE, word(i));
    expect(irqs.at(-1)).toBe(true);
    expect(status() & 0x08).toBe(0);
    expect(disk.bytes[5 * 512]).toBe(0x41);
    expect(disk.bytes[6 * 512 + 511]).toBe(0xff);
    command(0, 6, 1, 0x20);
    expect(irqs.at(-1)).toBe(true);
    expect(status() & 0x08).toBe(0x08);
    expect(ata.in16(ATA_BASE)).toBe(disk.bytes[6 * 512] | (disk.bytes[6 * 512 + 1] << 8));
    command(0, 0, 0, 0xe7);
    expect(disk.flushes).toBe(1);
    expect(status() & 0x01).toBe(0);
  });

  it('fails a sector past the end, any write to a read-only drive, and an unknown command', () => {
    const { ata, command, status } = setup([memoryDisk(8), memoryDisk(8, true)]);
    command(0, 7, 2, 0x20);
    expect(status() & 0x01).toBe(0x01);
    expect(ata.in8(ATA_BASE + 1)).toBe(0x10); // IDNF
    command(1, 0, 1, 0x30);
    expect(status() & 0x01).toBe(0x01);
    expect(ata.in8(ATA_BASE + 1)).toBe(0x04); // ABRT
    command(0, 0, 1, 0x99);
    expect(status() & 0x01).toBe(0x01);
  });

  it('keeps the interrupt line quiet while nIEN is set', () => {
    const { ata, irqs, command } = setup([memoryDisk(8)]);
    ata.out8(ATA_CONTROL, 0x02);
    command(0, 0, 1, 0x20);
    expect(irqs.filter((l) => l)).toHaveLength(0);
  });
});
