// The lguest command, as a function: parse the command line, check the kernel files, run
// the session, say how each guest ended, return the exit status. main.ts calls it with the
// process's streams; the system tests call it with their own, in-process.
//
// Exit status: 0 when every guest powered off; the launcher's status (1) when a guest died —
// killed by the host or by its own panic — with the reason on stderr; 124 when --timeout
// stopped it; 130 when the user interrupted it (141 when its console output was closed, as
// SIGPIPE would); 2 for bad input, which gets a sentence and a pointer to the usage, never
// a stack trace.

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import type { ConsoleInputSource } from '@lguest/console';
import { DiskError, parseBlockArg, prepareDisk, type DiskSpec, type PreparedDisk } from '@lguest/disk';
import { diskCommand } from './disk-command';
import { packInitramfs } from './initramfs';
import { checkKernelImage, commandLine, LauncherExit, memoryNeededMiB } from '@lguest/launcher';
import {
  hostMemoryMiB,
  parseCommand,
  UsageError,
  USAGE,
  type GdbSpec,
  type GuestSpec,
  type HostSpec,
  type MachineOptions,
} from './options';
import { LinePrefixer, type ByteSink } from './prefix';
import { runNative } from './native';
import { runSession, type GuestOutcome, type GuestPlan, type SessionOptions, type StopRequest } from './session';
import { runWeb } from './web';
import { GdbListenError, GuestGdb } from './gdb';
import type { PcRunHooks } from '@lguest/pc';
import { decodeSnapshot, SnapshotError } from '@lguest/snapshot';
import { checkDisks, decodeRestoreImage, type RestoreImage } from './machine-state';
import { receiveMigration, type IncomingGuest } from './migrate';
import { LguestTarget, Monitor } from './monitor';
import { MonitorMux } from './monitor-mux';
import { bothHooks, decodeNativeImage, isNativeSnapshot, PcMonitor, type NativeImage } from './native-monitor';
import { performance } from 'node:perf_hooks';

export interface LguestIo {
  readonly stdout: ByteSink;
  readonly stderr: ByteSink;
  /** Console input for a single guest (run-many guests get none yet). */
  readonly stdin?: ConsoleInputSource;
  /** Relative paths are taken from here. */
  readonly cwd: string;
  /** The bundled guest image, booted when no KERNEL is given. */
  readonly defaultKernel: string;
  /** Aborting stops every running guest (main.ts: SIGINT). */
  readonly signal?: AbortSignal;
  /** The built web page (packages/web/dist/page), for `lguest web`. */
  readonly webPage?: string;
}

export const EXIT_USAGE = 2;

