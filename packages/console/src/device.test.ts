// The console as a launcher device: input queued beyond what one delivery can take is
// delivered in turns, each asked for by the device itself, until none is left. The device
// asks through the launcher's after(), a sleep on the host's clock: here a host with a
// virtual clock and nothing else to do, so each retry comes exactly INPUT_RETRY_NS later.

import { LGUEST_CONSOLE_INBUF_SIZE, LGUEST_DMA } from '@lguest/abi';
import { Host, type Process } from '@lguest/host';
import { Launcher, type Device, type DeviceSpec, type DmaSection } from '@lguest/launcher';
import { addConsole, INPUT_RETRY_NS } from './device';

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
  let host: Host;
  let proc: Process;

  beforeEach(() => {
    host = new Host({ memoryMiB: 16, clock: 'virtual', hostMounts: [] });
    const p = host.createProcess('launcher');
    if (typeof p === 'number') throw new Error('no process');
    proc = p;
  });
  afterEach(() => host.shutdown());

  /** The console added to a launcher whose guest is `guest`; `asked` resolves on inputReady. */
  function setUp(guest: ReturnType<typeof fakeGuest>) {
    const real = new Launcher(proc, { memoryMiB: 2, kernel: '/unused' });
    let spec: DeviceSpec | null = null;
    let asked: (() => void) | null = null;
    let askedCount = 0;
    const inputReady = () => {
      askedCount++;
      asked?.();
    };
    const device = {} as Device;
    const launcher = {
      addDevice: (s: DeviceSpec) => ((spec = s), device),
      inputReady,
    } as unknown as Launcher;
    // The launcher's own after(): a nanosleep of the launcher process on host.clock.
    const l = { ...guest, inputReady, after: real.after.bind(real) } as unknown as Launcher;
    const cons = addConsole(launcher, { output: { write: () => undefined } });
    return {
      cons,
      handleInput: () => spec!.handleInput!(device, l),
      get askedCount() {
        return askedCount;
      },
      resetAsked: () => void (askedCount = 0),
      nextAsk: () => new Promise<void>((resolve) => (asked = resolve)),
    };
  }

  it('delivers input longer than the guest buffer in turns, asking again on the host clock', async () => {
    const guest = fakeGuest();
    const dev = setUp(guest);
    // 40 shell lines piped at once: 368 bytes, more than one 256-byte buffer.
    const text = Array.from({ length: 40 }, (_, i) => `echo line${i + 1}\n`).join('');
    dev.cons.console.queueInput(Buffer.from(text));
    expect(dev.askedCount).toBe(1);

    let got = '';
    const turnsAt: number[] = [];
    for (let turn = 0; turn < 10 && dev.askedCount > 0; turn++) {
      dev.resetAsked();
      const start = host.clock.now();
      await dev.handleInput();
      got += guest.takeInput();
      if (dev.cons.console.pendingInput === 0) break;
      // Bytes are left: the device asked for a turn INPUT_RETRY_NS of host time later.
      await dev.nextAsk();
      turnsAt.push(host.clock.now() - start);
    }
    expect(got).toBe(text);
    expect(dev.cons.console.pendingInput).toBe(0);
    // The idle host skipped exactly to each retry's deadline: no wall clock involved.
    expect(turnsAt).toEqual([INPUT_RETRY_NS]);
    dev.cons.close();
  });

  it('retries a busy buffer until the guest re-arms it, and stops retrying when closed', async () => {
    const guest = fakeGuest();
    const dev = setUp(guest);
    dev.cons.console.queueInput(Buffer.from('ls\n'));
    await dev.handleInput();
    expect(guest.takeInput()).toBe('ls\n');
    // The guest has not re-armed its buffer (used_len is not 0) when more is typed.
    dev.cons.console.queueInput(Buffer.from('pwd\n'));
    guestHoldsBuffer(guest);
    dev.resetAsked();
    const start = host.clock.now();
    await dev.handleInput(); // buffer busy: a retry is asked for
    await dev.nextAsk();
    expect(host.clock.now() - start).toBe(INPUT_RETRY_NS);
    guest.takeInput(); // now it re-arms
    await dev.handleInput();
    expect(guest.takeInput()).toBe('pwd\n');

    // Busy again, then closed: the retry's host timer is gone and never fires.
    dev.cons.console.queueInput(Buffer.from('x\n'));
    guestHoldsBuffer(guest);
    const timersBefore = host.timers.pending;
    await dev.handleInput();
    expect(host.timers.pending).toBe(timersBefore + 1);
    dev.resetAsked();
    dev.cons.close();
    expect(host.timers.pending).toBe(timersBefore);
    // Well past the deadline it had, nothing asked.
    await new Promise<void>((resolve) => host.startTimer(host.clock.now() + 3 * INPUT_RETRY_NS, () => resolve()));
    expect(dev.askedCount).toBe(0);
  });
});

/** The guest still holds its input buffer: used_len non-zero, as after a delivery it has not read. */
function guestHoldsBuffer(guest: ReturnType<typeof fakeGuest>): void {
  guest.writeGuest(0x100 + LGUEST_DMA.offsetOf.used_len, new Uint8Array([1, 0, 0, 0]));
}
