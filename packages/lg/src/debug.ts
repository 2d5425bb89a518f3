// A guest under a debugger. The host's user (through `lguest run --gdb`) may stop the guest,
// look at and change its registers and memory, break before an instruction and step one
// instruction at a time. All of it happens where lg already stands between the guest's trips
// through the switcher, so the guest is only ever stopped *outside* the CPU, with its
// registers where the switcher saved them (the register page) — exactly the state every
// other part of lg reads and writes.
//
// Breakpoints are the CPU core's own (`CpuCore.setBreakpoint`): invisible to the guest (no
// int3 in its memory), as many as the debugger likes, and installed only for the kernel
// calls that run this guest, so the host, other guests and this guest without breakpoints
// pay nothing. When the CPU reaches one in the guest (not in the switcher or the host's own
// code, which run at CPL 0), we raise a host interrupt — the debug kick — and the CPU takes
// it before executing that instruction: the guest leaves through the switcher as for any
// host interrupt, its registers saved with EIP at the breakpoint, and run_guest stops there.
// The frame the interrupt pushed carries RF, so the guest, resumed, executes the instruction
// instead of breaking again.
//
// Watchpoints are the core's too (`CpuCore.setWatchpoint`), given to the same kernel calls:
// the CPU stops after the guest instruction whose access hit one (not the guest's own DR
// registers, which stay its own), we raise the kick, and the guest leaves before its next
// instruction, stopped as gdb expects after a data breakpoint. Addresses are the guest's
// virtual ones, which are the CPU's linear addresses while it runs in the guest; the host's
// own code at CPL 0 may touch the same linear addresses in its own address space and is
// passed over.
//
// Single-stepping is the processor's: TF in the guest's saved EFLAGS, and the debug trap
// (vector 1) after one guest instruction comes back through the switcher (while debugged,
// vector 1 is never a direct trap). A step is done when that trap arrives, or when the
// guest's EIP moved by any other way (a hypercall, a skipped I/O instruction, a trap
// reflected into the guest's handler); a page fault we fill in or a host interrupt does not
// end it. Virtual interrupts wait while a step is under way, so a step stays in the code
// being stepped.

import { waitEventInterruptible, type CallBreakpoints, type Process } from '@lguest/host';
import { WatchKind, withX87Registers, x87Registers, type WatchHit, type X87Registers } from '@lguest/x86';
import { CHANGED_IDT, getReg, killGuest, setReg, wakeUpGuest, type Guest, type RegName } from './lg';
import { guestVirtToPhys } from './page_tables';

/** The host interrupt that takes the CPU out of the guest at a breakpoint. */
export const DEBUG_KICK_VECTOR = 0xf9;

const EFLAGS_TF = 0x100;
const EFLAGS_IF = 0x200;
const EFLAGS_IOPL = 0x3000;
const EFLAGS_NT = 0x4000;
const EFLAGS_RF = 0x10000;
const EFLAGS_VM = 0x20000;
const PAGE_SIZE = 4096;

/** gdb's i386 register order, as fields of the register page. */
const GDB_ORDER: readonly RegName[] = [
  'eax',
  'ecx',
  'edx',
  'ebx',
  'esp',
  'ebp',
  'esi',
  'edi',
  'eip',
  'eflags',
  'cs',
  'ss',
  'ds',
  'es',
  'fs',
  'gs',
];
const GDB_EFLAGS = 9;

/** Why the guest stopped, as the debugger is told. */
export type GuestStop =
  | { readonly kind: 'trap' }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'watch'; readonly watch: WatchpointKind; readonly address: number };

/** A watchpoint as the debugger names it: stop after a write, a read, or either. */
export type WatchpointKind = 'write' | 'read' | 'access';

const WATCH_KINDS: Record<WatchpointKind, WatchKind> = {
  write: WatchKind.Write,
  read: WatchKind.Read,
  access: WatchKind.Access,
};
const WATCH_NAMES = ['', 'write', 'read', 'access'] as const;

export interface GuestDebugOptions {
  /** Stop before the guest's first instruction (`-S`). */
  readonly waitAtStart: boolean;
  /** Called when the guest has stopped (never while it runs on the CPU). */
  readonly stopped: (why: GuestStop) => void;
}

const kickHandled = new WeakSet<object>();

export class GuestDebug {
  /** Stopped now: the launcher's read() waits in run_guest until resume(). */
  stopped = false;
  /** The guest's exit status once it has ended (set by whoever ran its launcher). */
  exited: number | null = null;
  /** One instruction, then stop. */
  private stepping = false;
  /** EIP when the step began: the step is over once the guest is elsewhere. */
  private stepFrom = 0;
  /** EIP when it stopped: a resume from elsewhere (gdb moved EIP) must not skip a breakpoint. */
  private stopEip = 0;
  /** A stop to make at run_guest's next look. */
  private pending: GuestStop | null;
  /** Breakpoint addresses with how many of gdb's kinds (software, hardware) hold each. */
  private readonly breakpoints = new Map<number, number>();
  /** Watchpoints, `kind:addr:length` → the core's form. */
  private readonly watchpoints = new Map<string, { linear: number; length: number; kind: WatchKind }>();
  /** What this guest's kernel calls are given: null when there are none, so they cost nothing. */
  callBreakpoints: CallBreakpoints | null = null;
  private releasePacing: (() => void) | null = null;