/** Runs the lguest command line `argv` (without node and the script); resolves to the exit status. */
export async function lguest(argv: readonly string[], io: LguestIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`lguest: ${line}\n`);
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (command.kind === 'disk') return await diskCommand(command.args, io.cwd, io.stdout);
    if (command.kind === 'initramfs') return initramfs(command.dir, command.out, io, say);
    if (command.kind === 'run' && command.machine)
      return await runMachine(command.host, command.machine, command.guest, io, say, command.gdb, command.native);
    const guests = command.kind === 'run' ? [command.guest] : command.guests;
    const many = command.kind === 'run-many' || (command.kind === 'web' && command.many);
    const native = command.kind === 'run' && command.native === true;
    const plans = planGuests(many, guests, io, native);
    if (command.kind === 'run' && command.native) {
      const gdb = command.gdb ? await GuestGdb.listen(command.gdb, say, command.host.verbose ? say : () => {}) : null;
      try {
        const status = await runNativeAndReport(command.host, plans[0], io, say, { hooks: gdb?.native() });
        gdb?.ended(status);
        return status;
      } finally {
        gdb?.ended(1);
      }
    }
    const memory = hostMemoryMiB(command.host, guests);
    if (command.kind === 'web') {
      return await runWeb(command.port, plans, io, say, (webPlans, observe) =>
        runAndReport(command.host, memory, webPlans, many, io, say, observe),
      );
    }
    if (command.kind === 'run' && command.gdb) {
      const gdb = await GuestGdb.listen(command.gdb, say, command.host.verbose ? say : () => {});
      const plan = plans[0];
      plans[0] = {
        ...plan,
        onEnd: (outcome) => {
          plan.onEnd?.(outcome);
          gdb.ended(outcome.exitStatus);
        },
      };
      try {
        return await runAndReport(command.host, memory, plans, many, io, say, (_host, lg, launchers) =>
          gdb.watch(lg, launchers[0]),
        );
      } finally {
        gdb.ended(1);
      }
    }
    return await runAndReport(command.host, memory, plans, many, io, say);
  } catch (e) {
    if (e instanceof SnapshotError) {
      say(e.message);
      return EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof GdbListenError) {
      say(e.message);
      io.stderr.write(`Try 'lguest help' for the usage.\n`);
      return EXIT_USAGE;
    }
    say(`internal error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

/**
 * A guest as planned: its files resolved, its disks not yet checked or locked (a migrating
 * guest's disks are waited for: the sending lguest holds them until its guest has ended).
 */
type PlannedGuest = GuestPlan & { prefix?: LinePrefixer; diskSpecs: readonly DiskSpec[]; waitForDisks?: boolean };

/** `lguest initramfs DIR OUT`: packs DIR, says what it wrote (and whether Linux will find /init). */
function initramfs(dir: string, out: string, io: LguestIo, say: (line: string) => void): number {
  const r = packInitramfs(dir, out, io.cwd);
  io.stdout.write(
    `${out}: ${r.members} files and directories from ${dir}, ${r.bytes} bytes${r.compressed ? ' (gzip)' : ''}\n`,
  );
  if (!r.hasInit) {
    say(
      `note: ${dir} has no 'init' at its top: Linux runs /init as pid 1, so give the kernel ` +
        `rdinit=/PROGRAM (e.g. rdinit=/bin/sh) instead`,
    );
  }
  return 0;
}

/** Resolves every guest's files (checking the kernels) and gives each its console sink. */
function planGuests(many: boolean, guests: readonly GuestSpec[], io: LguestIo, native: boolean): PlannedGuest[] {
  const names = new Map<string, number>();
  return guests.map((spec, i) => {
    const where = many ? `--guest #${i + 1}: ` : '';
    const diskSpecs: DiskSpec[] = spec.devices
      .filter((d) => d.kind === 'block')
      .map((d) => {
        const { file, readOnly } = parseBlockArg(d.arg);
        if (file === '')
          throw new UsageError(`${where}--block needs a file, e.g. --block=disk.img or --block=disk.img,ro`);
        return { path: absolute(io.cwd, file), readOnly };
      });
    const kernelPath = spec.kernel === null ? io.defaultKernel : absolute(io.cwd, spec.kernel);
    const hint =
      spec.kernel === null
        ? 'The bundled guest is built by `npm run build` at the repository root.'
        : 'Give the path of an lguest guest image, e.g. packages/guest/build/guest.elf.';
    const kernel = checkKernel(kernelPath, spec.kernel ?? kernelPath, hint, where);
    try {
      commandLine(spec.cmdline);
    } catch (e) {
      if (!(e instanceof LauncherExit)) throw e;
      throw new UsageError(`${where}kernel arguments: ${e.message}; give fewer or shorter arguments`);
    }
    const initrdPath = spec.initrd === null ? null : absolute(io.cwd, spec.initrd);
    if (initrdPath !== null && spec.initrd !== null) {
      checkReadable(initrdPath, spec.initrd, 'initrd', where);
      // Under lguest the initrd goes at the top of guest memory, its page tables below it,
      // all above the kernel: one that does not fit would overwrite the kernel.
      const size = statSync(initrdPath).size;
      const need = kernel.end === null ? 0 : memoryNeededMiB(kernel.end, size);
      if (!native && need > spec.memMiB) {
        throw new UsageError(
          `${where}initrd '${spec.initrd}' (${size} bytes) does not fit beside the kernel in ${spec.memMiB} MiB of guest memory: ` +
            `give MEM of at least ${need}`,
        );
      }
    }
    let name = 'guest';
    if (many) {
      const base = basename(kernelPath).replace(/\.(elf|bin)$/, '');
      const seen = (names.get(base) ?? 0) + 1;
      names.set(base, seen);
      name = seen === 1 ? base : `${base}#${seen}`;
    }
    const prefix = many ? new LinePrefixer(io.stdout, `[${name}] `) : undefined;
    return {
      name,
      spec,
      kernelPath,
      initrdPath,
      output: prefix ?? io.stdout,
      input: many ? undefined : io.stdin,
      prefix,
      diskSpecs,
    };
  });
}

