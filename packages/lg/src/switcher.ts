// The switcher, from the host's side: putting it in place, and going through it.
//
// At module load the switcher's page (switcher/switcher.S, assembled at build time into
// switcher-image.ts) goes to SWITCHER_ADDR in the host's kernel mappings — and so in every
// process — followed by this CPU's struct lguest_pages: page A, the stack a trapping guest
// lands on, and page B, what the switcher loads (the host's CR3 and descriptor tables to go
// back to; the guest's GDT, IDT and TSS). LGUEST_CS and LGUEST_DS go into the host's GDT at
// 10 and 11, so the far call into the switcher has a code segment, and the switcher's %cs
// and %ds mean the same thing in the host's GDT and in the guest's.
//
// Guests see the switcher through a page table of their own that only their shadow page
// directories point at: the text and page B read-only, and at page A not this CPU's page but
// the running guest's register page, so a trap saves the registers straight into it.
//
// run_guest_once is the whole hypervisor loop in four x86 instructions: `pushf; lcall
// *lguest_entry; ret`, run with callKernel inside the launcher's context. The pushf and the
// lcall make the host stack look like an interrupt frame, which the switcher's IRET (or the
// host interrupt handler's) pops on the way back.

import {
  DESC_PTR,
  GDT_SIZE,
  I386_HW_TSS,
  IDT_ENTRIES,
  LGUEST_CS,
  LGUEST_DS,
  LGUEST_PAGES,
  LGUEST_REGS,
  LGUEST_TRAP_ENTRY,
  PAGE_SIZE,
  SHARED_SWITCHER_PAGES,
  SWITCHER_ADDR,
  X86_CR0_TS,
  _PAGE_ACCESSED,
  _PAGE_KERNEL,
  _PAGE_PRESENT,
  lguestPagesAddr,
} from '@lguest/abi';
import { Errno, HOST_CR0, type Host, type KernelCall } from '@lguest/host';
import { copyTraps } from './interrupts_and_traps';
import { CHANGED_ALL, CHANGED_GDT, CHANGED_GDT_TLS, CHANGED_IDT, TRAPNUM_ENTRY_FAILED, setReg, type Guest } from './lg';
import { currentShadowPgdir, mapSwitcherInGuest } from './page_tables';
import { copyGdt, copyGdtTls, LGUEST_CS_DESC, LGUEST_DS_DESC, setupDefaultGdtEntries } from './segments';
import { SWITCHER_SYMBOLS, SWITCHER_TEXT } from './switcher-image';

/** Read-only and supervisor: how the switcher's text and page B are mapped. */
const PAGE_READONLY_KERNEL = _PAGE_PRESENT | _PAGE_ACCESSED;
/** Interrupt gate, present, DPL 0 — and DPL 1 for the hypercall vector. */
const GATE_FLAGS = 0x8e00;
const GATE_FLAGS_HYPERCALL = 0xae00;
/** Our one CPU. */
const CPU = 0;

/** Where the switcher and this CPU's pages are, and what the host needs to go through them. */
export class Switcher {
  /** Physical pages: the text, this CPU's page A and page B, the guests' switcher page table. */
  readonly textPage: number;
  readonly pageA: number;
  readonly pageB: number;
  readonly ptePage: number;
  /** This CPU's struct lguest_pages (virtual, the same in host and guest). */
  readonly pagesVa = lguestPagesAddr(CPU);
  /** The run_guest_once routine (kernel virtual). */
  readonly runGuestOnceVa: number;
  /** The switcher's own IDT entries, two words per vector, for copy_traps. */
  readonly defaultIdt = new Uint32Array(IDT_ENTRIES * 2);
  /** The guest whose tables are in page B (last_guest): any other one gets them all copied. */
  lastGuest: Guest | null = null;

  // Physical addresses inside page B.
  readonly hostCr3Phys: number;
  readonly guestIdtPhys: number;
  readonly guestGdtPhys: number;
  readonly guestTssPhys: number;

  constructor(textPage: number, pageA: number, pageB: number, ptePage: number, runGuestOnceVa: number) {
    this.textPage = textPage;
    this.pageA = pageA;
    this.pageB = pageB;
    this.ptePage = ptePage;
    this.runGuestOnceVa = runGuestOnceVa;
    this.hostCr3Phys = this.stateAddr('state.host_cr3');
    this.guestIdtPhys = this.stateAddr('state.guest_idt');
    this.guestGdtPhys = this.stateAddr('state.guest_gdt');
    this.guestTssPhys = this.stateAddr('state.guest_tss');
  }

