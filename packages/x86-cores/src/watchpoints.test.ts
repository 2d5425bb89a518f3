// Watchpoints as the contract defines them (`setWatchpoint`, `Exit.Watchpoint`, `watchHit`),
// held against every registered core: 32-bit code with paging on, run hot first (so the
// block compiler has compiled it and the TLB maps the data pages) before a watchpoint is set.
// A hit ends the run after the accessing instruction, with the access done; reads, writes and
// read-modify-writes each meet only the kinds they should; a watchpoint covering part of an
// access still hits; one on another address space's page is hit there; and cleared, the run
// goes on untouched.

import { EMPTY_IO_BUS, Exit, WatchKind, type CoreFactory, type CpuCore } from '@lguest/x86';
import { cores } from './index';

const CODE = 0x100;
const PD = 0x1000;
const PT = 0x2000;
const PD2 = 0x3000;
const PT2 = 0x4000;
const X = 0x5000; // a counter the loop reads and writes
const Y = 0x6000; // a counter the loop increments in place (read-modify-write)
const Z = 0x7000; // only read
const OTHER = 0x8000; // physical page the second address space maps at X

// loop: mov eax,[X]; inc eax; mov [X],eax; inc dword [Y]; mov ebx,[Z]; jmp loop
const LOOP = [[0xa1, ...le32(X)], [0x40], [0xa3, ...le32(X)], [0xff, 0x05, ...le32(Y)], [0x8b, 0x1d, ...le32(Z)]];
const LOOP_BYTES = LOOP.flat();
const JMP = [0xeb, -(LOOP_BYTES.length + 2) & 0xff];
/** EIP after each instruction of the loop. */
const AFTER: number[] = [];
LOOP.reduce((at, insn) => (AFTER.push(at + insn.length), at + insn.length), CODE);

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

/** The core in flat 32-bit protected mode with paging (the first MiB identity-mapped), hot. */
function pagedCore(factory: CoreFactory): { core: CpuCore; mem: DataView } {
  const memory = new ArrayBuffer(1 << 20);
  const mem = new DataView(memory);
  new Uint8Array(memory).set([...LOOP_BYTES, ...JMP], CODE);
  mem.setUint32(PD, PT | 7, true);
  mem.setUint32(PD2, PT2 | 7, true);
  for (let i = 0; i < 256; i++) {
    mem.setUint32(PT + i * 4, (i << 12) | 7, true);
    mem.setUint32(PT2 + i * 4, (i << 12) | 7, true);
  }
  mem.setUint32(PT2 + (X >>> 12) * 4, OTHER | 7, true);
  const core = (factory.createHot ?? factory.create)({ memory, io: EMPTY_IO_BUS });
  core.reset();
  const s = core.getState();
  const flat = (access: number) => ({ selector: 0x08, base: 0, limit: 0xffffffff, access });
  Object.assign(s, { cs: flat(0xc09b), ss: flat(0xc093), ds: flat(0xc093), es: flat(0xc093) });
  s.cr0 = 0x80000001;
  s.cr3 = PD;
  s.eip = CODE;
  s.esp = 0x9000;
  s.eflags = 2;
  core.setState(s);
  // Hot: the blocks compiled, the data pages in the TLB.
  expect(core.run(600)).toBe(Exit.Budget);
  expect(core.getState().eip).toBe(CODE);
  return { core, mem };
}

