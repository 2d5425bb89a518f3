// Test-only: a host with lg loaded, and guests made the way a launcher makes them — a
// process with guest memory at 0 that opens /dev/lguest and writes LHREQ_INITIALIZE — but
// without a kernel: the unit tests write the guest's page tables, descriptors and
// lguest_data into its memory themselves and call lg's functions directly.

import { LHREQ_INITIALIZE, PAGE_SIZE } from '@lguest/abi';
import {
  Host,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  O_RDWR,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type HostOptions,
  type Process,
} from '@lguest/host';
import { lguestInit, type Lguest } from './core';
import type { Guest } from './lg';

/** A 32 MiB host on the virtual clock with lg loaded. */
export function testLguest(options: Partial<HostOptions> = {}): { host: Host; lg: Lguest } {
  const host = new Host({ memoryMiB: 32, clock: 'virtual', hostMounts: [], ...options });
  const lg = lguestInit(host);
  if (typeof lg === 'number') throw new Error(`lguestInit failed: ${lg}`);
  return { host, lg };
}

export interface TestGuest {
  guest: Guest;
  proc: Process;
  fd: number;
}

export interface TestGuestOptions {
  /** Guest memory in bytes (default 4 MiB), mapped at 0; pfn_limit is its page count. */
  mem?: number;
  /** The initial page directory (guest-physical; default the last page). */
  pgdir?: number;
  pageOffset?: number;
  start?: number;
}

/** Little-endian u32 words as bytes (control-file requests). */
export function words(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return bytes;
}

/** A guest created through the control file, for a launcher process with memory at 0. */
export async function testGuest(lg: Lguest, options: TestGuestOptions = {}): Promise<TestGuest> {
  const mem = options.mem ?? 4 << 20;
  const proc = lg.host.createProcess('launcher');
  if (typeof proc === 'number') throw new Error(`createProcess failed: ${proc}`);
  const prot = PROT_READ | PROT_WRITE | PROT_EXEC;
  if (proc.mmap(0, mem, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) !== 0) throw new Error('mmap failed');
  const fd = await proc.open('/dev/lguest', O_RDWR);
  if (fd < 0) throw new Error(`open /dev/lguest failed: ${fd}`);
  const pgdir = options.pgdir ?? mem - PAGE_SIZE;
  const r = await proc.write(
    fd,
    words(LHREQ_INITIALIZE, mem / PAGE_SIZE, pgdir, options.start ?? 0xc0100000, options.pageOffset ?? 0xc0000000),
  );
  if (r !== 16) throw new Error(`LHREQ_INITIALIZE failed: ${r}`);
  const guest = lg.guests.find((g) => g?.proc === proc);
  if (!guest) throw new Error('no guest after LHREQ_INITIALIZE');
  return { guest, proc, fd };
}

/** Write a u32 into the guest's memory (guest-physical). */
export function poke32(proc: Process, addr: number, value: number): void {
  if (proc.writeMemory(addr, words(value)) !== 0) throw new Error(`poke at ${addr.toString(16)} failed`);
}

/** Read a u32 of the guest's memory. */
export function peek32(proc: Process, addr: number): number {
  const b = proc.readMemory(addr, 4);
  if (typeof b === 'number') throw new Error(`peek at ${addr.toString(16)} failed`);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}
