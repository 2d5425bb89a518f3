// The part of the v86 npm package's API the benchmark uses, typed here because the package's
// own declarations are marked experimental and lack the event we stop on. v86 is loaded at
// run time from wherever npm put it (tools/run-ts.mjs keeps it out of the bundle).

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface V86Options {
  /** Path of v86.wasm; v86 cannot find it by itself when loaded as an ES module in Node. */
  wasm_path: string;
  memory_size: number;
  vga_memory_size: number;
  /** A multiboot kernel: v86 loads it and starts it in protected mode without any BIOS. */
  multiboot: { buffer: ArrayBuffer };
  autostart: boolean;
  /** Run only v86's interpreter, never its x86-to-wasm compiler. */
  disable_jit: boolean;
}

/** Events we listen to: the machine is built, and HLT ran with interrupts off (the CPU is
 *  stopped for good). "cpu-event-halt" is sent on v86's bus but not in its declarations. */
export type V86Event = 'emulator-ready' | 'cpu-event-halt';

export interface V86Emulator {
  add_listener(event: V86Event, listener: () => void): void;
  run(): unknown;
  stop(): unknown;
  destroy(): Promise<void>;
  /** Instructions executed so far (32 bits, wraps). */
  get_instruction_counter(): number;
  read_memory(offset: number, length: number): Uint8Array;
  write_memory(blob: Uint8Array, offset: number): void;
}

export type V86Constructor = new (options: V86Options) => V86Emulator;

export interface V86Package {
  V86: V86Constructor;
  wasmPath: string;
}

/** Loads v86 as installed for the package in `packageDir`; throws saying what is missing. */
export async function loadV86(packageDir: string): Promise<V86Package> {
  const require = createRequire(join(packageDir, 'package.json'));
  let main: string;
  let wasmPath: string;
  try {
    main = require.resolve('v86');
    wasmPath = require.resolve('v86/build/v86.wasm');
  } catch {
    throw new Error('v86: the v86 npm package is not installed (it is a devDependency of the workspace root: run npm install)');
  }
  const module: unknown = await import(pathToFileURL(main).href);
  const V86: unknown = typeof module === 'object' && module !== null ? Reflect.get(module, 'V86') : undefined;
  if (typeof V86 !== 'function') throw new Error(`v86: ${main} does not export the V86 class`);
  return { V86: V86 as V86Constructor, wasmPath };
}
