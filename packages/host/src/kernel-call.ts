// Running x86 code as the host kernel. This is the one place the host puts the CPU to work,
// and it is how every guest instruction gets executed: lg's run_guest_once is a few bytes of
// x86 that pushf + lcall into the switcher, and lg runs them with callKernel. The CPU enters
// host kernel context — CS 0x60, SS/DS/ES 0x68, FS the per-CPU segment, CPL 0, the host
// GDT/IDT/TSS loaded, the *current process's* CR3 (lguest runs in the launcher's context,
// so the switcher saves and restores the launcher's page directory) — with the return stub's
// address on the kernel stack, and runs until the return stub escapes.
//
// While it runs, the host is alive around it:
//  * the clock advances and the clock event fires: when a timer or the scheduler tick is due,
//    vector 0x20 is raised on the host interrupt controller, and a CPU with IF set takes it —
//    even in the middle of a guest, through the switcher's deliver_to_host — so a guest in
//    an endless loop cannot keep the host from running;
//  * host interrupts arrive at the stubs (escape ESC_INTERRUPT), run their TypeScript
//    handlers, and the CPU continues with the stub's iret;
//  * a page fault the host kernel takes on a user address of the current process is
//    resolved like do_page_fault (demand paging), and anything else is an oops.
// The call returns what the CPU ended with: the routine's registers, a stop requested by a
// handler, or a failure with a message (triple fault, oops, a halt that can never end).

import { Exit, type CpuCore, type CpuState, type WatchHit, type WatchKind } from '@lguest/x86';
import type { BootLayout } from './head';
import type { Clock } from './clock';
import type { TimerBase } from './timers';
import { HostPic, IrqTable, type HostInterrupt, type InterruptFrame } from './irq';
import { descriptorCache, nullSegment } from './descriptors';
import {
  X86_EFLAGS_IF,
  ESC_INTERRUPT,
  ESC_RETURN,
  GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS,
  GDT_ENTRY_PERCPU,
  GDT_ENTRY_TSS,
  GDT_LIMIT,
  HOST_CR0,
  HOST_CR4,
  IDT_LIMIT,
  KERNEL_EFLAGS,
  TASK_SIZE,
  TIMER_VECTOR,
  __KERNEL_CS,
  __KERNEL_DS,
  __KERNEL_PERCPU,
  TSS_SELECTOR,
  hasErrorCode,
} from './layout';
import { translate } from './pgtable';

/** General registers in and out of a kernel call (unsigned 32-bit). */
export interface KernelRegs {
  eax: number;
  ecx: number;
  edx: number;
  ebx: number;
  esi: number;
  edi: number;
  ebp: number;
  eflags: number;
}

export interface KernelCallOptions {
  /** CR0 for the call (lg sets TS when the guest asked for it). Default HOST_CR0. */
  cr0?: number;
  /** Give up ("failed", a soft lockup) after this many instructions. Default: no limit. */
  maxInstructions?: number;
  /** Instruction breakpoints for this call alone (a debugger's; see CallBreakpoints). */
  breakpoints?: CallBreakpoints;
}

/**
 * Breakpoints that live only while one kernel call runs: put into the core when it starts,
 * taken out when it ends, so no other call (and no call while there are none) pays for them.
 * When the CPU is about to execute an instruction at one of `addresses` (linear), `hit` is
 * told where and at which privilege level, and the call goes on: the instruction then runs
 * (the core's RF), unless `hit` raised an interrupt, which the CPU takes first.
 */
export interface CallBreakpoints {
  readonly addresses: readonly number[];
  hit(linear: number, cpl: number): void;
  /**
   * Data watchpoints for the call (`CpuCore.setWatchpoint`), put in and taken out with the
   * breakpoints. After an instruction that hit one, `watchHit` is told which and at which
   * privilege level the CPU now is, and the call goes on (the interrupt it may raise is
   * taken before the next instruction).
   */
  readonly watchpoints?: readonly { readonly linear: number; readonly length: number; readonly kind: WatchKind }[];
  watchHit?(hit: WatchHit, cpl: number): void;
}

export type KernelCall =
  /** The routine returned (executed `ret` into the return stub). */
  | { readonly status: 'returned'; readonly regs: KernelRegs; readonly cr2: number; readonly instructions: number }
  /** A handler called stopKernelCall, or a breakpoint was hit; the CPU is left where it was. */
  | { readonly status: 'stopped'; readonly reason: string; readonly instructions: number }
  /** The CPU cannot go on: triple fault, kernel oops, hopeless halt, watchdog, bad escape. */
  | { readonly status: 'failed'; readonly reason: string; readonly exit: Exit; readonly instructions: number };

