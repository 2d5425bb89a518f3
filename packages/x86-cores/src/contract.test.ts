// The contract as a host relies on it, held against every registered core: each exit of
// `run(budget)` for the reason it documents, with `retired`, `escapeCode` and EIP as the host
// reads them afterwards; the host escape defined at CPL 0 and #UD in
// virtual-8086 mode; `requestStop` from an I/O port handler; breakpoints before the
// instruction; and state that survives a getState/setState round trip. The programs are a few
// bytes of real-mode code at 0000:0100.

import { EMPTY_IO_BUS, Exit, HOST_ESCAPE_OPCODE, type CoreFactory, type CpuCore, type IoBus } from '@lguest/x86';
import { cores } from './index';

const ORIGIN = 0x100;

/** A core on 1 MiB of RAM, reset and then put at 0000:0100 in real mode with `code` there. */
function coreWith(factory: CoreFactory, code: number[], io: IoBus = EMPTY_IO_BUS) {
  const memory = new ArrayBuffer(1 << 20);
  new Uint8Array(memory).set(code, ORIGIN);
  const core = factory.create({ memory, io });
  core.reset();
  const s = core.getState();
  s.cs = { ...s.cs, selector: 0, base: 0 };
  s.eip = ORIGIN;
  s.ss = { ...s.ss, selector: 0, base: 0 };
  s.esp = 0x8000;
  core.setState(s);
  return { core, memory: new Uint8Array(memory) };
}

const INC_AX = 0x40;
const CLI = 0xfa;
const HLT = 0xf4;
const OUT_IMM8_AL = 0xe6;

describe.each(cores.map((c) => [c.name, c] as const))('the core contract on core %s', (_name, factory) => {
  it('run(budget) stops after exactly `budget` instructions with Exit.Budget', () => {
    const { core } = coreWith(factory, Array(10).fill(INC_AX));
    expect(core.run(4)).toBe(Exit.Budget);
    expect(core.retired).toBe(4);
    expect(core.getState()).toMatchObject({ eax: 4, eip: ORIGIN + 4 });
    expect(core.run(3)).toBe(Exit.Budget);
    expect(core.getState()).toMatchObject({ eax: 7, eip: ORIGIN + 7 });
  });

  it('HLT with interrupts off is Exit.Halt, the CPU left halted after it', () => {
    const { core } = coreWith(factory, [INC_AX, CLI, HLT, INC_AX]);
    expect(core.run(100)).toBe(Exit.Halt);
    expect(core.retired).toBe(3);
    expect(core.getState()).toMatchObject({ eax: 1, eip: ORIGIN + 3, halted: true });
  });

  it('the host escape 0F 04 ib at CPL 0 is Exit.HostEscape with its byte, EIP after it', () => {
    const { core } = coreWith(factory, [INC_AX, ...HOST_ESCAPE_OPCODE, 0x2a, INC_AX]);
    expect(core.run(100)).toBe(Exit.HostEscape);
    expect(core.escapeCode).toBe(0x2a);
    expect(core.getState()).toMatchObject({ eax: 1, eip: ORIGIN + 4 });
    expect(core.run(1)).toBe(Exit.Budget);
    expect(core.getState().eax).toBe(2);
  });

  it('the host escape outside CPL 0 (virtual-8086 mode) is #UD, delivered like any fault, not an exit', () => {
    // In virtual-8086 mode the escape must raise #UD through the protected-mode IDT, which
    // here is empty: #UD cannot be delivered (#GP), nor can that (#DF), and the CPU shuts
    // down — a triple fault, never a host escape.
    const { core } = coreWith(factory, [...HOST_ESCAPE_OPCODE, 0x2a]);
    const s = core.getState();
    s.cr0 |= 1;
    s.eflags |= 1 << 17;
    s.idtr = { base: 0, limit: 0 };
    s.cpl = 3;
    core.setState(s);
    expect(core.run(100)).toBe(Exit.TripleFault);
  });

  it('requestStop from an I/O port handler ends the run after that instruction with Exit.Stopped', () => {
    let core: CpuCore | null = null;
    const io: IoBus = {
      ...EMPTY_IO_BUS,
      out8: (port) => {
        if (port === 0x80) core?.requestStop();
      },
    };
    const made = coreWith(factory, [INC_AX, OUT_IMM8_AL, 0x80, INC_AX, INC_AX], io);
    core = made.core;
    expect(core.run(100)).toBe(Exit.Stopped);
    expect(core.getState()).toMatchObject({ eax: 1, eip: ORIGIN + 3 });
  });

  it('a breakpoint stops the run before its instruction, and clearing it lets the run through', () => {
    const { core } = coreWith(factory, [INC_AX, INC_AX, INC_AX, CLI, HLT]);
    core.setBreakpoint(ORIGIN + 2);
    expect(core.run(100)).toBe(Exit.Breakpoint);
    expect(core.getState()).toMatchObject({ eax: 2, eip: ORIGIN + 2 });
    core.clearBreakpoint(ORIGIN + 2);
    expect(core.run(100)).toBe(Exit.Halt);
    expect(core.getState().eax).toBe(3);
  });

  it('sees memory the host changed once told (invalidatePhysical), and state round-trips', () => {
    const { core, memory } = coreWith(factory, [INC_AX, INC_AX, CLI, HLT]);
    expect(core.run(1)).toBe(Exit.Budget);
    memory[ORIGIN + 1] = 0x48; // dec ax
    core.invalidatePhysical(ORIGIN + 1, 1);
    expect(core.run(100)).toBe(Exit.Halt);
    expect(core.getState().eax).toBe(0);
    const state = core.getState();
    core.setState(state);
    expect(core.getState()).toEqual(state);
  });
});
