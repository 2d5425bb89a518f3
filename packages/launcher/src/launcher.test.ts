// The launcher against a stand-in control file: a /dev/lguest that records what the launcher
// writes and answers read() from a script, so the launcher is tested here on its own (the
// real lg module boots a real guest in packages/lg's boot test).

import {
  BOOT_PARAMS,
  LGUEST_DEVICE_DESC,
  LGUEST_DEVICE_T_BLOCK,
  LGUEST_DEVICE_T_CONSOLE,
  LGUEST_DMA,
  LHREQ_BREAK,
  LHREQ_GETDMA,
  LHREQ_INITIALIZE,
  LHREQ_IRQ,
} from '@lguest/abi';
import { Errno, Host, O_CREAT, O_RDWR, type Process } from '@lguest/host';
import { kernelText, makeElf } from './fixture';
import { Launcher } from './launcher';

const MEM = 8 << 20;

interface Fake {
  /** Every request written: [request, ...arguments]. */
  requests: number[][];
  /** read() answers, in order: a number, or a DMA (address, key) to report. */
  script: (number | { dma: number; key: number } | 'until-break')[];
  breakOut: boolean;
}

/** A control file at /dev/lguest that follows the script. */
function fakeControlFile(host: Host): Fake {
  const fake: Fake = { requests: [], script: [], breakOut: false };
  let releaseBreak: (() => void) | null = null;
  let wakeReader: (() => void) | null = null;
  host.registerDevice('/dev/lguest', {
    write(_file, data, proc: Process) {
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const words = Array.from({ length: data.length / 4 }, (_, i) => v.getUint32(i * 4, true));
      fake.requests.push(words);
      switch (words[0]) {
        case LHREQ_INITIALIZE:
          return 16;
        case LHREQ_GETDMA: {
          // The buffer the guest bound at key 0: one section at 0x30000, 16 bytes.
          const dma = new Uint8Array(LGUEST_DMA.size);
          const dv = new DataView(dma.buffer);
          LGUEST_DMA.f.used_len.set(dv, 0, 1); // GETDMA hands the IRQ over in used_len
          LGUEST_DMA.f.addr.set(dv, 0, 0x30000, 0);
          LGUEST_DMA.f.len.set(dv, 0, 16, 0);
          proc.writeMemory(0x20000, dma);
          return 0x20000;
        }
        case LHREQ_IRQ:
          return 0;
        case LHREQ_BREAK:
          if (words[1]) {
            fake.breakOut = true;
            wakeReader?.();
            return new Promise<number>((resolve) => (releaseBreak = () => resolve(0)));
          }
          fake.breakOut = false;
          releaseBreak?.();
          return 0;
        default:
          return -Errno.EINVAL;
      }
    },
    async read(_file, buffer) {
      const step = fake.script.shift();
      if (step === undefined) return -Errno.EINVAL;
      if (step === 'until-break') {
        if (!fake.breakOut) await new Promise<void>((resolve) => (wakeReader = resolve));
        return -Errno.EAGAIN;
      }
      if (typeof step === 'number') {
        if (step > 0) buffer.set(new TextEncoder().encode('CRASH: Power down\0'));
        return step;
      }
      const v = new DataView(buffer.buffer, buffer.byteOffset, 8);
      v.setUint32(0, step.dma, true);
      v.setUint32(4, step.key, true);
      return 8;
    },
  });
  return fake;
}

