// Guest memory, as the launcher sees it. The launcher's own address space is the guest's
// physical memory: guest-physical address X is launcher-virtual address X. So "mapping guest
// memory" is an mmap of /dev/zero at 0, and loading a kernel, writing boot parameters or
// filling a DMA buffer is an ordinary write to our own memory. Above the guest's RAM sit the
// device descriptor page and the devices' pages; `top` is the end of all of it, and every
// address the guest hands us (a DMA section, a descriptor) must fall below it.

import {
  Errno,
  errnoName,
  MAP_FIXED,
  MAP_PRIVATE,
  O_RDONLY,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type Process,
} from '@lguest/host';
import { LauncherExit, hex } from './errors';

export class GuestMemory {
  readonly proc: Process;
  /** Bytes of guest RAM: [0, mem). The device descriptor page is at `mem`. */
  readonly mem: number;
  /** End of guest-physical memory: RAM, the descriptor page and the device pages. */
  top: number;

  constructor(proc: Process, mem: number) {
    this.proc = proc;
    this.mem = mem;
    this.top = mem + 4096;
  }

  /**
   * map_zeroed_pages: private zero pages from /dev/zero over [0, mem) and, separately, over
   * the descriptor and device pages [mem, top). Throws LauncherExit if the host says no.
   */
  async map(): Promise<void> {
    const zero = await this.proc.open('/dev/zero', O_RDONLY);
    if (zero < 0) throw new LauncherExit(1, `Opening /dev/zero: ${errnoName(zero)}`);
    try {
      const prot = PROT_READ | PROT_WRITE | PROT_EXEC;
      for (const [start, end] of [
        [0, this.mem],
        [this.mem, this.top],
      ]) {
        const r = this.proc.mmap(start, end - start, prot, MAP_PRIVATE | MAP_FIXED, zero);
        if (r !== start) {
          const why = r === -Errno.ENOMEM ? 'not enough memory' : errnoName(r);
          throw new LauncherExit(1, `Mapping ${end - start} bytes of guest memory at ${hex(start)}: ${why}`);
        }
      }
    } finally {
      this.proc.close(zero);
    }
  }

  /** Whether [addr, addr+len) lies inside guest memory. */
  ok(addr: number, len: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.top;
  }

  /** `len` bytes of guest memory at `addr`; LauncherExit if that is outside guest memory. */
  read(addr: number, len: number): Uint8Array {
    const data = this.ok(addr, len) ? this.proc.readMemory(addr, len) : -Errno.EFAULT;
    if (typeof data === 'number') throw new LauncherExit(1, `Bad guest address ${hex(addr)}, length ${len}`);
    return data;
  }

  /** Write `bytes` to guest memory at `addr`; LauncherExit if outside guest memory. */
  write(addr: number, bytes: Uint8Array): void {
    const r = this.ok(addr, bytes.length) ? this.proc.writeMemory(addr, bytes) : -Errno.EFAULT;
    if (r < 0) throw new LauncherExit(1, `Bad guest address ${hex(addr)}, length ${bytes.length}`);
  }

  readU32(addr: number): number {
    const b = this.read(addr, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  writeU32(addr: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.write(addr, b);
  }
}