/** What the kernel-call machinery needs from the rest of the host. */
export interface KernelCpuDeps {
  readonly core: CpuCore;
  readonly ram8: Uint8Array;
  readonly ram32: Int32Array;
  readonly layout: BootLayout;
  readonly pic: HostPic;
  readonly irqs: IrqTable;
  readonly clock: Clock;
  readonly timers: TimerBase;
  readonly tickNs: number;
  /** CR3 for a call: the current process's page directory, or swapper_pg_dir. */
  currentCr3(): number;
  /** do_page_fault for a user address of the current process: true if resolved. */
  userPageFault(address: number, write: boolean): boolean;
}

/** Instructions per core.run() between looks at the clock (host mode). */
const HOST_CHUNK = 1 << 14;
/** The largest single run in virtual mode (the next deadline usually comes first). */
const VIRTUAL_CHUNK = 1 << 22;

export class KernelCpu {
  /** Scheduler ticks delivered (each one marks the running task for rescheduling). */
  ticks = 0;
  /** Set by the tick; Host.condResched clears it by yielding to the event loop. */
  needResched = false;

  private readonly d: KernelCpuDeps;
  private readonly state: CpuState;
  private readonly irq: StubInterrupt;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private inCall = false;
  private inRun = false;
  private servicing = false;
  private stopReason: string | null = null;
  private failReason: string | null = null;
  private nextTick = 0;
  private clockRaised = false;
  private lastCr2 = 0;
  private breakpoints: CallBreakpoints | null = null;

  constructor(deps: KernelCpuDeps) {
    this.d = deps;
    this.state = this.kernelState();
    this.irq = new StubInterrupt(this);
  }

  /** Whether a kernel call is executing (handlers and timer callbacks run inside one). */
  get running(): boolean {
    return this.inCall;
  }

  /**
   * Run the x86 routine at kernel address `eip` in host kernel context until it returns.
   * Registers not given start at 0; EFLAGS defaults to KERNEL_EFLAGS (IF set). Not
   * re-entrant: calling it from a handler or a timer callback is a host bug and throws.
   */
  call(eip: number, regs: Partial<KernelRegs> = {}, options: KernelCallOptions = {}): KernelCall {
    if (this.inCall) throw new Error('BUG: callKernel re-entered from an interrupt handler or timer callback');
    const d = this.d;
    const st = this.state;
    st.eax = (regs.eax ?? 0) >>> 0;
    st.ecx = (regs.ecx ?? 0) >>> 0;
    st.edx = (regs.edx ?? 0) >>> 0;
    st.ebx = (regs.ebx ?? 0) >>> 0;
    st.esi = (regs.esi ?? 0) >>> 0;
    st.edi = (regs.edi ?? 0) >>> 0;
    st.ebp = (regs.ebp ?? 0) >>> 0;
    st.eflags = ((regs.eflags ?? KERNEL_EFLAGS) | 2) >>> 0;
    st.eip = eip >>> 0;
    st.esp = (d.layout.kernelStackTopVa - 4) >>> 0;
    st.cr0 = (options.cr0 ?? HOST_CR0) >>> 0;
    st.cr2 = this.lastCr2;
    st.cr3 = d.currentCr3() >>> 0;
    st.halted = false;
    // The core's default TSC counts instructions; in virtual mode that is the clock itself.
    st.instructions = d.clock.mode === 'virtual' ? d.clock.now() : d.clock.instructions;
    d.ram32[(d.layout.kernelStackTopPhys - 4) >>> 2] = d.layout.returnStubVa | 0;
    // As after ltr: the host TSS descriptor is busy (an interrupted switch may have cleared it).
    d.ram8[d.layout.gdtPhys + GDT_ENTRY_TSS * 8 + 5] |= 0x02;
    // The host reports its page-table changes (invalidatePhysical, flushTlb) and every write
    // it makes into memory that may hold code (loading code, copies to user memory, DMA, the
    // page cache: invalidatePhysical; the stack word and the GDT byte above are neither), so
    // the core may keep every address space's translations and its compiled code: a trip
    // through the switcher needs them.
    d.core.setState(st, { keepTranslations: true });

    const breakpoints = options.breakpoints ?? null;
    if (breakpoints) {
      for (const a of breakpoints.addresses) d.core.setBreakpoint(a);
      for (const w of breakpoints.watchpoints ?? []) d.core.setWatchpoint(w.linear, w.length, w.kind);
    }
    this.breakpoints = breakpoints;
    this.inCall = true;
    this.stopReason = null;
    this.failReason = null;
    const start = d.clock.instructions;
    const limit = options.maxInstructions ?? Infinity;
    const now = d.clock.now();
    // Tickless idle: the tick starts counting again when there is work.
    if (this.nextTick <= now) this.nextTick = now + d.tickNs;
    // A call that ended mid-delivery (stopped, failed) may have taken the clock interrupt
    // without reaching its handler: the clock event must be re-armed, not left pending.
    if (this.clockRaised && !d.pic.isPending(TIMER_VECTOR)) this.clockRaised = false;
    try {
      return this.runLoop(start, limit);
    } finally {
      if (breakpoints) {
        for (const a of breakpoints.addresses) d.core.clearBreakpoint(a);
        for (const w of breakpoints.watchpoints ?? []) d.core.clearWatchpoint(w.linear, w.length, w.kind);
      }
      this.breakpoints = null;
      this.inCall = false;
      this.inRun = false;
      this.serviceInterrupts();
    }
  }

