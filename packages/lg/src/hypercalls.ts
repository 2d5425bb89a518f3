// Hypercalls: the guest asking the host for what ring 1 cannot do itself.
//
// A guest makes a hypercall with `int $0x1f`: %eax the call, %edx/%ebx/%ecx the arguments.
// That vector's gate is the only one in the switcher's IDT a ring-1 guest may use, so the
// trap brings the guest's registers back to the host with trapnum 0x1f, and the control
// file's read() loop lands here before it runs the guest again. Calls that can wait — page
// table updates, mostly — the guest instead queues in a ring inside lguest_data; we run the
// whole ring, in order, at every exit, before the call that caused the exit.
//
// Nothing a hypercall asks is trusted. The first call must be LGUEST_INIT, which tells us
// where lguest_data is; a malformed call is not an error returned to the guest but its
// death ("Sudden Death", the original calls it), with a reason the launcher will print.

import {
  LGUEST_CRASH_MSG_SIZE,
  LGUEST_DATA,
  LGUEST_RESERVE_MEM,
  LGUEST_TRAP_ENTRY,
  LHCALL_BIND_DMA,
  LHCALL_CRASH,
  LHCALL_FLUSH_ASYNC,
  LHCALL_FLUSH_TLB,
  LHCALL_HALT,
  LHCALL_LGUEST_INIT,
  LHCALL_LOAD_GDT,
  LHCALL_LOAD_IDT_ENTRY,
  LHCALL_LOAD_TLS,
  LHCALL_NEW_PGTABLE,
  LHCALL_RING_SIZE,
  LHCALL_SEND_DMA,
  LHCALL_SET_CLOCKEVENT,
  LHCALL_SET_PMD,
  LHCALL_SET_PTE,
  LHCALL_SET_STACK,
  LHCALL_STATUS_FREE,
  LHCALL_TS,
  HCALL_RING,
} from '@lguest/abi';
import { guestClockevent, guestSetStack, loadGuestIdtEntry, writeTimestamp } from './interrupts_and_traps';
import { bindDma, sendDma } from './io';
import {
  TRAPNUM_HCALL_DONE,
  getReg,
  hex,
  killGuest,
  lgread,
  lgreadInto,
  lguestAddressOk,
  lgwrite,
  setReg,
  type Guest,
} from './lg';
import {
  guestNewPagetable,
  guestPagetableClearAll,
  guestPagetableFlushUser,
  guestSetPmd,
  guestSetPte,
} from './page_tables';
import { guestLoadTls, loadGuestGdt } from './segments';

/** The TSC frequency the host reports: its TSC counts nanoseconds (a 1 GHz clock). */
export const TSC_KHZ = 1_000_000;

/**
 * do_hcall: carry out one hypercall. Returns the value for %eax (only BIND_DMA has one), or
 * undefined.
 */
export function doHcall(guest: Guest, eax: number, edx: number, ebx: number, ecx: number): number | undefined {
  guest.hcallCounts[eax]++; // beyond the array (a bad call): no effect
  switch (eax) {
    case LHCALL_FLUSH_ASYNC:
      // Nothing to do: the trap itself made us drain the ring.
      return undefined;
    case LHCALL_LGUEST_INIT:
      killGuest(guest, 'already have lguest_data');
      return undefined;
    case LHCALL_CRASH: {
      const msg = lgread(guest, edx, LGUEST_CRASH_MSG_SIZE);
      if (!msg) return undefined;
      msg[msg.length - 1] = 0;
      const end = msg.indexOf(0);
      killGuest(guest, `CRASH: ${new TextDecoder('latin1').decode(msg.subarray(0, end))}`);
      return undefined;
    }
    case LHCALL_FLUSH_TLB:
      if (edx) guestPagetableClearAll(guest);
      else guestPagetableFlushUser(guest);
      return undefined;
    case LHCALL_BIND_DMA:
      return bindDma(guest, edx, ebx, (ecx >>> 8) & 0xffff, ecx & 0xff);
    case LHCALL_SEND_DMA:
      sendDma(guest, edx, ebx);
      return undefined;
    case LHCALL_LOAD_GDT:
      loadGuestGdt(guest, edx, ebx);
      return undefined;
    case LHCALL_LOAD_IDT_ENTRY:
      loadGuestIdtEntry(guest, edx, ebx, ecx);
      return undefined;
    case LHCALL_NEW_PGTABLE:
      guestNewPagetable(guest, edx);
      return undefined;
    case LHCALL_SET_STACK:
      guestSetStack(guest, edx, ebx, ecx);
      return undefined;
    case LHCALL_SET_PTE:
      guestSetPte(guest, edx, ebx, ecx);
      return undefined;
    case LHCALL_SET_PMD:
      guestSetPmd(guest, edx, ebx);
      return undefined;
    case LHCALL_LOAD_TLS:
      guestLoadTls(guest, edx);
      return undefined;
    case LHCALL_SET_CLOCKEVENT:
      guestClockevent(guest, edx);
      return undefined;
    case LHCALL_TS:
      guest.ts = edx;
      return undefined;
    case LHCALL_HALT:
      guest.halted = true;
      return undefined;
    default:
      killGuest(guest, `Bad hypercall ${eax}`);
      return undefined;
  }
}

