// The emulated PC a guest kernel boots on natively — the "bare hardware" half of
// paravirt_ops. The same guest image that runs in ring 1 under lguest comes here through its
// multiboot header and runs in ring 0 with real privileged instructions, talking to real (if
// few) devices: two 8259A PICs, an 8254 PIT on IRQ 0, a 16550 UART as COM1 on IRQ 4, and an
// ACPI-style power-off port. `run()` drives the CPU core in slices, ticks the PIT from
// virtual time, sleeps through HLT by skipping to the next timer interrupt, and stops when
// the guest powers off, triple-faults or halts for good.

import { Exit, findCore, type CpuCore, type Machine } from '@lguest/x86';
import { VirtualClock } from './clock';
import { loadMultiboot, multibootEntryState, type MultibootBoot } from './multiboot';
import { DualPic } from './pic';
import { Pit } from './pit';
import { PortBus } from './port-bus';
import { POWER_PORT, PowerPort } from './power';
import { COM1_BASE, COM1_IRQ, Uart16550 } from './uart';

export interface PcOptions {
  /** RAM size in MiB (2 to 3072). */
  memoryMiB: number;
  /** The CPU core by registered name (`@lguest/x86` `cores`); default "interpreter". */
  core?: string;
  /** Receives every byte the guest transmits on COM1. */
  serial: (byte: number) => void;
  /** Virtual clock rate: instructions per virtual second (default 100 million). */
  instructionsPerSecond?: number;
}

/** Why `run()` returned. */
export type StopReason =
  /** The guest wrote the power-off port. */
  | 'power-off'
  /** A fault while delivering a double fault: a real PC resets here. */
  | 'triple-fault'
  /** HLT with interrupts off, or with nothing left that could wake the CPU. */
  | 'halted'
  /** `maxInstructions` retired without any of the above. */
  | 'instruction-limit'
  /** The core stopped for another reason (a host escape, a breakpoint, requestStop). */
  | 'stopped';

export interface RunResult {
  reason: StopReason;
  /** Instructions retired by this run() call. */
  instructions: number;
  /** Virtual time since power-on, in nanoseconds. */
  virtualNanoseconds: number;
  /** EIP when the run stopped. */
  eip: number;
  /** For 'halted': whether interrupts were enabled (an idle CPU no device will ever wake). */
  interruptsEnabled?: boolean;
}

export interface RunOptions {
  /** Give up after this many retired instructions (default 2 billion). */
  maxInstructions?: number;
  /** Most instructions per core.run() call (default 1 million). */
  sliceInstructions?: number;
}

export interface Pc {
  readonly machine: Machine;
  readonly core: CpuCore;
  readonly bus: PortBus;
  readonly pic: DualPic;
  readonly pit: Pit;
  readonly uart: Uart16550;
  readonly power: PowerPort;
  readonly clock: VirtualClock;
  /** Loads a multiboot ELF kernel and puts the CPU at its entry, as a boot loader would. */
  boot(image: Uint8Array, cmdline?: string): MultibootBoot;
  /** Runs until the guest powers off, triple-faults, halts for good, or the limit. */
  run(options?: RunOptions): RunResult;
}

const IF = 0x200;

/** Builds a PC with `memoryMiB` of zeroed RAM and its devices wired to a fresh core. */
export function createPc(options: PcOptions): Pc {
  const { memoryMiB } = options;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 3072) {
    throw new Error(`memoryMiB must be an integer from 2 to 3072, got ${memoryMiB}`);
  }
  const clock = new VirtualClock(options.instructionsPerSecond ?? 100_000_000);
  const bus = new PortBus();
  // The devices call back into the core, which needs the machine they are part of: the
  // late-bound `wired.core` is set before anything can run.
  const wired: { core?: CpuCore } = {};
  const pic = new DualPic(() => {
    if (wired.core) wired.core.irqLine = true;
  });
  const pit = new Pit(() => pic.pulseIrq(0));
  const uart = new Uart16550(COM1_BASE, options.serial, (level) => pic.setIrq(COM1_IRQ, level));
  const power = new PowerPort(() => wired.core?.requestStop());
  bus.register(0x20, 2, pic);
  bus.register(0xa0, 2, pic);
  bus.register(0x40, 4, pit);
  bus.register(COM1_BASE, 8, uart);
  bus.register(POWER_PORT, 2, power);
  // Port 0x80, the POST-code port, is where guests write to waste a microsecond.
  bus.register(0x80, 1, { in8: () => 0xff, out8: () => undefined });

  const machine: Machine = { memory: new ArrayBuffer(memoryMiB << 20), io: bus, pic };
  const cpu = findCore(options.core ?? 'interpreter').create(machine);
  wired.core = cpu;

  /** Moves virtual time on by `n` instructions, ticking the PIT. */
  const elapse = (n: number): void => {
    const clocks = clock.advance(n);
    if (clocks > 0) pit.advance(clocks);
  };

  const run = (runOptions: RunOptions = {}): RunResult => {
    const max = runOptions.maxInstructions ?? 2_000_000_000;
    const slice = runOptions.sliceInstructions ?? 1_000_000;
    let retired = 0;
    const result = (reason: StopReason, extra: Partial<RunResult> = {}): RunResult => ({
      reason,
      instructions: retired,
      virtualNanoseconds: clock.nanoseconds,
      eip: cpu.getState().eip,
      ...extra,
    });
    for (;;) {
      if (retired >= max) return result('instruction-limit');
      // Stop at the next timer edge so IRQ 0 arrives at the instruction it is due.
      const untilTimer = pit.clocksUntilTimer();
      let budget = Math.min(slice, max - retired);
      if (untilTimer !== Infinity) budget = Math.min(budget, clock.instructionsUntil(untilTimer));
      const exit = cpu.run(budget);
      retired += cpu.retired;
      elapse(cpu.retired);
      if (power.poweredOff) return result('power-off');
      switch (exit) {
        case Exit.Budget:
          continue;
        case Exit.TripleFault:
          return result('triple-fault');
        case Exit.Halt: {
          if ((cpu.getState().eflags & IF) === 0) return result('halted', { interruptsEnabled: false });
          if (pic.intrPending()) continue; // it wakes at once
          // Sleep: nothing happens until the next timer interrupt, so skip straight to it.
          const clocks = pit.clocksUntilTimer();
          if (clocks === Infinity) return result('halted', { interruptsEnabled: true });
          elapse(clock.instructionsUntil(clocks));
          continue;
        }
        default:
          return result('stopped');
      }
    }
  };

  return {
    machine,
    core: cpu,
    bus,
    pic,
    pit,
    uart,
    power,
    clock,
    boot(image: Uint8Array, cmdline = ''): MultibootBoot {
      const boot = loadMultiboot(image, machine.memory, cmdline);
      cpu.reset();
      cpu.setState(multibootEntryState(cpu.getState(), boot));
      return boot;
    },
    run,
  };
}
