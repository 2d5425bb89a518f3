// The launcher: a process that turns a kernel file into a running guest, and then serves it.
//
// It lays out the guest's memory in its own address space (guest-physical = our virtual),
// loads the kernel and an initrd, writes the boot parameters and the first page tables,
// describes the devices in the page above RAM, and tells lg about the guest with
// LHREQ_INITIALIZE on the control file. Then it reads: each read() runs the guest until it
// sends a DMA to a key only we know (a device's output — we hand it to the device and put
// the count in used_len), until someone breaks it out because a device has input (we let
// each such device deliver its input, then release the break), or until it dies (we read
// the reason). "CRASH: Power down" is a clean power-off: exit status 0.
//
// The original forks a Waker that sleeps in select() on the input fds and writes
// LHREQ_BREAK(1) when one is readable. Here devices say so themselves with inputReady(),
// and the Waker is that write, left pending until the main loop writes LHREQ_BREAK(0).
// A device that must look again later (the console, whose guest re-arms its input buffer
// without telling anyone) asks for after(ns, fn): a nanosleep on the host's clock beside
// the guest's read(), the way a select() timeout would wake the original's Waker. So it is
// timed by host.clock: wall time under --clock=host, the virtual clock under --clock=virtual.

import {
  LGUEST_DMA,
  LGUEST_MAX_DMA_SECTIONS,
  LHREQ_BREAK,
  LHREQ_GETDMA,
  LHREQ_INITIALIZE,
  LHREQ_IRQ,
  PAGE_SIZE,
} from '@lguest/abi';
import { Errno, errnoName, O_RDWR, type Process } from '@lguest/host';
import { loadInitrd, memoryNeededMiB, pageAlign, setupPagetables, writeBootParams } from './boot';
import { Device, MAX_DEVICES, type DeviceSpec, type DmaOutput, type DmaSection } from './devices';
import { LauncherExit, hex } from './errors';
import { loadKernel } from './kernel';
import { GuestMemory } from './memory';

/**
 * Guest RAM the launcher accepts, in MiB: at least room for the kernel's page tables and boot
 * page; at most what fits in the launcher's address space below the memory it keeps for
 * itself (guest-physical 0 is launcher-virtual 0).
 */
export const MIN_GUEST_MEMORY_MIB = 2;
export const MAX_GUEST_MEMORY_MIB = 2560;

export interface LauncherOptions {
  /** Guest RAM in MiB (MIN_GUEST_MEMORY_MIB to MAX_GUEST_MEMORY_MIB). */
  readonly memoryMiB: number;
  /** VFS path of the kernel: an ELF vmlinux or a bzImage (the CLI passes /host/<absolute path>). */
  readonly kernel: string;
  /** VFS path of an initrd, put at the top of RAM. */
  readonly initrd?: string;
  /** The kernel's arguments; on the command line each is followed by a space. */
  readonly args?: readonly string[];
  /** The control file. Default /dev/lguest (the lg module also answers at /proc/lguest). */
  readonly controlFile?: string;
  /** Where warnings go (a DMA to a key no device watches). Default: stderr. */
  readonly warn?: (message: string) => void;
  /** Continue a saved guest instead of booting `kernel` (which is then not read). */
  readonly restore?: LauncherRestore;
}

/**
 * A saved guest to continue (a snapshot, or a live migration): the launcher maps guest
 * memory and sets up its devices; `loadMemory` fills the memory (a migration's as its rounds
 * arrive) and resolves to what LHREQ_INITIALIZE needs — the saved page directory, start and
 * page offset; `initialized` puts lg's saved state back before the guest first runs.
 */
export interface LauncherRestore {
  loadMemory(memory: GuestMemory): Promise<{ pgdir: number; start: number; pageOffset: number }>;
  initialized(): void | Promise<void>;
}

