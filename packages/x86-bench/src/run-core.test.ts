// The core harness against a stand-in core that executes nothing: it checks the machine and
// state the harness hands a core (image loaded, flat protected mode, identity page tables)
// and that every way a run can go wrong is reported, not mistaken for a result.

import { Exit } from '@lguest/x86';
import type { CoreFactory, CpuCore, CpuState, Machine, SegmentState } from '@lguest/x86';
import { BENCH_DONE_MAGIC, findPackageDir, loadWorkloadImages, metalInstructions } from './workload';
import { runOnCore } from './run-core';
import { RAM_BYTES } from './machine';

const images = loadWorkloadImages(findPackageDir(__dirname));
const ITERATIONS = 10;

function segment(selector = 0): SegmentState {
  return { selector, base: 0, limit: 0xffff, access: 0x93 };
}

function powerOnState(): CpuState {
  return {
    eax: 0, ecx: 0, edx: 0, ebx: 0, esp: 0, ebp: 0, esi: 0, edi: 0,
    eip: 0xfff0, eflags: 2,
    es: segment(), cs: segment(0xf000), ss: segment(), ds: segment(), fs: segment(), gs: segment(),
    ldtr: segment(), tr: segment(),
    gdtr: { base: 0, limit: 0xffff }, idtr: { base: 0, limit: 0x3ff },
    cr0: 0x10, cr2: 0, cr3: 0, cr4: 0, dr: [0, 0, 0, 0, 0, 0, 0, 0],
    cpl: 0, halted: false, instructions: 0,
  };
}

/** What the stand-in does when run: how it finishes, and what it leaves in memory. */
interface Script {
  exit: Exit;
  eip: number;
  checksum?: number;
  done?: number;
}

function standIn(script: Script): { factory: CoreFactory; seen: { machine?: Machine; state?: CpuState } } {
  const seen: { machine?: Machine; state?: CpuState } = {};
  const factory: CoreFactory = {
    name: 'stand-in',
    description: 'executes nothing; finishes as its script says',
    create(machine: Machine): CpuCore {
      seen.machine = machine;
      let state = powerOnState();
      let retired = 0;
      return {
        name: 'stand-in',
        get retired() {
          return retired;
        },
        escapeCode: 0,
        irqLine: false,
        reset() {
          state = powerOnState();
        },
        getState: () => structuredClone(state),
        setState(s: CpuState) {
          state = structuredClone(s);
          seen.state = structuredClone(s);
        },
        run() {
          const memory = new DataView(machine.memory);
          if (script.checksum !== undefined) memory.setUint32(images.metal.bench_result, script.checksum, true);
          if (script.done !== undefined) memory.setUint32(images.metal.bench_done, script.done, true);
          state.eip = script.eip;
          retired = metalInstructions(ITERATIONS);
          return script.exit;
        },
        requestStop() {},
        setBreakpoint() {},
        clearBreakpoint() {},
        setWatchpoint() {},
        clearWatchpoint: () => false,
        watchHit: () => null,
        invalidatePhysical() {},
        flushTlb() {},
      };
    },
  };
  return { factory, seen };
}

const finished: Script = { exit: Exit.Halt, eip: images.metal.bench_halt + 1, checksum: 0x12345678, done: BENCH_DONE_MAGIC };

describe('the core harness', () => {
  it('starts the core at the image entry in flat 32-bit ring-0 protected mode', () => {
    const { factory, seen } = standIn(finished);
    runOnCore(factory, images, ITERATIONS, false);
    const s = seen.state!;
    expect(s.eip).toBe(images.metal._start);
    expect(s.cr0 & 0x80000001).toBe(1);
    expect(s.cpl).toBe(0);
    expect(s.eflags & 0x200).toBe(0);
    for (const seg of [s.cs, s.ds, s.es, s.ss]) {
      expect([seg.base, seg.limit]).toEqual([0, 0xffffffff]);
      expect(seg.access & 0x80).toBe(0x80); // present
      expect(seg.access & 0x60).toBe(0); // DPL 0
      expect(seg.access & 0x4000).toBe(0x4000); // 32-bit
    }
    expect(s.cs.access & 0x8).toBe(0x8); // code
    // The GDT the selectors name holds the same flat descriptors.
    const memory = new DataView(seen.machine!.memory);
    expect(memory.getUint32(s.gdtr.base + s.cs.selector + 4, true)).toBe(0x00cf9b00);
    expect(memory.getUint32(s.gdtr.base + s.ds.selector + 4, true)).toBe(0x00cf9300);
  });

  it('loads the image and patches the iteration count', () => {
    const { factory, seen } = standIn(finished);
    runOnCore(factory, images, ITERATIONS, false);
    const memory = new DataView(seen.machine!.memory);
    expect(memory.getUint8(images.metal._start)).toBe(0xfa); // cli
    expect(memory.getUint32(images.metal.bench_iterations, true)).toBe(ITERATIONS);
    expect(memory.getUint32(images.metal.bench_paging, true)).toBe(0);
  });

  it('with paging, identity-maps all RAM with 4 KiB pages and sets CR0.PG and CR3', () => {
    const { factory, seen } = standIn(finished);
    runOnCore(factory, images, ITERATIONS, true);
    const s = seen.state!;
    expect(s.cr0 >>> 31).toBe(1);
    const memory = new DataView(seen.machine!.memory);
    const translate = (linear: number): number => {
      const pde = memory.getUint32(s.cr3 + (linear >>> 22) * 4, true);
      expect(pde & 0x81).toBe(0x01); // present, not a 4 MiB page
      const pte = memory.getUint32((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4, true);
      expect(pte & 0x63).toBe(0x03); // present, writable, accessed and dirty still clear
      return ((pte & ~0xfff) | (linear & 0xfff)) >>> 0;
    };
    for (const linear of [0, images.metal._start, images.metal.bench_result, 0x123456, RAM_BYTES - 4]) {
      expect(translate(linear)).toBe(linear);
    }
    expect(memory.getUint32(s.cr3 + (RAM_BYTES >>> 22) * 4, true) & 1).toBe(0); // nothing beyond RAM
  });

  it('returns the checksum and the retired count of a run that reached the HLT', () => {
    const run = runOnCore(standIn(finished).factory, images, ITERATIONS, false);
    expect(run).toMatchObject({ engine: 'stand-in', checksum: 0x12345678, instructions: metalInstructions(ITERATIONS) });
  });

  it('reports a triple fault', () => {
    const { factory } = standIn({ ...finished, exit: Exit.TripleFault, eip: 0x100123 });
    expect(() => runOnCore(factory, images, ITERATIONS, true)).toThrow(
      'stand-in+paging: the workload did not finish: exit TripleFault at eip 0x00100123',
    );
  });

  it('reports a core that never halts', () => {
    const { factory } = standIn({ exit: Exit.Budget, eip: 0x100040 });
    expect(() => runOnCore(factory, images, ITERATIONS, false)).toThrow(/still running after \d+ instructions/);
  });

  it('reports a halt somewhere else than the final HLT', () => {
    const { factory } = standIn({ ...finished, eip: 0x100099 });
    expect(() => runOnCore(factory, images, ITERATIONS, false)).toThrow(/halted at eip 0x00100099/);
  });

  it('reports a halt before the checksum was stored', () => {
    const { factory } = standIn({ ...finished, done: 0 });
    expect(() => runOnCore(factory, images, ITERATIONS, false)).toThrow(/without marking the checksum done/);
  });
});
