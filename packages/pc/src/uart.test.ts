// The 16550 as a polled console: bytes written to THR come out at once, LSR always says the
// transmitter is empty, DLAB switches ports 0/1 to the divisor, loopback and received bytes
// land in RBR, and the THRE/RDA interrupts drive the IRQ line only with OUT2 set.

import { Uart16550 } from './uart';

function uart(): { u: Uart16550; out: number[]; irq: boolean[] } {
  const out: number[] = [];
  const irq: boolean[] = [];
  const u = new Uart16550(
    0x3f8,
    (b) => out.push(b),
    (level) => irq.push(level),
  );
  return { u, out, irq };
}

describe('16550 UART', () => {
  it('transmits THR writes and reports an empty transmitter', () => {
    const { u, out } = uart();
    expect(u.in8(0x3fd) & 0x60).toBe(0x60);
    for (const c of 'hi\n') u.out8(0x3f8, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('hi\n');
    expect(u.in8(0x3fd) & 0x01).toBe(0);
  });

  it('reads and writes the divisor latch with DLAB set, without transmitting', () => {
    const { u, out } = uart();
    u.out8(0x3fb, 0x80);
    u.out8(0x3f8, 0x01);
    u.out8(0x3f9, 0x00);
    expect(u.in8(0x3f8)).toBe(1);
    u.out8(0x3fb, 0x03);
    expect(u.divisor).toBe(1);
    expect(out).toEqual([]);
    expect(u.in8(0x3fb)).toBe(0x03);
  });

  it('queues received bytes in RBR with DR set', () => {
    const { u } = uart();
    u.receive([0x41, 0x42]);
    expect(u.in8(0x3fd) & 1).toBe(1);
    expect(u.in8(0x3f8)).toBe(0x41);
    expect(u.in8(0x3f8)).toBe(0x42);
    expect(u.in8(0x3fd) & 1).toBe(0);
  });

  it('loops THR back into RBR in loopback mode', () => {
    const { u, out } = uart();
    u.out8(0x3fc, 0x10);
    u.out8(0x3f8, 0x5a);
    expect(out).toEqual([]);
    expect(u.in8(0x3f8)).toBe(0x5a);
  });

  it('reports IIR "no interrupt" by default and keeps the scratch register', () => {
    const { u } = uart();
    expect(u.in8(0x3fa) & 0x0f).toBe(0x01);
    u.out8(0x3ff, 0x99);
    expect(u.in8(0x3ff)).toBe(0x99);
  });

  it('raises its IRQ for THRE and RDA when enabled and gated by OUT2', () => {
    const { u, irq } = uart();
    u.out8(0x3fc, 0x08); // OUT2
    u.out8(0x3f9, 0x02); // THRE interrupt
    expect(irq).toEqual([true]);
    expect(u.in8(0x3fa) & 0x0f).toBe(0x02); // reading IIR acknowledges THRE
    expect(irq).toEqual([true, false]);
    u.out8(0x3f9, 0x01); // RDA only
    u.receive([1]);
    expect(irq).toEqual([true, false, true]);
    expect(u.in8(0x3fa) & 0x0f).toBe(0x04);
    u.in8(0x3f8);
    expect(irq).toEqual([true, false, true, false]);
  });
});