/** How the launcher ended. */
export interface LaunchResult {
  /** 0 after "CRASH: Power down"; 1 for any other death or failure; a device may choose another. */
  readonly exitStatus: number;
  /** The guest's death reason as lg reported it, or what went wrong in the launcher. */
  readonly reason: string;
}

/** The clean power-off of a 2.6.23 guest. */
export const POWER_DOWN = 'CRASH: Power down';

export class Launcher {
  readonly proc: Process;
  readonly memory: GuestMemory;
  readonly devices: Device[] = [];
  private readonly options: LauncherOptions;
  private fd = -1;
  private started = false;
  private running = false;
  private ended = false;
  private stopResult: LaunchResult | null = null;
  private waker: Promise<number> | null = null;
  /** atQuiescentPoint requests waiting for the guest to be broken out. */
  private pauses: { run: () => Promise<void>; cancel: () => void }[] = [];
  /** Aborted by stop(): what holds the guest at a quiescent point lets go. */
  private readonly stopping = new AbortController();
  /** The timed waits of after() still sleeping; the run's end cancels them. */
  private readonly sleeps = new Set<AbortController>();

  constructor(proc: Process, options: LauncherOptions) {
    this.proc = proc;
    this.options = options;
    this.memory = new GuestMemory(proc, Math.floor(options.memoryMiB) * 0x100000);
  }

  /** Bytes of guest RAM (the descriptor page is at this address). */
  get mem(): number {
    return this.memory.mem;
  }

  /** End of guest-physical memory: RAM, the descriptor page and every device's pages. */
  get top(): number {
    return this.memory.top;
  }

  /**
   * new_device: add a device before run(). Returns it with its descriptor slot, its IRQ
   * (index + 1) and the guest-physical address of its pages. Throws (a programming error) for
   * a 17th device or once the guest runs.
   */
  addDevice(spec: DeviceSpec): Device {
    if (this.started) throw new Error('Launcher.addDevice: devices must be added before run()');
    if (this.devices.length >= MAX_DEVICES) throw new Error(`Launcher.addDevice: at most ${MAX_DEVICES} devices`);
    const numPages = spec.numPages ?? 0;
    if (!Number.isInteger(numPages) || numPages < 0 || numPages > 0xffff) {
      throw new Error(`Launcher.addDevice: bad page count ${numPages}`);
    }
    const index = this.devices.length;
    const pages = numPages ? this.memory.top : 0;
    this.memory.top += numPages * PAGE_SIZE;
    const dev = new Device(index, this.memory.mem + index * 12, pages, spec);
    this.devices.push(dev);
    return dev;
  }

  /** Boot the guest and serve it until it dies (or a device stops it). */
  async run(): Promise<LaunchResult> {
    if (this.started) throw new Error('Launcher.run: already run');
    this.started = true;
    try {
      await this.setup();
      return await this.serve();
    } catch (e) {
      if (e instanceof LauncherExit) return { exitStatus: e.status, reason: e.message };
      throw e;
    } finally {
      await this.shutdown();
    }
  }

  // ------------------------------------------------------------------ what devices use

  /** `len` bytes of guest memory (LauncherExit if outside it). */
  readGuest(addr: number, len: number): Uint8Array {
    return this.memory.read(addr, len);
  }

  /** Write guest memory (LauncherExit if outside it). */
  writeGuest(addr: number, bytes: Uint8Array): void {
    this.memory.write(addr, bytes);
  }

