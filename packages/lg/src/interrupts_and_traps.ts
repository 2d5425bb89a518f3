// Interrupts and traps: how the guest hears about things.
//
// The guest's IDT never reaches the CPU as it is. Every vector of the IDT the switcher loads
// first leads to one of the switcher's stubs, so a trap lands back in the host, which looks
// at it (a hypercall, a page fault to fill in, an I/O instruction to skip) and, if it is the
// guest's business, "reflects" it: it builds on the guest's kernel stack exactly the frame
// the CPU would have pushed and points the guest's EIP at its handler. Virtual interrupts
// (the timer, the launcher's LHREQ_IRQ, DMA from another guest) go in the same way, but only
// when the guest's lguest_data says its interrupts are on and the IRQ is not blocked.
//
// Trips through the host are slow, so a few traps go to the guest directly: a trap gate for
// a CPU exception (not #NM, #GP or #PF, which the host must see first, nor the hypercall
// vector) and the system call, copied straight into the switcher's IDT. The CPU then
// delivers them in ring 1 on the guest's own stack — the one LHCALL_SET_STACK names, whose
// pages we pin in the shadow page tables so the CPU can always push there.
//
// Time lives here too: the guest's clock event is a host hrtimer that raises IRQ 0.

import {
  FIRST_EXTERNAL_VECTOR,
  GUEST_PL,
  LGUEST_DATA,
  LGUEST_IRQS,
  LGUEST_TRAP_ENTRY,
  PAGE_SIZE,
  SYSCALL_VECTOR,
  TIMESPEC,
  X86_EFLAGS_IF,
  __KERNEL_CS,
} from '@lguest/abi';
import {
  CHANGED_IDT,
  GUEST_IDT_ENTRIES,
  getReg,
  hex,
  killGuest,
  lguestDataGet32,
  lguestDataPut32,
  lguestDataWrite,
  lgwriteU32,
  setReg,
  type Guest,
} from './lg';
import { demandPage } from './page_tables';
import { isIgnoredGdt } from './segments';

/** Gate types: 32-bit interrupt gate (clears IF) and trap gate. */
const GATE_INTERRUPT = 0xe;
const GATE_TRAP = 0xf;

/** Whether a gate's high word says present. */
export function idtPresent(hi: number): boolean {
  return (hi & 0x8000) !== 0;
}

/** A gate's type (bits 8-11 of its high word). */
export function idtType(hi: number): number {
  return (hi >>> 8) & 0xf;
}

/** The handler address a gate points at. */
export function idtAddress(lo: number, hi: number): number {
  return ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
}

/** CPU exceptions that push an error code. */
export function hasErr(trap: number): boolean {
  return trap === 8 || (trap >= 10 && trap <= 14) || trap === 17;
}

// ------------------------------------------------------------------ reflecting traps and IRQs

/** push_guest_stack: one word onto the guest stack at guest-physical `*gstack`. */
function pushGuestStack(guest: Guest, at: { gstack: number }, value: number): void {
  at.gstack -= 4;
  lgwriteU32(guest, at.gstack, value);
}

/**
 * set_guest_interrupt: make the guest look as if the CPU had just taken the gate (lo, hi):
 * switch to the kernel stack if it was in user mode, push the frame (with IF as its virtual
 * interrupt flag says, and the error code if `hasErrcode`), and jump to the handler in ring 1.
 */
export function setGuestInterrupt(guest: Guest, lo: number, hi: number, hasErrcode: boolean): void {
  let virtstack: number;
  let ss: number;
  const at = { gstack: 0 };
  if ((getReg(guest, 'ss') & 3) !== GUEST_PL) {
    // From user mode: the kernel stack it registered, with the user stack pushed first.
    virtstack = guest.esp1;
    ss = guest.ss1;
    at.gstack = (virtstack - guest.pageOffset) >>> 0;
    pushGuestStack(guest, at, getReg(guest, 'ss'));
    pushGuestStack(guest, at, getReg(guest, 'esp'));
  } else {
    virtstack = getReg(guest, 'esp');
    ss = getReg(guest, 'ss');
    at.gstack = (virtstack - guest.pageOffset) >>> 0;
  }
  const origstack = (virtstack - guest.pageOffset) >>> 0;
  // The frame's IF is the virtual one: set only if lguest_data.irq_enabled has bit 0x200.
  let eflags = getReg(guest, 'eflags');
  const irqEnabled = lguestDataGet32(guest, LGUEST_DATA.offsetOf.irq_enabled);
  if (irqEnabled >= 0 && (irqEnabled & X86_EFLAGS_IF) === 0) eflags &= ~X86_EFLAGS_IF;
  pushGuestStack(guest, at, eflags);
  pushGuestStack(guest, at, getReg(guest, 'cs'));
  pushGuestStack(guest, at, getReg(guest, 'eip'));
  if (hasErrcode) pushGuestStack(guest, at, getReg(guest, 'errcode'));
  if (guest.dead !== null) return;

  setReg(guest, 'ss', ss);
  setReg(guest, 'esp', virtstack + (at.gstack - origstack));
  setReg(guest, 'cs', __KERNEL_CS | GUEST_PL);
  setReg(guest, 'eip', idtAddress(lo, hi));
  // An interrupt gate turns interrupts off: the virtual flag, since the real one stays on.
  if (idtType(hi) === GATE_INTERRUPT && !lguestDataPut32(guest, LGUEST_DATA.offsetOf.irq_enabled, 0)) {
    killGuest(guest, 'Disabling interrupts');
  }
}

