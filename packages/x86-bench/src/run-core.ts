// Running the workload on one of our cores: a Machine with the multiboot image loaded, the
// CPU put straight into flat 32-bit protected mode with setState (optionally with paging on
// identity page tables), then core.run(budget) in a loop until the wrapper's HLT.

import { Exit } from '@lguest/x86';
import type { CoreFactory } from '@lguest/x86';
import { loadElfPhysical } from '@lguest/elf';
import { buildIdentityPageTables, createMachine, flatProtectedModeState, writeFlatGdt } from './machine';
import type { Measurement } from './measurement';
import { cpuSeconds, hex32 } from './measurement';
import { BENCH_DONE_MAGIC, metalInstructions } from './workload';
import type { WorkloadImages } from './workload';

/** Instructions per run() call: large enough not to matter, small enough to notice a runaway. */
const BUDGET = 1 << 22;

const EXIT_NAMES: Record<number, string> = {
  [Exit.Budget]: 'Budget',
  [Exit.Halt]: 'Halt',
  [Exit.HostEscape]: 'HostEscape',
  [Exit.TripleFault]: 'TripleFault',
  [Exit.Breakpoint]: 'Breakpoint',
  [Exit.Stopped]: 'Stopped',
  [Exit.Watchpoint]: 'Watchpoint',
};

/**
 * Runs `iterations` rounds of the workload on a fresh core from `factory` and returns what
 * it computed, how many instructions it retired and how long run() took. Throws, naming the
 * core, on any exit but the final HLT, a halt anywhere else, or a runaway.
 */
export function runOnCore(
  factory: CoreFactory,
  images: WorkloadImages,
  iterations: number,
  paging: boolean,
): Measurement {
  const engine = paging ? `${factory.name}+paging` : factory.name;
  const machine = createMachine();
  const bytes = new Uint8Array(machine.memory);
  const memory = new DataView(machine.memory);
  const { entry } = loadElfPhysical(images.metalElf, bytes);
  memory.setUint32(images.metal.bench_iterations, iterations, true);
  memory.setUint32(images.metal.bench_paging, 0, true);
  const gdtr = writeFlatGdt(memory);
  const cr3 = paging ? buildIdentityPageTables(memory, machine.memory.byteLength) : undefined;

  const core = factory.create(machine);
  core.reset();
  core.setState(flatProtectedModeState(core.getState(), gdtr, entry, cr3));

  // A correct run retires exactly metalInstructions(); twice that means the core is lost.
  const limit = 2 * metalInstructions(iterations);
  let retired = 0;
  let exit: Exit;
  const start = process.cpuUsage();
  do {
    exit = core.run(BUDGET);
    retired += core.retired;
  } while (exit === Exit.Budget && retired < limit);
  const seconds = cpuSeconds(start);

  const eip = core.getState().eip;
  if (exit !== Exit.Halt) {
    const why =
      exit === Exit.Budget ? `still running after ${retired} instructions` : `exit ${EXIT_NAMES[exit] ?? exit}`;
    throw new Error(`${engine}: the workload did not finish: ${why} at eip ${hex32(eip)}`);
  }
  // HLT leaves EIP after itself (one byte).
  if (eip !== images.metal.bench_halt + 1) {
    throw new Error(
      `${engine}: halted at eip ${hex32(eip)}, not at the wrapper's HLT (${hex32(images.metal.bench_halt)})`,
    );
  }
  if (memory.getUint32(images.metal.bench_done, true) !== BENCH_DONE_MAGIC) {
    throw new Error(`${engine}: halted without marking the checksum done`);
  }
  return {
    engine,
    instructions: retired,
    counted: true,
    seconds,
    checksum: memory.getUint32(images.metal.bench_result, true),
  };
}
