import { LGUEST_DMA, LHCALL_BIND_DMA, LHCALL_SEND_DMA, LHREQ_GETDMA, PAGE_SIZE } from '@lguest/abi';
import { MAP_FIXED, MAP_SHARED, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE, type Host } from '@lguest/host';
import type { Lguest } from './core';
import { peek32, testGuest, testLguest, words, type TestGuest } from './fixture';
import { doHcall } from './hypercalls';

/** Write a struct lguest_dma at `at`: used_len 0 and these sections. */
function writeDma(t: TestGuest, at: number, sections: [number, number][]): void {
  const bytes = new Uint8Array(LGUEST_DMA.size);
  const view = new DataView(bytes.buffer);
  sections.forEach(([addr, len], i) => {
    LGUEST_DMA.f.addr.set(view, 0, addr, i);
    LGUEST_DMA.f.len.set(view, 0, len, i);
  });
  t.proc.writeMemory(at, bytes);
}

describe('DMA', () => {
  let host: Host;
  let lg: Lguest;
  let a: TestGuest;
  let b: TestGuest;
  // The network page: one tmpfs file both launchers map shared, at different addresses.
  const A_NET = 0x300000;
  const B_NET = 0x310000;
  const SLOT = 1;

  beforeEach(async () => {
    ({ host, lg } = testLguest());
    a = await testGuest(lg);
    b = await testGuest(lg);
    const fd = await a.proc.open('/net', O_RDWR | O_CREAT);
    expect(a.proc.ftruncate(fd, PAGE_SIZE)).toBe(0);
    expect(a.proc.mmap(A_NET, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd)).toBe(A_NET);
    const fdB = await b.proc.open('/net', O_RDWR);
    expect(b.proc.mmap(B_NET, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fdB)).toBe(B_NET);
  });
  afterEach(() => host.shutdown());

  /** B binds two receive buffers (100+50 bytes, and 64) at its peer key with IRQ 5. */
  function bindB(): void {
    writeDma(b, 0x50000, [
      [0x51000, 100],
      [0x52000, 50],
    ]);
    writeDma(b, 0x50000 + LGUEST_DMA.size, [[0x53000, 64]]);
    expect(doHcall(b.guest, LHCALL_BIND_DMA, B_NET + 4 * SLOT, 0x50000, (2 << 8) | 5)).toBe(1);
  }

  /** A sends `len` bytes (0, 1, 2, …) to its key for the same slot. */
  function sendFromA(len: number): number {
    const data = Uint8Array.from({ length: len }, (_, i) => i & 0xff);
    a.proc.writeMemory(0x61000, data);
    writeDma(a, 0x60000, [[0x61000, len]]);
    doHcall(a.guest, LHCALL_SEND_DMA, A_NET + 4 * SLOT, 0x60000, 0);
    return peek32(a.proc, 0x60000);
  }

  it('copies between guests whose keys are equal futex keys of one shared file', () => {
    bindB();
    expect(sendFromA(120)).toBe(120); // the sender learns how much arrived
    expect(peek32(b.proc, 0x50000)).toBe(120); // so does the receiver
    const first = b.proc.readMemory(0x51000, 100) as Uint8Array;
    const second = b.proc.readMemory(0x52000, 20) as Uint8Array;
    expect(first[99]).toBe(99);
    expect(second[0]).toBe(100);
    expect(second[19]).toBe(119);
    expect(b.guest.irqsPending).toBe(1 << 5);
    // The next send fills the next buffer.
    expect(sendFromA(10)).toBe(10);
    expect(peek32(b.proc, 0x50000 + LGUEST_DMA.size)).toBe(10);
    // Both full: nothing arrives, but the receiver is still poked to restock.
    b.guest.irqsPending = 0;
    expect(sendFromA(10)).toBe(0);
    expect(b.guest.irqsPending).toBe(1 << 5);
    expect(a.guest.dmaIsPending).toBe(false);
    // What watchers see: frames and bytes a delivered, by receiver; none the other way.
    expect([a.guest.dmaFramesTo[b.guest.id], a.guest.dmaBytesTo[b.guest.id]]).toEqual([2, 130]);
    expect(a.guest.stats.dmaDelivered).toBe(2);
    expect(b.guest.dmaFramesTo.reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('never sends a guest its own DMA; a private key goes to the launcher', () => {
    expect(doHcall(a.guest, LHCALL_BIND_DMA, A_NET + 4 * SLOT, 0x50000, (1 << 8) | 5)).toBe(1);
    expect(sendFromA(10)).toBe(0);
    expect(a.guest.irqsPending).toBe(0);
    writeDma(a, 0x60000, [[0x61000, 10]]);
    doHcall(a.guest, LHCALL_SEND_DMA, 0x1000, 0x60000, 0);
    expect([a.guest.dmaIsPending, a.guest.pendingDma, a.guest.pendingKey]).toEqual([true, 0x60000, 0x1000]);
  });

  it('unbinds with IRQ 0, and refuses a 33rd binding', () => {
    bindB();
    expect(doHcall(b.guest, LHCALL_BIND_DMA, B_NET + 4 * SLOT, 0x50000, 0)).toBe(1);
    expect(sendFromA(10)).toBe(0);
    expect(b.guest.irqsPending).toBe(0);
    for (let i = 0; i < 32; i++) expect(doHcall(b.guest, LHCALL_BIND_DMA, 0x1000, 0x50000, (1 << 8) | 1)).toBe(1);
    expect(doHcall(b.guest, LHCALL_BIND_DMA, 0x1000, 0x50000, (1 << 8) | 1)).toBe(0);
    expect(lg.dmaHash.size).toBe(1);
  });

  it('kills for keys that are not futex keys', () => {
    doHcall(a.guest, LHCALL_BIND_DMA, 0x1002, 0x50000, (1 << 8) | 1);
    expect(a.guest.dead).toBe('bad dma key 0x1002');
    doHcall(b.guest, LHCALL_SEND_DMA, 0x10000000, 0x60000, 0); // not mapped by the launcher
    expect(b.guest.dead).toBe('bad sending DMA key');
  });

  it('kills the owner of a bad DMA list, not the other guest', () => {
    writeDma(b, 0x50000, [[0x51fd0, 100]]); // crosses a page
    expect(doHcall(b.guest, LHCALL_BIND_DMA, B_NET + 4 * SLOT, 0x50000, (1 << 8) | 5)).toBe(1);
    expect(sendFromA(10)).toBe(0);
    expect(b.guest.dead).toBe('bad DMA entry: 100@0x51fd0');
    expect(a.guest.dead).toBeNull();
  });

  it('LHREQ_GETDMA finds the first free buffer and hands back its IRQ in used_len', async () => {
    bindB();
    const getdma = (): Promise<number> => b.proc.write(b.fd, words(LHREQ_GETDMA, B_NET + 4 * SLOT));
    expect(await getdma()).toBe(0x50000);
    expect(peek32(b.proc, 0x50000)).toBe(5);
    // That buffer is now "used" (it holds the IRQ): the next one is offered; when all are
    // used, the last one is returned anyway, as in 2.6.23.
    expect(await getdma()).toBe(0x50000 + LGUEST_DMA.size);
    expect(await getdma()).toBe(0x50000 + LGUEST_DMA.size);
    expect(await b.proc.write(b.fd, words(LHREQ_GETDMA, 0x1000))).toBe(-2); // ENOENT
  });
});
