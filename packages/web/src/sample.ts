// What the page sees of a running guest, read straight out of the machine on a timer.
//
// Nothing here runs on the guest's path: lg only bumps counters in typed arrays (trapCounts,
// hcallCounts, stats), and this module reads them, with the page tables, a few times a
// second while a page is open. A sample is four pictures of memory and the trip counters:
//
//   host     the launcher process's virtual memory under the host's page tables: guest RAM
//            at 0 (guest-physical X is launcher-virtual X), the device pages above it, the
//            launcher's own pages, the host kernel from 0xC0000000 and the switcher at
//            0xFFC00000;
//   phys     guest-physical memory, each frame coloured by what the guest uses it for;
//   guest    the guest's own page tables (its current cr3), as the guest wrote them;
//   shadow   lg's shadow of those tables, the ones the CPU really walks, switcher included.
//
// Each picture is a list of rows of 1024 pages (4 MiB), only rows with something in them.
// A page's byte is its kind, plus FLASH_FAULTED when it appeared since the last sample
// (a shadow entry lg filled in on a fault, a host page the launcher touched) or
// FLASH_TOUCHED when the guest's accessed bit came on since then.

import { LGUEST_DMA, LGUEST_MAX_DMA_SECTIONS } from '@lguest/abi';
import {
  PAGE_OFFSET,
  PAGE_SIZE,
  SWITCHER_ADDR,
  SWITCHER_PGD_INDEX,
  _PAGE_ACCESSED,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_USER,
  translate,
  type Host,
  type Process,
} from '@lguest/host';
import type { Guest, Lguest } from '@lguest/lg';
import {
  FLASH_FAULTED,
  FLASH_TOUCHED,
  HCALL_NAMES,
  Kind,
  type DmaFlow,
  type GuestSample,
  type MapRow,
  type Picture,
} from './protocol';

const PAGES_PER_ROW = 1024;

/** A guest as the CLI started it: its name, RAM size and launcher process. */
export interface WatchedGuest {
  readonly name: string;
  readonly memMiB: number;
  readonly proc: Process;
}

/** Present pages of one picture at the last sample, to see what is new. */
type Seen = Map<number, Uint8Array>;

/** Everything remembered about one guest between samples. */
class GuestWatch {
  guest: Guest | null = null;
  /** lg has had this guest (once its slot is free again, the guest is over). */
  private known = false;
  ended: string | null = null;
  private last: GuestSample | null = null;
  private lastTraps = new Float64Array(256);
  private lastHcalls = new Float64Array(32);
  private lastIrqs = 0;
  private lastDmas = 0;
  private lastFramesTo = new Float64Array(0);
  private lastBytesTo = new Float64Array(0);
  private readonly seen = { host: new Map(), phys: new Map(), guest: new Map(), shadow: new Map() } as Record<
    Picture,
    Seen
  >;

  constructor(
    readonly watched: WatchedGuest,
    private readonly host: Host,
    private readonly lg: Lguest,
  ) {}

