// The keyboard controller as Linux's i8042 and atkbd drivers and its reboot path use it.

import { I8042 } from './i8042';
import { createPc } from './pc';

function controller() {
  const irq: boolean[] = [];
  let resets = 0;
  const k = new I8042(
    (level) => irq.push(level),
    () => resets++,
  );
  const command = (c: number) => k.out8(0x64, c);
  const read = () => k.in8(0x60);
  const status = () => k.in8(0x64);
  return { k, irq, resets: () => resets, command, read, status };
}

describe('the i8042 keyboard controller', () => {
  it('answers the probe: command byte, self-test, interface tests, no AUX port', () => {
    const { command, read, status } = controller();
    expect(status() & 1).toBe(0); // nothing to read
    command(0x20);
    expect(status() & 1).toBe(1);
    expect(read()).toBe(0x65); // KBDINT, SYS, AUX disabled, translation
    command(0x60);
    read();
    expect(status() & 0x08).toBe(0x08); // last write was a command
    command(0xaa);
    expect(read()).toBe(0x55);
    command(0xab);
    expect(read()).toBe(0x00);
    command(0xa9);
    expect(read()).toBe(0x02); // AUX clock line stuck: nothing attached
    command(0xd3); // no AUX loopback: no reply
    expect(status() & 1).toBe(0);
  });

  it('writes the command byte, and interrupts on keyboard bytes only while KBDINT is set', () => {
    const { k, irq, command, read } = controller();
    k.out8(0x60, 0xf2); // identify
    expect(irq.at(-1)).toBe(true);
    expect([read(), read(), read()]).toEqual([0xfa, 0xab, 0x83]);
    expect(irq.at(-1)).toBe(false);
    command(0x60);
    k.out8(0x60, 0x64); // KBDINT off
    command(0x20);
    expect(read()).toBe(0x64);
    k.out8(0x60, 0xff); // keyboard reset
    expect(irq.at(-1)).toBe(false);
    expect([read(), read()]).toEqual([0xfa, 0xaa]);
  });

  it('resets the PC on 0xFE and on an output port write with bit 0 clear', () => {
    const a = controller();
    a.command(0xfe);
    expect(a.resets()).toBe(1);
    const b = controller();
    b.command(0xd1);
    b.k.out8(0x60, 0x03); // reset line high: nothing
    expect(b.resets()).toBe(0);
    b.command(0xd1);
    b.k.out8(0x60, 0x02);
    expect(b.resets()).toBe(1);
  });

  it("ends the PC's run with 'reset'", () => {
    const pc = createPc({ memoryMiB: 2, serial: () => undefined });
    // mov al, 0xfe; out 0x64, al; jmp $
    new Uint8Array(pc.machine.memory).set([0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe], 0);
    const s = pc.core.getState();
    pc.core.setState({ ...s, cs: { ...s.cs, selector: 0, base: 0 }, eip: 0 });
    expect(pc.run({ maxInstructions: 1000 }).reason).toBe('reset');
  });
});
