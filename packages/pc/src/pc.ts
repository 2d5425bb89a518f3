// The emulated PC a guest kernel boots on natively — the "bare hardware" half of
// paravirt_ops. The same guest image that runs in ring 1 under lguest comes here through its
// multiboot header and runs in ring 0 with real privileged instructions, talking to real (if
// few) devices: two 8259A PICs, an 8254 PIT on IRQ 0, a 16550 UART as COM1 on IRQ 4, an ATA
// disk channel on IRQ 14 and an ACPI-style power-off port. `run()` drives the CPU core in
// slices, ticks the PIT from virtual time, sleeps through HLT by skipping to the next timer
// interrupt, and stops when the guest powers off, triple-faults or halts for good — or, when
// the caller gives a virtual-time deadline (`untilNs`), when time gets there. The deadline is
// what lets a caller hold the PC to a wall clock: skipping through HLT is free, so without
// one an idle guest would race through hours of timer ticks in a moment of real time.

import { Exit, interpreter, type CoreFactory, type CpuCore, type CpuState, type Machine, type WatchHit } from '@lguest/x86';
import { ATA_BASE, ATA_CONTROL, ATA_IRQ, AtaChannel, type AtaDisk, type AtaState } from './ata';
import { VirtualClock } from './clock';
import { isBzImage, linuxEntryState, loadBzImage, type LinuxBoot } from './linux-boot';
import { loadMultiboot, multibootEntryState, type MultibootBoot, type MultibootModule } from './multiboot';
import { Cmos, CMOS_INDEX } from './cmos';
import { runPc, type PcRunOptions, type PcRunOutcome } from './run-loop';
import { I8042, I8042_COMMAND, I8042_DATA, KEYBOARD_IRQ, type I8042State } from './i8042';
import { DualPic } from './pic';
import { Pit, type PitChannelState } from './pit';
import { PortBus } from './port-bus';
import { POWER_PORT, PowerPort } from './power';
import { SYSTEM_PORT_B, SystemPortB } from './system-port';
import { COM1_BASE, COM1_IRQ, Uart16550, type UartState } from './uart';

export interface PcOptions {
  /** RAM size in MiB (2 to 3072). */
  memoryMiB: number;
  /** The CPU core to run (a factory from the `x86-cores` registry); default the interpreter. */
  core?: CoreFactory;
  /** Receives every byte the guest transmits on COM1. */
  serial: (byte: number) => void;
  /** Virtual clock rate: instructions per virtual second (default 100 million). */
  instructionsPerSecond?: number;
  /** The drives on the primary ATA channel: master, then slave (none by default). */
  disks?: readonly (AtaDisk | null)[];
}

/** Why `run()` returned. */
export type StopReason =
  /** The guest wrote the power-off port. */
  | 'power-off'
  /** The guest pulsed the reset line (the keyboard controller's): a PC would restart. */
  | 'reset'
  /** A fault while delivering a double fault: a real PC resets here. */
  | 'triple-fault'
  /** HLT with interrupts off, or with nothing left that could wake the CPU. */
  | 'halted'
  /** `maxInstructions` retired without any of the above. */
  | 'instruction-limit'
  /** Virtual time reached `untilNs` (the CPU may be running, or asleep in HLT). */
  | 'deadline'
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
  /** For 'stopped' at a watchpoint (`CpuCore.setWatchpoint`): which, and the address accessed. */
  watchpoint?: WatchHit;
  /** For 'halted': whether interrupts were enabled (an idle CPU no device will ever wake). */
  interruptsEnabled?: boolean;
  /**
   * For 'deadline' with the CPU asleep in HLT: the virtual time (ns) of its next timer
   * interrupt, before which nothing will happen unless a device (the UART) raises an IRQ.
   * Absent when the CPU was running at the deadline.
   */
  idleUntilNs?: number;
}

