import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LGUEST_BLOCK_PAGE, LGUEST_DMA } from '@lguest/abi';
import { LauncherExit, type DmaOutput, type DmaSection } from '@lguest/launcher';
import { Block, diskName, type BlockGuestAccess } from './block';
import { NodeFile } from './file';
import { RawImage } from './image';

const PAGE = 0x8000; // the device page (its address is the key)
const REPLY = 0x9000; // the 1-entry reply array the guest bound at PAGE
const SEND = 0x9100; // the lguest_dma the guest sends
const DATA = 0xa000; // data pages
const IRQ = 3;

/** Guest memory with the driver's reply buffer bound at the page, and GETDMA as the host does it. */
class FakeGuest implements BlockGuestAccess {
  readonly mem = new Uint8Array(0x20000);
  readonly view = new DataView(this.mem.buffer);
  readonly irqs: number[] = [];
  bound = true;

  async getDma(key: number): Promise<{ dma: number; irq: number } | null> {
    if (key !== PAGE || !this.bound) return null;
    LGUEST_DMA.f.used_len.set(this.view, REPLY, IRQ);
    return { dma: REPLY, irq: IRQ };
  }
  dmaSections(dma: number): DmaSection[] {
    const out: DmaSection[] = [];
    for (let i = 0; i < 16; i++) {
      const len = LGUEST_DMA.f.len.get(this.view, dma, i);
      if (len === 0) break;
      const addr = LGUEST_DMA.f.addr.get(this.view, dma, i);
      if (addr + len > this.mem.length) throw new LauncherExit(1, `Bad DMA buffer: ${len}@${addr}`);
      out.push({ addr, len });
    }
    return out;
  }
  async sendIrq(irq: number): Promise<number> {
    this.irqs.push(irq);
    return 0;
  }
  readGuest(addr: number, len: number): Uint8Array {
    return this.mem.slice(addr, addr + len);
  }
  writeGuest(addr: number, bytes: Uint8Array): void {
    this.mem.set(bytes, addr);
  }

  /** Fill the page as lguest_blk's setup_req does and describe `sections` at `dma`. */
  request(type: number, sector: number, bytes: number, dma: number, sections: DmaSection[]): DmaOutput {
    LGUEST_BLOCK_PAGE.f.type.set(this.view, PAGE, type);
    LGUEST_BLOCK_PAGE.f.sector.set(this.view, PAGE, sector);
    LGUEST_BLOCK_PAGE.f.bytes.set(this.view, PAGE, bytes);
    LGUEST_BLOCK_PAGE.f.result.set(this.view, PAGE, 0);
    sections.forEach((s, i) => {
      LGUEST_DMA.f.addr.set(this.view, dma, s.addr, i);
      LGUEST_DMA.f.len.set(this.view, dma, s.len, i);
    });
    if (sections.length < 16) LGUEST_DMA.f.len.set(this.view, dma, 0, sections.length);
    const sent = dma === SEND ? sections : [];
    if (dma !== SEND) LGUEST_DMA.f.len.set(this.view, SEND, 0, 0); // the read's empty ping
    return { dma: SEND, key: PAGE, sections: sent, bytes: () => new Uint8Array(0) };
  }
  get result(): number {
    return LGUEST_BLOCK_PAGE.f.result.get(this.view, PAGE);
  }
  get replyUsed(): number {
    return LGUEST_DMA.f.used_len.get(this.view, REPLY);
  }
}