/**
 * maybe_do_interrupt: before entering the guest, deliver the lowest pending IRQ it has not
 * blocked — if it is not inside its no-interrupt window and has interrupts on (a halted guest
 * gets them turned back on: that is what its HALT was waiting for).
 */
export function maybeDoInterrupt(guest: Guest): void {
  if (guest.lguestData === 0) return;
  const blocked = lguestDataGet32(guest, LGUEST_DATA.offsetOf.blocked_interrupts);
  if (blocked < 0) return;
  const deliverable = (guest.irqsPending & ~blocked) >>> 0;
  if (deliverable === 0) return;
  const irq = 31 - Math.clz32(deliverable & -deliverable);
  if (irq >= LGUEST_IRQS) return;

  const eip = getReg(guest, 'eip');
  if (eip >= guest.noirqStart && eip < guest.noirqEnd) return;

  if (guest.halted) {
    if (!lguestDataPut32(guest, LGUEST_DATA.offsetOf.irq_enabled, X86_EFLAGS_IF)) {
      killGuest(guest, 'Re-enabling interrupts');
      return;
    }
    guest.halted = false;
  } else if (lguestDataGet32(guest, LGUEST_DATA.offsetOf.irq_enabled) <= 0) {
    // Off (or unreadable, which counts as off).
    return;
  }

  const vector = FIRST_EXTERNAL_VECTOR + irq;
  const lo = guest.idt[2 * vector];
  const hi = guest.idt[2 * vector + 1];
  if (idtPresent(hi)) {
    guest.irqsPending &= ~(1 << irq);
    guest.stats.interrupts++;
    setGuestInterrupt(guest, lo, hi, false);
  }
  writeTimestamp(guest);
}

/**
 * deliver_trap: reflect trap `num` into the guest through its own IDT entry. False if the
 * guest has no handler for it (the caller kills it: "unhandled trap").
 */
export function deliverTrap(guest: Guest, num: number): boolean {
  if (num >= GUEST_IDT_ENTRIES) return false;
  const lo = guest.idt[2 * num];
  const hi = guest.idt[2 * num + 1];
  if (!idtPresent(hi)) return false;
  guest.stats.reflectedTraps++;
  setGuestInterrupt(guest, lo, hi, hasErr(num));
  return true;
}

// ------------------------------------------------------------------ the guest's IDT

/**
 * set_trap: keep a sanitised copy of a guest gate — not present becomes all zero; only
 * interrupt and trap gates are allowed; the selector is always the guest kernel's code
 * segment; offset, P, DPL and type are kept.
 */
function setTrap(guest: Guest, table: Uint32Array, at: number, lo: number, hi: number): void {
  if (!idtPresent(hi)) {
    table[at] = 0;
    table[at + 1] = 0;
    return;
  }
  const type = idtType(hi);
  if (type !== GATE_INTERRUPT && type !== GATE_TRAP) {
    killGuest(guest, `bad IDT type ${type}`);
    return;
  }
  table[at] = (((__KERNEL_CS | GUEST_PL) << 16) | (lo & 0xffff)) >>> 0;
  table[at + 1] = (hi & 0xffffef00) >>> 0;
}

/**
 * LHCALL_LOAD_IDT_ENTRY(num, lo, hi). Vectors 2 (NMI), 8 (double fault), 15 (reserved) and
 * the hypercall vector are never the guest's; only 0-63 and the system call are kept.
 */
export function loadGuestIdtEntry(guest: Guest, num: number, lo: number, hi: number): void {
  if (num === 2 || num === 8 || num === 15 || num === LGUEST_TRAP_ENTRY) return;
  guest.changed |= CHANGED_IDT;
  if (num < GUEST_IDT_ENTRIES) setTrap(guest, guest.idt, 2 * num, lo, hi);
  else if (num === SYSCALL_VECTOR) setTrap(guest, guest.syscallIdt, 0, lo, hi);
}

