// lg.h: what the lg module knows about one guest, and the few things every file needs — how
// to read and write the guest's memory, and how to kill it. A guest is born in the control
// file's LHREQ_INITIALIZE and lives in the launcher that wrote it: guest-physical address X
// is that launcher's virtual address X, so every pointer a guest hands us (hypercall
// arguments, lguest_data, DMA descriptors, its page tables) is read through the launcher's
// address space with copy_from_user and friends, after checking it lies below the guest's
// pfn_limit. Nothing a guest does may hurt the host: a bad pointer, a bad descriptor, a bad
// hypercall is an explicit check that ends in killGuest with a reason in the original's
// words, and the launcher reads that reason back from the control file.

import { LGUEST_MAX_DMA, LGUEST_REGS, MAX_LGUEST_GUESTS, PAGE_SIZE } from '@lguest/abi';
import { WaitQueue, type FutexKey, type Host, type HrTimer, type Process } from '@lguest/host';
import type { GuestDebug } from './debug';

/** What changed in the guest's tables since they were last copied into the switcher's page. */
export const CHANGED_IDT = 1;
export const CHANGED_GDT = 2;
export const CHANGED_GDT_TLS = 4;
export const CHANGED_ALL = 3;

/** Shadow page directories a guest keeps cached (lg->pgdirs). */
export const SHADOW_PGDIRS = 4;

/** The guest's IDT entries the host keeps: the 32 traps and the 32 virtual IRQ vectors. */
export const GUEST_IDT_ENTRIES = 64;

/** A value trapnum never has after a real trap: set before entering, seen if entry failed. */
export const TRAPNUM_ENTRY_FAILED = 256;
/** What trapnum is set to once a synchronous hypercall has been done (clear_hcall). */
export const TRAPNUM_HCALL_DONE = 255;

/** One cached shadow page directory: the guest's cr3 it shadows, and our page (0 = none). */
export interface ShadowPgdir {
  gpgdir: number;
  pgdir: number;
}

/** A DMA binding (struct lguest_dma_info): a guest's array of buffers waiting at a key. */
export interface DmaInfo {
  /** The futex key, and its string form (the hash key). */
  key: FutexKey | null;
  keyName: string;
  /** Guest-physical address of the array of struct lguest_dma. */
  dmas: number;
  numDmas: number;
  nextDma: number;
  guestId: number;
  /** The IRQ raised when a buffer is filled; 0 means the slot is unused. */
  interrupt: number;
}

/** Counters the module keeps for each guest (traces and tests; never read by lg itself). */
export interface GuestStats {
  /** Trips through the switcher: run_guest_once calls. */
  switches: number;
  /** Synchronous hypercalls handled, and calls taken from the async ring. */
  hypercalls: number;
  asyncHypercalls: number;
  /** Page faults fixed by demand paging, and faults reflected into the guest. */
  demandFaults: number;
  reflectedTraps: number;
  /** Virtual interrupts injected. */
  interrupts: number;
  /** Exits for a host interrupt (trap 32-255). */
  hostInterrupts: number;
  /** SEND_DMAs to another guest: delivered into a buffer, or dropped (no free buffer). */
  dmaDelivered: number;
  dmaNoBuffer: number;
  /** DMAs handed to the launcher by read() (SEND_DMA to a private key). */
  launcherDmas: number;
}

/**
 * What the module shares between its guests (the globals of lguest's core.c and io.c):
 * the table of guests, which DMA between guests needs, and the hash of DMA bindings.
 */
export interface LguestGlobals {
  readonly host: Host;
  /** Guests by id (MAX_LGUEST_GUESTS slots); null for a free slot. */
  readonly guests: (Guest | null)[];
  /** DMA bindings by key (keyString), newest first. */
  readonly dmaHash: Map<string, DmaInfo[]>;
}

/** A wall-clock instant as struct timespec has it. */
export interface WallClock {
  readonly sec: number;
  readonly nsec: number;
}

/** What LHREQ_INITIALIZE decided about a new guest. */
export interface GuestInit {
  readonly id: number;
  readonly globals: LguestGlobals;
  readonly proc: Process;
  readonly regsPage: number;
  readonly pfnLimit: number;
  readonly pageOffset: number;
  readonly epoch: WallClock;
}

/** The guest: struct lguest. */
export class Guest {
  /** Slot in the module's table, also lguest_data.guestid. */
  readonly id: number;
  readonly globals: LguestGlobals;
  readonly host: Host;
  /** The launcher: its memory is the guest's, and only it may run the guest. */
  readonly proc: Process;
  /** The zeroed page whose last 72 bytes are struct lguest_regs (physical). */
  readonly regsPage: number;
  /** Physical address of struct lguest_regs inside regsPage. */
  readonly regs: number;
  /** Guest-physical memory ends at pfnLimit pages (RAM, the device page, device pages). */
  readonly pfnLimit: number;
  readonly pageOffset: number;
  /** Wall-clock time at host clock 0: lguest_data.time is this plus host.clock.now(). */
  readonly epoch: WallClock;

