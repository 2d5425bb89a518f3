// `lguest run --native`: the same kernel image, booted on bare (emulated) hardware instead of
// under lguest — the other half of paravirt_ops. The PC of @lguest/pc loads it through its
// multiboot header, or a bzImage through the Linux/x86 boot protocol; the kernel runs in ring
// 0 with the native paravirt_ops and talks to a 16550 UART on COM1, which is wired to this
// terminal: what it transmits is our stdout, what we read from stdin arrives on its receive
// line. An --initrd goes to the kernel as multiboot module 1, its string the file's path.
// --block disks (raw files, checked and locked by the caller) are the drives of the PC's ATA
// channel: the first is the master, the second the slave; ",ro" makes the drive refuse writes.
//
// There is no host, no lg and no launcher here, and no run loop either: the PC runs itself
// to its end (`pc.runToEnd`, packages/pc/src/run-loop.ts), held to the wall clock with
// --clock=host (the default) and flat out with --clock=virtual. This file only composes: it
// opens the disks, builds and boots the PC, and turns how the run ended into an exit status
// and a reason. --timeout counts the PC's clock, as it counts the host's under lguest.
//
// Exit status: 0 when the guest writes the power-off port or resets the PC (reboot), 1 with a
// reason for a triple fault (the real PC would reset), a halt no interrupt can end, or a stop
// by the core; 124 for --timeout; an abort's status (three Ctrl-C: 2; SIGINT: 130) when the
// user stopped it.

