// One host, its guests, start to finish. This is the whole system put together, in the
// order a real machine would do it: boot the host (RAM, the CPU core, the clock), load the lg
// module into it (the switcher at the top of every address space, /dev/lguest), then for
// each guest start a launcher process with its devices — the console last, as the original
// does — and let every launcher run its guest. The host's scheduler shares the one CPU
// between them; the session ends when the last guest has ended.
//
// The CLI owns the outside world: where each console's bytes go, and what stops a guest
// early — the --timeout watchdog (a host timer, so on the virtual clock it fires at the same
// instruction every run) or the user (an AbortSignal, e.g. from SIGINT). Either stops a
// launcher the way its own devices would, with Launcher.stop(): the guest is broken out of
// its run with LHREQ_BREAK, which works even when it spins with interrupts off, because the
// host's tick preempts it regardless.

import { addConsole, type ConsoleDevice, type ConsoleInputSource, type ConsoleOutput } from '@lguest/console';
import { addBlock, diskName, type BlockDevice, type PreparedDisk } from '@lguest/disk';
import { Host, type Process } from '@lguest/host';
import { Launcher, POWER_DOWN, type LaunchResult } from '@lguest/launcher';
import { dirname, join } from 'node:path';
import { addSharenet, addTunnet, addUserNet, parseUserNet, type LauncherPeer } from '@lguest/net';
import { lguestInit, type Guest, type GuestStats, type Lguest } from '@lguest/lg';
import { findCore } from '@lguest/x86-cores';
import { restoreInto, type RestoreImage } from './machine-state';
import { UsageError, type GuestSpec, type HostSpec } from './options';

/** One guest to run: what the user asked for, resolved to real files and streams. */
export interface GuestPlan {
  /** Shown in messages and run-many's line prefixes. */
  readonly name: string;
  readonly spec: GuestSpec;
  /** Absolute paths on the real file system (the launcher sees them under /host). */
  readonly kernelPath: string;
  readonly initrdPath: string | null;
  /** The guest's console. */
  readonly output: ConsoleOutput;
  readonly input?: ConsoleInputSource;
  /** --block disks, checked and locked, in command-line order (lgba, lgbb, …). */
  readonly disks?: readonly PreparedDisk[];
  /** Told how the guest ended, as soon as it has (the others may run on). */
  readonly onEnd?: (outcome: GuestOutcome) => void;
  /** Continue this saved guest instead of booting the kernel (--restore, --incoming). */
  readonly restore?: RestoreImage;
}

/** How one guest ended. */
export interface GuestOutcome {
  readonly name: string;
  /** The launcher's exit status: 0 after a clean power-off. */
  readonly exitStatus: number;
  /** The death reason as lg gave it ("CRASH: Power down", "Bad hypercall 99", …), or the launcher's. */
  readonly reason: string;
  readonly poweredOff: boolean;
  /** The launcher got as far as starting the guest (else `reason` is why it could not). */
  readonly started: boolean;
  /** Stopped from outside before it ended by itself: by the --timeout watchdog or an abort. */
  readonly stoppedBy: 'timeout' | 'abort' | null;
  /** Host clock time (ns since host boot) when it ended. */
  readonly endedNs: number;
  /** Console input bytes delivered into the guest. */
  readonly consoleInputBytes: number;
  /** lg's counters for the guest (null if it never got as far as LHREQ_INITIALIZE). */
  readonly stats: GuestStats | null;
}

export interface SessionOutcome {
  readonly guests: readonly GuestOutcome[];
  /** Instructions the CPU retired over the whole session (every guest and the switcher). */
  readonly instructions: number;
  /** Host clock time at the end, in ns. */
  readonly clockNs: number;
}

export interface SessionOptions {
  readonly host: HostSpec;
  readonly hostMemoryMiB: number;
  readonly guests: readonly GuestPlan[];
  /** Verbose progress lines (without the "lguest: " prefix). */
  readonly log?: (line: string) => void;
  /**
   * Aborting stops every guest still running: the user's Ctrl-C, or a console nobody reads
   * any more. A StopRequest as the abort reason says why and with what status (default:
   * "killed: interrupted by the user", 130).
   */
  readonly signal?: AbortSignal;
  /**
   * Called once the host and lg are up and every launcher process exists (in the order of
   * `guests`), before any guest runs: `lguest web` starts watching here.
   */
  readonly observe?: (host: Host, lg: Lguest, launchers: readonly Process[]) => void;
  /** A restored machine's clock: the host's carries on from here (ns), before anything runs. */
  readonly resumeClockNs?: number;
  /** Given each guest's run as it is created (the monitor drives it from there). */
  readonly onGuestRun?: (run: GuestRun) => void;
}

/** Why a session was aborted, given as the AbortSignal's reason. */
export interface StopRequest {
  readonly reason: string;
  readonly status: number;
}

/** The --tunnet helper the net package builds (looked up only when a --tunnet asks for it). */
function tapHelper(): string {
  return join(dirname(require.resolve('@lguest/net/package.json')), 'build', 'lguest-tap');
}

