// `lguest run --native --gdb`: the PC's guest under gdb. Natively the guest owns the CPU in
// ring 0, so its registers are the core's, its virtual addresses go through the core's own
// CR3, and the PC's run loop (`pc.runToEnd`, whose hooks this is) stops between its slices. Breakpoints are the core's
// (`setBreakpoint`): the core ends its run before the instruction, and RF lets the next run
// execute it. A single step is a run of one instruction (an interrupt that is due may be
// taken first: the step then ends in its handler). Watchpoints are the core's as well
// (`setWatchpoint`): the core ends its run after the instruction whose access hit one, and
// the run's result says which.

import type { BreakpointKind, DebugTarget, StopReason, WatchpointKind } from '@lguest/gdbstub';
import type { PauseAnswer, Pc, PcRunHooks, RunResult } from '@lguest/pc';
import {
  WatchKind,
  withX87Registers,
  x87Registers,
  type CpuState,
  type SegmentState,
  type X87Registers,
} from '@lguest/x86';

const EFLAGS_SAFE = 0x3f7fd7;
const PG = 0x80000000;
const PSE = 0x10;
const PAGE_SIZE = 4096;
const WATCH_KINDS: Record<WatchpointKind, WatchKind> = {
  write: WatchKind.Write,
  read: WatchKind.Read,
  access: WatchKind.Access,
};
const WATCH_NAMES = ['', 'write', 'read', 'access'] as const;

export class PcDebug implements DebugTarget, PcRunHooks {
  stopped = false;
  exited: number | null = null;
  private pc: Pc | null = null;
  private wakeLoop: () => void = () => {};
  private pending: StopReason | null;
  private stepping = false;
  private killed = false;
  private resumed: (() => void) | null = null;
  private signal: AbortSignal | undefined;
  private readonly breakpoints = new Map<number, number>();
  /** Watchpoints as the core has them, by `kind:addr:length`. */
  private readonly watchpoints = new Map<string, { linear: number; length: number; kind: WatchKind }>();

  constructor(
    waitAtStart: boolean,
    private readonly stoppedAt: (why: StopReason) => void,
  ) {
    this.pending = waitAtStart ? { kind: 'trap' } : null;
  }

  // ------------------------------------------------------------------ the run loop's side

  /** The PC exists, before its first instruction; `wake` ends any sleep of the run loop. */
  started(pc: Pc, wake: () => void, signal?: AbortSignal): void {
    this.pc = pc;
    this.wakeLoop = wake;
    this.signal = signal;
  }

