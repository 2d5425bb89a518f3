// The console as a launcher device: input queued beyond what one delivery can take is
// delivered in turns, each asked for by the device itself, until none is left. The retry is
// timed on Jest's fake clock, so nothing here waits for real time.

import { LGUEST_CONSOLE_INBUF_SIZE, LGUEST_DMA } from '@lguest/abi';
import type { Device, DeviceSpec, DmaSection, Launcher } from '@lguest/launcher';
import { addConsole, INPUT_RETRY_MS } from './device';

/** One bound input buffer at key 0 in a small guest memory, GETDMA as the host does it. */
function fakeGuest() {
  const mem = new Uint8Array(0x4000);
  const view = new DataView(mem.buffer);
  const DMA = 0x100;
  const BUF = 0x1000;
  LGUEST_DMA.f.addr.set(view, DMA, BUF, 0);
  LGUEST_DMA.f.len.set(view, DMA, LGUEST_CONSOLE_INBUF_SIZE, 0);
  return {
    async getDma(key: number) {
      if (key !== 0) return null;
      LGUEST_DMA.f.used_len.set(view, DMA, 1);
      return { dma: DMA, irq: 1 };
    },
    dmaSections(dma: number): DmaSection[] {
      return [{ addr: LGUEST_DMA.f.addr.get(view, dma, 0), len: LGUEST_DMA.f.len.get(view, dma, 0) }];
    },
    readGuest: (addr: number, n: number) => mem.slice(addr, addr + n),
    writeGuest: (addr: number, bytes: Uint8Array) => mem.set(bytes, addr),
    sendIrq: async () => 0,
    /** What the guest driver does with a filled buffer: takes the bytes, re-arms it. */
    takeInput(): string {
      const n = LGUEST_DMA.f.used_len.get(view, DMA);
      LGUEST_DMA.f.used_len.set(view, DMA, 0);
      return Buffer.from(mem.subarray(BUF, BUF + n)).toString();
    },
  };
}

describe('the console device', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('delivers input longer than the guest buffer in turns, asking again itself', async () => {
    const guest = fakeGuest();
    let spec: DeviceSpec | null = null;
    let asked = 0;
    const device = {} as Device;
    const launcher = {
      addDevice: (s: DeviceSpec) => ((spec = s), device),
      inputReady: () => asked++,
    };
    const l = { ...guest, inputReady: () => asked++ } as unknown as Launcher;
    const cons = addConsole(launcher as unknown as Launcher, { output: { write: () => undefined } });
    // 40 shell lines piped at once: 368 bytes, more than one 256-byte buffer.
    const text = Array.from({ length: 40 }, (_, i) => `echo line${i + 1}\n`).join('');
    cons.console.queueInput(Buffer.from(text));
    expect(asked).toBe(1);

    let got = '';
    for (let turn = 0; turn < 10 && asked > 0; turn++) {
      asked = 0;
      await spec!.handleInput!(device, l);
      got += guest.takeInput();
      jest.advanceTimersByTime(INPUT_RETRY_MS);
    }
    expect(got).toBe(text);
    expect(cons.console.pendingInput).toBe(0);
    cons.close();
  });
});
