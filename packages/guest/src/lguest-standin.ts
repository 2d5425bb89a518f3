// Test-only: a stand-in lguest host, just enough of the Launcher and the lg module to run the
// guest's lguest path on our CPU core before packages/lg exists. It is NOT the hypervisor and
// trusts the guest: the guest's own page tables are live (no shadow paging, guest-physical
// = host-physical), and there is no switcher — the host's ring-0 gates point at one-byte
// `iret` stubs on which the core has breakpoints, so every trap into the "host" stops run()
// before the stub executes; TypeScript then handles it (hypercall, reflected trap, injected
// IRQ) by editing registers and the ring-0 iret frame, and lets the stub's iret go back.
//
// What it does follow is the guest-visible ABI of lguest-abi.md: the boot state of §3.1-3.4
// (zero page, command line, Launcher page tables at PAGE_OFFSET only, ring 1 at the address
// after "GenuineLguest"), hypercalls and the async ring (§2), GDT fix-ups and host-owned
// entries (§1.5), the IDT rules and direct traps (§1.6), set_guest_interrupt and
// maybe_do_interrupt (§5.1), the one-shot clock (§5.2), HALT, the console's DMA (§6.5-6.7)
// and CRASH. Where the guest breaks a rule the real host would kill it for, this kills it too,
// with the host's message, so a guest bug shows up here first.

import {
  BOOT_PARAMS,
  HCALL_RING,
  LGUEST_DATA,
  LGUEST_DEVICE_DESC,
  LGUEST_DEVICE_T_CONSOLE,
  LGUEST_DMA,
  LGUEST_SIGNATURE,
} from '@lguest/abi';
import { Exit, interpreter, type CpuCore, type CpuState, type SegmentState } from '@lguest/x86';

const PAGE = 4096;
const PAGE_OFFSET = 0xc0000000;
const SWITCHER = 0xffc00000; // linear base of the host area, PGD slot 1023
/** Host area layout, in pages from its base (linear SWITCHER + n * PAGE). */
const H_PTE = 0,
  H_STUBS = 1,
  H_GDT = 2,
  H_IDT = 3,
  H_STACK = 4,
  H_PAGES = 5;
const TSS_OFFSET = 0x100; // inside the GDT page
const LGUEST_CS = 0x50,
  LGUEST_DS = 0x58;
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);
/** Virtual time: instructions per microsecond. */
const INSTRUCTIONS_PER_US = 100;

export interface StandinResult {
  /** Why the guest died ("CRASH: Power down" for a clean power-off). */
  death: string;
  /** Everything the guest sent to its console. */
  console: string;
  /** Hypercall numbers in the order the host executed them (async ones included). */
  hypercalls: number[];
  /** Calls that arrived through the async ring rather than int $0x1f. */
  asyncCalls: number;
  /** Traps reflected into the guest and IRQs injected, by vector. */
  delivered: number[];
  /** The device page's console status after the run. */
  consoleStatus: number;
  instructions: number;
}

interface Frame {
  /** Physical address of the CPU-pushed frame (after the error code). */
  at: number;
  err: number;
}

