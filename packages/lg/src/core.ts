// The core of the lg module: loading it into a host, and the loop that runs a guest.
//
// Loading maps the switcher and registers the control file, /proc/lguest (the seed's name)
// and /dev/lguest (2.6.23's). A launcher opens it, describes its guest with LHREQ_INITIALIZE
// and then read()s: that read is run_guest, below, and it does not return until there is
// something for the launcher — a DMA for one of its devices, a request to break out so it
// can feed input, a signal, or the guest's death.
//
// Each time round: do the hypercalls the guest left us, hand over a DMA if one is waiting,
// inject an interrupt if one is due, sleep if the guest is halted — and otherwise go through
// the switcher into the guest, and see why it came back. A page fault may be ours to fill in
// (demand paging), a #GP may be an I/O instruction to skip, a host interrupt was already
// serviced by the host on the way; anything else is reflected into the guest, or if it has no
// handler for it, kills it.

import { LGUEST_DATA, LGUEST_TRAP_ENTRY, MAX_LGUEST_GUESTS } from '@lguest/abi';
import { Errno, waitEventInterruptible, type Host, type Process } from '@lguest/host';
import { disassembleAt } from '@lguest/x86';
import { doHypercalls } from './hypercalls';
import { deliverTrap, maybeDoInterrupt } from './interrupts_and_traps';
import { sendDma } from './io';
import {
  getReg,
  hex,
  killGuest,
  lgread,
  lguestDataPut32,
  setReg,
  TRAPNUM_ENTRY_FAILED,
  type DmaInfo,
  type Guest,
  type LguestGlobals,
  type WallClock,
} from './lg';
import { controlFileOps } from './lguest_user';
import { demandPage, guestVirtToPhys } from './page_tables';
import { isIgnoredGdt } from './segments';
import { mapSwitcher, runGuestOnce, unmapSwitcher, type Switcher } from './switcher';

/** Where the control file lives: the seed's /proc entry and 2.6.23's misc device. */
export const PROC_NAME = 'lguest';
export const DEV_PATH = '/dev/lguest';

/** The lg module loaded into one host. */
export class Lguest implements LguestGlobals {
  readonly host: Host;
  readonly guests: (Guest | null)[] = new Array<Guest | null>(MAX_LGUEST_GUESTS).fill(null);
  readonly dmaHash = new Map<string, DmaInfo[]>();
  readonly switcher: Switcher;
  /** Wall-clock time at host clock 0 (for lguest_data.time): real, or 0 on the virtual clock. */
  readonly epoch: WallClock;
  /** Called after every trip through the switcher, with the registers as the guest left them. */
  onExit: ((guest: Guest) => void) | null = null;
  /** Called when LHREQ_INITIALIZE has made a guest, before its first trip (a debugger attaches here). */
  onGuestCreated: ((guest: Guest) => void) | null = null;

  constructor(host: Host, switcher: Switcher) {
    this.host = host;
    this.switcher = switcher;
    this.epoch = wallClockEpoch(host);
  }

  /** The live guests. */
  liveGuests(): Guest[] {
    return this.guests.filter((g): g is Guest => g !== null);
  }

  /** Unload: only when no guest exists. 0 or -EBUSY. */
  exit(): number {
    if (this.liveGuests().length > 0) return -Errno.EBUSY;
    this.host.unregisterDevice(DEV_PATH);
    this.host.unregisterProcEntry(PROC_NAME);
    unmapSwitcher(this.host, this.switcher);
    loaded.delete(this.host);
    return 0;
  }
}

/**
 * Wall-clock time at host clock 0, taken now: real on the host clock, 0 on the virtual clock
 * (so runs repeat). A restored guest takes it again after its host's clock was moved on.
 */
export function wallClockEpoch(host: Host): WallClock {
  if (host.clock.mode === 'virtual') return { sec: 0, nsec: 0 };
  // Now, minus the time since the host booted, in whole milliseconds and nanoseconds.
  const sinceBoot = host.clock.now();
  const ms = Date.now() - Math.floor(sinceBoot / 1e6);
  const epoch = { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 - (sinceBoot % 1e6) };
  return epoch.nsec < 0 ? { sec: epoch.sec - 1, nsec: epoch.nsec + 1e9 } : epoch;
}

const loaded = new WeakMap<Host, Lguest>();

/**
 * init: load lg into `host` — map the switcher, register /proc/lguest and /dev/lguest. The
 * module, or -EEXIST if this host has it already, or the error that stopped it.
 */
