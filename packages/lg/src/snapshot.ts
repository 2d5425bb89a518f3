// What lg knows about a guest, taken out and put back: the half of a snapshot (and of a live
// migration) that only the module can give. The launcher saves the guest's memory and its
// devices; everything the guest told lg through hypercalls lives here, in struct lguest:
// its registers as the switcher saved them, where its lguest_data is, its IDT, GDT and TLS
// entries, its kernel stack, its page directory, its DMA bindings, the interrupts it has
// pending and its clock event.
//
// The cut is taken between two trips through the switcher, while the launcher is out of
// read() (a LHREQ_BREAK returned -EAGAIN): the guest is wholly in lg's hands, no hypercall is
// half done and no DMA is waiting for the launcher. The shadow page tables are not saved:
// they are a cache of the guest's own tables, and a restored guest builds them again one
// demand fault at a time, as after LHCALL_FLUSH_TLB(1).
//
// Dirty-page tracking for live migration lives here too. The launcher asks the host which of
// its pages were written since it last asked (soft-dirty bits on its page tables); but the
// guest writes through lg's shadow entries, which the host never sees. So at the moment the
// launcher clears its soft-dirty bits, lg write-protects every shadow entry: the guest's
// next write to a page faults into demandPage, which maps it writable again through
// get_user_pages(write), and that marks the launcher's page dirty.

import { LGUEST_REGS, PAGE_SIZE, PTRS_PER_PTE, SWITCHER_PGD_INDEX, _PAGE_PRESENT, _PAGE_RW } from '@lguest/abi';
import { pinStackPages } from './interrupts_and_traps';
import { bindDma } from './io';
import { CHANGED_ALL, GUEST_IDT_ENTRIES, type Guest, type WallClock } from './lg';

/** Bumped whenever GuestState changes shape: a restore refuses another version. */
export const GUEST_STATE_VERSION = 1;

/** One DMA binding, as the guest made it with LHCALL_BIND_DMA. */
export interface SavedDmaBinding {
  /** The key as the guest gave it: an address in its own memory. */
  readonly ukey: number;
  readonly dmas: number;
  readonly numDmas: number;
  readonly nextDma: number;
  readonly interrupt: number;
}

/** lg's state for one guest, as plain data (numbers and arrays of numbers). */
export interface GuestState {
  readonly version: number;
  /** struct lguest_regs, word by word (what the switcher loads at the next entry). */
  readonly regs: number[];
  readonly pfnLimit: number;
  readonly pageOffset: number;
  readonly epoch: WallClock;
  readonly lguestData: number;
  readonly noirqStart: number;
  readonly noirqEnd: number;
  readonly nextHcall: number;
  readonly ts: number;
  readonly halted: boolean;
  readonly ss1: number;
  readonly esp1: number;
  readonly stackPages: number;
  readonly irqsPending: number;
  readonly idt: number[];
  readonly syscallIdt: number[];
  readonly gdt: number[];
  /** The guest's current page directory (its cr3, guest-physical). */
  readonly cr3: number;
  /** When the clock event fires (host clock, ns), or null if it is not armed. */
  readonly clockEvent: number | null;
  /** Bindings oldest first, so binding them again in this order keeps the hash order. */
  readonly dma: SavedDmaBinding[];
}

/** Why a guest cannot be saved now, or null if it can. */
export function unsavable(guest: Guest): string | null {
  if (guest.dead !== null) return `the guest is dead (${guest.dead})`;
  if (guest.inRead) return 'the guest is running (stop it first)';
  if (guest.dmaIsPending || guest.dmaRetry) return 'the guest is in the middle of a DMA';
  for (const info of guest.dma) {
    if (info.interrupt && info.key?.shared) {
      return 'the guest has a DMA binding in memory shared with other guests (--sharenet): its peers cannot be saved';
    }
  }
  return null;
}

/** The guest's state as lg holds it. Throws if `unsavable` says why not. */
export function saveGuestState(guest: Guest): GuestState {
  const why = unsavable(guest);
  if (why) throw new Error(`cannot save the guest: ${why}`);
  const view = guest.host.view;
  const regs: number[] = [];
  for (let i = 0; i < LGUEST_REGS.size / 4; i++) regs.push(view.getUint32(guest.regs + i * 4, true));
  // The hash lists are newest first: collect this guest's bindings, then reverse.
  const dma: SavedDmaBinding[] = [];
  for (const list of guest.globals.dmaHash.values()) {
    for (const info of list) {
      if (info.guestId !== guest.id || !info.key) continue;
      dma.push({
        ukey: (info.key.word + (info.key.offset & ~3)) >>> 0,
        dmas: info.dmas,
        numDmas: info.numDmas,
        nextDma: info.nextDma,
        interrupt: info.interrupt,
      });
    }
  }
  dma.reverse();
  return {
    version: GUEST_STATE_VERSION,
    regs,
    pfnLimit: guest.pfnLimit,
    pageOffset: guest.pageOffset,
    epoch: guest.epoch,
    lguestData: guest.lguestData,
    noirqStart: guest.noirqStart,
    noirqEnd: guest.noirqEnd,
    nextHcall: guest.nextHcall,
    ts: guest.ts,
    halted: guest.halted,
    ss1: guest.ss1,
    esp1: guest.esp1,
    stackPages: guest.stackPages,
    irqsPending: guest.irqsPending,
    idt: [...guest.idt],
    syscallIdt: [...guest.syscallIdt],
    gdt: [...guest.gdt],
    cr3: guest.pgdirs[guest.pgdidx].gpgdir,
    clockEvent: guest.clock.active ? guest.clock.expires : null,
    dma,
  };
}