  /** Guest-physical address of struct lguest_data; 0 until LHCALL_LGUEST_INIT. */
  lguestData = 0;
  noirqStart = 0;
  noirqEnd = 0;
  /** Next slot of the async hypercall ring to look at. */
  nextHcall = 0;

  /** The guest's wish for CR0.TS (LHCALL_TS). */
  ts = 0;
  halted = false;
  /** A read() of the control file is running this guest (one at a time). */
  inRead = false;
  /** LHREQ_BREAK: the launcher wants read() to return -EAGAIN. */
  breakOut = false;
  /** Why the guest died (only the first reason is kept), or null while it lives. */
  dead: string | null = null;
  /** The debugger's hold on this guest (debug.ts), or null: not debugged. */
  debug: GuestDebug | null = null;

  /** The kernel stack traps from ring 3 switch to (LHCALL_SET_STACK). */
  ss1 = 0;
  esp1 = 0;
  stackPages = 0;

  /** Virtual IRQs raised and not yet delivered (one bit per IRQ). */
  irqsPending = 0;
  /** The guest's own IDT entries 0-63 (sanitised), and its system-call gate. */
  readonly idt = new Uint32Array(GUEST_IDT_ENTRIES * 2);
  readonly syscallIdt = new Uint32Array(2);
  /** The guest's GDT, fixed up; entries 10, 11, 16 and 31 are never copied from here. */
  readonly gdt = new Uint32Array(32 * 2);
  changed = CHANGED_ALL;

  readonly pgdirs: ShadowPgdir[] = [];
  pgdidx = 0;
  /** State of the random choice of a shadow to evict (deterministic, so runs repeat). */
  evictSeed: number;

  /** The clock event (LHCALL_SET_CLOCKEVENT): raises IRQ 0 when it fires. */
  readonly clock: HrTimer;

  /** DMA bindings (LGUEST_MAX_DMA slots). */
  readonly dma: DmaInfo[] = [];
  /** A SEND_DMA to a private key is waiting for read() to hand it to the launcher. */
  dmaIsPending = false;
  pendingDma = 0;
  /**
   * A SEND_DMA to another guest found no free buffer there: retried once, after the
   * receiver has had the CPU to take its frames and restock (io.ts).
   */
  dmaRetry: { key: number; dma: number } | null = null;
  pendingKey = 0;

  /** The launcher sleeps here while the guest is halted (wake_up_process). */
  readonly wq = new WaitQueue();
  /** Bumped by every wake-up, so a sleeper knows it was woken. */
  wakeups = 0;
  /** LHREQ_BREAK(1) writers sleep here until LHREQ_BREAK(0). */
  readonly breakWq = new WaitQueue();

  readonly stats: GuestStats = {
    switches: 0,
    hypercalls: 0,
    asyncHypercalls: 0,
    demandFaults: 0,
    reflectedTraps: 0,
    interrupts: 0,
    hostInterrupts: 0,
    dmaDelivered: 0,
    dmaNoBuffer: 0,
    launcherDmas: 0,
  };

  /**
   * Exits by trap number (0-255) and hypercalls by number, for whoever watches the guest
   * (`lguest web` samples them on a timer): one typed-array increment each, never read here.
   */
  readonly trapCounts = new Float64Array(256);
  readonly hcallCounts = new Float64Array(32);
  /**
   * Frames and bytes this guest's SEND_DMAs delivered into each other guest's buffers, by the
   * receiver's id (io.ts): two increments per frame, read only by watchers (`lguest web`).
   */
  readonly dmaFramesTo = new Float64Array(MAX_LGUEST_GUESTS);
  readonly dmaBytesTo = new Float64Array(MAX_LGUEST_GUESTS);

  constructor(init: GuestInit) {
    const { id, globals, proc, regsPage } = init;
    const host = globals.host;
    this.id = id;
    this.globals = globals;
    this.host = host;
    this.proc = proc;
    this.regsPage = regsPage;
    this.regs = regsPage + PAGE_SIZE - LGUEST_REGS.size;
    this.pfnLimit = init.pfnLimit;
    this.pageOffset = init.pageOffset >>> 0;
    this.epoch = init.epoch;
    this.evictSeed = (0x9e3779b9 ^ (id + 1)) >>> 0;
    for (let i = 0; i < SHADOW_PGDIRS; i++) this.pgdirs.push({ gpgdir: 0, pgdir: 0 });
    for (let i = 0; i < LGUEST_MAX_DMA; i++) {
      this.dma.push({ key: null, keyName: '', dmas: 0, numDmas: 0, nextDma: 0, guestId: id, interrupt: 0 });
    }
    this.clock = host.createTimer(() => {
      // The clock event: IRQ 0 goes pending, and a halted guest's launcher wakes up.
      this.irqsPending |= 1;
      wakeUpGuest(this);
    });
  }
}