  /** From a handler or port callback: end the current kernel call with status 'stopped'. */
  stop(reason: string): boolean {
    if (!this.inCall) return false;
    this.stopReason ??= reason;
    if (this.inRun) this.d.core.requestStop();
    return true;
  }

  /**
   * Raise a host interrupt. While a kernel call runs the CPU takes it (when IF allows);
   * otherwise the CPU is idle with interrupts enabled and the handlers run at once.
   */
  raise(vector: number): void {
    this.d.pic.raise(vector);
    if (!this.inCall) this.serviceInterrupts();
  }

  /**
   * What local_irq_enable does after the switcher returns: service interrupts that came in
   * while the CPU had IF clear, and timers whose deadline passed, from TypeScript.
   */
  serviceInterrupts(): void {
    const d = this.d;
    // Inside a call the CPU takes them; inside this loop (a handler raised another) the
    // loop below picks it up.
    if (this.inCall || this.servicing) return;
    this.servicing = true;
    try {
      d.timers.runExpired(d.clock.now());
      while (d.pic.intrPending()) {
        const vector = d.pic.acknowledge();
        this.irq.begin(vector, false);
        if (vector === TIMER_VECTOR) this.timerInterrupt();
        if (d.irqs.dispatch(this.irq) === 0 && vector !== TIMER_VECTOR) d.irqs.spurious++;
      }
      d.core.irqLine = false;
    } finally {
      this.servicing = false;
    }
  }

  // ------------------------------------------------------------------ the loop

  private runLoop(start: number, limit: number): KernelCall {
    const d = this.d;
    for (;;) {
      const done = d.clock.instructions - start;
      if (done >= limit) {
        return this.fail(`soft lockup: no return after ${done} instructions`, Exit.Budget, start);
      }
      const budget = Math.max(1, Math.min(this.budget(), limit - done));
      this.inRun = true;
      const exit = d.core.run(budget);
      this.inRun = false;
      d.clock.retire(d.core.retired);
      this.programClockEvent();
      switch (exit) {
        case Exit.Budget:
          break;
        case Exit.HostEscape: {
          const code = d.core.escapeCode;
          if (code === ESC_RETURN) return this.returned(start);
          if (code !== ESC_INTERRUPT) {
            return this.fail(`unknown host escape 0x${code.toString(16)}`, exit, start);
          }
          this.interrupt(d.ram8[d.layout.irqVectorSlotPhys]);
          if (this.failReason !== null) return this.fail(this.failReason, exit, start);
          if (this.stopReason !== null) return this.stopped(this.stopReason, start);
          break;
        }
        case Exit.Halt:
          if (!this.waitForInterrupt()) {
            return this.fail('CPU halted with interrupts disabled (the machine would hang here)', exit, start);
          }
          break;
        case Exit.TripleFault:
          return this.fail('triple fault: the CPU shut down', exit, start);
        case Exit.Breakpoint:
          if (this.breakpoints) {
            const st = d.core.getState();
            this.breakpoints.hit((st.cs.base + st.eip) >>> 0, st.cpl);
            break;
          }
          return this.stopped('breakpoint', start);
        case Exit.Watchpoint: {
          const hit = d.core.watchHit();
          if (this.breakpoints?.watchHit && hit) {
            this.breakpoints.watchHit(hit, d.core.getState().cpl);
            break;
          }
          return this.stopped('watchpoint', start);
        }
        case Exit.Stopped:
          if (this.stopReason !== null) return this.stopped(this.stopReason, start);
          break;
      }
    }
  }

