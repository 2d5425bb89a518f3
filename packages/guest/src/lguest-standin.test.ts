// The guest's lguest path, run on the stand-in host (lguest-standin.ts) until packages/lg
// exists: ring 1, hypercalls and the async ring, virtual IRQs through lguest_data, the
// one-shot clock, page faults reflected with cr2, a direct int $0x80 from ring 3, the DMA
// console — and a clean "CRASH: Power down".

import { loadGuestImage } from './image';
import { runLguestStandin } from './lguest-standin';

describe('the guest kernel under the lguest stand-in host (lguest paravirt_ops)', () => {
  const run = runLguestStandin(loadGuestImage().elf, 32, 'root=none');
  const lines = run.console.split('\n');

  it('powers down with CRASH("Power down")', () => {
    if (run.death !== 'CRASH: Power down') throw new Error(`${run.death}\n${run.console}`);
  });

  it('prints a banner saying lguest, ring 1, and the memory size from the e820 map', () => {
    expect(lines[0]).toBe('Booting the lguest.ts guest kernel on lguest (paravirt_ops "lguest"), ring 1');
    expect(lines[1]).toBe('memory: 32 MiB (boot_params e820: 1 entry)');
    expect(run.console).toContain('command line: root=none \n');
  });

  it('makes LGUEST_INIT its first hypercall and loads its GDT and IDT by hypercall', () => {
    expect(run.hypercalls[0]).toBe(1);
    expect(run.hypercalls.filter((c) => c === 3)).toHaveLength(1); // LOAD_GDT
    // LOAD_IDT_ENTRY: 256 for the table, then 32 IRQ gates from init_IRQ.
    expect(run.hypercalls.filter((c) => c === 6)).toHaveLength(256 + 32);
  });

  it('batches page-table updates through the async ring', () => {
    expect(run.asyncCalls).toBeGreaterThan(0);
    expect(run.hypercalls).toContain(4); // NEW_PGTABLE
    expect(run.hypercalls).toContain(15); // SET_PMD
    expect(run.hypercalls).toContain(7); // SET_STACK
    expect(run.hypercalls).toContain(16); // LOAD_TLS
  });

  it('finds the console on the bus and binds its input buffer', () => {
    expect(run.console).toContain('console: lguest console (device 0), input buffer of 256 bytes bound on IRQ 1\n');
    expect(run.consoleStatus).toBe(1 | 2 | 4); // ACKNOWLEDGE | DRIVER | DRIVER_OK
    expect(run.hypercalls).toContain(12); // BIND_DMA
  });

  it('ticks on the one-shot lguest clock, with IRQ 0 injected through vector 32', () => {
    expect(run.console).toContain('timer: lguest clock event device, one-shot, HZ=100\n');
    expect(lines.filter((l) => /^timer: tick \d+$/.test(l))).toHaveLength(5);
    expect(run.delivered.filter((v) => v === 32)).toHaveLength(5);
    expect(run.hypercalls.filter((c) => c === 9).length).toBeGreaterThanOrEqual(6); // SET_CLOCKEVENT
    expect(run.hypercalls).toContain(10); // HALT
  });

  it('fills the demand region through reflected page faults', () => {
    expect(run.console).toContain('page faults: 16 pages faulted in at 0xe0000000, pattern ok\n');
    expect(run.console).toContain('page faults: 0xe0000000 unmapped, flushed and faulted back in zeroed\n');
    expect(run.delivered.filter((v) => v === 14)).toHaveLength(18);
  });

  it('runs the ring-3 program, whose int $0x80 is a direct trap', () => {
    expect(run.console).toContain('hello from ring 3\n');
    expect(run.console).toContain('user: program exited with status 3 after 2 system calls, 1 stack page faults\n');
    expect(run.delivered).not.toContain(0x80);
  });

  it('prints the same kernel story as the native boot, apart from the platform lines', () => {
    expect(run.console).not.toContain('panic');
    expect(lines.at(-2)).toMatch(/^power: \d+ pages allocated, 18 page faults filled; powering off$/);
  });
});