import { closeSync, fdatasyncSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { ConsoleInputSource, ConsoleOutput } from '@lguest/console';
import { createPc, lineBufferedSerial, type AtaDisk, type PcRunHooks, type WallClock } from '@lguest/pc';
import { findCore } from '@lguest/x86-cores';
import { loadNativeImage, type NativeImage } from './native-monitor';
import type { HostSpec } from './options';
import type { StopRequest } from './session';

/** Instructions per virtual second on the PC (its default). */
export const NATIVE_INSTRUCTIONS_PER_SECOND = 100_000_000;

export type { WallClock };

export interface NativePlan {
  readonly kernelPath: string;
  readonly memMiB: number;
  readonly cmdline: readonly string[];
  /** The initrd to load as boot module 1 (checked readable by the caller), or none. */
  readonly initrdPath?: string | null;
  /** Raw disk files for the ATA channel's master and slave. */
  readonly disks?: readonly { readonly path: string; readonly readOnly: boolean }[];
  readonly output: ConsoleOutput;
  readonly input?: ConsoleInputSource;
  /** Called with the PC's clock (ns) once the PC exists. */
  readonly clockReady?: (nowNs: () => number) => void;
  /** What --clock=host holds the PC to (default: the real wall clock). */
  readonly wall?: WallClock;
  /** A saved PC to continue (`--restore`) instead of booting the kernel. */
  readonly restore?: NativeImage;
}

export interface NativeOutcome {
  readonly exitStatus: number;
  /** Why it ended, in words for the user ("power-off", "triple fault at eip 0x…"). */
  readonly reason: string;
  readonly poweredOff: boolean;
  readonly instructions: number;
  readonly virtualNs: number;
  /** Bytes put on the UART's receive line (not counting any held back at the end). */
  readonly inputBytes: number;
}

/** A raw disk file as an ATA drive: whole sectors, read and written in place. */
function openAtaDisk(path: string, readOnly: boolean): AtaDisk & { close(): void } {
  const fd = openSync(path, readOnly ? 'r' : 'r+');
  const sectors = Math.floor(fstatSync(fd).size / 512);
  const io = (f: () => number, n: number): boolean => {
    try {
      return f() === n;
    } catch {
      return false;
    }
  };
  return {
    sectors,
    readOnly,
    read: (lba, into) => io(() => readSync(fd, into, 0, 512, lba * 512), 512),
    write: (lba, from) => !readOnly && io(() => writeSync(fd, from, 0, 512, lba * 512), 512),
    flush: () => readOnly || io(() => (fdatasyncSync(fd), 0), 0),
    close: () => closeSync(fd),
  };
}

export async function runNative(
  host: HostSpec,
  plan: NativePlan,
  signal?: AbortSignal,
  log: (line: string) => void = () => {},
  hooks?: PcRunHooks,
): Promise<NativeOutcome> {
  const output = lineBufferedSerial((bytes) => plan.output.write(bytes));
  const disks = (plan.disks ?? []).map((d) => openAtaDisk(d.path, d.readOnly));
  try {
    const pc = createPc({
      memoryMiB: plan.memMiB,
      disks,
      core: findCore(host.cpu),
      // Whole lines go out as the guest finishes them; the rest at the end of each slice.
      serial: output.serial,
      instructionsPerSecond: NATIVE_INSTRUCTIONS_PER_SECOND,
    });
    plan.clockReady?.(() => pc.clock.nanoseconds);
    const machine = `pc: ${plan.memMiB} MiB, CPU core ${host.cpu}, virtual clock${host.clock === 'host' ? ' held to wall time' : ''}`;
    if (plan.restore) {
      loadNativeImage(pc, plan.restore);
      log(
        `${machine}, restored at ${(pc.clock.nanoseconds / 1e9).toFixed(6)} s of its clock, ` +
          `eip 0x${pc.core.getState().eip.toString(16)} (${plan.restore.pages.size} pages of memory)`,
      );
    } else {
      const modules = plan.initrdPath ? [{ data: readFileSync(plan.initrdPath), string: plan.initrdPath }] : [];
      const boot = pc.boot(readFileSync(plan.kernelPath), plan.cmdline.join(' '), modules);
      const initrd = boot.modules[0];
      log(
        `${machine}, kernel ${plan.kernelPath} entered at 0x${boot.entry.toString(16)}` +
          (plan.cmdline.length ? `, command line "${plan.cmdline.join(' ')}"` : '') +
          (initrd
            ? `, initrd ${plan.initrdPath} (${initrd.end - initrd.start} bytes) at 0x${initrd.start.toString(16)}`
            : ''),
      );
    }
    const run = await pc.runToEnd({
      holdToWall: host.clock === 'host',
      wall: plan.wall,
      timeoutNs: host.timeoutS === null ? null : host.timeoutS * 1e9,
      signal,
      input: plan.input,
      flushOutput: output.flush,
      hooks,
    });
    const at = `eip 0x${run.eip.toString(16)}`;
    const [exitStatus, reason] = ((): [number, string] => {
      switch (run.end) {
        case 'power-off':
          return [0, 'power-off'];
        case 'reset':
          // reboot through the keyboard controller: a PC would start its firmware again; this
          // one has none, so the run is over, as cleanly as a power-off (QEMU -no-reboot too).
          return [0, 'reset by the guest (reboot)'];
        case 'timeout':
          return [124, `killed: still running after ${host.timeoutS} s of ${host.clock} clock time (--timeout)`];
        case 'aborted': {
          const why = signal?.reason as Partial<StopRequest> | undefined;
          return [why?.status ?? 130, why?.reason ?? 'killed: interrupted by the user'];
        }
        case 'triple-fault':
          return [1, `triple fault at ${at}: the PC would reset`];
        case 'stopped':
          return [1, `the CPU core stopped at ${at}`];
        case 'ended':
          return [1, 'killed by the debugger'];
        case 'halted':
          return [1, `halted for good at ${at} (interrupts ${run.interruptsEnabled ? 'on, no timer' : 'off'})`];
      }
    })();
    return {
      exitStatus,
      reason,
      poweredOff: exitStatus === 0,
      instructions: run.instructions,
      virtualNs: run.virtualNs,
      inputBytes: run.inputBytes,
    };
  } finally {
    output.flush();
    for (const d of disks) d.close();
  }
}