/** Boots `elf` as an lguest guest with `memMiB` of RAM and runs it until it dies. */
export function runLguestStandin(
  elf: Uint8Array,
  memMiB: number,
  cmdline: string,
  maxInstructions = 50_000_000,
): StandinResult {
  const mem = memMiB << 20;
  const devicePage = mem; // the descriptor page sits right above RAM
  const hostBase = mem + PAGE;
  const memory = new ArrayBuffer(hostBase + H_PAGES * PAGE);
  const view = new DataView(memory);
  const bytes = new Uint8Array(memory);
  let hostIrq = false;
  const core: CpuCore = interpreter.create({
    memory,
    io: { in8: () => 0xff, in16: () => 0xffff, in32: () => 0xffffffff, out8() {}, out16() {}, out32() {} },
    pic: { intrPending: () => hostIrq, acknowledge: () => ((hostIrq = false), 0x20) },
  });

  // ---- The Launcher: kernel, zero page, command line, page tables, device page. ----
  const { start, pageOffset } = loadKernel(elf, bytes);
  if (pageOffset !== PAGE_OFFSET) throw new Error(`page_offset 0x${pageOffset.toString(16)}`);
  BOOT_PARAMS.f.e820_entries.set(view, 0, 1);
  view.setUint32(BOOT_PARAMS.offsetOf.e820_map + 8, mem, true); // e820[0] = {0, mem, RAM}
  view.setUint32(BOOT_PARAMS.offsetOf.e820_map + 16, 1, true);
  BOOT_PARAMS.f.cmd_line_ptr.set(view, 0, 0x1000);
  bytes.set(new TextEncoder().encode(cmdline + ' '), 0x1000);
  const linearPages = Math.ceil(mem / PAGE / 1024);
  const pgdir = mem - PAGE;
  for (let i = 0; i < linearPages; i++) {
    const table = pgdir - (linearPages - i) * PAGE;
    for (let j = 0; j < 1024 && (i * 1024 + j) * PAGE < mem; j++)
      view.setUint32(table + j * 4, ((i * 1024 + j) * PAGE) | 7, true);
    view.setUint32(pgdir + ((PAGE_OFFSET >>> 22) + i) * 4, table | 7, true);
  }
  LGUEST_DEVICE_DESC.f.type.set(view, devicePage, LGUEST_DEVICE_T_CONSOLE);

  // ---- The host area: its page table, stubs, GDT + TSS, IDT, ring-0 stack. ----
  const h = (page: number): number => hostBase + page * PAGE;
  for (let p = 0; p < H_PAGES; p++) view.setUint32(h(H_PTE) + p * 4, h(p) | 0x63, true);
  const stub = (v: number): number => SWITCHER + H_STUBS * PAGE + v * 8;
  for (let v = 0; v < 256; v++) {
    const at = h(H_STUBS) + v * 8;
    if (ERROR_CODE_VECTORS.has(v))
      bytes.set([0x83, 0xc4, 0x04, 0xcf], at); // add $4,%esp; iret
    else bytes[at] = 0xcf; // iret
    core.setBreakpoint(stub(v));
    setGate(v, stub(v), LGUEST_CS, v === 0x1f ? 0xae00 : 0x8e00);
  }
  const gdt = h(H_GDT);
  setDesc(10, 0x0000ffff, 0x00cf9b00);
  setDesc(11, 0x0000ffff, 0x00cf9300);
  setDesc(12, 0x0000ffff, 0x00cfbb00);
  setDesc(13, 0x0000ffff, 0x00cfb300);
  const tssLinear = SWITCHER + H_GDT * PAGE + TSS_OFFSET;
  const tss = gdt + TSS_OFFSET;
  setDesc(16, 0x67 | ((tssLinear & 0xffff) << 16), 0x8b00 | (tssLinear & 0xff000000) | ((tssLinear >>> 16) & 0xff));
  view.setUint32(tss + 4, SWITCHER + (H_STACK + 1) * PAGE, true); // esp0
  view.setUint16(tss + 8, LGUEST_DS, true); // ss0
  view.setUint16(tss + 102, 104, true); // no I/O bitmap
  mapSwitcher(pgdir);

  const flat = (selector: number, access: number): SegmentState => ({ selector, base: 0, limit: 0xffffffff, access });
  const reset = core.getState();
  core.setState({
    ...reset,
    eip: start,
    esp: 0,
    esi: 0,
    eflags: 0x202,
    cs: flat(0x61, 0xc0bb),
    ds: flat(0x69, 0xc0b3),
    es: flat(0x69, 0xc0b3),
    ss: flat(0x69, 0xc0b3),
    fs: { selector: 0, base: 0, limit: 0, access: 0 },
    gs: { selector: 0, base: 0, limit: 0, access: 0 },
    tr: { selector: 0x80, base: tssLinear, limit: 0x67, access: 0x8b },
    gdtr: { base: SWITCHER + H_GDT * PAGE, limit: 255 },
    idtr: { base: SWITCHER + H_IDT * PAGE, limit: 2047 },
    cr0: 0x80010011, // PG | WP | ET | PE
    cr3: pgdir,
    cpl: 1,
  });

  // ---- The lg module's state for this guest. ----
  let lguestData = 0;
  let noirqStart = 0,
    noirqEnd = 0;
  let nextHcall = 0;
  let pending = 0;
  let halted = false;
  let clockDeadline = Infinity;
  let now = 0;
  let death = '';
  let consoleOut = '';
  let asyncCalls = 0;
  const hypercalls: number[] = [];
  const delivered: number[] = [];
  const guestIdt = new Map<number, [number, number]>();
  const kill = (why: string): void => {
    if (!death) death = why;
  };

  function setDesc(entry: number, a: number, b: number): void {
    view.setUint32(gdt + entry * 8, a >>> 0, true);
    view.setUint32(gdt + entry * 8 + 4, b >>> 0, true);
  }
  function setGate(v: number, offset: number, selector: number, flags: number): void {
    view.setUint32(h(H_IDT) + v * 8, ((offset & 0xffff) | (selector << 16)) >>> 0, true);
    view.setUint32(h(H_IDT) + v * 8 + 4, ((offset & 0xffff0000) | flags) >>> 0, true);
  }
  function mapSwitcher(dir: number): void {
    view.setUint32(dir + 1023 * 4, h(H_PTE) | 0x63, true);
  }
  /** The guest's virtual kernel address as guest-physical, checked (the host's bounds check). */
  function phys(va: number, len = 4): number {
    const pa = (va - PAGE_OFFSET) >>> 0;
    if (pa + len > devicePage + PAGE) throw new Error(`bad guest address 0x${va.toString(16)}`);
    return pa;
  }
  function checkPhys(pa: number, len: number): number {
    if (pa + len > devicePage + PAGE || pa + len < pa)
      throw new Error(`bad guest-physical address 0x${pa.toString(16)}`);
    return pa;
  }
  /** Copies the guest's GDT entry with the host's fix-ups: DPL 0 becomes 1, accessed set. */
  function fixupDesc(entry: number, a: number, b: number): void {
    if ([10, 11, 16, 31].includes(entry)) return;
    if (((b >>> 13) & 3) === 0) b |= 0x2000;
    setDesc(entry, a, b | 0x100);
  }

  function setIdtEntry(v: number, lo: number, hi: number): void {
    if ([2, 8, 15, 0x1f].includes(v) || (v >= 64 && v !== 0x80)) return;
    if ((hi & 0x8000) === 0) {
      guestIdt.delete(v);
      if (v === 0x80) setGate(v, stub(v), LGUEST_CS, 0x8e00);
      return;
    }
    const type = (hi >>> 8) & 0xf;
    if (type !== 0xe && type !== 0xf) throw new Error(`bad IDT type ${type}`);
    const sLo = ((0x61 << 16) | (lo & 0xffff)) >>> 0;
    const sHi = (hi & 0xffffef00) >>> 0;
    guestIdt.set(v, [sLo, sHi]);
    // Direct traps: trap gates below 32 (not 7, 13, 14, 0x1f) or the system call.
    if (type === 0xf && (v === 0x80 || (v < 32 && ![7, 13, 14, 0x1f].includes(v)))) {
      view.setUint32(h(H_IDT) + v * 8, sLo, true);
      view.setUint32(h(H_IDT) + v * 8 + 4, sHi, true);
    }
  }

  function hypercall(st: CpuState, call: number, a1: number, a2: number, a3: number): void {
    hypercalls.push(call);
    if (!lguestData && call !== 1) throw new Error(`hypercall ${call} before LGUEST_INIT`);
    switch (call) {
      case 0: // FLUSH_ASYNC: the exit itself drained the ring
        return;
      case 1: {
        if (lguestData) throw new Error('already have lguest_data');
        lguestData = checkPhys(a1, LGUEST_DATA.size);
        noirqStart = LGUEST_DATA.f.noirq_start.get(view, lguestData);
        noirqEnd = LGUEST_DATA.f.noirq_end.get(view, lguestData);
        LGUEST_DATA.f.reserve_mem.set(view, lguestData, 4 << 20);
        LGUEST_DATA.f.tsc_khz.set(view, lguestData, 0);
        LGUEST_DATA.f.guestid.set(view, lguestData, 0);
        writeTime();
        return;
      }
      case 2: {
        const from = checkPhys(a1, 1);
        let end = from;
        while (end < from + 127 && bytes[end] !== 0) end++;
        kill(`CRASH: ${new TextDecoder().decode(bytes.subarray(from, end))}`);
        return;
      }
      case 3: {
        if (a2 > 32) throw new Error(`too many gdt entries ${a2}`);
        const table = checkPhys(a1, a2 * 8);
        for (let i = 0; i < a2; i++)
          fixupDesc(i, view.getUint32(table + i * 8, true), view.getUint32(table + i * 8 + 4, true));
        return;
      }
      case 4: // NEW_PGTABLE: no shadows here; the guest's own directory goes live
        checkPhys(a1, PAGE);
        mapSwitcher(a1);
        st.cr3 = a1;
        core.flushTlb();
        return;
      case 5: // FLUSH_TLB
      case 14: // SET_PTE
      case 15: // SET_PMD
        if (call === 14 && a2 >= SWITCHER) throw new Error('attempt to access switcher pages');
        core.flushTlb();
        return;
      case 6:
        setIdtEntry(a1, a2, a3);
        return;
      case 7:
        if ((a1 & 3) !== 1) throw new Error(`bad stack segment ${a1}`);
        if (a3 > 2) throw new Error(`bad stack pages ${a3}`);
        view.setUint32(tss + 12, a2, true); // esp1
        view.setUint16(tss + 16, a1, true); // ss1
        return;
      case 8: // TS
        return;
      case 9:
        clockDeadline = a1 === 0 ? Infinity : now + Math.max(1, Math.ceil((a1 * INSTRUCTIONS_PER_US) / 1000));
        return;
      case 10:
        halted = true;
        return;
      case 12: {
        const irq = a3 & 0xff;
        st.eax = irq < 32 ? 1 : 0; // one binding slot is plenty here
        return;
      }
      case 13:
        sendDma(a1, checkPhys(a2, LGUEST_DMA.size));
        return;
      case 16: {
        const tls = checkPhys(a1, 24);
        for (let i = 0; i < 3; i++)
          fixupDesc(6 + i, view.getUint32(tls + i * 8, true), view.getUint32(tls + i * 8 + 4, true));
        return;
      }
      default:
        throw new Error(`Bad hypercall ${call}`);
    }
  }

  /** Key 0 is the console's; the "Launcher" writes the bytes out and sets used_len. */
  function sendDma(key: number, dma: number): void {
    if (key !== 0) return;
    let total = 0;
    for (let i = 0; i < 16; i++) {
      const len = LGUEST_DMA.f.len.get(view, dma, i);
      if (len === 0) break;
      const addr = checkPhys(LGUEST_DMA.f.addr.get(view, dma, i), len);
      consoleOut += new TextDecoder().decode(bytes.subarray(addr, addr + len));
      total += len;
    }
    LGUEST_DMA.f.used_len.set(view, dma, total);
  }

  function writeTime(): void {
    const ns = Math.floor((now * 1000) / INSTRUCTIONS_PER_US);
    view.setInt32(lguestData + LGUEST_DATA.offsetOf.time, Math.floor(ns / 1e9), true);
    view.setInt32(lguestData + LGUEST_DATA.offsetOf.time + 4, ns % 1e9, true);
  }

  function drainAsync(st: CpuState): void {
    if (!lguestData) return;
    for (let n = 0; n < 64 && !death; n++) {
      const status = LGUEST_DATA.f.hcall_status.get(view, lguestData, nextHcall);
      if (status === 0xff) break;
      const slot = lguestData + LGUEST_DATA.f.hcalls.at(nextHcall);
      asyncCalls++;
      const i = nextHcall;
      nextHcall = (nextHcall + 1) % 64;
      hypercall(
        st,
        HCALL_RING.f.eax.get(view, slot),
        HCALL_RING.f.edx.get(view, slot),
        HCALL_RING.f.ebx.get(view, slot),
        HCALL_RING.f.ecx.get(view, slot),
      );
      LGUEST_DATA.f.hcall_status.set(view, lguestData, 0xff, i);
    }
  }

  /** set_guest_interrupt: a frame on the guest's kernel stack, and the ring-0 frame aimed at its handler. */
  function setGuestInterrupt(f: Frame, lo: number, hi: number, hasErr: boolean): void {
    const r = (o: number): number => view.getUint32(f.at + o, true);
    const [eip, cs, eflags, esp, ss] = [r(0), r(4), r(8), r(12), r(16)];
    let gstack: number, gss: number;
    const words: number[] = [];
    if ((ss & 3) !== 1) {
      gstack = view.getUint32(tss + 12, true);
      gss = view.getUint16(tss + 16, true);
      words.push(ss, esp);
    } else {
      gstack = esp;
      gss = ss;
    }
    const irqOn = LGUEST_DATA.f.irq_enabled.get(view, lguestData);
    words.push(irqOn & 0x200 ? eflags : eflags & ~0x200, cs, eip);
    if (hasErr) words.push(f.err);
    for (const w of words) {
      gstack = (gstack - 4) >>> 0;
      view.setUint32(phys(gstack), w >>> 0, true);
    }
    view.setUint32(f.at, ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0, true);
    view.setUint32(f.at + 4, 0x61, true);
    view.setUint32(f.at + 12, gstack, true);
    view.setUint32(f.at + 16, gss, true);
    if (((hi >>> 8) & 0xf) === 0xe) LGUEST_DATA.f.irq_enabled.set(view, lguestData, 0);
  }

  function deliverTrap(f: Frame, vector: number, hasErr: boolean): void {
    const gate = guestIdt.get(vector);
    if (!gate || vector >= 64) {
      throw new Error(
        `unhandled trap ${vector} at 0x${view.getUint32(f.at, true).toString(16)} (0x${f.err.toString(16)})`,
      );
    }
    delivered.push(vector);
    setGuestInterrupt(f, gate[0], gate[1], hasErr);
  }

  function maybeDoInterrupt(f: Frame): void {
    if (!lguestData) return;
    const irqs = pending & ~LGUEST_DATA.f.blocked_interrupts.get(view, lguestData, 0);
    if (irqs === 0) return;
    const eip = view.getUint32(f.at, true);
    if (eip >= noirqStart && eip < noirqEnd) return;
    if (halted) {
      LGUEST_DATA.f.irq_enabled.set(view, lguestData, 0x200);
      halted = false;
    } else if (LGUEST_DATA.f.irq_enabled.get(view, lguestData) === 0) {
      return;
    }
    const irq = 31 - Math.clz32(irqs & -irqs);
    const gate = guestIdt.get(32 + irq);
    if (gate) {
      pending &= ~(1 << irq);
      delivered.push(32 + irq);
      setGuestInterrupt(f, gate[0], gate[1], false);
    }
    writeTime();
  }

  /** One exit into the host: the core stopped at the stub of `vector`. */
  function handleExit(): void {
    const st = core.getState();
    const vector = (st.eip - stub(0)) / 8;
    const stackPhys = h(H_STACK) + (st.esp - (SWITCHER + H_STACK * PAGE));
    const hasErr = ERROR_CODE_VECTORS.has(vector);
    const f: Frame = { at: hasErr ? stackPhys + 4 : stackPhys, err: hasErr ? view.getUint32(stackPhys, true) : 0 };
    drainAsync(st);
    if (vector === 0x1f) {
      hypercall(st, st.eax, st.edx, st.ebx, st.ecx);
    } else if (vector === 14) {
      LGUEST_DATA.f.cr2.set(view, lguestData, st.cr2);
      deliverTrap(f, 14, true);
    } else if (vector < 32) {
      deliverTrap(f, vector, hasErr);
    }
    // vector >= 32: a host interrupt (our clock), already "serviced".
    if (halted && (pending & ~LGUEST_DATA.f.blocked_interrupts.get(view, lguestData, 0)) === 0) {
      if (clockDeadline === Infinity) throw new Error('halted with no timer armed and nothing pending');
      now = clockDeadline; // sleep until the timer fires
      clockDeadline = Infinity;
      pending |= 1;
    }
    if (!death) maybeDoInterrupt(f);
    core.setState(st);
  }

  let instructions = 0;
  while (!death && instructions < maxInstructions) {
    const budget = Math.max(1, Math.min(1_000_000, clockDeadline - now));
    const exit = core.run(budget);
    instructions += core.retired;
    now += core.retired;
    if (now >= clockDeadline) {
      clockDeadline = Infinity;
      pending |= 1;
      hostIrq = true; // a host timer interrupt: the guest exits, and we inject IRQ 0
      core.irqLine = true;
    }
    if (exit === Exit.Breakpoint) {
      try {
        handleExit();
      } catch (e) {
        kill((e as Error).message);
      }
    } else if (exit !== Exit.Budget) {
      kill(`core exit ${exit} at 0x${core.getState().eip.toString(16)}`);
    }
  }
  if (!death) kill(`still running after ${instructions} instructions`);
  return {
    death,
    console: consoleOut,
    hypercalls,
    asyncCalls,
    delivered,
    consoleStatus: LGUEST_DEVICE_DESC.f.status.get(view, devicePage),
    instructions,
  };
}