/**
 * direct_trap: may the CPU deliver vector `num` straight to the guest? Only CPU exceptions
 * and the system call, never the ones the host must see (7, 13, 14, the hypercall), and only
 * trap gates: an interrupt gate would clear the real IF, which the guest may not do.
 */
export function directTrap(num: number, hi: number): boolean {
  if (num >= FIRST_EXTERNAL_VECTOR && num !== SYSCALL_VECTOR) return false;
  if (num === 7 || num === 13 || num === 14 || num === LGUEST_TRAP_ENTRY) return false;
  return idtType(hi) === GATE_TRAP;
}

/**
 * copy_traps: the trap vectors (0-31) and the system call of the IDT the switcher loads, at
 * physical `idtPhys`: the guest's own gate where it may be direct, else the switcher's stub.
 */
export function copyTraps(guest: Guest, view: DataView, idtPhys: number, defaults: Uint32Array): void {
  const put = (v: number, table: Uint32Array, at: number): void => {
    view.setUint32(idtPhys + v * 8, table[at], true);
    view.setUint32(idtPhys + v * 8 + 4, table[at + 1], true);
  };
  for (let v = 0; v < FIRST_EXTERNAL_VECTOR; v++) {
    // A debugged guest's debug trap (vector 1) ends a single step: it must come to the host.
    if (directTrap(v, guest.idt[2 * v + 1]) && !(v === 1 && guest.debug)) put(v, guest.idt, 2 * v);
    else put(v, defaults, 2 * v);
  }
  if (directTrap(SYSCALL_VECTOR, guest.syscallIdt[1])) put(SYSCALL_VECTOR, guest.syscallIdt, 0);
  else put(SYSCALL_VECTOR, defaults, 2 * SYSCALL_VECTOR);
}

// ------------------------------------------------------------------ the guest's kernel stack

/**
 * pin_stack_pages: make sure every page of the registered kernel stack is mapped writable in
 * the current shadow page table, so a direct trap can always push its frame there.
 */
export function pinStackPages(guest: Guest): void {
  for (let i = 0; i < guest.stackPages; i++) {
    const page = (guest.esp1 - 1 - i * PAGE_SIZE) >>> 0;
    if (!demandPage(guest, page, 2)) {
      killGuest(guest, `bad stack page ${hex(guest.esp1 - i * PAGE_SIZE)}`);
      return;
    }
  }
}

/** LHCALL_SET_STACK(seg, esp, pages): the stack traps from user mode switch to. */
export function guestSetStack(guest: Guest, seg: number, esp: number, pages: number): void {
  // A ring-1 selector of one of the guest's own GDT entries: the host's (its data segment
  // with RPL 1, say) would only fault later, inside the switcher, at the next trap.
  const index = (seg >> 3) & 0x1fff;
  if ((seg & 3) !== GUEST_PL || seg & 4 || 2 * index + 1 >= guest.gdt.length || isIgnoredGdt(index)) {
    killGuest(guest, `bad stack segment ${seg}`);
    return;
  }
  if (pages > 2) {
    killGuest(guest, `bad stack pages ${pages}`);
    return;
  }
  guest.ss1 = seg & 0xffff;
  guest.esp1 = esp >>> 0;
  guest.stackPages = pages;
  pinStackPages(guest);
}

// ------------------------------------------------------------------ time

/**
 * write_timestamp: lguest_data.time = the host's wall-clock time: the epoch the module took
 * at load plus the host clock (on the virtual clock the epoch is 0, so runs repeat).
 */
export function writeTimestamp(guest: Guest): void {
  const sinceBoot = guest.host.clock.now();
  const nsec = guest.epoch.nsec + (sinceBoot % 1e9);
  const ts = new Uint8Array(TIMESPEC.size);
  const view = new DataView(ts.buffer);
  TIMESPEC.f.tv_sec.set(view, 0, guest.epoch.sec + Math.floor(sinceBoot / 1e9) + Math.floor(nsec / 1e9));
  TIMESPEC.f.tv_nsec.set(view, 0, nsec % 1e9);
  if (!lguestDataWrite(guest, LGUEST_DATA.offsetOf.time, ts)) killGuest(guest, 'Writing timestamp');
}

/**
 * LHCALL_SET_CLOCKEVENT(delta): raise IRQ 0 after `delta` nanoseconds of host clock time;
 * 0 cancels. One shot: the guest re-arms it from its tick handler.
 */
export function guestClockevent(guest: Guest, delta: number): void {
  if (delta === 0) {
    guest.clock.cancel();
    return;
  }
  guest.clock.startIn(delta);
}