  /** Physical address of a member of struct lguest_pages that lives in page B. */
  stateAddr(path: string): number {
    return this.pageB + LGUEST_PAGES.offset(path) - PAGE_SIZE;
  }
}

/** The switcher's page is its text and then its table of stub addresses. */
function stubAddress(vector: number): number {
  const at = SWITCHER_SYMBOLS.default_idt_entries - SWITCHER_ADDR + vector * 4;
  return (
    (SWITCHER_TEXT[at] |
      (SWITCHER_TEXT[at + 1] << 8) |
      (SWITCHER_TEXT[at + 2] << 16) |
      (SWITCHER_TEXT[at + 3] << 24)) >>>
    0
  );
}

/** run_guest_once: pushf; lcall *lguest_entry; ret — with lguest_entry = {switch_to_guest, LGUEST_CS}. */
function runGuestOnceCode(base: number): Uint8Array {
  const farPtr = base + 8;
  const code = new Uint8Array(14);
  const view = new DataView(code.buffer);
  code.set([0x9c, 0xff, 0x1d], 0); // pushf; lcall *farPtr
  view.setUint32(3, farPtr, true);
  code[7] = 0xc3; // ret
  view.setUint32(8, SWITCHER_SYMBOLS.switch_to_guest, true);
  view.setUint16(12, LGUEST_CS, true);
  return code;
}

/**
 * map_switcher: put the switcher and this CPU's pages at SWITCHER_ADDR in the host, LGUEST_CS
 * and LGUEST_DS in the host's GDT, fill page B with what never changes, and load
 * run_guest_once. The Switcher, or -ENOMEM / -EINVAL (e.g. the address is taken).
 */
export function mapSwitcher(host: Host): Switcher | number {
  if (SWITCHER_TEXT.length > PAGE_SIZE) return -Errno.EINVAL;
  const pages: number[] = [];
  const fail = (err: number): number => {
    for (const p of pages) host.putPage(p);
    return err;
  };
  for (let i = 0; i < 4; i++) {
    const p = host.allocPage({ zero: true });
    if (p < 0) return fail(p);
    pages.push(p);
  }
  const [text, pageA, pageB, ptes] = pages;
  host.writePhys(text, SWITCHER_TEXT);

  // run_guest_once, with its far pointer: we need its address to write the code.
  const entry = host.loadKernelCode(new Uint8Array(14));
  if (entry < 0) return fail(entry);
  host.writePhys(host.pa(entry), runGuestOnceCode(entry));
  const sw = new Switcher(text, pageA, pageB, ptes, entry);

  const pagesVa = sw.pagesVa;
  const mapped = [
    host.mapKernelPage(SWITCHER_ADDR, text, PAGE_READONLY_KERNEL),
    host.mapKernelPage(pagesVa, pageA, _PAGE_KERNEL),
    host.mapKernelPage(pagesVa + PAGE_SIZE, pageB, _PAGE_KERNEL),
  ];
  const bad = mapped.find((r) => r < 0);
  if (bad !== undefined) {
    unmapSwitcher(host, sw);
    return bad;
  }
  host.setGdtEntry(LGUEST_CS >> 3, LGUEST_CS_DESC[0], LGUEST_CS_DESC[1]);
  host.setGdtEntry(LGUEST_DS >> 3, LGUEST_DS_DESC[0], LGUEST_DS_DESC[1]);

  // The guests' switcher page table: text and page B read-only; page A is set per guest.
  const ram32 = host.ram32;
  ram32[(ptes >>> 2) + 0] = text | PAGE_READONLY_KERNEL;
  ram32[(ptes >>> 2) + SHARED_SWITCHER_PAGES + 2 * CPU + 1] = pageB | PAGE_READONLY_KERNEL;

  // Page B: the host's tables to go back to, and where the guest's are.
  const view = host.view;
  const hostGdt = host.gdtDescriptor();
  const hostIdt = host.idtDescriptor();
  const desc = (path: string, limit: number, base: number): void => {
    const at = sw.stateAddr(path);
    DESC_PTR.f.size.set(view, at, limit);
    DESC_PTR.f.address.set(view, at, base);
  };
  desc('state.host_gdt_desc', hostGdt.limit, hostGdt.base);
  desc('state.host_idt_desc', hostIdt.limit, hostIdt.base);
  desc('state.guest_idt_desc', IDT_ENTRIES * 8 - 1, pagesVa + LGUEST_PAGES.offset('state.guest_idt'));
  desc('state.guest_gdt_desc', GDT_SIZE - 1, pagesVa + LGUEST_PAGES.offset('state.guest_gdt'));
  // The guest's TSS: traps to ring 0 land just above the registers in page A.
  const tss = sw.guestTssPhys;
  I386_HW_TSS.f.esp0.set(view, tss, pagesVa + LGUEST_PAGES.offsetOf.regs + LGUEST_REGS.size);
  I386_HW_TSS.f.ss0.set(view, tss, LGUEST_DS);
  I386_HW_TSS.f.io_bitmap_base.set(view, tss, I386_HW_TSS.size);
  setupDefaultGdtEntries(view, sw.guestGdtPhys, pagesVa + LGUEST_PAGES.offset('state.guest_tss'));

  // setup_default_idt_entries: every vector to its switcher stub, through LGUEST_CS.
  for (let v = 0; v < IDT_ENTRIES; v++) {
    const stub = stubAddress(v);
    sw.defaultIdt[2 * v] = ((LGUEST_CS << 16) | (stub & 0xffff)) >>> 0;
    sw.defaultIdt[2 * v + 1] =
      ((stub & 0xffff0000) | (v === LGUEST_TRAP_ENTRY ? GATE_FLAGS_HYPERCALL : GATE_FLAGS)) >>> 0;
    view.setUint32(sw.guestIdtPhys + v * 8, sw.defaultIdt[2 * v], true);
    view.setUint32(sw.guestIdtPhys + v * 8 + 4, sw.defaultIdt[2 * v + 1], true);
  }
  return sw;
}