/** wake_up_process(lg->tsk): whatever the launcher is sleeping on in lg, it looks again. */
export function wakeUpGuest(guest: Guest): void {
  guest.wakeups++;
  guest.wq.wakeUpAll();
}

/**
 * kill_guest: the guest dies with `reason` (only the first reason counts). It stops at the
 * launcher's next look, and the launcher reads the reason from the control file.
 */
export function killGuest(guest: Guest, reason: string): void {
  if (guest.dead !== null) return;
  guest.dead = reason;
  guest.clock.cancel();
  wakeUpGuest(guest);
  // Nobody can switch a dead guest's break off for the launcher: let the waker go.
  guest.breakOut = false;
  guest.breakWq.wakeUpAll();
}

/** "0xc0101234": how addresses appear in death reasons. */
export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/**
 * lguest_address_ok: whether [addr, addr+len) lies in guest-physical memory. As in the
 * original, the end page itself must be below pfn_limit, and the range may not wrap.
 */
export function lguestAddressOk(guest: Guest, addr: number, len: number): boolean {
  const end = (addr >>> 0) + len;
  return end <= 0x1_0000_0000 && Math.floor(end / PAGE_SIZE) < guest.pfnLimit;
}

/** lgread: `len` bytes of guest memory at `addr`, or null after killing the guest. */
export function lgread(guest: Guest, addr: number, len: number): Uint8Array | null {
  const data = lguestAddressOk(guest, addr, len) ? guest.host.copyFromUser(guest.proc, addr >>> 0, len) : -1;
  if (typeof data === 'number') {
    killGuest(guest, `bad read address ${hex(addr)} len ${len}`);
    return null;
  }
  return data;
}

/** lgread into `dest`: true, or false after killing the guest. */
export function lgreadInto(guest: Guest, addr: number, dest: Uint8Array): boolean {
  if (lguestAddressOk(guest, addr, dest.length) && guest.host.copyFromUserInto(guest.proc, addr >>> 0, dest) === 0) {
    return true;
  }
  killGuest(guest, `bad read address ${hex(addr)} len ${dest.length}`);
  return false;
}

/** lgread_u32: the word at `addr`, or 0 after killing the guest (check guest.dead). */
export function lgreadU32(guest: Guest, addr: number): number {
  const v = lguestAddressOk(guest, addr, 4) ? guest.host.getUser32(guest.proc, addr >>> 0) : -1;
  if (v < 0) {
    killGuest(guest, `bad read address ${hex(addr)} len 4`);
    return 0;
  }
  return v;
}

/** lgwrite: copy `bytes` to guest memory at `addr`; false after killing the guest. */
export function lgwrite(guest: Guest, addr: number, bytes: Uint8Array): boolean {
  if (lguestAddressOk(guest, addr, bytes.length) && guest.host.copyToUser(guest.proc, addr >>> 0, bytes) === 0) {
    return true;
  }
  killGuest(guest, `bad write address ${hex(addr)} len ${bytes.length}`);
  return false;
}

/** lgwrite_u32: store a word in guest memory; false after killing the guest. */
export function lgwriteU32(guest: Guest, addr: number, value: number): boolean {
  if (lguestAddressOk(guest, addr, 4) && guest.host.putUser32(guest.proc, addr >>> 0, value >>> 0) === 0) {
    return true;
  }
  killGuest(guest, `bad write address ${hex(addr)} len 4`);
  return false;
}

// ------------------------------------------------------------------ lguest_data

// lguest_data was checked to lie in guest memory once, at LGUEST_INIT; after that the host
// reads and writes its fields with plain get_user/put_user, and each caller says what a
// failure means ("Writing cr2", "Disabling interrupts", ...).

/** get_user of a u32 field of lguest_data (at byte `offset`): the value, or a negative errno. */
export function lguestDataGet32(guest: Guest, offset: number): number {
  return guest.host.getUser32(guest.proc, guest.lguestData + offset);
}

/** put_user of a u32 field of lguest_data: whether it worked. */
export function lguestDataPut32(guest: Guest, offset: number, value: number): boolean {
  return guest.host.putUser32(guest.proc, guest.lguestData + offset, value >>> 0) === 0;
}

/** copy_to_user into lguest_data at byte `offset`: whether it worked. */
export function lguestDataWrite(guest: Guest, offset: number, bytes: Uint8Array): boolean {
  return guest.host.copyToUser(guest.proc, guest.lguestData + offset, bytes) === 0;
}

// ------------------------------------------------------------------ the register page

/** Field names of struct lguest_regs. */
export type RegName = keyof typeof LGUEST_REGS.offsetOf;

/** A saved guest register (what the switcher stored at the last exit). */
export function getReg(guest: Guest, name: RegName): number {
  return guest.host.view.getUint32(guest.regs + LGUEST_REGS.offsetOf[name], true);
}

/** Change a guest register: the switcher loads it at the next entry. */
export function setReg(guest: Guest, name: RegName, value: number): void {
  guest.host.view.setUint32(guest.regs + LGUEST_REGS.offsetOf[name], value >>> 0, true);
}