  constructor(
    readonly guest: Guest,
    private readonly options: GuestDebugOptions,
  ) {
    this.pending = options.waitAtStart ? { kind: 'trap' } : null;
    // The kick needs no work in its handler: taking it is what brings the guest out.
    if (!kickHandled.has(guest.host)) {
      guest.host.requestIrq(DEBUG_KICK_VECTOR, () => {});
      kickHandled.add(guest.host);
    }
    // Vector 1 must come to us, not straight to the guest's handler.
    guest.changed |= CHANGED_IDT;
  }

  // ------------------------------------------------------------------ run_guest's side

  /** Virtual interrupts wait while a step is under way (but not for a halted guest). */
  get holdInterrupts(): boolean {
    return this.stepping && !this.guest.halted;
  }

  /** Before a trip into the guest: TF for a step. */
  beforeEntry(): void {
    if (this.stepping) setReg(this.guest, 'eflags', getReg(this.guest, 'eflags') | EFLAGS_TF);
  }

  /**
   * Back from a trip with `trapnum`: true if the trap was the debugger's (the debug trap that
   * ends a step, or the kick at a breakpoint) and the guest must not see it.
   */
  afterExit(trapnum: number): boolean {
    if (this.stepping) setReg(this.guest, 'eflags', getReg(this.guest, 'eflags') & ~EFLAGS_TF);
    if (this.pending) return trapnum === DEBUG_KICK_VECTOR || (trapnum === 1 && this.stepping);
    if (trapnum === 1 && this.stepping) {
      this.pending = { kind: 'trap' };
      return true;
    }
    return false;
  }

  /** Whether run_guest must stop the guest now. */
  mustStop(): boolean {
    // Still stopped: the wait was ended by a break (console input, the monitor), which the
    // launcher has handled; the guest stays where it is until the debugger resumes it.
    if (this.stopped || this.pending) return true;
    if (this.stepping && getReg(this.guest, 'eip') !== this.stepFrom) this.pending = { kind: 'trap' };
    return this.pending !== null;
  }

  /**
   * Stop: tell the debugger, then wait (in the launcher's read()) until it resumes the guest.
   * 0 once resumed; a negative errno if a signal came (the caller returns it from read()).
   * A break or the guest's death also ends the wait, so the launcher can still stop a
   * debugged guest.
   */
  async stop(proc: Process): Promise<number> {
    const why = this.pending ?? { kind: 'trap' };
    this.pending = null;
    this.stepping = false;
    if (!this.stopped) {
      this.stopped = true;
      this.stopEip = getReg(this.guest, 'eip');
      // A virtual clock must not leap ahead to the next timer while the user looks around.
      this.releasePacing = this.guest.host.holdPacing();
      this.options.stopped(why);
    }
    const g = this.guest;
    return waitEventInterruptible(g.wq, proc, () => !this.stopped || g.breakOut || g.dead !== null);
  }

  // ------------------------------------------------------------------ the debugger's side

  readRegisters(out: Uint32Array): void {
    for (let i = 0; i < GDB_ORDER.length; i++) out[i] = getReg(this.guest, GDB_ORDER[i]);
  }

  /**
   * Change a register while stopped. Segment registers are the guest's business (a bad one
   * would only kill it at the next entry), so they are refused; EFLAGS keeps what ring 1
   * must have: IF on, IOPL 0, no VM or NT.
   */
  writeRegister(index: number, value: number): boolean {
    if (!this.stopped || index < 0 || index > GDB_EFLAGS) return false;
    let v = value >>> 0;
    if (index === GDB_EFLAGS) v = ((v & ~(EFLAGS_IOPL | EFLAGS_VM | EFLAGS_NT)) | EFLAGS_IF | 2) >>> 0;
    setReg(this.guest, GDB_ORDER[index], v);
    return true;
  }

  /**
   * The guest's x87 registers: its launcher's FPU state, which the host switches with the
   * launcher (the guest's own tasks share it as they would one CPU's). Null if the core has
   * no FPU.
   */
  readFpu(): X87Registers | null {
    const host = this.guest.host;
    return host.hasFpu ? x87Registers(host.fpuState(this.guest.proc)) : null;
  }

  writeFpu(regs: X87Registers): boolean {
    const host = this.guest.host;
    if (!this.stopped || !host.hasFpu) return false;
    host.setFpuState(this.guest.proc, withX87Registers(host.fpuState(this.guest.proc), regs));
    return true;
  }

