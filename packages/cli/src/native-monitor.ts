// The monitor and snapshots for `lguest run --native`: the PC's guest stopped, looked at,
// saved and continued, as `--monitor`/`--restore` do for a guest under lguest.
//
// The quiescent point is the boundary between two slices of the PC's run loop (its `pause`
// hook): the CPU between two instructions, every device between two port accesses, the
// output flushed. A snapshot of the PC has three sections, beside the snapshot package's
// header: `config` (what the PC is: memory, kernel, command line, drives, clock, core, with
// `native: true`, which is how `--restore` tells it from a guest under lguest), `pc` (every
// register of the CPU and the devices and virtual time: `Pc.save`) and `memory` (every page
// of RAM that is not all zeroes). The drives are files that outlive the guest: reopened by
// path on restore and checked for their size, as under lguest.

import { statSync } from 'node:fs';
import type { PauseAnswer, Pc, PcRunHooks, PcState } from '@lguest/pc';
import {
  decodeJson,
  isZero,
  PAGE_BYTES,
  PageSetWriter,
  readPageSet,
  requireSection,
  SnapshotError,
  type Section,
} from '@lguest/snapshot';
import type { SavedDisk } from './machine-state';
import type { MonitorTarget } from './monitor';
import type { ClockMode, HostSpec } from './options';

/** What a saved PC is: enough to build the same PC again. */
export interface NativeConfig {
  readonly native: true;
  readonly kernel: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  readonly disks: readonly SavedDisk[];
  readonly clock: ClockMode;
  readonly cpu: string;
}

/** A saved PC, decoded: its config, its state and its RAM's pages. */
export interface NativeImage {
  readonly config: NativeConfig;
  readonly state: PcState;
  readonly pages: ReadonlyMap<number, Uint8Array>;
}

/** Whether a snapshot's config section is a PC's (`lguest run --native`). */
export function isNativeSnapshot(sections: Map<string, Uint8Array>, what: string): boolean {
  const c = decodeJson<{ native?: unknown } | null>(requireSection(sections, 'config', what), 'config', what);
  return c !== null && typeof c === 'object' && c.native === true;
}

/** A PC snapshot's sections, checked; SnapshotError saying what is missing or wrong. */
export function decodeNativeImage(sections: Map<string, Uint8Array>, what: string): NativeImage {
  const config = decodeJson<NativeConfig>(requireSection(sections, 'config', what), 'config', what);
  const configOk =
    config !== null &&
    config.native === true &&
    typeof config.kernel === 'string' &&
    Number.isInteger(config.memMiB) &&
    Array.isArray(config.cmdline) &&
    Array.isArray(config.disks) &&
    (config.clock === 'host' || config.clock === 'virtual') &&
    typeof config.cpu === 'string';
  if (!configOk) throw new SnapshotError(`${what} is corrupt: its 'config' section lacks what a restore needs`);
  const state = decodeJson<PcState>(requireSection(sections, 'pc', what), 'pc', what);
  const stateOk =
    state !== null &&
    state.memoryMiB === config.memMiB &&
    typeof state.cpu === 'object' &&
    Array.isArray(state.pit) &&
    typeof state.pic === 'object' &&
    typeof state.clock === 'object';
  if (!stateOk) throw new SnapshotError(`${what} is corrupt: its 'pc' section is not the state of this PC`);
  const pages = new Map<number, Uint8Array>();
  readPageSet(
    requireSection(sections, 'memory', what),
    (config.memMiB << 20) / PAGE_BYTES,
    (pfn, bytes) => {
      if (bytes) pages.set(pfn, bytes.slice());
      else pages.delete(pfn);
    },
    what,
  );
  return { config, state, pages };
}

/** Puts a saved PC's RAM and state into `pc` (built with the saved memory, clock rate and drives). */
export function loadNativeImage(pc: Pc, image: NativeImage): void {
  const ram = new Uint8Array(pc.machine.memory);
  for (const [pfn, bytes] of image.pages) ram.set(bytes, pfn * PAGE_BYTES);
  pc.load(image.state);
}

/** What the PC of one `lguest run --native` is, for its snapshots and `info guest`. */
export interface NativeDescription {
  readonly kernel: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  readonly disks: readonly { readonly path: string; readonly readOnly: boolean }[];
}

/**
 * The monitor's target for a guest on the PC, and the run loop's hooks that give it its
 * quiescent points. `end` stops the run with a status and a reason (the caller's abort).
 */
export class PcMonitor implements MonitorTarget, PcRunHooks {
  readonly cannotMigrate =
    'a --native guest runs on the emulated PC, not under lguest: only guests under lguest migrate';
  private pc: Pc | null = null;
  private wake: () => void = () => {};
  private signal: AbortSignal | undefined;
  private ended = false;
  /** Requests for a quiescent point, run in order at the next slice boundary. */
  private readonly waiting: { run: (stopping: AbortSignal) => Promise<void>; cancel: () => void }[] = [];
  /** Aborted when the run ends: whatever holds the PC lets go. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly host: HostSpec,
    private readonly what: NativeDescription,
    readonly end: (status: number, reason: string) => void,
  ) {}

  get over(): boolean {
    return this.ended || this.pc === null;
  }

  // ------------------------------------------------------------------ the run loop's side

  started(pc: Pc, wake: () => void, signal?: AbortSignal): void {
    this.pc = pc;
    this.wake = wake;
    this.signal = signal;
    signal?.addEventListener('abort', () => this.finish(), { once: true });
  }

  /** At each slice boundary: the requests that came since the last one, in order. */
  async pause(): Promise<PauseAnswer> {
    while (this.waiting.length > 0 && !this.signal?.aborted) {
      await this.waiting.shift()!.run(this.stopping.signal);
    }
  }

