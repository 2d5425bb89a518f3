// The whole PC with a real core: hand-assembled multiboot kernels that print on COM1 and
// power off, take PIT interrupts through the remapped PIC while sleeping in HLT, and die in
// the two ways a PC can (a triple fault; HLT with interrupts off). Also the loader's view of
// memory (the info structure) and the entry state it hands over.

import { createPc } from './pc';
import { multibootCode, multibootElf } from './test-image';
import type { Code } from './test-image';

/** mov dx, port; mov al, byte; out dx, al — for each character. */
function print(c: Code, text: string): void {
  for (const ch of text) c.emit(0x66, 0xba, 0xf8, 0x03, 0xb0, ch.charCodeAt(0), 0xee);
}

/** outw(0x604, 0x2000): ACPI soft-off. */
function powerOff(c: Code): void {
  c.emit(0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x20, 0x66, 0xef, 0xf4);
}

function outb(c: Code, port: number, value: number): void {
  c.emit(0xb0, value, 0xe6, port);
}

function boot(code: Code, entry = 'start', memoryMiB = 4): { pc: ReturnType<typeof createPc>; out: () => string } {
  const bytes: number[] = [];
  const pc = createPc({ memoryMiB, serial: (b) => bytes.push(b) });
  pc.boot(multibootElf(code.link(), code.addressOf(entry)), 'console=ttyS0');
  return { pc, out: () => String.fromCharCode(...bytes) };
}

describe('the emulated PC', () => {
  it('boots a multiboot kernel that prints on COM1 and powers off', () => {
    const c = multibootCode().label('start');
    print(c, 'hello, pc\n');
    powerOff(c);
    const { pc, out } = boot(c);
    const r = pc.run();
    expect(r.reason).toBe('power-off');
    expect(out()).toBe('hello, pc\n');
    expect(pc.power.poweredOff).toBe(true);
  });

  it('hands over the multiboot entry state and info structure', () => {
    const c = multibootCode().label('start');
    c.emit(0xf4); // hlt with IF = 0
    const { pc } = boot(c, 'start', 16);
    const s = pc.core.getState();
    expect(s.eax).toBe(0x2badb002);
    expect(s.cr0 & 0x80000001).toBe(1); // PE on, PG off
    expect(s.eflags & 0x200).toBe(0);
    expect(s.cs.base).toBe(0);
    expect(s.cs.limit).toBe(0xffffffff);
    const mem = new DataView(pc.machine.memory);
    const info = s.ebx;
    expect(mem.getUint32(info, true) & 0x245).toBe(0x245); // mem, cmdline, mmap, loader name
    expect(mem.getUint32(info + 4, true)).toBe(639);
    expect(mem.getUint32(info + 8, true)).toBe(15 * 1024);
    const cmdline = mem.getUint32(info + 16, true);
    const text = new Uint8Array(pc.machine.memory, cmdline, 13);
    expect(String.fromCharCode(...text)).toBe('console=ttyS0');
    const r = pc.run();
    expect(r.reason).toBe('halted');
    expect(r.interruptsEnabled).toBe(false);
  });

  it('takes PIT interrupts through the remapped PIC while the CPU sleeps in HLT', () => {
    const c = multibootCode().label('start');
    c.emit(0xfa); // cli
    for (const [port, value] of [
      [0x20, 0x11],
      [0xa0, 0x11],
      [0x21, 0x20],
      [0xa1, 0x28],
      [0x21, 0x04],
      [0xa1, 0x02],
      [0x21, 0x01],
      [0xa1, 0x01],
      [0x21, 0xfe],
      [0xa1, 0xff],
    ]) {
      outb(c, port, value);
    }
    // PIT channel 0, mode 2, divisor 1193: about 1 kHz.
    outb(c, 0x43, 0x34);
    outb(c, 0x40, 0xa9);
    outb(c, 0x40, 0x04);
    c.emit(0x0f, 0x01, 0x1d).ref('idtr', 'abs32'); // lidt [idtr]
    c.emit(0xfb); // sti
    c.label('wait').emit(0xf4); // hlt
    c.emit(0x83, 0x3d).ref('count', 'abs32').emit(5); // cmp dword [count], 5
    c.emit(0x72).ref('wait', 'rel8'); // jb wait
    c.emit(0xfa); // cli
    c.emit(0xa0).ref('count', 'abs32'); // mov al, [count]
    c.emit(0x04, 0x30); // add al, '0'
    c.emit(0x66, 0xba, 0xf8, 0x03, 0xee); // out 0x3f8, al
    powerOff(c);
    c.label('timer');
    c.emit(0xff, 0x05).ref('count', 'abs32'); // inc dword [count]
    c.emit(0x50);
    outb(c, 0x20, 0x20); // EOI
    c.emit(0x58, 0xcf); // pop eax; iret
    while (c.here % 8) c.emit(0x90);
    c.label('idt');
    for (let v = 0; v < 33; v++) {
      if (v === 32) c.ref('timer', 'lo16').u16(0x08).u16(0x8e00).ref('timer', 'hi16');
      else c.u32(0).u32(0);
    }
    c.label('idtr')
      .u16(33 * 8 - 1)
      .ref('idt', 'abs32');
    c.label('count').u32(0);
    const { pc, out } = boot(c);
    const r = pc.run();
    expect(r.reason).toBe('power-off');
    expect(out()).toBe('5');
    // Five periods of 1193 PIT clocks at 100 M instructions per second: about 5 ms of
    // virtual time, nearly all of it asleep — far more than the instructions retired.
    expect(r.virtualNanoseconds).toBeGreaterThan(4.9e6);
    expect(r.virtualNanoseconds).toBeLessThan(5.2e6);
    expect(r.instructions).toBeLessThan(1000);
  });

  it('reports a triple fault (an interrupt with no IDT)', () => {
    const c = multibootCode().label('start');
    c.emit(0x0f, 0x01, 0x1d).ref('idtr', 'abs32'); // lidt [idtr] with limit 0
    c.emit(0xcd, 0x40); // int 0x40
    c.label('idtr').u16(0).u32(0);
    const { pc } = boot(c);
    expect(pc.run().reason).toBe('triple-fault');
  });

  it('stops at the instruction limit in an endless loop', () => {
    const c = multibootCode().label('start');
    c.label('spin').emit(0xeb).ref('spin', 'rel8');
    const { pc } = boot(c);
    const r = pc.run({ maxInstructions: 10_000, sliceInstructions: 3000 });
    expect(r.reason).toBe('instruction-limit');
    expect(r.instructions).toBe(10_000);
  });

  it('says what is wrong with a bad image or size', () => {
    const pc = createPc({ memoryMiB: 4, serial: () => undefined });
    expect(() => pc.boot(new Uint8Array(100))).toThrow(/multiboot header/);
    expect(() => createPc({ memoryMiB: 1, serial: () => undefined })).toThrow(/memoryMiB/);
    const big = multibootCode().label('start').emit(0xf4);
    expect(() => pc.boot(multibootElf(big.link(), 0x100060, 8 << 20))).toThrow(/does not fit/);
  });
});