/**
 * Where a real file given to the host appears: /host/<its real path>. The host sees only the
 * files granted to it (`Host.grantFile`): each guest's kernel and initrd, read-only. A device
 * with a file of its own (a --block disk, read-write unless ",ro"; the --sharenet file) is
 * granted the same way by `grantGuestFile` before its launcher starts.
 */
export const REAL_ROOT = '/host';

/** Gives the host the real file `realPath` at REAL_ROOT + realPath; returns that path. */
export function grantGuestFile(host: Host, realPath: string, mode: 'ro' | 'rw'): string {
  const path = REAL_ROOT + realPath;
  host.grantFile(path, realPath, mode);
  return path;
}

/** Boots a host, runs every guest in it to its end, shuts the host down. */
export async function runSession(options: SessionOptions): Promise<SessionOutcome> {
  const log = options.log ?? (() => {});
  const { host: spec } = options;
  let host: Host;
  try {
    host = new Host({ memoryMiB: options.hostMemoryMiB, core: findCore(spec.cpu), clock: spec.clock });
  } catch (e) {
    // The host's RAM is one ArrayBuffer: this machine may not give us that much.
    throw new UsageError(
      `cannot build a host with ${options.hostMemoryMiB} MiB of RAM (${(e as Error).message}): ` +
        `give less MEM or a smaller --memory-host`,
    );
  }
  log(`host: ${options.hostMemoryMiB} MiB of RAM, CPU core ${spec.cpu}, ${spec.clock} clock`);
  // Before lg loads, so its wall-clock epoch and every timer count from the saved clock.
  if (options.resumeClockNs !== undefined) host.clock.resumeAt(options.resumeClockNs);
  try {
    const lg = lguestInit(host);
    if (typeof lg === 'number') throw new Error(`loading the lg module failed (error ${lg})`);
    const runs = options.guests.map((plan) => new GuestRun(host, lg, plan, log));
    for (const r of runs) options.onGuestRun?.(r);
    options.observe?.(
      host,
      lg,
      runs.map((r) => r.proc),
    );

    const stopAll = (reason: string, status: number, by: 'timeout' | 'abort') => {
      for (const r of runs) r.stop(status, reason, by);
    };
    const onAbort = () => {
      const why = options.signal?.reason as Partial<StopRequest> | undefined;
      stopAll(why?.reason ?? 'killed: interrupted by the user', why?.status ?? 130, 'abort');
    };
    options.signal?.addEventListener('abort', onAbort);
    if (options.signal?.aborted) onAbort();
    const watchdog =
      spec.timeoutS === null
        ? null
        : host.startTimer(Math.round(spec.timeoutS * 1e9), () =>
            // Timer callbacks run in interrupt context: stop the launchers once it is over.
            queueMicrotask(() =>
              stopAll(
                `killed: still running after ${spec.timeoutS} s of ${spec.clock} clock time (--timeout)`,
                124,
                'timeout',
              ),
            ),
          );
    try {
      const guests = await Promise.all(runs.map((r) => r.run()));
      return { guests, instructions: host.clock.instructions, clockNs: host.clock.now() };
    } finally {
      watchdog?.cancel();
      options.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    host.shutdown();
  }
}

/** One guest's launcher process, its console and what became of it. */
export class GuestRun {
  readonly proc: Process;
  readonly launcher: Launcher;
  readonly console: ConsoleDevice;
  readonly blocks: BlockDevice[] = [];
  /** --net=user and --tunnet devices: their sockets and helpers close when the guest ends. */
  readonly networks: { close(): void; readonly peer: LauncherPeer }[] = [];
  private guest: Guest | null = null;
  private stoppedBy: 'timeout' | 'abort' | null = null;
  private ended = false;

  constructor(
    readonly host: Host,
    readonly lg: Lguest,
    readonly plan: GuestPlan,
    private readonly log: (line: string) => void,
  ) {
    const proc = host.createProcess(`lguest ${plan.name}`);
    if (typeof proc === 'number')
      throw new Error(`creating the launcher process for ${plan.name} failed (error ${proc})`);
    this.proc = proc;
    const { spec } = plan;
    this.launcher = new Launcher(proc, {
      memoryMiB: spec.memMiB,
      kernel: grantGuestFile(host, plan.kernelPath, 'ro'),
      initrd: plan.initrdPath === null ? undefined : grantGuestFile(host, plan.initrdPath, 'ro'),
      args: spec.cmdline,
      warn: (message) => log(`${plan.name}: ${message}`),
      restore: plan.restore ? restoreInto(this, plan.restore) : undefined,
    });
    // Command-line devices come first, in command-line order, then the console.
    const disks = plan.disks ?? [];
    let diskIndex = 0;
    for (const dev of spec.devices) {
      if (dev.kind === 'block') {
        const i = diskIndex++;
        const disk = disks[i];
        // The host sees the disk's files and nothing else: the top one writable unless ",ro",
        // a qcow2 overlay's backing files read-only.
        disk.chain.forEach((file, k) => grantGuestFile(host, file, k === 0 && !disk.spec.readOnly ? 'rw' : 'ro'));
        this.blocks.push(
          addBlock(
            this.launcher,
            async (l) => {
              const block = await disk.open(l.proc, REAL_ROOT);
              block.log = (line) => log(`${plan.name}: ${diskName(i)}: ${line}`);
              return block;
            },
            disk.spec.readOnly,
          ),
        );
        log(
          `${plan.name}: ${diskName(i)} is ${disk.spec.path} (${disk.format}${disk.spec.readOnly ? ', read-only' : ''})`,
        );
      } else if (dev.kind === 'sharenet') addSharenet(this.launcher, dev.arg);
      else if (dev.kind === 'net') this.networks.push(addUserNet(this.launcher, parseUserNet(dev.arg)));
      else if (dev.kind === 'tunnet')
        this.networks.push(addTunnet(this.launcher, { arg: dev.arg, helper: tapHelper() }));
    }
    this.console = addConsole(this.launcher, {
      output: { write: (chunk) => this.onOutput(chunk) },
      input: plan.input,
    });
  }

  async run(): Promise<GuestOutcome> {
    const { plan } = this;
    this.log(
      `${plan.name}: launcher pid ${this.proc.pid}, ${plan.spec.memMiB} MiB, kernel ${plan.kernelPath}` +
        (plan.spec.cmdline.length ? `, command line "${plan.spec.cmdline.join(' ')}"` : ''),
    );
    let result: LaunchResult;
    try {
      result = await this.launcher.run();
    } catch (e) {
      // A bug in the launcher or a device: this guest is over, the host and the others go on.
      result = { exitStatus: 1, reason: `launcher failed: ${(e as Error).stack ?? String(e)}` };
    } finally {
      this.ended = true;
      this.console.close();
      for (const b of this.blocks) b.close();
      for (const n of this.networks) n.close();
    }
    this.guest ??= this.findGuest();
    this.proc.exit(result.exitStatus);
    const outcome: GuestOutcome = {
      name: plan.name,
      exitStatus: result.exitStatus,
      reason: result.reason,
      poweredOff: result.exitStatus === 0 && result.reason === POWER_DOWN,
      started: this.console.setUp,
      consoleInputBytes: this.console.console.inputBytes,
      stoppedBy: this.stoppedBy,
      endedNs: this.host.clock.now(),
      stats: this.guest ? { ...this.guest.stats } : null,
    };
    for (const n of this.networks) this.log(`${plan.name}: ${describeNetwork(n.peer)}`);
    plan.onEnd?.(outcome);
    const s = outcome.stats;
    this.log(
      `${plan.name}: ${outcome.reason} (exit status ${outcome.exitStatus})` +
        (s
          ? `; ${s.switches} switches, ${s.hypercalls} hypercalls + ${s.asyncHypercalls} async, ` +
            `${s.demandFaults} demand faults, ${s.reflectedTraps} reflected traps, ${s.interrupts} interrupts` +
            (s.dmaDelivered || s.dmaNoBuffer
              ? `; ${s.dmaDelivered} frames to other guests, ${s.dmaNoBuffer} found no free buffer`
              : '')
          : '') +
        (outcome.consoleInputBytes ? `; ${outcome.consoleInputBytes} bytes of console input delivered` : ''),
    );
    this.blocks.forEach((b, i) => {
      const st = b.block?.stats;
      if (st)
        this.log(
          `${plan.name}: ${diskName(i)}: ${st.reads} reads (${st.bytesRead} bytes), ${st.writes} writes ` +
            `(${st.bytesWritten} bytes), ${st.flushes} flushes, ${st.errors} errors`,
        );
    });
    return outcome;
  }

  /** Ends this guest's run early (nothing happens if it already ended). */
  stop(status: number, reason: string, by: 'timeout' | 'abort'): void {
    if (this.ended || this.stoppedBy) return;
    this.stoppedBy = by;
    this.launcher.stop(status, reason);
  }

  private onOutput(chunk: Uint8Array): void {
    // The first output comes after LHREQ_INITIALIZE: remember lg's guest for its counters.
    this.guest ??= this.findGuest();
    this.plan.output.write(chunk);
  }

  /** lg's guest, once the launcher has created it (LHREQ_INITIALIZE). */
  lgGuest(): Guest | null {
    this.guest ??= this.findGuest();
    return this.guest;
  }

  /** The run has ended (the launcher returned). */
  get over(): boolean {
    return this.ended;
  }

  private findGuest(): Guest | null {
    return this.lg.guests.find((g) => g?.proc === this.proc) ?? null;
  }
}

/** "network: 12 frames from the guest, 10 to it; dropped: oversized frame from the guest ×1" */
function describeNetwork(peer: LauncherPeer): string {
  const s = peer.stats;
  const drops = [...s.drops].map(([why, n]) => `${why} ×${n}`).join(', ');
  return (
    `network: ${s.framesFromGuest} frames (${s.bytesFromGuest} bytes) from the guest, ` +
    `${s.framesToGuest} (${s.bytesToGuest} bytes) to it` +
    (drops ? `; dropped: ${drops}` : '')
  );
}
