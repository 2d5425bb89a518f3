// A PC's state saved between two runs and loaded into another PC: the second one must go on
// exactly as the first would have — the same interrupts at the same instructions, the same
// output, the same end — because a snapshot is only worth something if the guest cannot tell.

import { createPc, type Pc, type PcState } from './pc';
import { multibootElf, tickingKernel } from './test-image';

const TICKS = 40;

function bootTicking(): { pc: Pc; out: number[] } {
  const out: number[] = [];
  const pc = createPc({ memoryMiB: 4, serial: (b) => out.push(b) });
  const c = tickingKernel(TICKS);
  pc.boot(multibootElf(c.link(), c.addressOf('start')), 'console=ttyS0');
  return { pc, out };
}

/** The saved state as it would come back from a file: JSON, nothing shared with the PC. */
function throughJson(s: PcState): PcState {
  return JSON.parse(JSON.stringify(s)) as PcState;
}

describe('PC state', () => {
  it('a PC loaded from a state taken mid-run ends exactly as the original does', () => {
    const a = bootTicking();
    // 12 ms of virtual time: the PIC is programmed, the PIT is ticking, about 12 ticks taken.
    const first = a.pc.run({ untilNs: 12_000_000 });
    expect(first.reason).toBe('deadline');
    const state = throughJson(a.pc.save());
    const ram = new Uint8Array(a.pc.machine.memory).slice();
    expect(state.pit[0].running).toBe(true);
    expect(state.pic.master.imr).toBe(0xfe);

    const endA = a.pc.run();
    expect(endA.reason).toBe('power-off');

    const b = createPc({ memoryMiB: 4, serial: (byte) => b.out.push(byte) }) as Pc & { out: number[] };
    b.out = [];
    new Uint8Array(b.machine.memory).set(ram);
    b.load(state);
    const endB = b.run();

    expect(endB.reason).toBe('power-off');
    expect(String.fromCharCode(...b.out)).toBe(String.fromCharCode(TICKS + 0x30));
    expect(b.out).toEqual(a.out);
    // The same instructions retired after the cut, at the same virtual time, to the same end.
    expect(endB.instructions).toBe(endA.instructions);
    expect(endB.virtualNanoseconds).toBe(endA.virtualNanoseconds);
    expect(b.core.getState()).toEqual(a.pc.core.getState());
    expect(Buffer.compare(Buffer.from(b.machine.memory), Buffer.from(a.pc.machine.memory))).toBe(0);
  });

  it('saving what was loaded gives the state back, every device and the x87 included', () => {
    const a = bootTicking();
    a.pc.run({ untilNs: 5_000_000 });
    // Things a guest could have left behind that the ticking kernel does not make itself.
    a.pc.uart.receive([0x61, 0x62, 0x63]);
    a.pc.keyboard.out8(0x64, 0xd2); // write the next byte as if the keyboard sent it
    a.pc.keyboard.out8(0x60, 0x1c);
    const fpu = a.pc.core.saveFpu?.();
    expect(fpu).toBeDefined();
    fpu![0] ^= 0x0c00; // a different rounding control
    a.pc.core.restoreFpu?.(fpu!);
    const state = throughJson(a.pc.save());

    const b = createPc({ memoryMiB: 4, serial: () => undefined });
    new Uint8Array(b.machine.memory).set(new Uint8Array(a.pc.machine.memory));
    b.load(state);
    expect(throughJson(b.save())).toEqual(state);
    expect(b.uart.in8(0x3f8)).toBe(0x61);
  });

  it('refuses a state from a PC of another size, saying which', () => {
    const a = bootTicking();
    const state = a.pc.save();
    const b = createPc({ memoryMiB: 8, serial: () => undefined });
    expect(() => b.load(state)).toThrow('the saved PC had 4 MiB of memory, this one has 8');
  });
});