describe.each(cores.map((c) => [c.name, c] as const))('watchpoints on core %s', (_name, factory) => {
  it('a write watchpoint stops after the writing instruction, the write done; cleared, the run goes on', () => {
    const { core, mem } = pagedCore(factory);
    const before = mem.getUint32(X, true);
    core.setWatchpoint(X, 4, WatchKind.Write);
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.retired).toBe(3);
    expect(core.getState().eip).toBe(AFTER[2]);
    expect(mem.getUint32(X, true)).toBe(before + 1);
    expect(core.watchHit()).toEqual({ linear: X, length: 4, kind: WatchKind.Write, address: X, write: true });
    // The next hit is the next trip round the loop.
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.retired).toBe(6);
    expect(mem.getUint32(X, true)).toBe(before + 2);
    expect(core.clearWatchpoint(X, 4, WatchKind.Write)).toBe(true);
    expect(core.clearWatchpoint(X, 4, WatchKind.Write)).toBe(false);
    expect(core.run(600)).toBe(Exit.Budget);
    expect(mem.getUint32(X, true)).toBe(before + 102);
  });

  it('a read watchpoint on one byte inside a dword read hits at that byte; writes do not hit it', () => {
    const { core } = pagedCore(factory);
    core.setWatchpoint(X + 2, 1, WatchKind.Read);
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.retired).toBe(1);
    expect(core.getState().eip).toBe(AFTER[0]);
    expect(core.watchHit()).toMatchObject({ linear: X + 2, length: 1, address: X + 2, write: false });
    // The store to X (the third instruction) passes; the next stop is the read a loop later.
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.retired).toBe(6);
    expect(core.getState().eip).toBe(AFTER[0]);
  });

  it('a read-modify-write meets write, read and access watchpoints; a pure read only read and access', () => {
    for (const kind of [WatchKind.Write, WatchKind.Read, WatchKind.Access]) {
      const { core } = pagedCore(factory);
      core.setWatchpoint(Y, 4, kind);
      expect(core.run(1000)).toBe(Exit.Watchpoint);
      expect(core.getState().eip).toBe(AFTER[3]);
      expect(core.watchHit()).toMatchObject({ address: Y, write: true });
    }
    for (const kind of [WatchKind.Read, WatchKind.Access]) {
      const { core } = pagedCore(factory);
      core.setWatchpoint(Z, 4, kind);
      expect(core.run(1000)).toBe(Exit.Watchpoint);
      expect(core.getState().eip).toBe(AFTER[4]);
    }
    const { core } = pagedCore(factory);
    core.setWatchpoint(Z, 4, WatchKind.Write);
    expect(core.run(1000)).toBe(Exit.Budget);
  });

  it('a watchpoint is linear: it is hit in another address space that maps the page elsewhere', () => {
    const { core, mem } = pagedCore(factory);
    core.setWatchpoint(X, 4, WatchKind.Write);
    const s = core.getState();
    s.cr3 = PD2;
    core.setState(s, { keepTranslations: true });
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(mem.getUint32(OTHER, true)).toBe(1);
    // Back in the first address space, whose TLB context had X mapped before the watchpoint.
    const t = core.getState();
    t.cr3 = PD;
    core.setState(t, { keepTranslations: true });
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.watchHit()).toMatchObject({ address: X, write: true });
  });

  it('an access overlapping the start of a watched range hits at its first watched byte', () => {
    const { core } = pagedCore(factory);
    core.setWatchpoint(X + 3, 8, WatchKind.Access);
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.watchHit()).toMatchObject({ linear: X + 3, length: 8, address: X + 3, write: false });
  });

  it('a breakpoint and a watchpoint together each stop where they should', () => {
    const { core } = pagedCore(factory);
    core.setWatchpoint(Y, 4, WatchKind.Write);
    core.setBreakpoint(AFTER[1]);
    expect(core.run(1000)).toBe(Exit.Breakpoint);
    expect(core.getState().eip).toBe(AFTER[1]);
    expect(core.run(1000)).toBe(Exit.Watchpoint);
    expect(core.getState().eip).toBe(AFTER[3]);
  });

  it('an instruction that faults after its watched access reports no hit: the #PF handler runs instead', () => {
    const { core, mem } = pagedCore(factory);
    // MOVSD reads the watched Z, then faults writing a read-only page (CR0.WP makes that hold
    // at CPL 0); a GDT, and an IDT whose #PF gate leads to HLT.
    const RO = 0xe000;
    const GDT = 0xa000;
    const IDT = 0xb000;
    const HANDLER = 0xc000;
    const STORE = 0xd000;
    mem.setUint32(PT + (RO >>> 12) * 4, RO | 5, true);
    mem.setUint32(GDT + 8, 0x0000ffff, true);
    mem.setUint32(GDT + 12, 0x00cf9b00, true);
    mem.setUint32(IDT + 14 * 8, (0x08 << 16) | (HANDLER & 0xffff), true);
    mem.setUint32(IDT + 14 * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00, true);
    mem.setUint8(HANDLER, 0xf4); // hlt (interrupts are off: the run ends there)
    mem.setUint8(STORE, 0xa5); // movsd
    const s = core.getState();
    const at = { esi: Z, edi: RO, eip: STORE };
    Object.assign(s, at, { cr0: 0x80010001, gdtr: { base: GDT, limit: 0x17 }, idtr: { base: IDT, limit: 0x7ff } });
    core.setState(s);
    core.setWatchpoint(Z, 4, WatchKind.Read);
    expect(core.run(100)).toBe(Exit.Halt);
    expect(core.getState()).toMatchObject({ eip: HANDLER + 1, cr2: RO });
    expect(core.watchHit()).toBeNull();
    // Writable, the same MOVSD completes and is reported.
    mem.setUint32(PT + (RO >>> 12) * 4, RO | 7, true);
    core.setState(Object.assign(s, at));
    expect(core.run(100)).toBe(Exit.Watchpoint);
    expect(core.getState().eip).toBe(STORE + 1);
    expect(core.watchHit()).toMatchObject({ address: Z, write: false });
  });

  it('refuses a length that is not a whole number of bytes, at least 1', () => {
    const { core } = pagedCore(factory);
    expect(() => core.setWatchpoint(X, 0, WatchKind.Write)).toThrow(/length 0/);
    expect(() => core.setWatchpoint(X, 1.5, WatchKind.Write)).toThrow(/length 1.5/);
  });
});