async function runAndReport(
  host: HostSpec,
  memoryMiB: number,
  planned: PlannedGuest[],
  many: boolean,
  io: LguestIo,
  say: (line: string) => void,
  observe?: SessionOptions['observe'],
  machine?: Pick<SessionOptions, 'resumeClockNs' | 'onGuestRun'>,
): Promise<number> {
  // Every disk is checked and locked before any guest starts; the locks go when we end.
  const prepared: PreparedDisk[] = [];
  let outcome;
  try {
    const plans: (GuestPlan & { prefix?: LinePrefixer })[] = [];
    for (const [i, plan] of planned.entries()) {
      const disks: PreparedDisk[] = [];
      for (const d of plan.diskSpecs) {
        try {
          disks.push(await prepareDisk(d, plan.waitForDisks));
        } catch (e) {
          if (e instanceof DiskError) throw new UsageError((many ? `--guest #${i + 1}: ` : '') + e.message);
          throw e;
        }
        prepared.push(disks[disks.length - 1]);
      }
      if (plan.restore) checkDisks(plan.restore.config, disks);
      plans.push({ ...plan, disks });
    }
    outcome = await runSession({
      host,
      hostMemoryMiB: memoryMiB,
      guests: plans,
      log: host.verbose ? say : undefined,
      signal: io.signal,
      observe,
      ...machine,
    });
  } finally {
    await Promise.all(prepared.map((d) => d.release()));
  }
  const plans = planned;
  for (const plan of plans) plan.prefix?.finish();
  for (const g of outcome.guests) {
    const label = many ? `[${g.name}] ` : '';
    if (!g.poweredOff) say(`${label}${describeDeath(g)}`);
    else if (many) say(`${label}powered off`);
  }
  if (host.verbose) say(`instructions: ${outcome.instructions}`);
  return exitStatus(outcome.guests);
}

/**
 * `run` with --monitor, --restore or --incoming: the guest comes from a snapshot file or a
 * migration stream (else it boots as usual), and the monitor listens beside it.
 */
