// Running the workload on v86, headless in Node: the same multiboot ELF our cores run, booted
// by v86's built-in multiboot loader (no BIOS, which the npm package does not ship). Before
// starting the CPU we patch bench_iterations — and bench_paging, for the paged run, since
// v86's state cannot be set from outside: the wrapper then builds identity page tables of
// 4 KiB pages itself, 5 132 instructions before the workload. The run ends at the wrapper's
// HLT with interrupts off, which v86 announces on its bus as "cpu-event-halt".

import type { Measurement } from './measurement';
import { cpuSeconds } from './measurement';
import type { V86Emulator, V86Package } from './v86-api';
import { BENCH_DONE_MAGIC } from './workload';
import type { WorkloadImages } from './workload';

/** v86's minimum sensible RAM; the workload needs 2 MiB. */
const MEMORY_BYTES = 32 << 20;
const VGA_MEMORY_BYTES = 2 << 20;
/** Give up on a run that has not halted after this long. */
const TIMEOUT_MS = 10 * 60 * 1000;

export interface V86Mode {
  jit: boolean;
  paging: boolean;
}

export function v86EngineName(mode: V86Mode): string {
  return `v86-${mode.jit ? 'jit' : 'nojit'}${mode.paging ? '+paging' : ''}`;
}

/** Boots a fresh v86 on the workload and measures from starting its CPU to the HLT. */
export async function runOnV86(
  v86: V86Package,
  images: WorkloadImages,
  iterations: number,
  mode: V86Mode,
): Promise<Measurement> {
  const engine = v86EngineName(mode);
  const elf = images.metalElf;
  const emulator = new v86.V86({
    wasm_path: v86.wasmPath,
    memory_size: MEMORY_BYTES,
    vga_memory_size: VGA_MEMORY_BYTES,
    multiboot: { buffer: elf.buffer.slice(elf.byteOffset, elf.byteOffset + elf.byteLength) as ArrayBuffer },
    autostart: false,
    disable_jit: !mode.jit,
  });
  try {
    await ready(emulator);
    writeUint32(emulator, images.metal.bench_iterations, iterations);
    writeUint32(emulator, images.metal.bench_paging, mode.paging ? 1 : 0);
    const counterBefore = emulator.get_instruction_counter();
    const { seconds, counterAfter } = await runUntilHalt(emulator, engine);
    if (readUint32(emulator, images.metal.bench_done) !== BENCH_DONE_MAGIC) {
      throw new Error(`${engine}: halted without marking the checksum done`);
    }
    return {
      engine,
      // v86 counts in 32 bits; a run is far below 2^32 instructions.
      instructions: (counterAfter - counterBefore) >>> 0,
      counted: true,
      seconds,
      checksum: readUint32(emulator, images.metal.bench_result),
    };
  } finally {
    await emulator.destroy();
  }
}

function ready(emulator: V86Emulator): Promise<void> {
  return new Promise((resolve) => emulator.add_listener('emulator-ready', () => resolve()));
}

/** Starts the CPU and resolves at the halt with the time taken and the counter read there. */
function runUntilHalt(emulator: V86Emulator, engine: string): Promise<{ seconds: number; counterAfter: number }> {
  return new Promise((resolve, reject) => {
    let start = process.cpuUsage();
    let finished = false;
    const timer = setTimeout(() => {
      finished = true;
      emulator.stop();
      reject(new Error(`${engine}: no HLT after ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    emulator.add_listener('cpu-event-halt', () => {
      // Called from inside v86's CPU loop: take the time and the count before anything else.
      const seconds = cpuSeconds(start);
      const counterAfter = emulator.get_instruction_counter();
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      emulator.stop();
      resolve({ seconds, counterAfter });
    });
    start = process.cpuUsage();
    emulator.run();
  });
}

function writeUint32(emulator: V86Emulator, address: number, value: number): void {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  emulator.write_memory(bytes, address);
}

function readUint32(emulator: V86Emulator, address: number): number {
  const bytes = emulator.read_memory(address, 4);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}