  /**
   * One sample. `indexOf` turns an lg guest id into the index of its page panel (-1 for a
   * guest the page does not show).
   */
  sample(seconds: number, withMaps: boolean, indexOf: (lgId: number) => number = () => -1): GuestSample {
    if (this.ended && this.last) {
      // Over: its last counts stand, nothing moves any more.
      const still = { hypercalls: 0, pageFaults: 0, traps: 0, hostIrqs: 0, irqs: 0, launcherDmas: 0 };
      const dmaTo = this.last.dmaTo.map((f) => ({ ...f, framesDelta: 0, bytesDelta: 0 }));
      return { ...this.last, state: this.ended, delta: still, hcallDelta: {}, dmaTo, seconds, maps: null };
    }
    const slot = this.lg.guests.find((g) => g?.proc === this.watched.proc) ?? null;
    if (slot) this.known = true;
    else if (this.known) this.ended ??= 'ended';
    this.guest = this.ended ? null : slot;
    const g = this.guest;
    const traps: Record<number, number> = {};
    const hcalls: Record<string, number> = {};
    const totals = { switches: 0, hypercalls: 0, traps: 0, irqs: 0, hostIrqs: 0, launcherDmas: 0, faults: 0 };
    const delta = { hypercalls: 0, pageFaults: 0, traps: 0, hostIrqs: 0, irqs: 0, launcherDmas: 0 };
    const hcallDelta: Record<string, number> = {};
    const dmaTo: DmaFlow[] = [];
    if (g) {
      // lg's per-receiver counters of DMA between guests: read, never written, here.
      if (this.lastFramesTo.length !== g.dmaFramesTo.length) {
        this.lastFramesTo = new Float64Array(g.dmaFramesTo.length);
        this.lastBytesTo = new Float64Array(g.dmaBytesTo.length);
      }
      for (let id = 0; id < g.dmaFramesTo.length; id++) {
        const frames = g.dmaFramesTo[id];
        const to = indexOf(id);
        if (frames && to >= 0) {
          const bytes = g.dmaBytesTo[id];
          dmaTo.push({
            to,
            frames,
            bytes,
            framesDelta: frames - this.lastFramesTo[id],
            bytesDelta: bytes - this.lastBytesTo[id],
          });
        }
        this.lastFramesTo[id] = frames;
        this.lastBytesTo[id] = g.dmaBytesTo[id];
      }
      for (let i = 0; i < 256; i++) {
        const n = g.trapCounts[i];
        if (n) traps[i] = n;
        const d = n - this.lastTraps[i];
        if (i === 14) delta.pageFaults += d;
        else if (i >= 32) delta.hostIrqs += d;
        else if (i !== 0x1f) delta.traps += d;
      }
      for (let i = 0; i < 32; i++) {
        const n = g.hcallCounts[i];
        const name = HCALL_NAMES[i] ?? `hypercall ${i}`;
        if (n) hcalls[name] = n;
        totals.hypercalls += n;
        const d = n - this.lastHcalls[i];
        if (d) hcallDelta[name] = d;
        delta.hypercalls += d;
      }
      this.lastTraps = g.trapCounts.slice();
      this.lastHcalls = g.hcallCounts.slice();
      totals.switches = g.stats.switches;
      totals.irqs = g.stats.interrupts;
      totals.hostIrqs = g.stats.hostInterrupts;
      totals.launcherDmas = g.stats.launcherDmas;
      totals.faults = g.stats.demandFaults;
      totals.traps = g.stats.reflectedTraps;
      delta.irqs = g.stats.interrupts - this.lastIrqs;
      delta.launcherDmas = g.stats.launcherDmas - this.lastDmas;
      this.lastIrqs = g.stats.interrupts;
      this.lastDmas = g.stats.launcherDmas;
    }
    return (this.last = {
      name: this.watched.name,
      state: this.ended ?? (g === null ? 'starting' : g.dead !== null ? `dead: ${g.dead}` : 'running'),
      totals,
      traps,
      hcalls,
      delta,
      hcallDelta,
      dmaTo,
      seconds,
      maps: withMaps ? this.pictures() : null,
    });
  }