describe('the launcher', () => {
  let host: Host;
  let proc: Process;
  let fake: Fake;

  beforeEach(async () => {
    host = new Host({ memoryMiB: 64, clock: 'virtual', hostMounts: [] });
    const p = host.createProcess('launcher');
    if (typeof p === 'number') throw new Error('no process');
    proc = p;
    fake = fakeControlFile(host);
    const fd = await proc.open('/vmlinux', O_CREAT | O_RDWR);
    proc.pwrite(fd, makeElf([[0xc0100000, 0x100000, kernelText(0x20)]]), 0);
    proc.close(fd);
  });
  afterEach(() => host.shutdown());

  it('lays out memory, describes devices, initializes, serves output and input, and ends at power down', async () => {
    const warnings: string[] = [];
    const launcher = new Launcher(proc, {
      memoryMiB: 8,
      kernel: '/vmlinux',
      args: ['root=/dev/lgba', 'ro'],
      warn: (m) => warnings.push(m),
    });
    let output = '';
    const console = launcher.addDevice({
      type: LGUEST_DEVICE_T_CONSOLE,
      watchKey: 0,
      handleOutput(out) {
        output += new TextDecoder().decode(out.bytes());
        launcher.inputReady(console);
        return 42;
      },
      async handleInput(_dev, l) {
        expect(await l.injectInput(0, new TextEncoder().encode('typed'))).toBe(5);
        return true;
      },
    });
    const disk = launcher.addDevice({ type: LGUEST_DEVICE_T_BLOCK, numPages: 1, features: 0x8000 });
    expect([console.index, console.irq, console.pages]).toEqual([0, 1, 0]);
    expect([disk.index, disk.irq, disk.pages]).toEqual([1, 2, MEM + 4096]);
    expect(launcher.top).toBe(MEM + 2 * 4096);

    // The guest's output: "hello" in one section, sent to key 0; then something to a key
    // nobody watches; then run until the Waker breaks us out; then death.
    fake.script = [{ dma: 0x10000, key: 0 }, { dma: 0x10000, key: 0x5000 }, 'until-break', -Errno.ENOENT, 18];
    const setup = launcher.addDevice({
      type: 9,
      setup(_dev, l) {
        const dma = new Uint8Array(LGUEST_DMA.size);
        const v = new DataView(dma.buffer);
        LGUEST_DMA.f.addr.set(v, 0, 0x11000, 0);
        LGUEST_DMA.f.len.set(v, 0, 5, 0);
        l.writeGuest(0x10000, dma);
        l.writeGuest(0x11000, new TextEncoder().encode('hello'));
      },
    });
    expect(setup.index).toBe(2);

    const result = await launcher.run();
    expect(result).toEqual({ exitStatus: 0, reason: 'CRASH: Power down' });
    expect(output).toBe('hello');
    expect(warnings).toEqual(['Pending dma 0x10000, key 0x5000']);

    // LHREQ_INITIALIZE: pfnlimit covers the device pages; the page directory is the last page
    // of RAM; the entry is after the signature; PAGE_OFFSET from the ELF.
    const [init, ...rest] = fake.requests;
    expect(init).toEqual([LHREQ_INITIALIZE, (MEM + 2 * 4096) / 4096, MEM - 4096, 0xc0100000 + 0x20 + 13, 0xc0000000]);
    // Then the input: the Waker's break, GETDMA, IRQ 1, and the main loop's break-off.
    expect(rest).toEqual([
      [LHREQ_BREAK, 1],
      [LHREQ_GETDMA, 0],
      [LHREQ_IRQ, 1],
      [LHREQ_BREAK, 0],
    ]);
  });

  it('writes the zero page, the command line, the page tables and the device page', async () => {
    fake.script = [-Errno.ENOENT, 18];
    const launcher = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux', args: ['root=/dev/lgba', 'ro'] });
    launcher.addDevice({ type: LGUEST_DEVICE_T_BLOCK, numPages: 1, features: 0x8000 });
    // Look at memory as the guest would find it: before it is torn down, from set-up.
    let seen: Uint8Array | null = null;
    launcher.addDevice({
      type: LGUEST_DEVICE_T_CONSOLE,
      setup(_dev, l) {
        seen = l.readGuest(0, MEM + 4096);
      },
    });
    await launcher.run();
    if (!seen) throw new Error('set-up never ran');
    const m: Uint8Array = seen;
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    expect(BOOT_PARAMS.f.e820_entries.get(v, 0)).toBe(1);
    expect(v.getUint32(0x2d0 + 8, true)).toBe(MEM); // e820[0].size
    expect(v.getUint32(0x2d0 + 16, true)).toBe(1); // RAM
    expect(BOOT_PARAMS.f.cmd_line_ptr.get(v, 0)).toBe(0x1000);
    expect(v.getUint32(0x23c, true)).toBe(1);
    expect(BOOT_PARAMS.f.type_of_loader.get(v, 0)).toBe(0); // no initrd
    expect(new TextDecoder().decode(m.subarray(0x1000, 0x1000 + 20))).toBe('root=/dev/lgba ro \0\0');
    // Page tables: 8 MiB = two page tables, under the directory at the top of RAM.
    const pgdir = MEM - 4096;
    expect(v.getUint32(pgdir + 768 * 4, true)).toBe((pgdir - 2 * 4096) | 7);
    expect(v.getUint32(pgdir + 769 * 4, true)).toBe((pgdir - 4096) | 7);
    expect(v.getUint32(pgdir + 770 * 4, true)).toBe(0);
    expect(v.getUint32(pgdir + 0, true)).toBe(0); // no identity map
    expect(v.getUint32(pgdir - 2 * 4096 + 5 * 4, true)).toBe(0x5000 | 7);
    // The device page: the disk's descriptor, then the console's.
    expect(LGUEST_DEVICE_DESC.read(v, MEM)).toEqual({
      type: 3,
      features: 0x8000,
      status: 0,
      num_pages: 1,
      pfn: MEM / 4096 + 1,
    });
    expect(LGUEST_DEVICE_DESC.read(v, MEM + 12)).toEqual({ type: 1, features: 0, status: 0, num_pages: 0, pfn: 0 });
  });

  it('puts an initrd at the top of RAM and tells the guest', async () => {
    fake.script = [-Errno.ENOENT, 18];
    const fd = await proc.open('/initrd', O_CREAT | O_RDWR);
    proc.pwrite(fd, new Uint8Array(5000).fill(0x5a), 0);
    proc.close(fd);
    const launcher = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux', initrd: '/initrd' });
    let zero: Uint8Array | null = null;
    launcher.addDevice({ type: 1, setup: (_d, l) => void (zero = l.readGuest(0, 4096)) });
    await launcher.run();
    if (!zero) throw new Error('set-up never ran');
    const v = new DataView((zero as Uint8Array).buffer);
    expect(BOOT_PARAMS.f.type_of_loader.get(v, 0)).toBe(0xff);
    expect(BOOT_PARAMS.f.ramdisk_image.get(v, 0)).toBe(MEM - 8192);
    expect(BOOT_PARAMS.f.ramdisk_size.get(v, 0)).toBe(8192);
    // The page directory moved below the initrd.
    expect(fake.requests[0][2]).toBe(MEM - 8192 - 4096);
  });

  it('says what is wrong with bad input instead of throwing', async () => {
    const run = (options: Partial<{ memoryMiB: number; kernel: string; args: string[] }>): Promise<unknown> =>
      new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux', ...options }).run();
    expect(await run({ memoryMiB: 1 })).toEqual({
      exitStatus: 1,
      reason: 'Guest memory must be a whole number of MiB from 2 to 2560, not 1',
    });
    expect(await run({ kernel: '/nope' })).toEqual({ exitStatus: 1, reason: 'Opening kernel /nope: ENOENT' });
    expect(await run({ args: ['x'.repeat(3000)] })).toMatchObject({
      exitStatus: 1,
      reason: expect.stringContaining('command line'),
    });
    host.unregisterDevice('/dev/lguest');
    expect(await run({})).toEqual({ exitStatus: 1, reason: 'Opening /dev/lguest: ENOENT (is the lg module loaded?)' });
  });

  it('exits when the guest points a DMA outside its memory, and when a device stops it', async () => {
    fake.script = [{ dma: 0x10000, key: 0 }];
    const launcher = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux' });
    launcher.addDevice({
      type: 1,
      watchKey: 0,
      handleOutput: () => 0,
      setup(_d, l) {
        const dma = new Uint8Array(LGUEST_DMA.size);
        const v = new DataView(dma.buffer);
        LGUEST_DMA.f.addr.set(v, 0, MEM + 4096 - 2, 0);
        LGUEST_DMA.f.len.set(v, 0, 16, 0);
        l.writeGuest(0x10000, dma);
      },
    });
    expect(await launcher.run()).toEqual({
      exitStatus: 1,
      reason: `Bad DMA buffer: 16@0x${(MEM + 4094).toString(16)}`,
    });

    fake.script = ['until-break', 'until-break'];
    const stopping = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux' });
    stopping.addDevice({ type: 1, setup: (_d, l) => void setTimeout(() => l.stop(2, 'three Ctrl-C'), 1) });
    expect(await stopping.run()).toEqual({ exitStatus: 2, reason: 'three Ctrl-C' });
    expect(fake.breakOut).toBe(false); // the Waker was released
  });

  it('after(): wakes a device at exactly its deadline on the host clock, and the end of the run cancels the rest', async () => {
    fake.script = ['until-break', 'until-break'];
    const launcher = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux' });
    const start = host.clock.now();
    const fired: [string, number][] = [];
    launcher.addDevice({
      type: 1,
      setup(_d, l) {
        // Two waits: the first ends the run, so the second must never fire.
        l.after(7_000_000, () => {
          fired.push(['first', host.clock.now() - start]);
          l.stop(0, 'done');
        });
        l.after(50_000_000, () => fired.push(['second', host.clock.now() - start]));
        expect(host.timers.pending).toBe(2);
      },
    });
    expect(await launcher.run()).toEqual({ exitStatus: 0, reason: 'done' });
    // The virtual clock skipped straight to the first deadline: not a nanosecond off.
    expect(fired).toEqual([['first', 7_000_000]]);
    // The second wait's host timer went with the run.
    expect(host.timers.pending).toBe(0);
    await new Promise<void>((resolve) => host.startTimer(start + 100_000_000, () => resolve()));
    expect(fired).toEqual([['first', 7_000_000]]);
    expect(() => launcher.after(1, () => undefined)).toThrow(/run has ended/);

    // A cancelled wait never calls back, and leaves no timer behind.
    const other = new Launcher(proc, { memoryMiB: 8, kernel: '/vmlinux' });
    let called = false;
    const cancel = other.after(1_000_000, () => (called = true));
    expect(host.timers.pending).toBe(1);
    cancel();
    expect(host.timers.pending).toBe(0);
    await new Promise<void>((resolve) => host.startTimer(host.clock.now() + 5_000_000, () => resolve()));
    expect(called).toBe(false);
  });
});