export function lguestInit(host: Host): Lguest | number {
  if (loaded.has(host)) return -Errno.EEXIST;
  const sw = mapSwitcher(host);
  if (typeof sw === 'number') return sw;
  const lg = new Lguest(host, sw);
  const ops = controlFileOps(lg);
  let r = host.registerProcEntry(PROC_NAME, ops);
  if (r === 0) {
    r = host.registerDevice(DEV_PATH, ops);
    if (r < 0) host.unregisterProcEntry(PROC_NAME);
  }
  if (r < 0) {
    unmapSwitcher(host, sw);
    return r;
  }
  loaded.set(host, lg);
  return lg;
}

// ------------------------------------------------------------------ I/O instructions

/**
 * emulate_insn: the guest kernel reserved all I/O ports, so an in/out that still runs is a
 * probe: skip it, with all ones as the value read. Only for the kernel's own code, read
 * through the linear map. True if the instruction was skipped.
 */
export function emulateInsn(guest: Guest): boolean {
  const eip = getReg(guest, 'eip');
  if (eip < guest.pageOffset) return false;
  const physaddr = (eip - guest.pageOffset) >>> 0;
  let bytes = lgread(guest, physaddr, 1);
  if (!bytes) return false;
  let insn = bytes[0];
  let insnlen = 0;
  let shift = 0;
  if (insn === 0x66) {
    shift = 16;
    insnlen = 1;
    bytes = lgread(guest, physaddr + insnlen, 1);
    if (!bytes) return false;
    insn = bytes[0];
  }
  let input = false;
  switch (insn & 0xfe) {
    case 0xe4: // in $imm8
      insnlen += 2;
      input = true;
      break;
    case 0xec: // in (%dx)
      insnlen += 1;
      input = true;
      break;
    case 0xe6: // out $imm8
      insnlen += 2;
      break;
    case 0xee: // out (%dx)
      insnlen += 1;
      break;
    default:
      return false;
  }
  if (input) {
    if (insn & 1) setReg(guest, 'eax', 0xffffffff);
    else setReg(guest, 'eax', getReg(guest, 'eax') | (0xffff << shift));
  }
  setReg(guest, 'eip', eip + insnlen);
  return true;
}

// ------------------------------------------------------------------ death notices

/** The guest's instruction at `eip`, disassembled, for a death notice ('' if unreadable). */
function instructionAt(guest: Guest, eip: number): string {
  const byte = new Uint8Array(1);
  const d = disassembleAt(
    (linear) => {
      const phys = guestVirtToPhys(guest, linear);
      if (phys < 0 || guest.host.copyFromUserInto(guest.proc, phys, byte) !== 0) return -1;
      return byte[0];
    },
    eip,
    true,
  );
  return d.length > 0 && !d.error ? d.text : '';
}

/**
 * What is wrong with a segment register's selector `sel` of the guest's saved state, as the
 * CPU would see it when the switcher loads it; null if nothing is.
 */
function segmentProblem(guest: Guest, reg: 'cs' | 'ss' | 'ds' | 'es' | 'fs' | 'gs', sel: number): string | null {
  const index = sel >> 3;
  const stack = reg === 'cs' || reg === 'ss';
  if (index === 0 && (sel & 4) === 0) return stack ? 'the null selector' : null;
  if (sel & 4) return 'an LDT selector, and lguest guests have no LDT';
  if (2 * index + 1 >= guest.gdt.length) return 'beyond the end of the GDT';
  if (isIgnoredGdt(index)) return "one of the host's own GDT entries, which the guest may not use";
  const hi = guest.gdt[2 * index + 1];
  if ((hi & 0x8000) === 0) return 'its descriptor is not present (or was refused when the guest loaded it)';
  const dpl = (hi >> 13) & 3;
  if (stack && dpl !== (sel & 3))
    return `its descriptor is for ring ${dpl}, not the ring ${sel & 3} the selector asks for`;
  return null;
}

/**
 * Why the switcher could not enter the guest (trap 256: the CPU refused the state it was
 * given, and the fault came from inside the switcher): the first segment register whose
 * selector is bad, named as the original names a bad guest's mistake; else what happened.
 */
function entryFailure(guest: Guest): string {
  const eip = getReg(guest, 'eip');
  for (const reg of ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const) {
    const sel = getReg(guest, reg) & 0xffff;
    const why = segmentProblem(guest, reg, sel);
    if (why) return `bad segment %${reg} ${hex(sel)}: ${why} (the switcher could not enter the guest at ${hex(eip)})`;
  }
  return `the switcher could not enter the guest at ${hex(eip)}: the CPU refused its saved state`;
}