  /** Instructions to run before the clock must be looked at again. */
  private budget(): number {
    const d = this.d;
    if (d.clock.mode !== 'virtual') return HOST_CHUNK;
    if (this.clockRaised) return VIRTUAL_CHUNK;
    const delta = this.nextClockEvent() - d.clock.now();
    if (delta <= 0) {
      this.raiseClock();
      return VIRTUAL_CHUNK;
    }
    return Math.min(VIRTUAL_CHUNK, delta);
  }

  /** The earliest of the next timer deadline and the next tick. */
  private nextClockEvent(): number {
    return Math.min(this.d.timers.nextExpiry(), this.nextTick);
  }

  /** After each run: if a deadline has passed, the clock event device interrupts. */
  private programClockEvent(): void {
    if (!this.clockRaised && this.d.clock.now() >= this.nextClockEvent()) this.raiseClock();
  }

  private raiseClock(): void {
    this.clockRaised = true;
    this.d.pic.raise(TIMER_VECTOR);
  }

  /** The host timer interrupt: run expired hrtimers, and the scheduler tick if due. */
  private timerInterrupt(): void {
    const d = this.d;
    this.clockRaised = false;
    const now = d.clock.now();
    d.timers.runExpired(now);
    if (this.inCall && now >= this.nextTick) {
      this.ticks++;
      this.needResched = true;
      this.nextTick = now + d.tickNs;
    }
  }

  /** The CPU escaped from interrupt stub `vector`: run the host's side of it. */
  private interrupt(vector: number): void {
    const d = this.d;
    this.irq.begin(vector, true);
    if (vector === TIMER_VECTOR) this.timerInterrupt();
    if (vector === 14 && this.pageFault()) return;
    const handled = d.irqs.dispatch(this.irq);
    if (handled > 0 || vector === TIMER_VECTOR) return;
    if (vector < 32) this.failReason = this.oops(vector);
    else d.irqs.spurious++;
  }

  /** do_page_fault for a fault taken in host kernel context. */
  private pageFault(): boolean {
    const f = this.irq.frame();
    if (!f || f.errorCode === null) return false;
    // A fault on a user address of the current process: demand paging, as for copy_to_user.
    if (f.cr2 >>> 0 < TASK_SIZE && this.d.userPageFault(f.cr2, (f.errorCode & 2) !== 0)) {
      this.d.core.flushTlb();
      return true;
    }
    return false;
  }

  /** The message Linux would print for an exception the host kernel cannot handle. */
  private oops(vector: number): string {
    const f = this.irq.frame();
    const at = f ? `EIP: ${hex4(f.cs)}:[<${hex8(f.eip)}>]` : 'EIP unknown';
    if (vector === 14 && f) {
      const what = f.cr2 >>> 0 < 4096 ? 'NULL pointer dereference' : 'paging request';
      return `BUG: unable to handle kernel ${what} at virtual address ${hex8(f.cr2)} (error code ${f.errorCode}), ${at}`;
    }
    const code = f && f.errorCode !== null ? ` error code ${hex4(f.errorCode)}` : '';
    return `unhandled trap ${vector} (${TRAP_NAMES[vector] ?? 'reserved'}) in host kernel,${code} ${at}`;
  }

  /** HLT with IF set: sleep until the next clock event (virtual: skip to it). */
  private waitForInterrupt(): boolean {
    const d = this.d;
    const st = d.core.getState();
    if ((st.eflags & X86_EFLAGS_IF) === 0) return false;
    if (!d.pic.intrPending()) {
      const next = this.nextClockEvent();
      if (d.clock.mode === 'virtual') d.clock.skipTo(next);
      else {
        const ms = (next - d.clock.now()) / 1e6;
        if (ms > 0) Atomics.wait(this.sleeper, 0, 0, ms);
      }
      this.raiseClock();
    }
    d.core.irqLine = true;
    return true;
  }

  // ------------------------------------------------------------------ results

  private returned(start: number): KernelCall {
    const d = this.d;
    const base = d.layout.callSavePhys >>> 2;
    const r = (i: number): number => d.ram32[base + i] >>> 0;
    const regs: KernelRegs = {
      eax: r(0),
      ecx: r(1),
      edx: r(2),
      ebx: r(3),
      esi: r(4),
      edi: r(5),
      ebp: r(6),
      eflags: r(7),
    };
    this.lastCr2 = r(8);
    return { status: 'returned', regs, cr2: this.lastCr2, instructions: d.clock.instructions - start };
  }

  private stopped(reason: string, start: number): KernelCall {
    return { status: 'stopped', reason, instructions: this.d.clock.instructions - start };
  }