async function runMachine(
  host: HostSpec,
  machine: MachineOptions,
  booted: GuestSpec,
  userIo: LguestIo,
  say: (line: string) => void,
  gdbSpec?: GdbSpec,
  native = false,
): Promise<number> {
  const monitor = machine.monitor === null ? null : new Monitor(host, say);
  let io = userIo;
  if (monitor && machine.monitor?.kind === 'stdio') {
    if (!userIo.stdin) throw new UsageError('--monitor=stdio shares the console, and this guest has no console input');
    // The console reads through the mux: Ctrl-A c brings the monitor to the terminal.
    const out = userIo.stdout;
    io = { ...userIo, stdin: new MonitorMux(userIo.stdin, (text) => out.write(text), monitor) };
  }
  let image: RestoreImage | null = null;
  let incoming: IncomingGuest | null = null;
  if (machine.restore !== null) {
    const file = absolute(io.cwd, machine.restore);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read snapshot '${machine.restore}': ${code === 'ENOENT' ? 'no such file' : code}`);
    }
    const what = `snapshot '${machine.restore}'`;
    const sections = decodeSnapshot(bytes, what);
    // A PC saved with --native continues on the PC, whether or not --native is given again.
    if (isNativeSnapshot(sections, what)) {
      return runNativeMachine(host, machine, monitor, booted, io, say, gdbSpec, decodeNativeImage(sections, what));
    }
    if (native) {
      throw new UsageError(`${what} holds a guest under lguest, not a PC: leave out --native`);
    }
    image = decodeRestoreImage(sections, what);
  } else if (native) {
    return runNativeMachine(host, machine, monitor, booted, io, say, gdbSpec, null);
  } else if (machine.incoming !== null) {
    incoming = await receiveMigration(machine.incoming, say);
    image = incoming.image;
    say(
      image.config.disks.length
        ? 'incoming: the guest is coming; its disks are taken once the sending lguest lets go of them'
        : 'incoming: the guest is coming; building its host while its memory crosses',
    );
    void incoming.complete.then(
      (c) => say(`incoming: ${c.rounds} rounds of pages, ${c.bytes} bytes received`),
      () => undefined,
    );
  }
  let guest = booted;
  if (image) {
    const c = image.config;
    guest = {
      memMiB: c.memMiB,
      kernel: c.kernel,
      cmdline: [...c.cmdline],
      initrd: null,
      devices: c.devices ?? c.disks.map((d) => ({ kind: 'block' as const, arg: d.readOnly ? `${d.path},ro` : d.path })),
    };
  }
  const planned = image ? [restorePlan(guest, image, io, incoming)] : planGuests(false, [guest], io, false);
  const gdb = gdbSpec ? await GuestGdb.listen(gdbSpec, say, host.verbose ? say : () => {}) : null;
  if (gdb) {
    const plan = planned[0];
    planned[0] = {
      ...plan,
      onEnd: (outcome) => {
        plan.onEnd?.(outcome);
        gdb.ended(outcome.exitStatus);
      },
    };
  }
  try {
    if (monitor && machine.monitor?.kind === 'unix') await monitor.listen(absolute(io.cwd, machine.monitor.path));
    return await runAndReport(
      host,
      hostMemoryMiB(host, [guest]),
      planned,
      false,
      io,
      say,
      gdb ? (_host, lg, launchers) => gdb.watch(lg, launchers[0]) : undefined,
      {
        resumeClockNs: image?.config.clockNs,
        onGuestRun: (run) => monitor?.attach(new LguestTarget(run, host)),
      },
    );
  } finally {
    gdb?.ended(1);
    monitor?.close();
  }
}

/**
 * `run --native` with --monitor or --restore: the PC booted or continued from a snapshot, the
 * monitor beside it (its quiescent points are the run loop's slice boundaries), gdb too if asked.
 */
async function runNativeMachine(
  host: HostSpec,
  machine: MachineOptions,
  monitor: Monitor | null,
  booted: GuestSpec,
  io: LguestIo,
  say: (line: string) => void,
  gdbSpec: GdbSpec | undefined,
  image: NativeImage | null,
): Promise<number> {
  let plan: PlannedGuest;
  if (image) {
    const c = image.config;
    const spec: GuestSpec = {
      memMiB: c.memMiB,
      kernel: c.kernel,
      cmdline: [...c.cmdline],
      initrd: null,
      devices: c.disks.map((d) => ({ kind: 'block' as const, arg: d.readOnly ? `${d.path},ro` : d.path })),
    };
    // The kernel is not read again: the saved memory holds it.
    plan = {
      name: 'guest',
      spec,
      kernelPath: c.kernel,
      initrdPath: null,
      output: io.stdout,
      input: io.stdin,
      diskSpecs: c.disks.map((d) => ({ path: d.path, readOnly: d.readOnly })),
    };
  } else {
    plan = planGuests(false, [booted], io, true)[0];
  }
  // The monitor's quit ends the run as an abort with its own status and reason.
  const ending = new AbortController();
  const endRun = () => ending.abort(io.signal?.reason);
  io.signal?.addEventListener('abort', endRun, { once: true });
  const pcMonitor = new PcMonitor(
    host,
    {
      kernel: plan.kernelPath,
      memMiB: plan.spec.memMiB,
      cmdline: plan.spec.cmdline,
      disks: plan.diskSpecs,
    },
    (status, reason) => ending.abort({ status, reason } satisfies StopRequest),
  );
  monitor?.attach(pcMonitor);
  const gdb = gdbSpec ? await GuestGdb.listen(gdbSpec, say, host.verbose ? say : () => {}) : null;
  const debug = gdb?.native();
  try {
    if (monitor && machine.monitor?.kind === 'unix') await monitor.listen(absolute(io.cwd, machine.monitor.path));
    const status = await runNativeAndReport(host, plan, { ...io, signal: ending.signal }, say, {
      hooks: debug ? bothHooks(debug, pcMonitor) : pcMonitor,
      restore: image ?? undefined,
    });
    gdb?.ended(status);
    return status;
  } finally {
    io.signal?.removeEventListener('abort', endRun);
    pcMonitor.finish();
    gdb?.ended(1);
    monitor?.close();
  }
}

/** The plan of a saved guest: its kernel is not read again (its memory holds it). */
function restorePlan(spec: GuestSpec, image: RestoreImage, io: LguestIo, incoming: IncomingGuest | null): PlannedGuest {
  const diskSpecs = image.config.disks.map((d) => ({ path: d.path, readOnly: d.readOnly }));
  const started = () => {
    if (!incoming) return;
    void incoming.complete.then((c) => {
      const ms = performance.now() - c.at;
      io.stderr.write(`lguest: incoming: the guest runs here ${ms.toFixed(1)} ms after its last bytes came\n`);
    });
  };
  return {
    name: 'guest',
    spec,
    kernelPath: image.config.kernel,
    initrdPath: null,
    output: io.stdout,
    input: io.stdin,
    diskSpecs,
    waitForDisks: incoming !== null,
    restore: { ...image, started },
  };
}

/** `run --native`: the image on the emulated PC, its UART on our console. */
async function runNativeAndReport(
  host: HostSpec,
  plan: PlannedGuest,
  io: LguestIo,
  say: (line: string) => void,
  options: { hooks?: PcRunHooks; restore?: NativeImage } = {},
): Promise<number> {
  // The PC's disks are the two drives of its ATA channel, served from raw files.
  const network = plan.spec.devices.find((d) => d.kind !== 'block');
  if (network) {
    throw new UsageError(
      `--native: --${network.kind}=${network.arg}: the PC has no lguest network device; ` +
        `networks are for guests under lguest (leave out --native)`,
    );
  }
  if (plan.diskSpecs.length > 2) {
    throw new UsageError('--native: the PC has one ATA channel, so at most two --block disks (master and slave)');
  }
  const prepared: PreparedDisk[] = [];
  let outcome;
  try {
    for (const d of plan.diskSpecs) {
      try {
        prepared.push(await prepareDisk(d));
      } catch (e) {
        if (e instanceof DiskError) throw new UsageError(e.message);
        throw e;
      }
      const disk = prepared[prepared.length - 1];
      if (disk.format !== 'raw') {
        throw new UsageError(
          `--native: ${d.path} is a ${disk.format} image; the PC's ATA drives serve raw disk files only`,
        );
      }
    }
    if (options.restore) checkDisks(options.restore.config, prepared);
    try {
      outcome = await runNative(
        host,
        {
          kernelPath: plan.kernelPath,
          memMiB: plan.spec.memMiB,
          cmdline: plan.spec.cmdline,
          initrdPath: plan.initrdPath,
          disks: plan.diskSpecs,
          output: plan.output,
          input: plan.input,
          restore: options.restore,
        },
        io.signal,
        host.verbose ? say : undefined,
        options.hooks,
      );
    } catch (e) {
      // The PC's loaders refuse what they cannot boot (no multiboot header, an old boot
      // protocol, an initrd too big for the memory).
      say(`cannot start the guest on the PC: ${(e as Error).message}`);
      return 1;
    }
  } finally {
    await Promise.all(prepared.map((d) => d.release()));
  }
  if (!outcome.poweredOff) say(outcome.reason.startsWith('killed') ? outcome.reason : `guest died: ${outcome.reason}`);
  if (host.verbose) {
    say(
      `pc: ${outcome.reason} (exit status ${outcome.exitStatus}) after ${outcome.virtualNs / 1e6} ms of virtual time` +
        (outcome.inputBytes ? `; ${outcome.inputBytes} bytes of console input delivered` : ''),
    );
    say(`instructions: ${outcome.instructions}`);
  }
  return outcome.exitStatus;
}

