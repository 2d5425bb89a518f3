// Running a PC to its end (run-loop.ts) with hand-assembled kernels: each way a run ends,
// input held back until the guest raises RTS, the timeout on the PC's clock, pacing to a
// wall clock that moves only when slept on (so every number is exact), and the hooks a
// debugger or a snapshot writer would use.

import { PassThrough } from 'node:stream';
import { createPc, type Pc } from './pc';
import { PACE_LEAD_NS, lineBufferedSerial, type PcRunOptions, type WallClock } from './run-loop';
import { multibootCode, multibootElf, outb, powerOff, tickingKernel, type Code } from './test-image';

/** A wall clock that moves only when slept on. */
class FakeWall implements WallClock {
  ms = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.ms;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
    return new Promise((resolve) => setImmediate(resolve));
  }
}

function booted(code: Code): { pc: Pc; out: () => string; flush: () => void } {
  let text = '';
  const serial = lineBufferedSerial((bytes) => (text += String.fromCharCode(...bytes)));
  const pc = createPc({ memoryMiB: 4, serial: serial.serial });
  pc.boot(multibootElf(code.link(), code.addressOf('start')));
  return { pc, out: () => text, flush: serial.flush };
}

const spin = () => multibootCode().label('start').emit(0xeb, 0xfe); // jmp $

/** Spins `n` LOOP iterations: mov ecx, n; loop $. */
function delay(c: Code, n: number): Code {
  return c.emit(0xb9).u32(n).emit(0xe2, 0xfe);
}

/**
 * A kernel that waits a while with RTS low, resets the UART's FIFOs as a kernel's driver
 * does (anything put on the line before would be lost), raises RTS and echoes what it
 * receives until a 'q', then powers off.
 */
function echoKernel(): Code {
  const c = multibootCode().label('start');
  delay(c, 100_000);
  c.emit(0x66, 0xba, 0xfa, 0x03, 0xb0, 0x07, 0xee); // out 0x3fa (FCR), 7: enable, clear both FIFOs
  c.emit(0x66, 0xba, 0xfc, 0x03, 0xb0, 0x02, 0xee); // out 0x3fc (MCR), RTS
  c.label('poll');
  c.emit(0x66, 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01); // in al, 0x3fd (LSR); test al, 1
  c.emit(0x74).ref('poll', 'rel8'); // jz poll
  c.emit(0x66, 0xba, 0xf8, 0x03, 0xec, 0xee); // in al, 0x3f8; out 0x3f8, al
  c.emit(0x3c, 0x71, 0x75).ref('poll', 'rel8'); // cmp al, 'q'; jne poll
  powerOff(c);
  return c;
}

