// run_guest with tiny hand-made guests: a few bytes of ring-1 code behind page tables a test
// writes, run for real through the switcher.

import { Errno, type Host, type Process } from '@lguest/host';
import type { Lguest } from './core';
import { poke32, testGuest, testLguest, type TestGuest } from './fixture';
import { CHANGED_GDT, getReg } from './lg';

const PGDIR = 0x3ff000;
const PTES = 0x3fe000;
const CODE = 0x100000;
const START = 0xc0000000 + CODE;

/** A 4 MiB guest: all of it mapped at 0xc0000000, and `code` at 1 MiB. */
async function miniGuest(lg: Lguest, code: number[]): Promise<TestGuest> {
  const t = await testGuest(lg, { pgdir: PGDIR, start: START });
  poke32(t.proc, PGDIR + 768 * 4, PTES | 0x67);
  for (let i = 0; i < 1024; i++) poke32(t.proc, PTES + i * 4, (i * 4096) | 0x67);
  t.proc.writeMemory(CODE, Uint8Array.from(code));
  return t;
}

/** read() until the guest dies; its reason. */
async function runToDeath(proc: Process, fd: number): Promise<string> {
  const buf = new Uint8Array(256);
  let n = await proc.read(fd, buf);
  if (n === -Errno.ENOENT) n = await proc.read(fd, buf);
  if (n <= 0) throw new Error(`read gave ${n}`);
  return new TextDecoder().decode(buf.subarray(0, n - 1));
}

describe('run_guest', () => {
  let host: Host;
  let lg: Lguest;
  beforeEach(() => ({ host, lg } = testLguest()));
  afterEach(() => host.shutdown());

  it('skips I/O instructions and dies on the first privileged one, naming it', async () => {
    const t = await miniGuest(
      lg,
      [
        [0xe4, 0x60], // in $0x60, %al
        [0xe6, 0x80], // out %al, $0x80
        [0x66, 0xed], // in (%dx), %ax
        [0x0f, 0x22, 0xd8], // mov %eax, %cr3
      ].flat(),
    );
    expect(await runToDeath(t.proc, t.fd)).toBe('unhandled trap 13 at 0xc0100006 (0x0): mov %eax,%cr3');
    expect(getReg(t.guest, 'eax')).toBe(0xffffffff); // what the in instructions read
    expect(t.guest.stats.switches).toBe(5); // a page fault, three I/O skips, the #GP
  });

  it('kills a guest whose state the switcher cannot load, and carries on with the next', async () => {
    // Its data segment (entry 13) is not present: the switcher's pop %ds faults.
    const a = await miniGuest(lg, [0xeb, 0xfe]);
    a.guest.gdt[2 * 13 + 1] &= ~0x8000;
    a.guest.changed |= CHANGED_GDT;
    // Said as what the guest did wrong, not as the switcher's "trap 256".
    expect(await runToDeath(a.proc, a.fd)).toBe(
      'bad segment %ss 0x69: its descriptor is not present (or was refused when the guest loaded it) ' +
        '(the switcher could not enter the guest at 0xc0100000)',
    );
    expect(a.guest.stats.switches).toBe(1);
    // Its code segment is not present: the switcher's iret faults, over the saved trapnum.
    const b = await miniGuest(lg, [0xeb, 0xfe]);
    b.guest.gdt[2 * 12 + 1] &= ~0x8000;
    b.guest.changed |= CHANGED_GDT;
    expect(await runToDeath(b.proc, b.fd)).toMatch(/^bad segment %cs 0x61: its descriptor is not present /);
    // At once: not mistaken for a host interrupt (the CS of that frame landed on trapnum).
    expect(b.guest.stats.switches).toBe(1);
    expect(b.guest.stats.hostInterrupts).toBe(0);
    // The host is fine: the next guest runs into a #UD and is killed for it.
    const c = await miniGuest(lg, [0x0f, 0x0b]); // ud2
    expect(await runToDeath(c.proc, c.fd)).toBe('unhandled trap 6 at 0xc0100000 (0x0): ud2');
  });

  it('kills a guest that writes to the switcher through a flat segment of its own', async () => {
    // Even if a segment reached it, the switcher's page is read-only in the shadow: the
    // fault there comes to the host, which kills at the sight of its page-table slot.
    const t = await miniGuest(lg, [0xc7, 0x05, 0x00, 0x00, 0xc0, 0xff, 0x01, 0x00, 0x00, 0x00]); // movl $1, 0xffc00000
    // Make the kernel data segment flat to 4 GiB behind the guard's back.
    t.guest.gdt[2 * 13] = 0x0000ffff;
    t.guest.gdt[2 * 13 + 1] = 0x00cfb300;
    t.guest.changed |= CHANGED_GDT;
    expect(await runToDeath(t.proc, t.fd)).toBe('attempt to access switcher pages');
  });
});