  /** The run is over: requests still waiting fail, a held PC is let go. */
  finish(): void {
    this.ended = true;
    this.stopping.abort();
    for (const w of this.waiting.splice(0)) w.cancel();
  }

  // ------------------------------------------------------------------ the monitor's side

  atQuiescentPoint<T>(fn: (stopping: AbortSignal) => T | Promise<T>): Promise<T> {
    if (this.over) return Promise.reject(new Error('the guest is not running'));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        run: async (stopping) => {
          try {
            resolve(await fn(stopping));
          } catch (e) {
            reject(e as Error);
          }
        },
        cancel: () => reject(new Error('the guest ended before it could be stopped')),
      });
      this.wake();
    });
  }

  private thePc(): Pc {
    if (!this.pc) throw new Error('the PC has not started yet');
    return this.pc;
  }

  clock(): string {
    return `PC clock ${(this.thePc().clock.nanoseconds / 1e9).toFixed(6)} s (${this.host.clock})`;
  }

  registers(): string {
    const s = this.thePc().core.getState();
    const h = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
    const names = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags'] as const;
    const segs = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;
    return [
      names.map((n) => `${n.toUpperCase()}=${h(s[n])}`).join(' '),
      segs.map((n) => `${n.toUpperCase()}=${s[n].selector.toString(16).padStart(4, '0')}`).join(' '),
      `CR0=${h(s.cr0)} CR2=${h(s.cr2)} CR3=${h(s.cr3)} CR4=${h(s.cr4)} CPL=${s.cpl} halted=${s.halted ? 1 : 0}`,
    ].join('\n');
  }

  guestInfo(): string {
    const pc = this.thePc();
    const w = this.what;
    return [
      `guest on the PC: ${w.memMiB} MiB, kernel ${w.kernel}` +
        (w.cmdline.length ? `, command line "${w.cmdline.join(' ')}"` : '') +
        `; CPU core ${pc.core.name}`,
      `pc: ${pc.core.getState().instructions} instructions retired, ${(pc.clock.nanoseconds / 1e9).toFixed(6)} s of virtual time`,
    ].join('\n');
  }

  devicesInfo(): string {
    const pc = this.thePc();
    const master = pc.pic.master;
    const slave = pc.pic.slave;
    const lines = [
      `COM1 (16550 UART), irq 4: the console`,
      `PIT channel 0, irq 0: ${pc.pit.channels[0].running ? `divisor ${pc.pit.channels[0].reload || 65536}` : 'not counting'}`,
      `PICs: master vectors 0x${master.vectorBase.toString(16)} mask 0x${master.imr.toString(16)}, ` +
        `slave vectors 0x${slave.vectorBase.toString(16)} mask 0x${slave.imr.toString(16)}`,
    ];
    this.what.disks.forEach((d, i) => {
      lines.push(
        `ATA ${i === 0 ? 'master' : 'slave'} (hd${'ab'[i]}), irq 14: ${d.path} (raw${d.readOnly ? ', read-only' : ''})`,
      );
    });
    return lines.join('\n');
  }

  /** The PC's config, state and RAM as snapshot sections (at a quiescent point). */
  save(): { sections: Section[]; pages: number } {
    const pc = this.thePc();
    const w = this.what;
    const config: NativeConfig = {
      native: true,
      kernel: w.kernel,
      memMiB: w.memMiB,
      cmdline: w.cmdline,
      disks: w.disks.map((d) => ({ path: d.path, readOnly: d.readOnly, format: 'raw', bytes: statSync(d.path).size })),
      clock: this.host.clock,
      cpu: this.host.cpu,
    };
    const memory = new PageSetWriter();
    const ram = new Uint8Array(pc.machine.memory);
    let pages = 0;
    for (let at = 0; at < ram.length; at += PAGE_BYTES) {
      const page = ram.subarray(at, at + PAGE_BYTES);
      if (isZero(page)) continue;
      memory.add(at / PAGE_BYTES, page);
      pages++;
    }
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    return {
      sections: [
        { name: 'config', data: json(config) },
        { name: 'pc', data: json(pc.save()) },
        { name: 'memory', data: memory.finish() },
      ],
      pages,
    };
  }
}

/** Two sets of run-loop hooks as one (a debugger and the monitor): each sees every call. */
export function bothHooks(a: PcRunHooks, b: PcRunHooks): PcRunHooks {
  return {
    started(pc, wake, signal) {
      a.started?.(pc, wake, signal);
      b.started?.(pc, wake, signal);
    },
    async pause(pc) {
      const first = await a.pause?.(pc);
      const second = await b.pause?.(pc);
      if (first === 'end' || second === 'end') return 'end';
      if (typeof first === 'number' && typeof second === 'number') return Math.min(first, second);
      return typeof first === 'number' ? first : second;
    },
    ran(pc, r) {
      const tookA = a.ran?.(pc, r) ?? false;
      const tookB = b.ran?.(pc, r) ?? false;
      return tookA || tookB;
    },
    async onStop(pc, r) {
      return (await a.onStop?.(pc, r)) === true || (await b.onStop?.(pc, r)) === true;
    },
  };
}