  /** Guest memory at virtual `addr`, through the guest's page tables; bytes copied. */
  readMemory(addr: number, dest: Uint8Array): number {
    return this.copy(addr, dest, false);
  }

  writeMemory(addr: number, bytes: Uint8Array): number {
    return this.copy(addr, bytes, true);
  }

  private copy(addr: number, buf: Uint8Array, write: boolean): number {
    const g = this.guest;
    let done = 0;
    while (done < buf.length) {
      const va = (addr + done) >>> 0;
      if (addr + done > 0xffffffff) break;
      const phys = guestVirtToPhys(g, va);
      if (phys < 0) break;
      const chunk = Math.min(buf.length - done, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
      const part = buf.subarray(done, done + chunk);
      const r = write ? g.host.copyToUser(g.proc, phys, part) : g.host.copyFromUserInto(g.proc, phys, part);
      if (r !== 0) break;
      done += chunk;
    }
    return done;
  }

  insertBreakpoint(_kind: string, addr: number): boolean {
    this.breakpoints.set(addr >>> 0, (this.breakpoints.get(addr >>> 0) ?? 0) + 1);
    this.updateCallBreakpoints();
    return true;
  }

  removeBreakpoint(_kind: string, addr: number): boolean {
    const n = this.breakpoints.get(addr >>> 0);
    if (n === undefined) return false;
    if (n > 1) this.breakpoints.set(addr >>> 0, n - 1);
    else this.breakpoints.delete(addr >>> 0);
    this.updateCallBreakpoints();
    return true;
  }

  insertWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    if (!Number.isInteger(length) || length < 1) return false;
    const key = `${kind}:${addr >>> 0}:${length}`;
    if (!this.watchpoints.has(key)) {
      this.watchpoints.set(key, { linear: addr >>> 0, length, kind: WATCH_KINDS[kind] });
      this.updateCallBreakpoints();
    }
    return true;
  }

  removeWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    const removed = this.watchpoints.delete(`${kind}:${addr >>> 0}:${length}`);
    if (removed) this.updateCallBreakpoints();
    return removed;
  }

  /** Let the stopped guest go on: one instruction (`step`) or until the next stop. */
  resume(step: boolean): void {
    if (!this.stopped) return;
    const g = this.guest;
    // Moved by the debugger: the instruction there has not been passed by a breakpoint yet.
    if (getReg(g, 'eip') !== this.stopEip) setReg(g, 'eflags', getReg(g, 'eflags') & ~EFLAGS_RF);
    this.stepping = step;
    this.stepFrom = getReg(g, 'eip');
    this.running();
  }

  /** Ctrl-C: stop at run_guest's next look (a halted guest is woken for it). */
  interrupt(): void {
    if (this.stopped || this.pending) return;
    this.pending = { kind: 'interrupted' };
    wakeUpGuest(this.guest);
  }

  /** The debugger is gone: no breakpoints, no step, and a stopped guest runs on. */
  detach(): void {
    this.breakpoints.clear();
    this.watchpoints.clear();
    this.updateCallBreakpoints();
    this.pending = null;
    this.stepping = false;
    if (this.stopped) this.running();
  }

  private running(): void {
    this.stopped = false;
    this.releasePacing?.();
    this.releasePacing = null;
    wakeUpGuest(this.guest);
  }

  /** `k`: the debugger ends the guest. */
  kill(): void {
    this.detach();
    killGuest(this.guest, 'killed by the debugger');
  }

  private updateCallBreakpoints(): void {
    if (this.breakpoints.size === 0 && this.watchpoints.size === 0) {
      this.callBreakpoints = null;
      return;
    }
    const host = this.guest.host;
    this.callBreakpoints = {
      addresses: [...this.breakpoints.keys()],
      hit: (_linear, cpl) => {
        // The switcher and the host's own code run at CPL 0: a breakpoint there is not the guest's.
        if (cpl === 0 || this.pending) return;
        this.pending = { kind: 'trap' };
        host.raiseIrq(DEBUG_KICK_VECTOR);
      },
      watchpoints: [...this.watchpoints.values()],
      watchHit: (hit: WatchHit, cpl: number) => {
        if (cpl === 0 || this.pending) return;
        this.pending = { kind: 'watch', watch: WATCH_NAMES[hit.kind], address: hit.address };
        host.raiseIrq(DEBUG_KICK_VECTOR);
      },
    };
  }
}

/**
 * Put `guest` under a debugger. Call before its first trip (the control file's
 * LHREQ_INITIALIZE hook, Lguest.onGuestCreated) for `waitAtStart` to mean what it says.
 */
export function debugGuest(guest: Guest, options: GuestDebugOptions): GuestDebug {
  const d = new GuestDebug(guest, options);
  guest.debug = d;
  return d;
}