/** "unhandled trap 13 at 0xc0101234 (0x0): mov %eax,%cr3" */
function unhandledTrap(guest: Guest, trapnum: number, cr2: number): string {
  if (trapnum === TRAPNUM_ENTRY_FAILED) return entryFailure(guest);
  const eip = getReg(guest, 'eip');
  const extra = trapnum === 14 ? cr2 : getReg(guest, 'errcode');
  const insn = trapnum < 256 ? instructionAt(guest, eip) : '';
  return `unhandled trap ${trapnum} at ${hex(eip)} (${hex(extra)})${insn ? `: ${insn}` : ''}`;
}

// ------------------------------------------------------------------ run_guest

/**
 * run_guest: the launcher's read() of the control file. Runs the guest until the launcher
 * has something to do: 8 (and `buffer` holds the DMA's address and key) for a DMA to the
 * launcher; -EAGAIN for LHREQ_BREAK; -ERESTARTSYS for a signal; -ENOENT once the guest died.
 */
export async function runGuest(lg: Lguest, guest: Guest, proc: Process, buffer: Uint8Array): Promise<number> {
  const host = lg.host;
  while (guest.dead === null) {
    doHypercalls(guest);
    if (guest.dead !== null) break;
    if (guest.dmaRetry) {
      // A send found the other guest's buffers full. It was woken to take them; let it run
      // (the event loop first, so it can queue for the CPU, then one turn after it), retry once.
      const { key, dma } = guest.dmaRetry;
      guest.dmaRetry = null;
      await host.yieldToEventLoop();
      await host.runOnCpu(proc, () => {});
      sendDma(guest, key, dma, true);
      if (guest.dead !== null) break;
    }

    if (guest.dmaIsPending) {
      if (buffer.length < 8) return -Errno.EFAULT;
      const out = new DataView(buffer.buffer, buffer.byteOffset, 8);
      out.setUint32(0, guest.pendingDma, true);
      out.setUint32(4, guest.pendingKey, true);
      guest.stats.launcherDmas++;
      return 8;
    }
    if (proc.signalPending()) return -Errno.ERESTARTSYS;
    if (guest.breakOut) return -Errno.EAGAIN;

    if (guest.debug?.mustStop()) {
      // Stopped under the debugger (debug.ts) until it lets the guest go on.
      const r = await guest.debug.stop(proc);
      if (r < 0) return r;
      continue;
    }

    if (!guest.debug?.holdInterrupts) maybeDoInterrupt(guest);
    if (guest.dead !== null) break;

    if (guest.halted) {
      // Sleep until something wakes us: the timer, an IRQ, a DMA, a break, a signal.
      const seen = guest.wakeups;
      const r = await waitEventInterruptible(guest.wq, proc, () => guest.wakeups !== seen);
      if (r < 0) return r;
      continue;
    }

    guest.debug?.beforeEntry();
    const result = await host.runOnCpu(proc, () => runGuestOnce(lg.switcher, guest));
    if (result.status !== 'returned') {
      killGuest(guest, `host CPU ${result.status} in the guest: ${result.reason}`);
      break;
    }
    lg.onExit?.(guest);

    const trapnum = getReg(guest, 'trapnum');
    const errcode = getReg(guest, 'errcode');
    if (guest.debug?.afterExit(trapnum)) continue;
    guest.trapCounts[trapnum]++; // 256 (entry failed) is beyond it: no effect
    switch (trapnum) {
      case 13: // A #GP with error code 0 may be an I/O instruction we skip.
        if (errcode === 0 && emulateInsn(guest)) continue;
        break;
      case 14: // A page fault: ours to fill in, or the guest's (with the address in cr2).
        if (demandPage(guest, result.cr2, errcode)) continue;
        if (guest.dead === null && guest.lguestData !== 0) {
          if (!lguestDataPut32(guest, LGUEST_DATA.offsetOf.cr2, result.cr2)) killGuest(guest, 'Writing cr2');
        }
        break;
      case 7: // #NM: the FPU is the launcher's own; only a guest that set TS wants to know.
        if (!guest.ts) continue;
        break;
      case LGUEST_TRAP_ENTRY: // A hypercall: the top of the loop does it.
        continue;
      default:
        if (trapnum >= 32 && trapnum < 256) {
          // A real interrupt, already handled by the host's handler on the way back.
          guest.stats.hostInterrupts++;
          await host.condResched();
          continue;
        }
    }
    if (guest.dead !== null) break;
    if (!deliverTrap(guest, trapnum)) killGuest(guest, unhandledTrap(guest, trapnum, result.cr2));
  }
  return -Errno.ENOENT;
}
