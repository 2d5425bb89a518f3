// The self-checking protected-mode programs (programs/*.c, built by `npm run build` into
// build/NAME.bin) run on a core. Each is a multiboot image that starts in flat 32-bit
// protected mode at ring 0, builds its own GDT/IDT/TSS/page tables, exercises one mechanism
// (segments, rings, gates, tasks, paging, I/O permission, V86, exceptions) and reports every
// check on the debug console port; it ends by writing its status to the exit port. The same
// binaries pass on Bochs and (with the documented gaps) QEMU, so they judge a core against
// other implementations of the architecture, not against itself.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Exit, type CoreFactory, type CpuState } from '@lguest/x86';
import { flatMachine, flatProtectedMode } from '../flat';

/** The programs, in the order programs/README.md lists them. */
export const PROGRAMS = ['segments', 'rings', 'gates', 'tasks', 'paging', 'iopl', 'v86', 'exceptions'] as const;

/** Ports of the protocol (programs/README.md): one character out, a 32-bit exit status out. */
export const DEBUG_PORT = 0xe9;
export const EXIT_PORT = 0xf4;

const LOAD_ADDRESS = 0x100000;
const MEMORY = 32 << 20;
const MAX_INSTRUCTIONS = 100_000_000;

export interface ProgramResult {
  program: string;
  /** The status written to the exit port, or undefined if the program never wrote one. */
  status: number | undefined;
  output: string;
  passed: string[];
  failed: string[];
  skipped: string[];
  instructions: number;
  /** How the run ended when it was not the exit port (a triple fault, a halt, the budget). */
  stop?: string;
}

/** Where the built images are: this package's build/ folder. */
export function buildDir(packageRoot: string): string {
  return join(packageRoot, 'build');
}

export function imagePath(packageRoot: string, program: string): string {
  return join(buildDir(packageRoot), `${program}.bin`);
}

/** Run one program's flat binary on a fresh machine with `factory`'s core. */
export function runProgram(factory: CoreFactory, program: string, image: Uint8Array): ProgramResult {
  let output = '';
  let status: number | undefined;
  const io = {
    in8: (): number => 0xff,
    in16: (): number => 0xffff,
    in32: (): number => 0xffffffff,
    out8: (port: number, value: number): void => {
      if (port === DEBUG_PORT) output += String.fromCharCode(value);
    },
    out16: (): void => undefined,
    out32: (port: number, value: number): void => {
      if (port === EXIT_PORT) {
        status = value >>> 0;
        // `core` exists by the time a program can write a port.
        core.requestStop();
      }
    },
  };
  const { core, mem } = flatMachine(factory, MEMORY, io);
  mem.set(image, LOAD_ADDRESS);
  core.reset();
  // The multiboot hand-off of programs/README.md.
  const state: CpuState = {
    ...flatProtectedMode(core.getState()),
    eax: 0x2badb002,
    ebx: 0x9000,
    ecx: 0,
    edx: 0,
    esp: 0x80000,
    eip: LOAD_ADDRESS,
  };
  core.setState(state);
  let instructions = 0;
  let stop: string | undefined;
  while (status === undefined) {
    const exit = core.run(1_000_000);
    instructions += core.retired;
    if (exit === Exit.Stopped) break;
    if (exit === Exit.TripleFault) stop = 'triple fault';
    else if (exit === Exit.Halt) stop = 'halted without writing the exit port';
    else if (exit !== Exit.Budget) stop = `exit ${exit}`;
    else if (instructions >= MAX_INSTRUCTIONS) stop = `no exit within ${MAX_INSTRUCTIONS} instructions`;
    if (stop) break;
  }
  const lines = output.split('\n');
  const pick = (prefix: string): string[] =>
    lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  return {
    program,
    status,
    output,
    passed: pick('PASS '),
    failed: pick('FAIL '),
    skipped: pick('SKIP '),
    instructions,
    stop,
  };
}

/** Load a built program, or explain how to build it. */
export function loadProgram(packageRoot: string, program: string): Uint8Array {
  const path = imagePath(packageRoot, program);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: build the programs first (npx nx build x86-conformance, or npm run build here)`,
    );
  }
  return readFileSync(path);
}