  /** The four pictures of memory, or only the host's before lg knows the guest. */
  private pictures(): Record<Picture, MapRow[]> {
    const mem = this.watched.memMiB * 0x100000;
    const g = this.guest?.dead === null ? this.guest : null;
    const top = g ? g.pfnLimit * PAGE_SIZE : mem + PAGE_SIZE;
    const pgd = this.watched.proc.mm.pgd;
    const ram32 = this.host.ram32;

    // Guest-physical frame -> what it holds, from the guest's tables and DMA bindings.
    const frames = new Uint8Array(top / PAGE_SIZE);
    for (let f = mem / PAGE_SIZE; f < frames.length; f++) frames[f] = Kind.Device;
    const guestRows: MapRow[] = [];
    const shadowRows: MapRow[] = [];
    if (g) {
      const gphys32 = (addr: number): number => {
        const p = translate(ram32, pgd, addr >>> 0, false, true);
        return p < 0 ? 0 : ram32[p >>> 2] >>> 0;
      };
      const dmaFrames = this.dmaFrames(g, gphys32);
      const gpgdir = g.pgdirs[g.pgdidx].gpgdir >>> 0;
      const virtKinds = new Map<number, Uint8Array>();
      if (gpgdir < top) {
        frames[gpgdir / PAGE_SIZE] = Kind.PageTable;
        for (let i = 0; i < SWITCHER_PGD_INDEX; i++) {
          const pde = gphys32(gpgdir + i * 4);
          if ((pde & _PAGE_PRESENT) === 0 || (pde & _PAGE_PSE) !== 0) continue;
          const table = (pde & ~0xfff) >>> 0;
          if (table >= top) continue;
          frames[table / PAGE_SIZE] = Kind.PageTable;
          const kinds = new Uint8Array(PAGES_PER_ROW);
          let any = false;
          for (let j = 0; j < PAGES_PER_ROW; j++) {
            const pte = gphys32(table + j * 4);
            if ((pte & _PAGE_PRESENT) === 0) continue;
            const frame = pte >>> 12;
            let kind: number = pte & _PAGE_USER ? Kind.User : Kind.Kernel;
            if (frame >= mem / PAGE_SIZE) kind = Kind.Device;
            else if (dmaFrames.has(frame)) kind = Kind.Dma;
            if (frame < frames.length && frames[frame] !== Kind.PageTable) {
              // A frame mapped by the user is the user's, wherever the kernel also maps it.
              if (frames[frame] !== Kind.User && frames[frame] !== Kind.Dma) frames[frame] = kind;
            }
            kinds[j] = kind | (pte & _PAGE_ACCESSED ? 0x20 : 0);
            any = true;
          }
          if (any) virtKinds.set(i, kinds);
        }
      }
      for (const f of dmaFrames) if (f < frames.length) frames[f] = Kind.Dma;
      for (const [i, kinds] of virtKinds) {
        const row = new Uint8Array(PAGES_PER_ROW);
        for (let j = 0; j < PAGES_PER_ROW; j++) row[j] = kinds[j] & 0x1f;
        guestRows.push(this.row('guest', i, row, kinds));
      }
      // lg's shadow: what the CPU walks. Its entries point at host frames; colour each
      // page by what the guest's own entry for the same address says.
      const spgdir = g.pgdirs[g.pgdidx].pgdir;
      if (spgdir) {
        for (let i = 0; i < 1024; i++) {
          const spde = ram32[(spgdir >>> 2) + i] >>> 0;
          if ((spde & _PAGE_PRESENT) === 0) continue;
          const table = (spde & ~0xfff) >>> 0;
          const row = new Uint8Array(PAGES_PER_ROW);
          let any = false;
          for (let j = 0; j < PAGES_PER_ROW; j++) {
            const spte = ram32[(table >>> 2) + j] >>> 0;
            if ((spte & _PAGE_PRESENT) === 0) continue;
            row[j] =
              i === SWITCHER_PGD_INDEX ? Kind.Switcher : (virtKinds.get(i)?.[j] ?? Kind.Kernel) & 0x1f || Kind.Kernel;
            any = true;
          }
          if (any) shadowRows.push(this.row('shadow', i, row, null));
        }
      }
    }

    // The launcher's virtual memory under the host's tables, and its mappings (mmap) with
    // no page behind them yet.
    const hostRows: MapRow[] = [];
    const vmas = this.watched.proc.mm.mappings;
    for (let i = 0; i < 1024; i++) {
      const pde = ram32[(pgd >>> 2) + i] >>> 0;
      const lo = i * PAGES_PER_ROW * PAGE_SIZE;
      const hi = lo + PAGES_PER_ROW * PAGE_SIZE;
      const inVmas = vmas.filter((v) => v.start < hi && v.end > lo);
      if ((pde & _PAGE_PRESENT) === 0 && inVmas.length === 0) continue;
      const row = new Uint8Array(PAGES_PER_ROW);
      for (let j = 0; j < PAGES_PER_ROW; j++) {
        const vaddr = lo + j * PAGE_SIZE;
        const present =
          (pde & _PAGE_PRESENT) !== 0 &&
          ((pde & _PAGE_PSE) !== 0 || ((ram32[((pde & ~0xfff) >>> 2) + j] >>> 0) & _PAGE_PRESENT) !== 0);
        if (!present) {
          if (inVmas.some((v) => vaddr >= v.start && vaddr < v.end)) row[j] = Kind.Reserved;
          continue;
        }
        row[j] =
          vaddr >= SWITCHER_ADDR
            ? Kind.Switcher
            : vaddr >= PAGE_OFFSET
              ? Kind.HostKernel
              : vaddr < mem
                ? Kind.GuestRam
                : vaddr < top
                  ? Kind.Device
                  : Kind.Launcher;
      }
      hostRows.push(this.row('host', i, row, null));
    }

    const physRows: MapRow[] = [];
    for (let i = 0; i * PAGES_PER_ROW < frames.length; i++) {
      const row = new Uint8Array(PAGES_PER_ROW);
      row.set(frames.subarray(i * PAGES_PER_ROW, (i + 1) * PAGES_PER_ROW));
      for (let j = 0; j < PAGES_PER_ROW; j++)
        if (row[j] === Kind.None && i * PAGES_PER_ROW + j < frames.length) row[j] = Kind.Free;
      physRows.push(this.row('phys', i, row, null));
    }
    return { host: hostRows, phys: physRows, guest: guestRows, shadow: shadowRows };
  }