/** One guest: its launcher's status. Several: 1 if any died, else a stop's status (124, 130), else 0. */
function exitStatus(guests: readonly GuestOutcome[]): number {
  if (guests.length === 1) return guests[0].exitStatus;
  if (guests.some((g) => g.exitStatus !== 0 && g.stoppedBy === null)) return 1;
  return guests.find((g) => g.exitStatus !== 0)?.exitStatus ?? 0;
}

/** "guest died: bad hypercall 99" in words a user can act on. */
function describeDeath(g: GuestOutcome): string {
  if (g.stoppedBy) return g.reason;
  if (!g.started) return `cannot start the guest: ${g.reason}`;
  return `guest died: ${g.reason}`;
}

/** An initrd must be a readable regular file (the launcher maps it whole). */
/**
 * Reads the kernel at `file` (named `path` in messages, as the user wrote it) and checks it
 * with the launcher's own rules; throws UsageError saying what is wrong, followed by `hint`
 * if it is missing. Returns where the kernel image ends in guest memory, if that is known.
 */
function checkKernel(file: string, path: string, hint: string, where: string): { end: number | null } {
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory())
      throw new UsageError(`${where}kernel '${path}' is a directory: give the image file inside it`);
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`${where}cannot read kernel '${path}': ${why}. ${hint}`);
  }
  try {
    return checkKernelImage(bytes, `'${path}'`);
  } catch (e) {
    if (e instanceof LauncherExit) throw new UsageError(where + e.message);
    throw e;
  }
}

function checkReadable(file: string, path: string, what: string, where: string): void {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`${where}${what} '${path}' is not a regular file`);
    accessSync(file, constants.R_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${where}cannot read ${what} '${path}': ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}

function absolute(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}