/** The Launcher's ELF load: PT_LOADs at p_paddr, start = after the signature + page_offset. */
function loadKernel(elf: Uint8Array, bytes: Uint8Array): { start: number; pageOffset: number } {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  let pageOffset = -1;
  let low = Infinity,
    high = 0;
  for (let i = 0; i < v.getUint16(44, true); i++) {
    const ph = v.getUint32(28, true) + i * v.getUint16(42, true);
    if (v.getUint32(ph, true) !== 1) continue;
    const [offset, vaddr, paddr, filesz] = [4, 8, 12, 16].map((o) => v.getUint32(ph + o, true));
    const po = (vaddr - paddr) >>> 0;
    if (pageOffset >= 0 && po !== pageOffset) throw new Error('PT_LOADs disagree on page_offset');
    pageOffset = po;
    // Whole pages of the file, as mmap gives them: the tail of the last one is whatever
    // follows in the file, which is why the guest clears its own BSS.
    const mapped = Math.min(Math.ceil(filesz / PAGE) * PAGE, elf.length - offset);
    bytes.set(elf.subarray(offset, offset + mapped), paddr);
    if (filesz) {
      low = Math.min(low, paddr);
      high = Math.max(high, paddr + filesz);
    }
  }
  const sig = new TextEncoder().encode(LGUEST_SIGNATURE);
  for (let p = low; p + sig.length <= high; p++) {
    let i = 0;
    while (i < sig.length && bytes[p + i] === sig[i]) i++;
    if (i === sig.length) return { start: (p + sig.length + pageOffset) >>> 0, pageOffset };
  }
  throw new Error('Is this image a genuine lguest?');
}