  /** Frames of the buffers the guest has bound for DMA (its receive buffers). */
  private dmaFrames(g: Guest, gphys32: (addr: number) => number): Set<number> {
    const out = new Set<number>();
    for (const d of g.dma) {
      if (d.interrupt === 0) continue;
      for (let k = 0; k < d.numDmas && k < 64; k++) {
        const desc = d.dmas + k * LGUEST_DMA.size;
        for (let s = 0; s < LGUEST_MAX_DMA_SECTIONS; s++) {
          const lenWord = gphys32(desc + LGUEST_DMA.offsetOf.len + ((s * 2) & ~3));
          const len = s & 1 ? lenWord >>> 16 : lenWord & 0xffff;
          if (len === 0) break;
          const addr = gphys32(desc + LGUEST_DMA.offsetOf.addr + s * 4);
          for (let f = addr >>> 12; f <= (addr + len - 1) >>> 12; f++) out.add(f);
        }
      }
    }
    return out;
  }

  /**
   * One row of a picture, flagging what is new since the last sample: a page that appeared
   * (faulted in), or whose accessed bit came on (`accessed` rows carry it as 0x20).
   */
  private row(picture: Picture, index: number, kinds: Uint8Array, accessed: Uint8Array | null): MapRow {
    const seen = this.seen[picture];
    const before = seen.get(index);
    const out = new Uint8Array(PAGES_PER_ROW);
    for (let j = 0; j < PAGES_PER_ROW; j++) {
      let b = kinds[j];
      if (b !== Kind.None && before) {
        if (before[j] === Kind.None) b |= FLASH_FAULTED;
        else if (accessed && accessed[j] & 0x20 && (before[j] & 0x20) === 0) b |= FLASH_TOUCHED;
      }
      out[j] = b;
    }
    seen.set(index, accessed ?? kinds);
    return { base: index * PAGES_PER_ROW * PAGE_SIZE, pages: Buffer.from(out).toString('base64') };
  }
}

/** Samples every watched guest of one host. */
export class Sampler {
  private readonly watches: GuestWatch[];
  private lastInstructions: number;

  constructor(
    private readonly host: Host,
    private readonly lg: Lguest,
    guests: readonly WatchedGuest[],
  ) {
    this.watches = guests.map((w) => new GuestWatch(w, host, lg));
    this.lastInstructions = host.clock.instructions;
  }

  /** Marks guest `index` as ended (its launcher is gone; its lg slot may be reused). */
  ended(index: number, how: string): void {
    const w = this.watches[index];
    if (w) {
      w.ended = how;
      w.guest = null;
    }
  }

  /** Counters since the last call over `seconds` of wall time, and the pictures if asked. */
  sample(
    seconds: number,
    withMaps: boolean,
  ): { instructions: number; instructionsDelta: number; guests: GuestSample[] } {
    const instructions = this.host.clock.instructions;
    const instructionsDelta = instructions - this.lastInstructions;
    this.lastInstructions = instructions;
    // lg guest id -> panel index, for DMA between guests.
    const byId = new Map<number, number>();
    this.lg.guests.forEach((g, id) => {
      if (!g) return;
      const i = this.watches.findIndex((w) => !w.ended && w.watched.proc === g.proc);
      if (i >= 0) byId.set(id, i);
    });
    const indexOf = (id: number) => byId.get(id) ?? -1;
    return {
      instructions,
      instructionsDelta,
      guests: this.watches.map((w) => w.sample(seconds, w.ended ? false : withMaps, indexOf)),
    };
  }
}