export interface RunOptions {
  /** Give up after this many retired instructions (default 2 billion). */
  maxInstructions?: number;
  /** Most instructions per core.run() call (default 1 million). */
  sliceInstructions?: number;
  /**
   * A virtual-time deadline, in nanoseconds since power-on (default: none). The run stops
   * with 'deadline' once virtual time reaches it, and never moves time past it: the CPU
   * retires no instruction beyond it, and a halted CPU whose next timer interrupt comes
   * later sleeps only up to it (the next run() sleeps on from there).
   */
  untilNs?: number;
}

export interface Pc {
  readonly machine: Machine;
  readonly core: CpuCore;
  readonly bus: PortBus;
  readonly pic: DualPic;
  readonly pit: Pit;
  readonly uart: Uart16550;
  readonly power: PowerPort;
  readonly ata: AtaChannel;
  readonly keyboard: I8042;
  readonly cmos: Cmos;
  readonly clock: VirtualClock;
  /**
   * Loads a kernel, its command line and its boot modules (an initrd, say), and puts the CPU
   * at its entry, as a boot loader would: a multiboot ELF through its multiboot header, a
   * bzImage through the Linux/x86 boot protocol (module 1, if any, is its initrd).
   */
  boot(image: Uint8Array, cmdline?: string, modules?: readonly MultibootModule[]): MultibootBoot | LinuxBoot;
  /** Runs until the guest powers off, triple-faults or halts for good, or to a limit or deadline. */
  run(options?: RunOptions): RunResult;
  /**
   * Runs the booted PC to its end (power-off, reset, timeout, abort, triple fault, a halt
   * for good) in slices with a turn of the event loop between them: input under RTS/CTS,
   * output flushed, optionally held to a wall clock, with hooks at every slice boundary
   * (see run-loop.ts).
   */
  runToEnd(options?: PcRunOptions): Promise<PcRunOutcome>;
  /**
   * Everything of the PC but its RAM, as plain data (JSON as it is): the CPU with its x87,
   * every device's registers and queues, and virtual time. Taken between two `run()`s; with
   * a copy of `machine.memory` it is the whole machine. The drives' contents are their
   * files', not the PC's.
   */
  save(): PcState;
  /**
   * Makes this PC the one `save` described, on a PC built with the same memory size, clock
   * rate and drives. Put RAM back into `machine.memory` first: the core drops whatever it
   * had decoded or translated. Refuses a state from a different PC.
   */
  load(state: PcState): void;
}

/** What `Pc.save` gives. */
export interface PcState {
  readonly memoryMiB: number;
  readonly instructionsPerSecond: number;
  readonly drives: number;
  readonly cpu: CpuState;
  /** The x87 image `CpuCore.saveFpu` gives, or null for a core without one. */
  readonly fpu: number[] | null;
  readonly clock: ReturnType<VirtualClock['save']>;
  readonly pic: ReturnType<DualPic['save']>;
  readonly pit: PitChannelState[];
  readonly uart: UartState;
  readonly ata: AtaState;
  readonly keyboard: I8042State;
  readonly cmos: ReturnType<Cmos['save']>;
  readonly power: ReturnType<PowerPort['save']>;
  readonly systemPort: ReturnType<SystemPortB['save']>;
}

