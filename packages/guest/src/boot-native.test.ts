// The guest kernel booted natively: build/guest.elf through the emulated PC's multiboot
// loader, on our CPU core, in ring 0 with the native paravirt_ops. The console is the PC's
// UART. The run is deterministic (virtual time), so the test can hold the kernel to every
// step of its boot: banner, descriptor tables, ticks, page tables, demand paging, ring 3,
// and a clean power-off.

import { createPc } from '@lguest/pc';
import { loadGuestImage } from './image';

const MEMORY_MIB = 64;

function bootNatively(memoryMiB = MEMORY_MIB, cmdline = 'console=ttyS0') {
  let output = '';
  const pc = createPc({ memoryMiB, serial: (b) => (output += String.fromCharCode(b)) });
  pc.boot(loadGuestImage().elf, cmdline);
  const result = pc.run({ maxInstructions: 200_000_000 });
  return { result, output, lines: output.split('\n') };
}

describe('the guest kernel on the emulated PC (native paravirt_ops)', () => {
  const run = bootNatively();

  it('powers off cleanly through the power-off port', () => {
    if (run.result.reason !== 'power-off') {
      throw new Error(
        `the guest stopped with '${run.result.reason}' at eip 0x${run.result.eip.toString(16)}:\n${run.output}`,
      );
    }
  });

  it('prints a banner saying native, ring 0, and the memory size from multiboot', () => {
    expect(run.lines[0]).toBe('Booting the lguest.ts guest kernel on native hardware (paravirt_ops "native"), ring 0');
    expect(run.lines[1]).toBe(`memory: ${MEMORY_MIB} MiB (multiboot mem_upper ${MEMORY_MIB * 1024 - 1024} KiB)`);
    expect(run.output).toContain('command line: console=ttyS0\n');
  });

  it('loads its GDT and IDT', () => {
    expect(run.output).toContain('descriptors: GDT of 32 entries, IDT of 256 vectors loaded\n');
  });

  it('takes PIT timer interrupts through the PIC', () => {
    expect(run.output).toContain('timer: pit clock event device, periodic, HZ=100\n');
    const ticks = run.lines.filter((l) => /^timer: tick \d+$/.test(l));
    expect(ticks).toEqual(['timer: tick 1', 'timer: tick 2', 'timer: tick 3', 'timer: tick 4', 'timer: tick 5']);
  });

  it('builds its own page tables and fills a region by page faults', () => {
    expect(run.output).toMatch(/paging: kernel page directory at 0x[0-9a-f]{8}, 64 MiB mapped at 0xc0000000\n/);
    expect(run.output).toContain('page faults: 16 pages faulted in at 0xe0000000, pattern ok\n');
    expect(run.output).toContain('page faults: 0xe0000000 unmapped, flushed and faulted back in zeroed\n');
  });

  it('runs a program in ring 3 that writes through int $0x80 and exits with its ring', () => {
    expect(run.output).toContain('hello from ring 3\n');
    expect(run.output).toContain('user: program exited with status 3 after 2 system calls, 1 stack page faults\n');
  });

  it('says goodbye before it powers off, and nothing panics', () => {
    expect(run.lines.at(-2)).toMatch(/^power: \d+ pages allocated, 18 page faults filled; powering off$/);
    expect(run.output).not.toContain('panic');
  });

  it('spends its ticks asleep: 5 ticks of 10 ms in far fewer instructions', () => {
    expect(run.result.virtualNanoseconds).toBeGreaterThan(50e6);
    expect(run.result.instructions).toBeLessThan(20_000_000);
  });

  it('boots with other memory sizes', () => {
    const small = bootNatively(16, '');
    expect(small.result.reason).toBe('power-off');
    expect(small.lines[1]).toBe('memory: 16 MiB (multiboot mem_upper 15360 KiB)');
    expect(small.output).not.toContain('command line:');
  });
});