/** unmap_switcher: take it all down again (module unload). */
export function unmapSwitcher(host: Host, sw: Switcher): void {
  host.unmapKernelPage(SWITCHER_ADDR);
  host.unmapKernelPage(sw.pagesVa);
  host.unmapKernelPage(sw.pagesVa + PAGE_SIZE);
  host.setGdtEntry(LGUEST_CS >> 3, 0, 0);
  host.setGdtEntry(LGUEST_DS >> 3, 0, 0);
  for (const p of [sw.textPage, sw.pageA, sw.pageB, sw.ptePage]) host.putPage(p);
  const code = host.pa(sw.runGuestOnceVa);
  if (code >= 0) host.putPage(code);
}

/**
 * copy_in_guest_info: bring page B up to date for `guest` — everything if another guest ran
 * here last, else only what changed — and map the switcher into its current shadow.
 */
function copyInGuestInfo(sw: Switcher, guest: Guest): void {
  const host = guest.host;
  const view = host.view;
  if (sw.lastGuest !== guest) {
    sw.lastGuest = guest;
    guest.changed = CHANGED_ALL;
  }
  // The launcher's page directory: we run in its context, and go back to it.
  view.setUint32(sw.hostCr3Phys, host.currentCr3(), true);
  mapSwitcherInGuest(guest, sw.ptePage, CPU);
  I386_HW_TSS.f.esp1.set(view, sw.guestTssPhys, guest.esp1);
  I386_HW_TSS.f.ss1.set(view, sw.guestTssPhys, guest.ss1);
  if (guest.changed & CHANGED_IDT) copyTraps(guest, view, sw.guestIdtPhys, sw.defaultIdt);
  if (guest.changed & CHANGED_GDT) copyGdt(guest, view, sw.guestGdtPhys);
  else if (guest.changed & CHANGED_GDT_TLS) copyGdtTls(guest, view, sw.guestGdtPhys);
  guest.changed = 0;
}

/**
 * run_guest_once: enter the guest and come back at its next trap or interrupt. Must run on
 * the CPU as the guest's launcher (inside host.runOnCpu). trapnum in the register page says
 * why we are back; 256 means the entry itself failed.
 */
export function runGuestOnce(sw: Switcher, guest: Guest): KernelCall {
  copyInGuestInfo(sw, guest);
  setReg(guest, 'trapnum', TRAPNUM_ENTRY_FAILED);
  guest.stats.switches++;
  const cr0 = guest.ts ? HOST_CR0 | X86_CR0_TS : HOST_CR0;
  // IF clear: nothing may interrupt the switch itself (the guest runs with IF set).
  return guest.host.callKernel(
    sw.runGuestOnceVa,
    { eax: sw.pagesVa, ebx: currentShadowPgdir(guest), eflags: 0x002 },
    { cr0, breakpoints: guest.debug?.callBreakpoints ?? undefined },
  );
}