describe('the block device (launcher side)', () => {
  let dir: string;
  let file: string;
  let guest: FakeGuest;
  const open = (readOnly = false) => new Block(new RawImage(NodeFile.open(file, !readOnly, guest.mem), readOnly));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-disk-'));
    file = path.join(dir, 'disk.img');
    const init = Buffer.alloc(64 * 512);
    for (let s = 0; s < 64; s++) init.fill(s, s * 512, s * 512 + 512);
    fs.writeFileSync(file, init);
    guest = new FakeGuest();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names disks as lguest_blk does', () => {
    expect([0, 1, 25].map(diskName)).toEqual(['lgba', 'lgbb', 'lgbz']);
  });

  it('puts the size in the page, reads into the bound buffer and raises the IRQ', async () => {
    const block = open();
    block.setup(PAGE, guest);
    expect(LGUEST_BLOCK_PAGE.f.num_sectors.get(guest.view, PAGE)).toBe(64);
    // Two sections, as a request of two bio segments.
    const out = guest.request(0, 3, 1024, REPLY, [
      { addr: DATA, len: 512 },
      { addr: DATA + 0x1000, len: 512 },
    ]);
    expect(await block.handleRequest(PAGE, out, guest)).toBe(0);
    expect(guest.result).toBe(1);
    expect(guest.replyUsed).toBe(1024);
    expect(guest.irqs).toEqual([IRQ]);
    expect(guest.mem[DATA]).toBe(3);
    expect(guest.mem[DATA + 0x1000 + 511]).toBe(4);
    expect(block.stats).toMatchObject({ reads: 1, bytesRead: 1024, errors: 0 });
  });

  it('writes the sent data to the file before it completes, and flushes', async () => {
    const block = open();
    guest.mem.fill(0xee, DATA, DATA + 2048);
    const out = guest.request(1, 10, 2048, SEND, [{ addr: DATA, len: 2048 }]);
    expect(await block.handleRequest(PAGE, out, guest)).toBe(2048);
    expect(guest.result).toBe(1);
    const real = fs.readFileSync(file);
    expect(real.length).toBe(64 * 512);
    expect(real.subarray(10 * 512, 14 * 512).every((b) => b === 0xee)).toBe(true);
    expect(real[14 * 512]).toBe(14);
    guest.request(2, 0, 0, REPLY, []);
    await block.handleRequest(PAGE, { ...out, sections: [] }, guest);
    expect(guest.result).toBe(1);
    expect(block.stats).toMatchObject({ writes: 1, flushes: 1, bytesWritten: 2048 });
  });

  it('fails writes to a read-only disk with an I/O error and never touches the file', async () => {
    const before = fs.readFileSync(file);
    const block = open(true);
    guest.mem.fill(0xee, DATA, DATA + 512);
    await block.handleRequest(PAGE, guest.request(1, 0, 512, SEND, [{ addr: DATA, len: 512 }]), guest);
    expect(guest.result).toBe(2);
    expect(guest.irqs).toEqual([IRQ]);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('kills a guest that asks past the end, and never grows the file', async () => {
    const block = open();
    await expect(
      block.handleRequest(PAGE, guest.request(0, 64, 512, REPLY, [{ addr: DATA, len: 512 }]), guest),
    ).rejects.toThrow('Bad offset 32768 vs 32768');
    await expect(
      block.handleRequest(PAGE, guest.request(1, 63, 1024, SEND, [{ addr: DATA, len: 1024 }]), guest),
    ).rejects.toThrow('Write past end 32256+1024');
    // A sector number whose byte offset overflows 32 bits is still past the end.
    await expect(
      block.handleRequest(PAGE, guest.request(1, 0xffffffff, 512, SEND, [{ addr: DATA, len: 512 }]), guest),
    ).rejects.toThrow(/Bad offset 2199023255040/);
    expect(fs.statSync(file).size).toBe(64 * 512);
    expect(guest.irqs).toEqual([]);
  });

  it('answers a length that disagrees with the buffers, or a read past the end, with an error', async () => {
    const block = open();
    await block.handleRequest(PAGE, guest.request(0, 0, 0xffffffff, REPLY, [{ addr: DATA, len: 512 }]), guest);
    expect(guest.result).toBe(2);
    await block.handleRequest(PAGE, guest.request(0, 63, 1024, REPLY, [{ addr: DATA, len: 1024 }]), guest);
    expect(guest.result).toBe(2);
    await block.handleRequest(PAGE, guest.request(1, 0, 4096, SEND, [{ addr: DATA, len: 512 }]), guest);
    expect(guest.result).toBe(2);
    expect(block.stats.errors).toBe(3);
    expect(guest.irqs).toEqual([IRQ, IRQ, IRQ]);
  });

  it('kills a guest for an unknown request type, a bad buffer, or no reply buffer', async () => {
    const block = open();
    await expect(block.handleRequest(PAGE, guest.request(7, 0, 0, REPLY, []), guest)).rejects.toThrow(
      'Bad block request type 7',
    );
    await expect(
      block.handleRequest(PAGE, guest.request(0, 0, 512, REPLY, [{ addr: 0x1ffff0, len: 512 }]), guest),
    ).rejects.toThrow(LauncherExit);
    guest.bound = false;
    await expect(
      block.handleRequest(PAGE, guest.request(0, 0, 512, REPLY, [{ addr: DATA, len: 512 }]), guest),
    ).rejects.toThrow("Block request didn't give us a dma buffer");
  });
});