const IF = 0x200;
/** The x87's error line (FERR#) on the slave PIC. */
const FPU_IRQ = 13;

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
  const ata = new AtaChannel(options.disks ?? [], (level) => pic.setIrq(ATA_IRQ, level));
  bus.register(0x20, 2, pic);
  bus.register(0xa0, 2, pic);
  // A write to the PIT takes effect where the guest made it in virtual time, not at the end
  // of the slice it falls in (virtual time moves on only between slices): the write waits
  // while the core stops at the next instruction boundary, the slice's time goes to the
  // counters, then the write is applied. So a count loaded mid-slice starts counting from
  // its own instruction — what a kernel calibrating its TSC against channel 2 relies on.
  const pitWrites: [number, number][] = [];
  /** A stop the core owes us for a deferred write (a slice cut short, not the caller's stop). */
  let pitStop = false;
  bus.register(0x40, 4, {
    in8: (port) => pit.in8(port),
    out8: (port, value) => {
      pitWrites.push([port, value]);
      pitStop = true;
      wired.core?.requestStop();
    },
  });
  bus.register(COM1_BASE, 8, uart);
  bus.register(POWER_PORT, 2, power);
  bus.register(ATA_BASE, 8, ata);
  bus.register(ATA_CONTROL, 1, ata);
  const keyboard = new I8042(
    (level) => pic.setIrq(KEYBOARD_IRQ, level),
    () => wired.core?.requestStop(),
  );
  bus.register(I8042_DATA, 1, keyboard);
  bus.register(I8042_COMMAND, 1, keyboard);
  const systemPort = new SystemPortB(pit.channels[2]);
  bus.register(SYSTEM_PORT_B, 1, systemPort);
  const cmos = new Cmos(() => clock.nanoseconds / 1e9);
  bus.register(CMOS_INDEX, 2, cmos);
  // Port 0x80, the POST-code port, is where guests write to waste a microsecond.
  bus.register(0x80, 1, { in8: () => 0xff, out8: () => undefined });
  // FERR#: an x87 error while CR0.NE is clear raises IRQ 13, held until a write to port 0xF0
  // (the coprocessor-error latch of the PC/AT) clears it.
  bus.register(0xf0, 1, { in8: () => 0xff, out8: () => pic.setIrq(FPU_IRQ, false) });

  const machine: Machine = {
    memory: new ArrayBuffer(memoryMiB << 20),
    io: bus,
    pic,
    ferr: () => pic.setIrq(FPU_IRQ, true),
  };
  const cpu = (options.core ?? interpreter).create(machine);
  wired.core = cpu;

  /** Moves virtual time on by `n` instructions, ticking the PIT; then applies the PIT writes made at its end. */
  const elapse = (n: number): void => {
    const clocks = clock.advance(n);
    if (clocks > 0) pit.advance(clocks);
    for (const [port, value] of pitWrites.splice(0)) pit.out8(port, value);
  };

  /** At a deadline: when the CPU, if it sleeps in HLT until its next timer interrupt, wakes. */
  const asleep = (): Pick<RunResult, 'idleUntilNs'> => {
    const s = cpu.getState();
    if (!s.halted || (s.eflags & IF) === 0 || pic.intrPending()) return {};
    const clocks = pit.clocksUntilTimer();
    if (clocks === Infinity) return {};
    return { idleUntilNs: clock.nanosecondsAt(clock.instructions + clock.instructionsUntil(clocks)) };
  };

  const run = (runOptions: RunOptions = {}): RunResult => {
    const max = runOptions.maxInstructions ?? 2_000_000_000;
    const slice = runOptions.sliceInstructions ?? 1_000_000;
    const untilNs = runOptions.untilNs ?? Infinity;
    if (Number.isNaN(untilNs)) throw new Error('untilNs must be a number of nanoseconds, got NaN');
    // The deadline in the clock's own unit, so the comparisons below are exact integers.
    const deadline = clock.instructionsBy(untilNs);
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
      if (clock.instructions >= deadline) return result('deadline', asleep());
      // Stop at the next timer edge so IRQ 0 arrives at the instruction it is due (and at
      // channel 2's, which a guest may be polling for), and at the deadline.
      const untilTimer = pit.clocksUntilEvent();
      let budget = Math.min(slice, max - retired, deadline - clock.instructions);
      if (untilTimer !== Infinity) budget = Math.min(budget, clock.instructionsUntil(untilTimer));
      const exit = cpu.run(budget);
      retired += cpu.retired;
      elapse(cpu.retired);
      if (power.poweredOff) return result('power-off');
      if (keyboard.resetRequested) return result('reset');
      switch (exit) {
        case Exit.Budget:
          continue;
        case Exit.TripleFault:
          return result('triple-fault');
        case Exit.Halt: {
          if ((cpu.getState().eflags & IF) === 0) return result('halted', { interruptsEnabled: false });
          if (pic.intrPending()) continue; // it wakes at once
          // Sleep: nothing happens until the next timer interrupt, so skip straight to it —
          // or only as far as the deadline, when that comes first. The CPU stays halted
          // (the core keeps that state), so the next run() goes on sleeping from there.
          const clocks = pit.clocksUntilTimer();
          if (clocks === Infinity) return result('halted', { interruptsEnabled: true });
          const toTimer = clock.instructionsUntil(clocks);
          if (clock.instructions + toTimer > deadline) {
            elapse(deadline - clock.instructions);
            return result('deadline', asleep());
          }
          elapse(toTimer);
          continue;
        }
        case Exit.Stopped:
          if (pitStop) {
            pitStop = false;
            continue;
          }
          return result('stopped');
        case Exit.Watchpoint:
          return result('stopped', { watchpoint: cpu.watchHit() ?? undefined });
        default:
          return result('stopped');
      }
    }
  };

  const pc: Pc = {
    machine,
    core: cpu,
    bus,
    pic,
    pit,
    uart,
    power,
    ata,
    keyboard,
    cmos,
    clock,
    boot(image: Uint8Array, cmdline = '', modules: readonly MultibootModule[] = []): MultibootBoot | LinuxBoot {
      if (isBzImage(image)) {
        if (modules.length > 1) throw new Error('a bzImage takes one initrd, not several modules');
        const linux = loadBzImage(image, machine.memory, cmdline, modules[0]?.data ?? null);
        cpu.reset();
        cpu.setState(linuxEntryState(cpu.getState(), linux));
        return linux;
      }
      const boot = loadMultiboot(image, machine.memory, cmdline, modules);
      cpu.reset();
      cpu.setState(multibootEntryState(cpu.getState(), boot));
      return boot;
    },
    run,
    runToEnd: (runOptions) => runPc(pc, runOptions),
    save(): PcState {
      const fpu = cpu.saveFpu?.();
      return {
        memoryMiB,
        instructionsPerSecond: clock.instructionsPerSecond,
        drives: options.disks?.length ?? 0,
        cpu: cpu.getState(),
        fpu: fpu ? Array.from(fpu) : null,
        clock: clock.save(),
        pic: pic.save(),
        pit: pit.save(),
        uart: uart.save(),
        ata: ata.save(),
        keyboard: keyboard.save(),
        cmos: cmos.save(),
        power: power.save(),
        systemPort: systemPort.save(),
      };
    },
    load(s: PcState): void {
      const differs = (what: string, saved: number, here: number): Error =>
        new Error(`the saved PC had ${saved} ${what}, this one has ${here}: build it with the same`);
      if (s.memoryMiB !== memoryMiB) throw differs('MiB of memory', s.memoryMiB, memoryMiB);
      if (s.instructionsPerSecond !== clock.instructionsPerSecond) {
        throw differs('instructions per second', s.instructionsPerSecond, clock.instructionsPerSecond);
      }
      const drives = options.disks?.length ?? 0;
      if (s.drives !== drives) throw differs('drives', s.drives, drives);
      cpu.reset();
      cpu.invalidatePhysical(0, machine.memory.byteLength);
      cpu.setState(s.cpu);
      if (s.fpu && cpu.restoreFpu) cpu.restoreFpu(Int32Array.from(s.fpu));
      clock.load(s.clock);
      pit.load(s.pit);
      uart.load(s.uart);
      ata.load(s.ata);
      keyboard.load(s.keyboard);
      cmos.load(s.cmos);
      power.load(s.power);
      systemPort.load(s.systemPort);
      pic.load(s.pic); // last: it raises INTR if the state leaves an interrupt pending
    },
  };
  return pc;
}
