// Test-only: small hosts and hand-assembled x86 for the tests beside the code. Each snippet
// is written as bytes with the instruction beside it, so a reader can check the encoding.

import { Host, type HostOptions } from './host';
import type { Process } from './process';

/** A 16 MiB host with the virtual clock and no passthrough mount, unless told otherwise. */
export function testHost(options: Partial<HostOptions> = {}): Host {
  return new Host({ memoryMiB: 16, clock: 'virtual', hostMounts: [], ...options });
}

/** A process, failing the test if the host is out of memory. */
export function testProcess(host: Host, name = 'test'): Process {
  const p = host.createProcess(name);
  if (typeof p === 'number') throw new Error(`createProcess failed: ${p}`);
  return p;
}

/** Little-endian bytes of a dword, for immediates and addresses inside code. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Instructions as byte groups, one per line with its mnemonic beside it. */
export type Code = (number | readonly number[])[];

/** Flatten instruction groups into bytes. */
export function assemble(code: Code): Uint8Array {
  return Uint8Array.from(code.flatMap((i) => (typeof i === 'number' ? [i] : [...i])));
}

/** Load code into a kernel page; returns its kernel address. */
export function loadCode(host: Host, code: Code): number {
  const va = host.loadKernelCode(assemble(code));
  if (va < 0) throw new Error(`loadKernelCode failed: ${va}`);
  return va >>> 0;
}

/** Unwrap a number-or-error result in a test. */
export function ok(result: number): number {
  if (result < 0) throw new Error(`unexpected error ${result}`);
  return result;
}