/**
 * Puts a saved state into a guest just made by LHREQ_INITIALIZE with the same pfn limit,
 * page offset and page directory (the launcher's part of a restore), before it first runs.
 * `epoch` replaces the saved wall-clock epoch (a restore on the host clock keeps the guest's
 * wall time true). Returns null, or what does not fit (nothing is changed then).
 */
export function loadGuestState(guest: Guest, state: GuestState, epoch: WallClock): string | null {
  if (state.version !== GUEST_STATE_VERSION) {
    return `lg state version ${state.version}, but this lg reads version ${GUEST_STATE_VERSION}`;
  }
  if (guest.stats.switches !== 0) return 'the guest has already run';
  if (state.pfnLimit !== guest.pfnLimit || state.pageOffset !== guest.pageOffset) {
    return `the guest's memory (${guest.pfnLimit} pages from ${guest.pageOffset}) is not the saved one (${state.pfnLimit} from ${state.pageOffset})`;
  }
  if (state.cr3 !== guest.pgdirs[guest.pgdidx].gpgdir) return 'the page directory is not the saved one';
  const sizes: [string, number[], number][] = [
    ['regs', state.regs, LGUEST_REGS.size / 4],
    ['idt', state.idt, GUEST_IDT_ENTRIES * 2],
    ['syscallIdt', state.syscallIdt, guest.syscallIdt.length],
    ['gdt', state.gdt, guest.gdt.length],
  ];
  for (const [name, words, n] of sizes) {
    if (!Array.isArray(words) || words.length !== n) return `the saved ${name} has ${words?.length} words, not ${n}`;
  }
  const view = guest.host.view;
  state.regs.forEach((w, i) => view.setUint32(guest.regs + i * 4, w >>> 0, true));
  (guest as { epoch: WallClock }).epoch = epoch;
  guest.lguestData = state.lguestData >>> 0;
  guest.noirqStart = state.noirqStart >>> 0;
  guest.noirqEnd = state.noirqEnd >>> 0;
  guest.nextHcall = state.nextHcall;
  guest.ts = state.ts;
  guest.halted = state.halted;
  guest.ss1 = state.ss1;
  guest.esp1 = state.esp1 >>> 0;
  guest.stackPages = state.stackPages;
  guest.irqsPending = state.irqsPending >>> 0;
  guest.idt.set(state.idt);
  guest.syscallIdt.set(state.syscallIdt);
  guest.gdt.set(state.gdt);
  guest.changed = CHANGED_ALL;
  for (const b of state.dma) {
    if (!bindDma(guest, b.ukey, b.dmas, b.numDmas, b.interrupt))
      return `cannot bind DMA at key 0x${b.ukey.toString(16)}`;
    const info = guest.dma.find(
      (d) => d.interrupt && d.dmas === b.dmas >>> 0 && d.nextDma === 0 && d.numDmas === b.numDmas,
    );
    if (info) info.nextDma = b.nextDma;
  }
  if (guest.dead !== null) return guest.dead;
  if (state.clockEvent !== null) guest.clock.start(state.clockEvent);
  // The kernel stack must be mapped before the first trap from ring 3 is delivered.
  pinStackPages(guest);
  return guest.dead;
}

/**
 * Makes every shadow entry of the guest read-only (the kernel stack excepted: the CPU pushes
 * trap frames there and must not fault), so its next write to each page comes to demandPage
 * and is seen by the launcher's soft-dirty bits. Call it with the guest out of the switcher,
 * at the moment the launcher clears those bits.
 */
export function writeProtectShadows(guest: Guest): void {
  const ram32 = guest.host.ram32;
  for (const p of guest.pgdirs) {
    if (!p.pgdir) continue;
    for (let j = 0; j < SWITCHER_PGD_INDEX; j++) {
      const spgd = ram32[(p.pgdir >>> 2) + j];
      if ((spgd & _PAGE_PRESENT) === 0) continue;
      const table = (spgd >>> 0) - ((spgd >>> 0) % PAGE_SIZE);
      for (let i = 0; i < PTRS_PER_PTE; i++) {
        const at = (table >>> 2) + i;
        if (ram32[at] & _PAGE_PRESENT) ram32[at] &= ~_PAGE_RW;
      }
    }
  }
  guest.host.core.flushTlb();
  pinStackPages(guest);
}
