import { EventEmitter } from 'node:events';
import { LGUEST_CONSOLE_INBUF_SIZE, LGUEST_DMA } from '@lguest/abi';
import type { DmaSection } from '@lguest/launcher';
import { Console, type ConsoleGuestAccess } from './console';

/**
 * A guest's memory with one console input buffer bound at key 0, and LHREQ_GETDMA as the
 * host does it (lguest-abi.md §6.5): the first entry with used_len 0, else the last one
 * anyway, with the binding's IRQ written into used_len.
 */
class FakeGuest implements ConsoleGuestAccess {
  readonly mem = new Uint8Array(0x10000);
  readonly view = new DataView(this.mem.buffer);
  readonly irqs: number[] = [];
  bound = true;
  getDmaCalls = 0;
  static readonly DMA = 0x1000;
  static readonly BUF = 0x2000;
  static readonly IRQ = 1;

  constructor() {
    LGUEST_DMA.f.addr.set(this.view, FakeGuest.DMA, FakeGuest.BUF, 0);
    LGUEST_DMA.f.len.set(this.view, FakeGuest.DMA, LGUEST_CONSOLE_INBUF_SIZE, 0);
  }

  async getDma(key: number): Promise<{ dma: number; irq: number } | null> {
    this.getDmaCalls++;
    if (key !== 0 || !this.bound) return null;
    LGUEST_DMA.f.used_len.set(this.view, FakeGuest.DMA, FakeGuest.IRQ);
    return { dma: FakeGuest.DMA, irq: FakeGuest.IRQ };
  }
  dmaSections(dma: number): DmaSection[] {
    const sections: DmaSection[] = [];
    for (let i = 0; i < 16; i++) {
      const len = LGUEST_DMA.f.len.get(this.view, dma, i);
      if (len === 0) break;
      const addr = LGUEST_DMA.f.addr.get(this.view, dma, i);
      this.check(addr, len);
      sections.push({ addr, len });
    }
    return sections;
  }
  async sendIrq(irq: number): Promise<number> {
    this.irqs.push(irq);
    return 0;
  }
  readGuest(addr: number, length: number): Uint8Array {
    this.check(addr, length);
    return this.mem.slice(addr, addr + length);
  }
  writeGuest(addr: number, bytes: Uint8Array): void {
    this.check(addr, bytes.length);
    this.mem.set(bytes, addr);
  }
  /** The launcher gives up (errx) on a buffer outside guest memory. */
  private check(addr: number, len: number): void {
    if (addr + len > this.mem.length) throw new Error(`Bad DMA buffer: ${len}@0x${addr.toString(16)}`);
  }

  /** What the guest's lgcons_get_chars sees, then re-arming the buffer as it does. */
  takeInput(): string {
    const n = LGUEST_DMA.f.used_len.get(this.view, FakeGuest.DMA);
    const s = Buffer.from(this.mem.subarray(FakeGuest.BUF, FakeGuest.BUF + n)).toString();
    LGUEST_DMA.f.used_len.set(this.view, FakeGuest.DMA, 0);
    return s;
  }
}

function sink() {
  const chunks: Uint8Array[] = [];
  return { chunks, write: (c: Uint8Array) => chunks.push(c), text: () => Buffer.concat(chunks).toString() };
}

describe('console output', () => {
  it('writes every section in order and returns the byte count for used_len', () => {
    const out = sink();
    const c = new Console({ output: out });
    const mem = Buffer.from('xxBooting the guest\nyy');
    expect(c.handleOutput([mem.subarray(2, 10), new Uint8Array(0), mem.subarray(10, 20)])).toBe(18);
    expect(out.text()).toBe('Booting the guest\n');
    expect(c.outputBytes).toBe(18);
  });

  it('copies the bytes: the guest reuses its buffer as soon as we return', () => {
    const out = sink();
    const c = new Console({ output: out });
    const guestBuf = Buffer.from('first');
    c.handleOutput([guestBuf]);
    guestBuf.write('AAAAA');
    expect(out.text()).toBe('first');
  });
});

describe('console input', () => {
  it('fills the bound buffer, sets used_len and raises the IRQ GETDMA reported', async () => {
    const guest = new FakeGuest();
    let wakes = 0;
    const c = new Console({ output: sink(), wake: () => wakes++ });
    c.queueInput(Buffer.from('ls\n'));
    expect(wakes).toBe(1);
    expect(await c.deliverInput(guest)).toBe('delivered');
    expect(guest.irqs).toEqual([FakeGuest.IRQ]);
    expect(guest.takeInput()).toBe('ls\n');
    expect(c.pendingInput).toBe(0);
    expect(await c.deliverInput(guest)).toBe('nothing-queued');
  });

  it('never asks for the buffer again while the guest has not read it, and loses nothing', async () => {
    const guest = new FakeGuest();
    const c = new Console({ output: sink() });
    const text = 'x'.repeat(300) + 'END';
    c.queueInput(Buffer.from(text));
    expect(await c.deliverInput(guest)).toBe('delivered');
    expect(await c.deliverInput(guest)).toBe('buffer-busy');
    expect(guest.getDmaCalls).toBe(1); // a second GETDMA would have overwritten used_len
    let got = guest.takeInput();
    expect(got.length).toBe(LGUEST_CONSOLE_INBUF_SIZE);
    expect(await c.deliverInput(guest)).toBe('delivered');
    got += guest.takeInput();
    expect(got).toBe(text);
    expect(guest.irqs).toEqual([1, 1]);
  });

  it('keeps input queued until the guest binds its buffer', async () => {
    const guest = new FakeGuest();
    guest.bound = false;
    const c = new Console({ output: sink() });
    c.queueInput(Buffer.from('early'));
    expect(await c.deliverInput(guest)).toBe('not-bound');
    guest.bound = true;
    expect(await c.deliverInput(guest)).toBe('delivered');
    expect(guest.takeInput()).toBe('early');
  });

  it('drops what does not fit in the queue, and lets onInput filter chunks', async () => {
    const seen: string[] = [];
    const c = new Console({
      output: sink(),
      maxQueued: 4,
      onInput: (chunk) => {
        seen.push(Buffer.from(chunk).toString());
        return chunk[0] !== 3; // Ctrl-C is the caller's
      },
    });
    c.queueInput(Buffer.from([3]));
    c.queueInput(Buffer.from('abcdef'));
    expect(seen).toEqual(['\x03', 'abcdef']);
    expect(c.pendingInput).toBe(4);
    expect(c.droppedBytes).toBe(2);
  });

  it('listens to a Readable until closed', () => {
    const input = new EventEmitter();
    const c = new Console({ output: sink(), input });
    input.emit('data', Buffer.from('hi'));
    input.emit('data', 'there');
    expect(c.pendingInput).toBe(7);
    input.emit('end');
    expect(c.inputEnded).toBe(true);
    c.close();
    input.emit('data', Buffer.from('ignored'));
    expect(c.pendingInput).toBe(7);
    expect(input.listenerCount('data')).toBe(0);
  });

  it('leaves a buffer outside guest memory to the launcher, which gives up', async () => {
    const guest = new FakeGuest();
    LGUEST_DMA.f.addr.set(guest.view, FakeGuest.DMA, 0xfff0, 0);
    const c = new Console({ output: sink() });
    c.queueInput(Buffer.from('x'.repeat(64)));
    await expect(c.deliverInput(guest)).rejects.toThrow(/Bad DMA buffer: 256@0xfff0/);
  });
});
