// The 8259A pair: the ICW1-ICW4 initialisation a kernel does to remap vectors, masking,
// priority with nested service, EOIs, the cascade through IRQ 2, OCW3 reads, automatic EOI,
// and the spurious IRQ 7.

import { DualPic } from './pic';

/** The classic PC/AT remap: master at `base`, slave at `base + 8`, cascade on IRQ 2. */
function initialised(base = 0x20, icw4 = 0x01): { pic: DualPic; raised: () => number } {
  let raised = 0;
  const pic = new DualPic(() => raised++);
  for (const [port, value] of [
    [0x20, 0x11],
    [0xa0, 0x11],
    [0x21, base],
    [0xa1, base + 8],
    [0x21, 0x04],
    [0xa1, 0x02],
    [0x21, icw4],
    [0xa1, icw4],
  ]) {
    pic.out8(port, value);
  }
  return { pic, raised: () => raised };
}

describe('8259A pair', () => {
  it('remaps vectors through ICW2 and clears the mask on ICW1', () => {
    const { pic } = initialised(0x20);
    expect(pic.master.vectorBase).toBe(0x20);
    expect(pic.slave.vectorBase).toBe(0x28);
    expect(pic.in8(0x21)).toBe(0);
    pic.pulseIrq(0);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('raises INTR only for unmasked lines, and again when a line is unmasked', () => {
    const { pic, raised } = initialised();
    pic.out8(0x21, 0xff);
    const before = raised();
    pic.pulseIrq(1);
    expect(pic.intrPending()).toBe(false);
    expect(raised()).toBe(before);
    pic.out8(0x21, 0xfd);
    expect(pic.intrPending()).toBe(true);
    expect(raised()).toBe(before + 1);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('moves the request from IRR to ISR and blocks lower priorities until the EOI', () => {
    const { pic } = initialised();
    pic.pulseIrq(3);
    pic.out8(0x20, 0x0a); // OCW3: read IRR
    expect(pic.in8(0x20)).toBe(0x08);
    expect(pic.acknowledge()).toBe(0x23);
    pic.out8(0x20, 0x0b); // OCW3: read ISR
    expect(pic.in8(0x20)).toBe(0x08);
    pic.pulseIrq(5); // lower priority than 3: waits
    expect(pic.intrPending()).toBe(false);
    pic.pulseIrq(1); // higher priority: nests
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
    pic.out8(0x20, 0x20); // non-specific EOI ends IRQ 1, the highest in service
    expect(pic.in8(0x20)).toBe(0x08);
    expect(pic.intrPending()).toBe(false);
    pic.out8(0x20, 0x63); // specific EOI for IRQ 3
    expect(pic.in8(0x20)).toBe(0);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('latches edges: a line held high interrupts once', () => {
    const { pic } = initialised();
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    pic.out8(0x20, 0x20);
    pic.setIrq(4, true);
    expect(pic.intrPending()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.intrPending()).toBe(true);
  });

  it('delivers slave IRQs through the cascade with the slave vector', () => {
    const { pic } = initialised(0x30);
    pic.pulseIrq(12);
    expect(pic.intrPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x30 + 8 + 4);
    expect(pic.master.isr).toBe(0x04);
    expect(pic.slave.isr).toBe(0x10);
    pic.out8(0xa0, 0x20);
    pic.out8(0x20, 0x20);
    expect(pic.master.isr | pic.slave.isr).toBe(0);
  });

  it('masks a slave line with the slave IMR, and the whole slave with master bit 2', () => {
    const { pic } = initialised();
    pic.out8(0xa1, 0x01);
    pic.pulseIrq(8);
    expect(pic.intrPending()).toBe(false);
    pic.out8(0xa1, 0x00);
    pic.out8(0x21, 0x04);
    expect(pic.intrPending()).toBe(false);
    pic.out8(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x28);
  });

  it('answers INTA with IRQ 7 when nothing is pending (spurious) and sets no ISR bit', () => {
    const { pic } = initialised();
    expect(pic.acknowledge()).toBe(0x27);
    expect(pic.master.isr).toBe(0);
  });

  it('clears nothing into ISR in automatic EOI mode', () => {
    const { pic } = initialised(0x20, 0x03);
    pic.pulseIrq(0);
    expect(pic.acknowledge()).toBe(0x20);
    expect(pic.master.isr).toBe(0);
    pic.pulseIrq(0);
    expect(pic.intrPending()).toBe(true);
  });

  it('rotates priorities on a rotating EOI', () => {
    const { pic } = initialised();
    pic.pulseIrq(0);
    expect(pic.acknowledge()).toBe(0x20);
    pic.out8(0x20, 0xa0); // rotate on non-specific EOI: IRQ 0 becomes the lowest
    pic.pulseIrq(0);
    pic.pulseIrq(5);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('refuses IRQ numbers a PC/AT does not have', () => {
    expect(() => new DualPic(() => undefined).setIrq(16, true)).toThrow(/IRQ 16/);
  });
});