  private fail(reason: string, exit: Exit, start: number): KernelCall {
    const st = this.d.core.getState();
    this.lastCr2 = st.cr2;
    const where = reason.includes('EIP:') ? '' : ` (eip ${hex8(st.eip)}, cs ${hex4(st.cs.selector)})`;
    return { status: 'failed', reason: reason + where, exit, instructions: this.d.clock.instructions - start };
  }

  // ------------------------------------------------------------------ set-up

  /** The template state of host kernel context; `call` fills in registers and CR3. */
  private kernelState(): CpuState {
    const d = this.d;
    const gdt = (index: number): [number, number] => [
      d.ram32[(d.layout.gdtPhys >>> 2) + index * 2] >>> 0,
      d.ram32[(d.layout.gdtPhys >>> 2) + index * 2 + 1] >>> 0,
    ];
    const st = d.core.getState();
    st.cr0 = HOST_CR0;
    st.cr3 = d.layout.swapperPgdir;
    st.cr4 = HOST_CR4;
    st.gdtr = { base: d.layout.gdtVa, limit: GDT_LIMIT };
    st.idtr = { base: d.layout.idtVa, limit: IDT_LIMIT };
    st.cs = descriptorCache(__KERNEL_CS, ...gdt(GDT_ENTRY_KERNEL_CS));
    st.ss = descriptorCache(__KERNEL_DS, ...gdt(GDT_ENTRY_KERNEL_DS));
    st.ds = descriptorCache(__KERNEL_DS, ...gdt(GDT_ENTRY_KERNEL_DS));
    st.es = descriptorCache(__KERNEL_DS, ...gdt(GDT_ENTRY_KERNEL_DS));
    st.fs = descriptorCache(__KERNEL_PERCPU, ...gdt(GDT_ENTRY_PERCPU));
    st.gs = nullSegment();
    st.tr = descriptorCache(TSS_SELECTOR, ...gdt(GDT_ENTRY_TSS));
    st.ldtr = nullSegment();
    st.cpl = 0;
    st.halted = false;
    return st;
  }

  /** Read the stub's stack frame (used by StubInterrupt.frame). */
  readFrame(vector: number): InterruptFrame {
    const d = this.d;
    const st = d.core.getState();
    const cr3 = st.cr3 & ~0xfff;
    const read = (va: number): number => {
      const p = translate(d.ram32, cr3, va >>> 0, false, false);
      return p < 0 || p + 4 > d.ram8.byteLength
        ? 0
        : (d.ram8[p] | (d.ram8[p + 1] << 8) | (d.ram8[p + 2] << 16) | (d.ram8[p + 3] << 24)) >>> 0;
    };
    let sp = st.esp;
    let errorCode: number | null = null;
    if (hasErrorCode(vector)) {
      errorCode = read(sp);
      sp += 4;
    }
    const eip = read(sp);
    const cs = read(sp + 4) & 0xffff;
    const eflags = read(sp + 8);
    const outer = (cs & 3) !== 0;
    return {
      eip,
      cs,
      eflags,
      errorCode,
      esp: outer ? read(sp + 12) : null,
      ss: outer ? read(sp + 16) & 0xffff : null,
      cr2: st.cr2 >>> 0,
    };
  }
}

/** The one HostInterrupt object handlers see; its frame is read once, on demand. */
class StubInterrupt implements HostInterrupt {
  vector = 0;
  fromCpu = false;
  private cached: InterruptFrame | null = null;
  private read = false;

  constructor(private readonly cpu: KernelCpu) {}

  begin(vector: number, fromCpu: boolean): void {
    this.vector = vector;
    this.fromCpu = fromCpu;
    this.cached = null;
    this.read = false;
  }

  frame(): InterruptFrame | null {
    if (!this.fromCpu) return null;
    if (!this.read) {
      this.cached = this.cpu.readFrame(this.vector);
      this.read = true;
    }
    return this.cached;
  }
}

const TRAP_NAMES: Record<number, string> = {
  0: 'divide error',
  1: 'debug',
  2: 'NMI',
  3: 'int3',
  4: 'overflow',
  5: 'bounds',
  6: 'invalid opcode',
  7: 'device not available',
  8: 'double fault',
  9: 'coprocessor segment overrun',
  10: 'invalid TSS',
  11: 'segment not present',
  12: 'stack segment',
  13: 'general protection',
  14: 'page fault',
  16: 'coprocessor error',
  17: 'alignment check',
};

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
function hex4(n: number): string {
  return (n >>> 0).toString(16).padStart(4, '0');
}
