// The whole PC with a real core: hand-assembled multiboot kernels that print on COM1 and
// power off, take PIT interrupts through the remapped PIC while sleeping in HLT, and die in
// the two ways a PC can (a triple fault; HLT with interrupts off). Also the loader's view of
// memory (the info structure) and the entry state it hands over, and runs bounded by a
// virtual-time deadline (how a caller holds the PC to a wall clock).

import { createPc } from './pc';
import { multibootCode, multibootElf, outb, powerOff, print, tickingKernel } from './test-image';
import type { Code } from './test-image';

function boot(code: Code, entry = 'start', memoryMiB = 4): { pc: ReturnType<typeof createPc>; out: () => string } {
  const bytes: number[] = [];
  const pc = createPc({ memoryMiB, serial: (b) => bytes.push(b) });
  pc.boot(multibootElf(code.link(), code.addressOf(entry)), 'console=ttyS0');
  return { pc, out: () => String.fromCharCode(...bytes) };
}

/**
 * A kernel that leaves CR0.NE clear, unmasks the zero-divide exception, divides 1 by 0 and
 * waits (FWAIT): FERR# must reach it as IRQ 13 through the remapped slave PIC (vector 0x2D),
 * whose handler prints 'F', clears the latch (port 0xF0) and the exception, and returns;
 * then it prints 'K' and powers off.
 */
function ferrKernel(): Code {
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
    [0x21, 0xfb],
    [0xa1, 0xdf],
  ]) {
    outb(c, port, value);
  }
  c.emit(0x0f, 0x01, 0x1d).ref('idtr', 'abs32'); // lidt [idtr]
  c.emit(0xdb, 0xe3); // fninit
  c.emit(0xd9, 0x2d).ref('cw', 'abs32'); // fldcw [cw]
  c.emit(0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9); // fld1; fldz; fdivp: 1/0, ZE unmasked
  c.emit(0xfb); // sti
  c.emit(0x9b); // fwait: FERR#
  c.emit(0x90, 0x90);
  print(c, 'K');
  powerOff(c);
  c.label('fpuerr');
  print(c, 'F');
  c.emit(0xe6, 0xf0); // out 0xf0, al: clear the latch
  c.emit(0xdb, 0xe2); // fnclex
  outb(c, 0xa0, 0x20);
  outb(c, 0x20, 0x20);
  c.emit(0xcf); // iret
  while (c.here % 8) c.emit(0x90);
  c.label('idt');
  for (let v = 0; v < 0x2e; v++) {
    if (v === 0x2d) c.ref('fpuerr', 'lo16').u16(0x08).u16(0x8e00).ref('fpuerr', 'hi16');
    else c.u32(0).u32(0);
  }
  c.label('idtr')
    .u16(0x2e * 8 - 1)
    .ref('idt', 'abs32');
  c.label('cw').u16(0x37b);
  return c;
}