  /** The sections of the struct lguest_dma at `dma`, each checked to lie in guest memory. */
  dmaSections(dma: number): DmaSection[] {
    const raw = this.memory.read(dma, LGUEST_DMA.size);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const sections: DmaSection[] = [];
    for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
      const len = LGUEST_DMA.f.len.get(view, 0, i);
      if (len === 0) break;
      const addr = LGUEST_DMA.f.addr.get(view, 0, i);
      if (!this.memory.ok(addr, len)) throw new LauncherExit(1, `Bad DMA buffer: ${len}@${hex(addr)}`);
      sections.push({ addr, len });
    }
    return sections;
  }

  /**
   * LHREQ_GETDMA: the guest's buffer bound at `key` — its address and the IRQ to raise once
   * it is filled — or null if the guest has bound nothing there.
   */
  async getDma(key: number): Promise<{ dma: number; irq: number } | null> {
    const dma = await this.lhreq(LHREQ_GETDMA, key);
    if (dma < 0) return null;
    return { dma, irq: this.memory.readU32(dma + LGUEST_DMA.offsetOf.used_len) };
  }

  /** LHREQ_IRQ: raise interrupt `irq` in the guest. 0 or -errno. */
  sendIrq(irq: number): Promise<number> {
    return this.lhreq(LHREQ_IRQ, irq);
  }

  /**
   * Input for the guest: fill the buffer it bound at `key` with (the start of) `bytes`, set
   * its used_len and raise its IRQ. The bytes delivered, or -ENOENT if no buffer is bound.
   */
  async injectInput(key: number, bytes: Uint8Array): Promise<number> {
    const found = await this.getDma(key);
    if (!found) return -Errno.ENOENT;
    let done = 0;
    for (const s of this.dmaSections(found.dma)) {
      if (done === bytes.length) break;
      const n = Math.min(s.len, bytes.length - done);
      this.memory.write(s.addr, bytes.subarray(done, done + n));
      done += n;
    }
    this.memory.writeU32(found.dma + LGUEST_DMA.offsetOf.used_len, done);
    await this.sendIrq(found.irq);
    return done;
  }

  /**
   * A device has input: break the guest out of read() so the main loop calls its
   * handleInput. (The Waker.) With no device, just breaks the guest out.
   */
  inputReady(device: Device | null): void {
    if (device) {
      if (device.inputClosed) return;
      device.inputPending = true;
    }
    this.wake();
  }

  /**
   * Runs `fn` with the guest stopped where its whole state can be read and written: the
   * launcher is out of read(), so the guest is between two trips through the switcher,
   * every DMA it sent has been answered and every device's input delivered. The guest runs
   * again once `fn` has settled (a monitor's `stop` keeps it there until `cont`; `stopping`
   * aborts when stop() is called meanwhile, so a held guest can still be ended). Rejects if
   * the guest is not running (not yet started, or ended).
   */
  atQuiescentPoint<T>(fn: (stopping: AbortSignal) => T | Promise<T>): Promise<T> {
    if (!this.running) return Promise.reject(new Error('the guest is not running'));
    return new Promise<T>((resolve, reject) => {
      this.pauses.push({
        run: async () => {
          try {
            resolve(await fn(this.stopping.signal));
          } catch (e) {
            reject(e as Error);
          }
        },
        cancel: () => reject(new Error('the guest ended before it could be stopped')),
      });
      this.wake();
    });
  }

  /**
   * Calls `fn` once `ns` of host-clock time have passed (a nanosleep system call, made while
   * the guest runs), unless the returned cancel is called first or the run ends first. A
   * device that wants another turn calls inputReady from `fn`. A signal that interrupts the
   * sleep calls `fn` early (a retry comes sooner, never not at all). Throws (a programming
   * error) once the run has ended.
   */
  after(ns: number, fn: () => void): () => void {
    if (this.ended) throw new Error('Launcher.after: the run has ended');
    const sleep = new AbortController();
    this.sleeps.add(sleep);
    void this.proc.nanosleep(ns, sleep.signal).then(() => {
      if (this.sleeps.delete(sleep) && !sleep.signal.aborted && !this.ended) fn();
    });
    return () => {
      sleep.abort();
      this.sleeps.delete(sleep);
    };
  }

  /** End the run with this result (e.g. the console's three Ctrl-C). */
  stop(exitStatus: number, reason: string): void {
    this.stopResult ??= { exitStatus, reason };
    this.stopping.abort();
    this.wake();
  }

  // ------------------------------------------------------------------ set-up

  private async setup(): Promise<void> {
    const mib = this.options.memoryMiB;
    if (!Number.isInteger(mib) || mib < MIN_GUEST_MEMORY_MIB || mib > MAX_GUEST_MEMORY_MIB) {
      throw new LauncherExit(
        1,
        `Guest memory must be a whole number of MiB from ${MIN_GUEST_MEMORY_MIB} to ${MAX_GUEST_MEMORY_MIB}, not ${mib}`,
      );
    }
    const memory = this.memory;
    await memory.map();
    if (this.options.restore) return this.setupRestore(this.options.restore);
    const kernel = await loadKernel(this.proc, memory, this.options.kernel);
    const initrdSize = this.options.initrd ? await loadInitrd(this.proc, memory, this.options.initrd) : 0;
    const needMiB = memoryNeededMiB(kernel.end, initrdSize);
    if (initrdSize && needMiB > mib) {
      throw new LauncherExit(
        1,
        `initrd ${this.options.initrd} (${initrdSize} bytes) does not fit beside the kernel in ${mib} MiB: ` +
          `give the guest at least ${needMiB} MiB`,
      );
    }
    const pgdir = setupPagetables(memory, pageAlign(initrdSize), kernel.pageOffset);
    writeBootParams(memory, this.options.args ?? [], initrdSize);
    for (const dev of this.devices) memory.write(dev.desc, dev.descriptor());
    for (const dev of this.devices) await dev.spec.setup?.(dev, this);

    await this.initialize(pgdir, kernel.start, kernel.pageOffset);
  }

  /** A saved guest: its devices set up, then its memory, then lg's state. */
  private async setupRestore(restore: LauncherRestore): Promise<void> {
    for (const dev of this.devices) await dev.spec.setup?.(dev, this);
    const { pgdir, start, pageOffset } = await restore.loadMemory(this.memory);
    await this.initialize(pgdir, start, pageOffset);
    await restore.initialized();
  }

  /** Opens the control file and creates the guest with LHREQ_INITIALIZE. */
  private async initialize(pgdir: number, start: number, pageOffset: number): Promise<void> {
    const path = this.options.controlFile ?? '/dev/lguest';
    const fd = await this.proc.open(path, O_RDWR);
    if (fd < 0) throw new LauncherExit(1, `Opening ${path}: ${errnoName(fd)} (is the lg module loaded?)`);
    this.fd = fd;
    const r = await this.lhreq(LHREQ_INITIALIZE, this.memory.top / PAGE_SIZE, pgdir, start, pageOffset);
    if (r < 0) throw new LauncherExit(1, `Initializing the guest: ${errnoName(r)}`);
    this.running = true;
    // Input that came while we were setting up.
    if (this.stopResult || this.pauses.length > 0 || this.devices.some((d) => d.inputPending)) this.wake();
  }

  // ------------------------------------------------------------------ the run loop

  private async serve(): Promise<LaunchResult> {
    const buf = new Uint8Array(1024);
    for (;;) {
      if (this.stopResult) return this.stopResult;
      const n = await this.proc.read(this.fd, buf);
      if (n === 8 && !isCrashText(buf)) {
        const view = new DataView(buf.buffer, 0, 8);
        await this.handleOutput(view.getUint32(0, true), view.getUint32(4, true));
      } else if (n > 0 || n === -Errno.ENOENT) {
        // The guest is dead: read() tells us why (it may already have, if it died while we
        // were not reading).
        const reason = n > 0 ? text(buf, n) : await this.deathReason(buf);
        return { exitStatus: reason === POWER_DOWN ? 0 : 1, reason };
      } else if (n === -Errno.EAGAIN) {
        await this.serviceInput();
        await this.runPauses();
        await this.lhreq(LHREQ_BREAK, 0);
      } else if (n !== -Errno.EINTR) {
        return { exitStatus: 1, reason: `Running guest failed: ${errnoName(n)}` };
      }
    }
  }

  private async deathReason(buf: Uint8Array): Promise<string> {
    const n = await this.proc.read(this.fd, buf);
    return n > 0 ? text(buf, n) : `Running guest failed: ${errnoName(n)}`;
  }

  /** handle_output: a DMA the guest sent to `key`, for the device that watches that key. */
  private async handleOutput(dma: number, key: number): Promise<void> {
    const sections = this.dmaSections(dma);
    const dev = this.devices.find((d) => d.watchKey === key && d.spec.handleOutput);
    const handle = dev?.spec.handleOutput;
    if (!dev || !handle) {
      this.warn(`Pending dma ${hex(dma)}, key ${hex(key)}`);
      return;
    }
    const memory = this.memory;
    const out: DmaOutput = {
      dma,
      key,
      sections,
      bytes: () => {
        const all = new Uint8Array(sections.reduce((n, s) => n + s.len, 0));
        let at = 0;
        for (const s of sections) {
          all.set(memory.read(s.addr, s.len), at);
          at += s.len;
        }
        return all;
      },
    };
    const used = await handle.call(dev.spec, out, dev, this);
    memory.writeU32(dma + LGUEST_DMA.offsetOf.used_len, used);
  }

  /** The guest is stopped: let each device that said it has input deliver it. */
  private async serviceInput(): Promise<void> {
    for (const dev of this.devices) {
      if (!dev.inputPending || dev.inputClosed) continue;
      dev.inputPending = false;
      const handle = dev.spec.handleInput;
      const more = handle ? await handle.call(dev.spec, dev, this) : false;
      if (!more) dev.inputClosed = true;
    }
  }

  /** The guest is stopped: run what waited for a quiescent point, one after another. */
  private async runPauses(): Promise<void> {
    while (this.pauses.length > 0) {
      await this.pauses.shift()!.run();
    }
  }

  /** The Waker: LHREQ_BREAK(1), pending until the main loop writes LHREQ_BREAK(0). */
  private wake(): void {
    if (!this.running || this.waker) return;
    this.waker = this.lhreq(LHREQ_BREAK, 1);
    void this.waker.then((r) => {
      this.waker = null;
      // More input came while that break was being serviced: break again.
      const wanted =
        this.stopResult || this.pauses.length > 0 || this.devices.some((d) => d.inputPending && !d.inputClosed);
      if (r >= 0 && this.running && wanted) {
        this.wake();
      }
    });
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    this.ended = true;
    for (const sleep of this.sleeps) sleep.abort();
    this.sleeps.clear();
    for (const pause of this.pauses.splice(0)) pause.cancel();
    if (this.fd < 0) return;
    if (this.waker) {
      await this.lhreq(LHREQ_BREAK, 0);
      await this.waker;
    }
    this.proc.close(this.fd);
    this.fd = -1;
  }

  /** A request to the control file: the request word, then its arguments. */
  private lhreq(req: number, ...args: number[]): Promise<number> {
    const bytes = new Uint8Array(4 * (args.length + 1));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, req, true);
    args.forEach((a, i) => view.setUint32(4 * (i + 1), a >>> 0, true));
    return this.proc.write(this.fd, bytes);
  }

  private warn(message: string): void {
    if (this.options.warn) this.options.warn(message);
    else process.stderr.write(`lguest: ${message}\n`);
  }
}

/** The text of a death reason (up to its NUL). */
function text(buf: Uint8Array, n: number): string {
  const bytes = buf.subarray(0, n);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

/**
 * A dead guest's read() returns its reason, which is 8 bytes — like a DMA — for exactly one
 * reason: "CRASH: " with an empty message.
 */
function isCrashText(buf: Uint8Array): boolean {
  return text(buf, 8) === 'CRASH: ' && buf[7] === 0;
}
