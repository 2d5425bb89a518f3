// A guest's whole state, gathered from where each part lives, and put back in a fresh
// process. The snapshot package owns the container; this file decides what goes in it:
//
//   config   what the guest is: its memory, kernel and command line, its disks (path,
//            format, size), the clock and CPU core it ran on — enough to rebuild its
//            launcher with the same devices in the same slots
//   machine  lg's state for the guest (registers, lguest_data, IDT/GDT/TLS, kernel stack,
//            page directory, DMA bindings, pending interrupts, clock event), its FPU, the
//            host clock, the console's queued input
//   memory   guest-physical memory: every page the launcher has in memory that is not all
//            zeroes (a page never touched is not in memory, and reads as zeroes anyway)
//
// Everything is read at a quiescent point (Launcher.atQuiescentPoint): the guest between two
// trips through the switcher, no DMA outstanding. A disk's contents are not copied: a disk
// is a file that outlives the guest, reopened by path and checked for its size on restore.

import { statSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { LGUEST_REGS, PAGE_SIZE } from '@lguest/abi';
import { readQcow2Header, type PreparedDisk } from '@lguest/disk';
import { LauncherExit, type GuestMemory, type LauncherRestore } from '@lguest/launcher';
import {
  loadGuestState,
  saveGuestState,
  unsavable,
  wallClockEpoch,
  writeProtectShadows,
  type GuestState,
} from '@lguest/lg';
import { decodeJson, PageSetWriter, readPageSet, requireSection, SnapshotError, type Section } from '@lguest/snapshot';
import type { ClockMode, DeviceOption } from './options';
import type { GuestRun } from './session';

/** What the guest is: how to build its launcher again. */
export interface SavedConfig {
  /** Host clock (ns) when this was written: a restored host's clock starts from here. */
  readonly clockNs: number;
  readonly kernel: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  /** End of guest-physical memory (RAM, device page, device pages): the pfn limit's bytes. */
  readonly top: number;
  readonly disks: readonly SavedDisk[];
  /**
   * Every device in slot order (a disk by its absolute path): how the restored launcher is
   * built. Absent in snapshots from before networks could be saved: the disks, then.
   */
  readonly devices?: readonly DeviceOption[];
  readonly clock: ClockMode;
  readonly cpu: string;
}

export interface SavedDisk {
  readonly path: string;
  readonly readOnly: boolean;
  readonly format: 'raw' | 'qcow2';
  /** The disk's size as the guest sees it, in bytes. */
  readonly bytes: number;
}

/** What lg, the host and the devices hold for the guest. */
export interface SavedMachine {
  /** Host clock (ns since its boot) at the cut. */
  readonly clockNs: number;
  readonly lg: GuestState;
  /** The x87 state (the core's own layout), or null if the guest never used the FPU. */
  readonly fpu: number[] | null;
  readonly console: { readonly pending: string; readonly filled: number | null };
}

/**
 * A saved guest, as --restore and --incoming continue it: what it is, and its memory and
 * state — at once from a file, or as a migration's rounds arrive.
 */
export interface RestoreImage {
  readonly config: SavedConfig;
  /** Writes the guest's pages into `memory`; resolves with the rest of its state once complete. */
  fill(memory: GuestMemory): Promise<SavedMachine>;
  /** Told once the guest's state is back, just before it runs again. */
  readonly started?: () => void;
}

/**
 * Why this run's guest cannot be saved at all (its devices), or null. A network on which the
 * launcher is the peer (--net=user, --tunnet) is saved as the device it is and made again on
 * restore: frames in flight are lost, as on a wire, and --net=user's connections to the
 * outside are not (the guest's TCP sees them reset). A --sharenet guest's peers are other
 * guests, which are not saved with it.
 */
export function unsavableRun(run: GuestRun): string | null {
  const shared = run.plan.spec.devices.find((d) => d.kind === 'sharenet');
  if (shared)
    return `the guest has a --sharenet=${shared.arg} device whose peers, other guests, cannot be saved with it`;
  return null;
}

/**
 * Why this run's guest cannot move to another lguest, or null: what stops a save, and any
 * network device, whose host side (forwarded ports, a TAP device) this lguest holds until
 * its guest has gone, while the receiving one must set it up before.
 */
export function unmigratableRun(run: GuestRun): string | null {
  const net = run.plan.spec.devices.find((d) => d.kind !== 'block');
  if (net) {
    return (
      `the guest has a network device (--${net.kind}=${net.arg}), whose host side the other lguest would need ` +
      'while this one still holds it: save it (savevm) and restore it instead'
    );
  }
  return unsavableRun(run);
}

/** The config section's contents for a run. */
export function saveConfig(run: GuestRun, clock: ClockMode, cpu: string): SavedConfig {
  const disks = (run.plan.disks ?? []).map((d, i): SavedDisk => {
    const block = run.blocks[i]?.block;
    return {
      path: d.spec.path,
      readOnly: d.spec.readOnly,
      format: d.format,
      bytes: block ? block.numSectors * 512 : diskBytes(d.spec.path, d.format),
    };
  });
  let disk = 0;
  const devices = run.plan.spec.devices.map((d): DeviceOption => {
    if (d.kind !== 'block') return d;
    const saved = disks[disk++];
    return { kind: 'block', arg: saved.readOnly ? `${saved.path},ro` : saved.path };
  });
  return {
    clockNs: run.host.clock.now(),
    kernel: run.plan.kernelPath,
    memMiB: run.plan.spec.memMiB,
    cmdline: run.plan.spec.cmdline,
    top: run.launcher.top,
    disks,
    devices,
    clock,
    cpu,
  };
}

/** A disk file's size as a guest sees it: the file's for raw, the header's for qcow2. */
export function diskBytes(path: string, format: 'raw' | 'qcow2'): number {
  return format === 'qcow2' ? readQcow2Header(path).size : statSync(path).size;
}

/**
 * lg's, the FPU's, the clock's and the console's state. Only at a quiescent point; throws
 * if the guest cannot be saved (it died, it has a shared DMA binding).
 */
export function saveMachine(run: GuestRun): SavedMachine {
  const guest = run.lgGuest();
  if (!guest) throw new Error('the guest has not started yet');
  const why = unsavable(guest);
  if (why) throw new Error(why);
  const fpu = run.host.fpuState(run.proc);
  const con = run.console.console.saveState();
  return {
    clockNs: run.host.clock.now(),
    lg: saveGuestState(guest),
    fpu: fpu ? [...fpu] : null,
    console: { pending: Buffer.from(con.pending).toString('base64'), filled: con.filled },
  };
}

/**
 * Guest memory into `out`: every page in memory (only those written since the last call
 * with `track`, if `dirtyOnly`), read at a quiescent point. With `track`, dirty tracking
 * starts over from here: the launcher's soft-dirty bits are cleared and lg write-protects
 * the guest's shadow entries at the same moment. Returns the pages added.
 */
export function saveMemory(run: GuestRun, out: PageSetWriter, dirtyOnly: boolean, track: boolean): number {
  const proc = run.proc;
  const top = run.launcher.top;
  const page = new Uint8Array(PAGE_SIZE);
  let n = 0;
  const r = proc.residentPages(0, top, (addr, dirty) => {
    if (dirtyOnly && !dirty) return;
    if (proc.readMemoryInto(addr, page) < 0) throw new Error(`cannot read guest page at 0x${addr.toString(16)}`);
    if (!dirtyOnly && isAllZero(page)) return;
    out.add(addr / PAGE_SIZE, page);
    n++;
  });
  if (r < 0) throw new Error(`cannot list the guest's pages (error ${r})`);
  if (track) {
    proc.clearSoftDirty(0, top);
    const guest = run.lgGuest();
    if (guest) writeProtectShadows(guest);
  }
  return n;
}

function isAllZero(page: Uint8Array): boolean {
  const words = new Uint32Array(page.buffer, page.byteOffset, page.length / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/**
 * The config, machine and memory sections of a whole snapshot, taken at a quiescent point,
 * and the number of pages in it.
 */
export function saveSections(run: GuestRun, clock: ClockMode, cpu: string): { sections: Section[]; pages: number } {
  const why = unsavableRun(run);
  if (why) throw new Error(why);
  const machine = saveMachine(run);
  const memory = new PageSetWriter();
  const pages = saveMemory(run, memory, false, false);
  const sections = [
    { name: 'config', data: json(saveConfig(run, clock, cpu)) },
    { name: 'machine', data: json(machine) },
    { name: 'memory', data: memory.finish() },
  ];
  return { sections, pages };
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Adds a memory section's pages to `pages` (later pages replace earlier ones; zero pages go). */
export function mergePages(pages: Map<number, Uint8Array>, data: Uint8Array, pfnLimit: number, what: string): number {
  return readPageSet(
    data,
    pfnLimit,
    (pfn, bytes) => {
      if (bytes) pages.set(pfn, bytes.slice());
      else pages.delete(pfn);
    },
    what,
  );
}

/** The config section, checked for the fields a restore needs. */
export function decodeConfig(data: Uint8Array, what: string): SavedConfig {
  const c = decodeJson<SavedConfig>(data, 'config', what);
  const ok =
    c !== null &&
    Number.isFinite(c.clockNs) &&
    typeof c.kernel === 'string' &&
    Number.isInteger(c.memMiB) &&
    Array.isArray(c.cmdline) &&
    Number.isInteger(c.top) &&
    c.top % PAGE_SIZE === 0 &&
    Array.isArray(c.disks) &&
    (c.devices === undefined ||
      (Array.isArray(c.devices) &&
        c.devices.every((d) => ['block', 'net', 'tunnet'].includes(d?.kind) && typeof d.arg === 'string'))) &&
    (c.clock === 'host' || c.clock === 'virtual') &&
    typeof c.cpu === 'string';
  if (!ok) throw new SnapshotError(`${what} is corrupt: its 'config' section lacks what a restore needs`);
  return c;
}

/** A whole snapshot's sections as a RestoreImage; SnapshotError if anything is missing or wrong. */
export function decodeRestoreImage(sections: Map<string, Uint8Array>, what: string): RestoreImage {
  const config = decodeConfig(requireSection(sections, 'config', what), what);
  const machine = decodeMachine(requireSection(sections, 'machine', what), what);
  const pages = new Map<number, Uint8Array>();
  mergePages(pages, requireSection(sections, 'memory', what), config.top / PAGE_SIZE, what);
  return {
    config,
    fill(memory) {
      for (const [pfn, bytes] of pages) memory.write(pfn * PAGE_SIZE, bytes);
      return Promise.resolve(machine);
    },
  };
}

export function decodeMachine(data: Uint8Array, what: string): SavedMachine {
  const m = decodeJson<SavedMachine>(data, 'machine', what);
  const ok =
    m !== null &&
    Number.isFinite(m.clockNs) &&
    typeof m.lg === 'object' &&
    m.lg !== null &&
    Array.isArray(m.lg.regs) &&
    typeof m.console === 'object' &&
    typeof m.console.pending === 'string';
  if (!ok) throw new SnapshotError(`${what} is corrupt: its 'machine' section lacks what a restore needs`);
  return m;
}

/**
 * The disks of a saved guest must be the ones it had: the same format and size. Throws
 * SnapshotError saying which disk differs (a missing file is prepareDisk's to report).
 */
export function checkDisks(config: { readonly disks: readonly SavedDisk[] }, disks: readonly PreparedDisk[]): void {
  config.disks.forEach((saved, i) => {
    const d = disks[i];
    if (d.format !== saved.format) {
      throw new SnapshotError(
        `disk '${saved.path}' was ${saved.format} when the guest was saved, but is ${d.format} now`,
      );
    }
    const bytes = diskBytes(saved.path, saved.format);
    if (bytes !== saved.bytes) {
      throw new SnapshotError(
        `disk '${saved.path}' changed size since the guest was saved (${saved.bytes} bytes then, ${bytes} now): ` +
          'the guest would find another disk than its own',
      );
    }
  });
}

/**
 * The launcher's side of continuing `image` in `run`: memory filled before LHREQ_INITIALIZE,
 * lg's state, the FPU and the console's queue put back right after it, before the guest runs.
 */
export function restoreInto(run: GuestRun, image: RestoreImage): LauncherRestore {
  const { config } = image;
  let saved: SavedMachine | null = null;
  return {
    async loadMemory(memory) {
      if (memory.top !== config.top) {
        throw new LauncherExit(
          1,
          `the guest's memory ends at 0x${memory.top.toString(16)}, but the saved one at 0x${config.top.toString(16)}: not the same devices`,
        );
      }
      let machine: SavedMachine;
      try {
        machine = await image.fill(memory);
      } catch (e) {
        if (e instanceof LauncherExit) throw e;
        throw new LauncherExit(1, (e as Error).message);
      }
      saved = machine;
      return {
        pgdir: machine.lg.cr3,
        start: machine.lg.regs[LGUEST_REGS.offsetOf.eip / 4],
        pageOffset: machine.lg.pageOffset,
      };
    },
    initialized() {
      const guest = run.lgGuest();
      const machine = saved;
      if (!guest || !machine) throw new LauncherExit(1, 'lg has no guest for the restored launcher');
      // The host clock started from the config's; the guest's own clock went on to here.
      run.host.clock.resumeAt(machine.clockNs);
      const problem = loadGuestState(guest, machine.lg, wallClockEpoch(run.host));
      if (problem) throw new LauncherExit(1, `cannot restore the guest: ${problem}`);
      if (machine.fpu) run.proc.fpu = Int32Array.from(machine.fpu);
      const pending = new Uint8Array(Buffer.from(machine.console.pending, 'base64'));
      run.console.console.loadState({ pending, filled: machine.console.filled });
      if (pending.length > 0) run.launcher.inputReady(run.console.device);
      image.started?.();
    },
  };
}