/** Scratch for the ring's status bytes and one entry (one guest at a time runs here). */
const ringStatus = new Uint8Array(LHCALL_RING_SIZE);
const ringEntry = new Uint8Array(HCALL_RING.size);
const ringView = new DataView(ringEntry.buffer);
const FREE = Uint8Array.of(LHCALL_STATUS_FREE);

/**
 * do_async_hcalls: run the queued calls, in order from where we stopped last time, until a
 * free slot — or a SEND_DMA for the launcher, which read() must hand over first.
 */
function doAsyncHcalls(guest: Guest): void {
  const statusAddr = guest.lguestData + LGUEST_DATA.offsetOf.hcall_status;
  if (guest.host.copyFromUserInto(guest.proc, statusAddr, ringStatus) !== 0) return;
  for (let i = 0; i < LHCALL_RING_SIZE; i++) {
    const n = guest.nextHcall;
    if (ringStatus[n] === LHCALL_STATUS_FREE) break;
    guest.nextHcall = (n + 1) % LHCALL_RING_SIZE;
    const entry = guest.lguestData + LGUEST_DATA.f.hcalls.at(n);
    if (guest.host.copyFromUserInto(guest.proc, entry, ringEntry) !== 0) {
      killGuest(guest, 'Fetching async hypercalls');
      return;
    }
    guest.stats.asyncHypercalls++;
    doHcall(
      guest,
      HCALL_RING.f.eax.get(ringView, 0),
      HCALL_RING.f.edx.get(ringView, 0),
      HCALL_RING.f.ebx.get(ringView, 0),
      HCALL_RING.f.ecx.get(ringView, 0),
    );
    if (guest.host.copyToUser(guest.proc, statusAddr + n, FREE) !== 0) {
      killGuest(guest, 'Writing result for async hypercall');
      return;
    }
    if (guest.dmaIsPending || guest.dead !== null) return;
  }
}

/**
 * initialize (LHCALL_LGUEST_INIT): learn where lguest_data is, read the no-interrupt window
 * from it, and fill in what the host tells the guest: the memory it must leave alone at the
 * top, the TSC speed, its id and the time. Those writes may have copied a page, so every
 * shadow page table goes.
 */
function initialize(guest: Guest): void {
  const eax = getReg(guest, 'eax');
  if (eax !== LHCALL_LGUEST_INIT) {
    killGuest(guest, `hypercall ${eax} before LGUEST_INIT`);
    return;
  }
  const data = getReg(guest, 'edx');
  const bad = `bad guest page ${hex(data)}`;
  if (!lguestAddressOk(guest, data, LGUEST_DATA.size)) {
    killGuest(guest, bad);
    return;
  }
  guest.lguestData = data;
  const bytes = new Uint8Array(LGUEST_DATA.size);
  if (!lgreadInto(guest, data, bytes)) return;
  const view = new DataView(bytes.buffer);
  guest.noirqStart = LGUEST_DATA.f.noirq_start.get(view, 0);
  guest.noirqEnd = LGUEST_DATA.f.noirq_end.get(view, 0);
  LGUEST_DATA.f.reserve_mem.set(view, 0, LGUEST_RESERVE_MEM);
  LGUEST_DATA.f.tsc_khz.set(view, 0, TSC_KHZ);
  LGUEST_DATA.f.guestid.set(view, 0, guest.id);
  const from = LGUEST_DATA.offsetOf.reserve_mem;
  const to = LGUEST_DATA.offsetOf.tsc_khz + 4;
  if (!lgwrite(guest, data + from, bytes.subarray(from, to))) {
    killGuest(guest, bad);
    return;
  }
  writeTimestamp(guest);
  guestPagetableClearAll(guest);
}

/**
 * do_hypercalls: at every exit, before looking at anything else. Until LGUEST_INIT only that
 * call is accepted; then the async ring runs, then the synchronous call that trapped (unless
 * a DMA for the launcher came out of the ring first: the call waits for the next read()).
 */
export function doHypercalls(guest: Guest): void {
  if (guest.lguestData === 0) {
    if (getReg(guest, 'trapnum') === LGUEST_TRAP_ENTRY) {
      guest.stats.hypercalls++;
      guest.hcallCounts[LHCALL_LGUEST_INIT]++;
      initialize(guest);
      setReg(guest, 'trapnum', TRAPNUM_HCALL_DONE);
    }
    return;
  }
  doAsyncHcalls(guest);
  if (guest.dead !== null) return;
  if (!guest.dmaIsPending && getReg(guest, 'trapnum') === LGUEST_TRAP_ENTRY) {
    guest.stats.hypercalls++;
    const result = doHcall(
      guest,
      getReg(guest, 'eax'),
      getReg(guest, 'edx'),
      getReg(guest, 'ebx'),
      getReg(guest, 'ecx'),
    );
    if (result !== undefined) setReg(guest, 'eax', result);
    setReg(guest, 'trapnum', TRAPNUM_HCALL_DONE);
  }
}