describe('runPc: running a PC to its end', () => {
  it('ends with power-off, reset, a halt for good or a triple fault, saying where', async () => {
    const off = multibootCode().label('start');
    powerOff(off);
    expect((await booted(off).pc.runToEnd()).end).toBe('power-off');

    const reset = multibootCode().label('start');
    outb(reset, 0x64, 0xfe); // the keyboard controller's reset line
    reset.emit(0xeb, 0xfe);
    expect((await booted(reset).pc.runToEnd()).end).toBe('reset');

    const halt = multibootCode().label('start').emit(0xfa, 0xf4); // cli; hlt
    const halted = await booted(halt).pc.runToEnd();
    expect(halted).toMatchObject({ end: 'halted', interruptsEnabled: false, eip: halt.addressOf('start') + 2 });

    const triple = multibootCode().label('start');
    triple.emit(0x0f, 0x01, 0x1d).ref('idtr', 'abs32').emit(0x0f, 0x0b); // lidt [empty]; ud2
    triple.label('idtr').u16(0).u32(0);
    expect((await booted(triple).pc.runToEnd()).end).toBe('triple-fault');
  });

  it('ends at the timeout on the PC clock, to the nanosecond when it runs flat out', async () => {
    const { pc } = booted(spin());
    const run = await pc.runToEnd({ timeoutNs: 5_000_000, sliceInstructions: 100_000 });
    expect(run.end).toBe('timeout');
    expect(run.virtualNs).toBe(5_000_000);
    expect(run.instructions).toBe(500_000); // 100 million instructions per virtual second
  });

  it('holds input back until the guest raises RTS, then delivers every byte in order', async () => {
    const { pc, out, flush } = booted(echoKernel());
    const input = new PassThrough();
    input.write('echo me q');
    const run = await pc.runToEnd({ input, flushOutput: flush, sliceInstructions: 50_000, timeoutNs: 100_000_000 });
    expect(run.end).toBe('power-off');
    expect(out()).toBe('echo me q');
    expect(run.inputBytes).toBe(9);
  });

  it('flushes a partial line after each slice, and whole lines as they come', async () => {
    const c = multibootCode().label('start');
    c.emit(0x66, 0xba, 0xf8, 0x03, 0xb0, 0x3e, 0xee); // '>' with no newline
    delay(c, 10_000_000);
    powerOff(c);
    const { pc, out, flush } = booted(c);
    const seen: string[] = [];
    await pc.runToEnd({
      flushOutput: flush,
      sliceInstructions: 100_000,
      hooks: { pause: () => void seen.push(out()) },
    });
    expect(seen[0]).toBe('');
    expect(seen[1]).toBe('>'); // the prompt, out before the second slice
  });

  it('ends with aborted at the next slice boundary once the signal is aborted', async () => {
    const { pc } = booted(spin());
    const abort = new AbortController();
    let pauses = 0;
    const run = await pc.runToEnd({
      signal: abort.signal,
      sliceInstructions: 10_000,
      hooks: { pause: () => void (++pauses === 3 && abort.abort('stop')) },
    });
    expect(run).toMatchObject({ end: 'aborted', instructions: 20_000 });
    expect(pauses).toBe(3);
  });

  it('holds a sleeping guest to the wall clock: never more than the lead ahead, slept through tick by tick', async () => {
    // 100 ticks of a 1 kHz PIT (divisor 1193: 0.99985 ms), asleep in HLT between them.
    const paced = booted(tickingKernel(100));
    const wall = new FakeWall();
    let worstLeadNs = -Infinity;
    const options: PcRunOptions = {
      holdToWall: true,
      wall,
      hooks: { pause: (pc) => void (worstLeadNs = Math.max(worstLeadNs, pc.clock.nanoseconds - wall.ms * 1e6)) },
    };
    const run = await paced.pc.runToEnd(options);
    expect(run.end).toBe('power-off');
    expect(worstLeadNs).toBeLessThanOrEqual(PACE_LEAD_NS);
    expect(run.virtualNs).toBeGreaterThanOrEqual(99.9e6);
    // The wall clock was slept up to the guest's time in short sleeps (to the next tick, or
    // until the wall clock has caught up with the lead), never in one long skip.
    expect(wall.ms * 1e6).toBeGreaterThanOrEqual(run.virtualNs - PACE_LEAD_NS);
    expect(wall.sleeps.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...wall.sleeps)).toBeLessThanOrEqual(PACE_LEAD_NS / 1e6 + 1e-6);

    // Flat out, the same guest never sleeps and retires the same instructions.
    const flat = booted(tickingKernel(100));
    const flatWall = new FakeWall();
    const flatRun = await flat.pc.runToEnd({ wall: flatWall });
    expect(flatRun.end).toBe('power-off');
    expect(flatWall.sleeps).toEqual([]);
    expect(flatRun.instructions).toBe(run.instructions);
  });

  it('lets an onStop hook take over a stop of the core and run on; without it the run ends there', async () => {
    const c = multibootCode().label('start');
    delay(c, 1_000_000);
    powerOff(c);
    let stops = 0;
    const stopOnce = { pause: (pc: Pc) => void (stops === 0 && pc.core.requestStop()) };
    const taken = await booted(c).pc.runToEnd({
      sliceInstructions: 100_000,
      hooks: { ...stopOnce, onStop: (_pc, r) => (stops++, r.reason === 'stopped') },
    });
    expect(taken.end).toBe('power-off');
    expect(stops).toBe(1);

    const ended = await booted(c).pc.runToEnd({
      sliceInstructions: 100_000,
      hooks: { pause: (pc) => pc.core.requestStop() },
    });
    expect(ended.end).toBe('stopped');
  });

  it('lets a debugger step one instruction per slice, take its results, and end the run', async () => {
    const c = multibootCode().label('start');
    delay(c, 1_000);
    powerOff(c);
    const { pc } = booted(c);
    let wakeSeen = false;
    let boundaries = 0;
    const steps: number[] = [];
    const run = await pc.runToEnd({
      sliceInstructions: 100_000,
      hooks: {
        started: (_pc, wake) => {
          wakeSeen = typeof wake === 'function';
        },
        // Five single steps, then the kill.
        pause: () => (++boundaries > 5 ? 'end' : 1),
        ran: (_pc, r) => (steps.push(r.instructions), true),
      },
    });
    expect(wakeSeen).toBe(true);
    expect(run.end).toBe('ended');
    expect(steps).toEqual([1, 1, 1, 1, 1]);
    expect(run.instructions).toBe(5);
  });
});