  /**
   * At each slice boundary: waits while the guest is stopped (or until the run is aborted);
   * a step is a slice of one instruction; a kill ends the run.
   */
  async pause(): Promise<PauseAnswer> {
    const signal = this.signal;
    if (this.pending) {
      const why = this.pending;
      this.pending = null;
      this.stepping = false;
      this.stopped = true;
      this.stoppedAt(why);
      await new Promise<void>((resolve) => {
        this.resumed = resolve;
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      this.resumed = null;
    }
    if (this.killed) return 'end';
    return this.stepping ? 1 : undefined;
  }

  /** After each slice: true if it ended for the debugger (a breakpoint, a step). */
  ran(_pc: Pc, r: RunResult): boolean {
    // A watchpoint first: a step whose instruction hit one is reported as the hit, as gdb expects.
    if (r.reason === 'stopped' && r.watchpoint !== undefined) {
      this.pending = { kind: 'watch', watch: WATCH_NAMES[r.watchpoint.kind], address: r.watchpoint.address };
      return true;
    }
    if (this.stepping && r.instructions > 0) {
      this.pending = { kind: 'trap' };
      return true;
    }
    if (r.reason === 'stopped' && this.breakpoints.has(r.eip >>> 0)) {
      this.pending = { kind: 'trap' };
      return true;
    }
    return this.pending !== null;
  }

  // ------------------------------------------------------------------ the debugger's side

  private state(): CpuState {
    if (!this.pc) throw new Error('BUG: the PC debugger has no PC yet');
    return this.pc.core.getState();
  }

  readRegisters(regs: Uint32Array): void {
    const s = this.state();
    const seg = (x: SegmentState): number => x.selector;
    const values = [s.eax, s.ecx, s.edx, s.ebx, s.esp, s.ebp, s.esi, s.edi, s.eip, s.eflags];
    values.push(seg(s.cs), seg(s.ss), seg(s.ds), seg(s.es), seg(s.fs), seg(s.gs));
    regs.set(values.map((v) => v >>> 0));
  }

  /** General registers, EIP and EFLAGS; the segment registers' hidden parts cannot be set from a selector. */
  writeRegister(index: number, value: number): boolean {
    if (!this.stopped || index < 0 || index > 9) return false;
    const s = this.state();
    const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip', 'eflags'] as const;
    s[names[index]] = index === 9 ? ((value & EFLAGS_SAFE) | 2) >>> 0 : value >>> 0;
    this.pc?.core.setState(s);
    return true;
  }

  /** The core's x87 registers (the guest owns the CPU); null on a core without an FPU. */
  readFpu(): X87Registers | null {
    const core = this.pc?.core;
    return core?.saveFpu ? x87Registers(core.saveFpu()) : null;
  }

  writeFpu(regs: X87Registers): boolean {
    const core = this.pc?.core;
    if (!this.stopped || !core?.saveFpu || !core.restoreFpu) return false;
    core.restoreFpu(withX87Registers(core.saveFpu(), regs));
    return true;
  }

  readMemory(addr: number, dest: Uint8Array): number {
    return this.copy(addr, dest, false);
  }

  writeMemory(addr: number, bytes: Uint8Array): number {
    return this.copy(addr, bytes, true);
  }

  private copy(addr: number, buf: Uint8Array, write: boolean): number {
    const pc = this.pc;
    if (!pc) return 0;
    const s = this.state();
    const ram = new Uint8Array(pc.machine.memory);
    let done = 0;
    while (done < buf.length && addr + done <= 0xffffffff) {
      const va = (addr + done) >>> 0;
      const phys = linearToPhysical(ram, s, va);
      const chunk = Math.min(buf.length - done, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
      if (phys < 0 || phys + chunk > ram.length) break;
      if (write) {
        ram.set(buf.subarray(done, done + chunk), phys);
        pc.core.invalidatePhysical(phys, chunk);
      } else buf.set(ram.subarray(phys, phys + chunk), done);
      done += chunk;
    }
    return done;
  }

  insertBreakpoint(_kind: BreakpointKind, addr: number): boolean {
    const a = addr >>> 0;
    const n = this.breakpoints.get(a) ?? 0;
    this.breakpoints.set(a, n + 1);
    if (n === 0) this.pc?.core.setBreakpoint(a);
    return this.pc !== null;
  }

  removeBreakpoint(_kind: BreakpointKind, addr: number): boolean {
    const a = addr >>> 0;
    const n = this.breakpoints.get(a);
    if (n === undefined) return false;
    if (n > 1) this.breakpoints.set(a, n - 1);
    else {
      this.breakpoints.delete(a);
      this.pc?.core.clearBreakpoint(a);
    }
    return true;
  }

  insertWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    if (!this.pc) return false;
    const key = `${kind}:${addr >>> 0}:${length}`;
    if (this.watchpoints.has(key)) return true;
    const w = { linear: addr >>> 0, length, kind: WATCH_KINDS[kind] };
    this.pc.core.setWatchpoint(w.linear, w.length, w.kind);
    this.watchpoints.set(key, w);
    return true;
  }

  removeWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    const key = `${kind}:${addr >>> 0}:${length}`;
    const w = this.watchpoints.get(key);
    if (!w) return false;
    this.watchpoints.delete(key);
    this.pc?.core.clearWatchpoint(w.linear, w.length, w.kind);
    return true;
  }

  resume(step: boolean): void {
    if (!this.stopped) return;
    this.stepping = step;
    this.stopped = false;
    this.resumed?.();
  }

  interrupt(): void {
    if (this.stopped || this.pending) return;
    this.pending = { kind: 'interrupted' };
    // A run ends within a slice; a loop asleep (idle guest, paced clock) wakes now.
    this.pc?.core.requestStop();
    this.wakeLoop();
  }

  detach(): void {
    for (const a of this.breakpoints.keys()) this.pc?.core.clearBreakpoint(a);
    this.breakpoints.clear();
    for (const w of this.watchpoints.values()) this.pc?.core.clearWatchpoint(w.linear, w.length, w.kind);
    this.watchpoints.clear();
    this.pending = null;
    this.stepping = false;
    if (this.stopped) this.resume(false);
  }

  kill(): void {
    this.detach();
    this.killed = true;
    this.wakeLoop();
  }
}

/**
 * The physical address the CPU would use for `linear` with this state's paging (4 KiB
 * pages, and 4 MiB ones under CR4.PSE), or -1 if it is not mapped. Reads the tables
 * without touching their accessed bits, as a debugger should.
 */
export function linearToPhysical(ram: Uint8Array, s: CpuState, linear: number): number {
  if ((s.cr0 & PG) === 0) return linear >>> 0;
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const pdeAddr = ((s.cr3 & ~0xfff) + (linear >>> 22) * 4) >>> 0;
  if (pdeAddr + 4 > ram.length) return -1;
  const pde = view.getUint32(pdeAddr, true);
  if ((pde & 1) === 0) return -1;
  if (pde & 0x80 && s.cr4 & PSE) return ((pde & 0xffc00000) + (linear & 0x3fffff)) >>> 0;
  const pteAddr = ((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4) >>> 0;
  if (pteAddr + 4 > ram.length) return -1;
  const pte = view.getUint32(pteAddr, true);
  if ((pte & 1) === 0) return -1;
  return ((pte & ~0xfff) + (linear & 0xfff)) >>> 0;
}