describe('the emulated PC', () => {
  it('routes FERR# of an unmasked x87 exception to IRQ 13 when CR0.NE is clear', () => {
    const { pc, out } = boot(ferrKernel());
    const r = pc.run();
    expect(r.reason).toBe('power-off');
    expect(out()).toBe('FK');
  });

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

  it('loads the command line and then the boot modules page-aligned after the kernel, and lists them', () => {
    const c = multibootCode().label('start');
    c.emit(0xf4);
    const pc = createPc({ memoryMiB: 8, serial: () => undefined });
    const initrd = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const second = new TextEncoder().encode('second module');
    // 0x1234 bytes of BSS: the kernel ends off a page boundary, and its BSS is its own.
    const boot = pc.boot(multibootElf(c.link(), c.addressOf('start'), 0x1234), 'console=ttyS0', [
      { data: initrd, string: '/boot/initrd.cpio' },
      { data: second, string: 'two' },
    ]);
    const kernelEnd = boot.loadEnd;
    expect(kernelEnd % 4096).not.toBe(0);
    // The command line on the first page past the kernel (RAM a kernel's allocator hands out
    // first, as on QEMU), the modules from the page after it.
    const cmdline = Math.ceil(kernelEnd / 4096) * 4096;
    const first = cmdline + 4096;
    const next = Math.ceil((first + 5000) / 4096) * 4096;
    expect(boot.modules.map(({ start, end }) => [start, end])).toEqual([
      [first, first + 5000],
      [next, next + second.length],
    ]);

    const mem = new DataView(pc.machine.memory);
    const ram = new Uint8Array(pc.machine.memory);
    const info = pc.core.getState().ebx;
    expect(mem.getUint32(info, true) & (1 << 3)).toBe(1 << 3); // MBI_MODS
    expect(mem.getUint32(info + 20, true)).toBe(2); // mods_count
    expect(mem.getUint32(info + 16, true)).toBe(cmdline);
    expect(String.fromCharCode(...ram.subarray(cmdline, ram.indexOf(0, cmdline)))).toBe('console=ttyS0');
    const list = mem.getUint32(info + 24, true); // mods_addr
    const cString = (at: number) => String.fromCharCode(...ram.subarray(at, ram.indexOf(0, at)));
    const entries = [0, 1].map((i) => ({
      start: mem.getUint32(list + i * 16, true),
      end: mem.getUint32(list + i * 16 + 4, true),
      string: cString(mem.getUint32(list + i * 16 + 8, true)),
      reserved: mem.getUint32(list + i * 16 + 12, true),
    }));
    expect(entries).toEqual([
      { start: first, end: first + 5000, string: '/boot/initrd.cpio', reserved: 0 },
      { start: next, end: next + second.length, string: 'two', reserved: 0 },
    ]);
    expect(ram.subarray(first, first + 5000)).toEqual(initrd);
    expect(ram.subarray(next, next + second.length)).toEqual(second);
    // The module list and strings are loader data in low memory, below the kernel.
    expect(list).toBeLessThan(0x100000);
    expect(pc.run().reason).toBe('halted');
  });

  it('gives no module fields when there are no modules', () => {
    const c = multibootCode().label('start');
    c.emit(0xf4);
    const { pc } = boot(c);
    const info = pc.core.getState().ebx;
    expect(new DataView(pc.machine.memory).getUint32(info, true) & (1 << 3)).toBe(0);
  });

  it('refuses a module that does not fit in RAM, naming it', () => {
    const c = multibootCode().label('start');
    c.emit(0xf4);
    const pc = createPc({ memoryMiB: 4, serial: () => undefined });
    const image = multibootElf(c.link(), c.addressOf('start'));
    // 3 MiB fits between 1 MiB and the end of 4 MiB only if the kernel took no room at all.
    const big = { data: new Uint8Array(3 << 20), string: 'big.cpio' };
    expect(() => pc.boot(image, '', [big])).toThrow(
      /^module 1 \('big\.cpio', 3145728 bytes\) does not fit in 4 MiB of RAM: it would occupy 0x102000-0x402000, after the kernel and its command line, which end at 0x[0-9a-f]+; give the machine more memory$/,
    );
    expect(() => pc.boot(image, '', [{ data: new Uint8Array(100), string: 'ok' }, big])).toThrow(/^module 2 /);
    expect(pc.boot(image, '', [{ data: new Uint8Array(2 << 20), string: 'fits' }]).modules).toHaveLength(1);
  });

  it('takes PIT interrupts through the remapped PIC while the CPU sleeps in HLT', () => {
    const c = tickingKernel(5);
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

  it('stops a halted CPU at a virtual-time deadline instead of skipping to its next timer interrupt', () => {
    const c = tickingKernel(100);
    const { pc } = boot(c);
    const ticks = () => new DataView(pc.machine.memory).getUint32(c.addressOf('count'), true);
    // Ticks come every 1193 PIT clocks (999.8 µs); the CPU sleeps in between.
    const r = pc.run({ untilNs: 2_500_000 });
    expect(r.reason).toBe('deadline');
    expect(ticks()).toBe(2);
    // Time is at the deadline — not past it, and not short of it by a whole instruction (10 ns).
    expect(r.virtualNanoseconds).toBeLessThanOrEqual(2_500_000);
    expect(r.virtualNanoseconds).toBeGreaterThanOrEqual(2_500_000 - 10);
    expect(pc.clock.nanoseconds).toBe(r.virtualNanoseconds);
    // Still asleep, with the third tick next.
    expect(pc.core.getState().halted).toBe(true);
    expect(r.idleUntilNs).toBeGreaterThan(2_999_000);
    expect(r.idleUntilNs).toBeLessThan(3_000_000);
    // A deadline that has passed runs nothing and moves no time.
    expect(pc.run({ untilNs: 1_000_000 })).toMatchObject({
      reason: 'deadline',
      instructions: 0,
      virtualNanoseconds: r.virtualNanoseconds,
      idleUntilNs: r.idleUntilNs,
    });
    // The next run sleeps on from where this one stopped and takes the third tick when due.
    const next = pc.run({ untilNs: 3_500_000 });
    expect(next.reason).toBe('deadline');
    expect(ticks()).toBe(3);
    expect(next.instructions).toBeGreaterThan(0);
    expect(next.virtualNanoseconds).toBeLessThanOrEqual(3_500_000);
    expect(next.idleUntilNs).toBeGreaterThan(3_999_000);
  });

  it('gives the same run, instruction for instruction, when it is cut into deadlines', () => {
    const whole = boot(tickingKernel(20));
    const reference = whole.pc.run();
    expect(reference.reason).toBe('power-off');

    const c = tickingKernel(20);
    const { pc, out } = boot(c);
    const ticks = () => new DataView(pc.machine.memory).getUint32(c.addressOf('count'), true);
    const periodNs = (1193 / 1_193_182) * 1e9;
    // Steps that fall anywhere relative to the ticks.
    const step = 137_000;
    let instructions = 0;
    let last = 0;
    let deadlines = 0;
    for (let untilNs = step; ; untilNs += step) {
      const r = pc.run({ untilNs });
      instructions += r.instructions;
      expect(r.virtualNanoseconds).toBeGreaterThanOrEqual(last);
      expect(r.virtualNanoseconds).toBeLessThanOrEqual(untilNs);
      last = r.virtualNanoseconds;
      if (r.reason === 'power-off') break;
      expect(r.reason).toBe('deadline');
      deadlines++;
      expect(r.virtualNanoseconds).toBeGreaterThanOrEqual(untilNs - 10); // within an instruction (10 ns)
      // Every tick due by the deadline was taken (but the last one's few instructions), no later one.
      expect(ticks()).toBeLessThanOrEqual(Math.floor(untilNs / periodNs));
      expect(ticks()).toBeGreaterThanOrEqual(Math.floor((untilNs - 1000) / periodNs));
      if (r.idleUntilNs !== undefined) expect(r.idleUntilNs).toBeGreaterThan(untilNs);
    }
    expect(deadlines).toBeGreaterThan(100);
    expect(out()).toBe(whole.out());
    expect(last).toBe(reference.virtualNanoseconds);
    expect(instructions).toBe(reference.instructions);
    expect(pc.core.getState().instructions).toBe(reference.instructions);
  });

  it('stops a running CPU at a deadline too, to the instruction, alongside the instruction limit', () => {
    const c = multibootCode().label('start');
    c.label('spin').emit(0xeb).ref('spin', 'rel8');
    const { pc } = boot(c);
    // 100 M instructions per second: 10 ns each. 1005 ns is 100 instructions and a half.
    const r = pc.run({ untilNs: 1005 });
    expect(r).toMatchObject({ reason: 'deadline', instructions: 100, virtualNanoseconds: 1000 });
    expect(r.idleUntilNs).toBeUndefined();
    expect(pc.run({ untilNs: 1005 })).toMatchObject({ reason: 'deadline', instructions: 0 });
    expect(pc.run({ untilNs: 2000, maxInstructions: 30 })).toMatchObject({
      reason: 'instruction-limit',
      instructions: 30,
    });
    expect(pc.run({ untilNs: 2000, sliceInstructions: 7 })).toMatchObject({ reason: 'deadline', instructions: 70 });
    // No deadline unless asked for.
    expect(pc.run({ maxInstructions: 1000 })).toMatchObject({ reason: 'instruction-limit', instructions: 1000 });
    expect(pc.core.getState().instructions).toBe(1200);
    expect(pc.clock.nanoseconds).toBe(12_000);
    expect(() => pc.run({ untilNs: NaN })).toThrow(/untilNs/);
  });

  it('says what is wrong with a bad image or size', () => {
    const pc = createPc({ memoryMiB: 4, serial: () => undefined });
    expect(() => pc.boot(new Uint8Array(100))).toThrow(/multiboot header/);
    expect(() => createPc({ memoryMiB: 1, serial: () => undefined })).toThrow(/memoryMiB/);
    const big = multibootCode().label('start').emit(0xf4);
    expect(() => pc.boot(multibootElf(big.link(), 0x100060, 8 << 20))).toThrow(/does not fit/);
  });
});
