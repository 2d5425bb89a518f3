import { LGUEST_DATA, LHCALL_LOAD_IDT_ENTRY, X86_EFLAGS_IF } from '@lguest/abi';
import { peek32, poke32, testGuest, testLguest, type TestGuest } from './fixture';
import { doHcall } from './hypercalls';
import { copyTraps, deliverTrap, directTrap, loadGuestIdtEntry, maybeDoInterrupt } from './interrupts_and_traps';
import { getReg, setReg } from './lg';
import type { Host } from '@lguest/host';
import type { Lguest } from './core';

const INTERRUPT_GATE = 0x8e00;
const TRAP_GATE = 0x8f00;
const HANDLER = 0xc0101234;
const gateLo = (selector: number): number => ((selector << 16) | (HANDLER & 0xffff)) >>> 0;
const gateHi = (flags: number): number => ((HANDLER & 0xffff0000) | flags) >>> 0;

describe('the guest IDT (LOAD_IDT_ENTRY)', () => {
  let host: Host;
  let lg: Lguest;
  let t: TestGuest;
  beforeEach(async () => {
    ({ host, lg } = testLguest());
    t = await testGuest(lg);
  });
  afterEach(() => host.shutdown());

  it('forces the guest kernel code selector and keeps offset, P, DPL and type', () => {
    loadGuestIdtEntry(t.guest, 14, gateLo(0x1234), gateHi(INTERRUPT_GATE | 0x6000 | 0x10ff));
    expect(t.guest.idt[28].toString(16)).toBe(gateLo(0x61).toString(16));
    expect(t.guest.idt[29].toString(16)).toBe(gateHi(0xee00).toString(16)); // bit 12 and low byte cleared
  });

  it('stores a not-present gate as zero, and kills for a gate that is neither interrupt nor trap', () => {
    loadGuestIdtEntry(t.guest, 3, gateLo(0x61), gateHi(TRAP_GATE));
    loadGuestIdtEntry(t.guest, 3, gateLo(0x61), gateHi(TRAP_GATE & ~0x8000));
    expect([t.guest.idt[6], t.guest.idt[7]]).toEqual([0, 0]);
    loadGuestIdtEntry(t.guest, 4, gateLo(0x61), gateHi(0x8c00)); // a call gate
    expect(t.guest.dead).toBe('bad IDT type 12');
  });

  it('ignores vectors 2, 8, 15 and 0x1f, and everything above 63 but the system call', () => {
    for (const v of [2, 8, 15, 0x1f]) loadGuestIdtEntry(t.guest, v, gateLo(0x61), gateHi(TRAP_GATE));
    expect(t.guest.idt.every((w) => w === 0)).toBe(true);
    loadGuestIdtEntry(t.guest, 0x81, gateLo(0x61), gateHi(TRAP_GATE));
    expect(t.guest.syscallIdt[1]).toBe(0);
    doHcall(t.guest, LHCALL_LOAD_IDT_ENTRY, 0x80, gateLo(0x61), gateHi(TRAP_GATE | 0x6000));
    expect(t.guest.syscallIdt[1]).toBe(gateHi(0xef00));
  });
});

describe('direct traps', () => {
  it('go direct only for trap gates of CPU exceptions the host need not see, and the system call', () => {
    const trap = gateHi(TRAP_GATE);
    const intr = gateHi(INTERRUPT_GATE);
    const direct = [0, 1, 3, 4, 5, 6, 9, 10, 11, 12, 16, 17, 18, 19, 0x80];
    for (const v of direct) expect([v, directTrap(v, trap)]).toEqual([v, true]);
    for (const v of [7, 13, 14, 0x1f, 32, 33, 63, 0x81]) expect([v, directTrap(v, trap)]).toEqual([v, false]);
    for (const v of direct) expect([v, directTrap(v, intr)]).toEqual([v, false]);
    expect(directTrap(0, 0)).toBe(false); // absent
  });

  it('put the guest gate into the switcher IDT where allowed, the switcher stub elsewhere', async () => {
    const { host, lg } = testLguest();
    const { guest } = await testGuest(lg);
    loadGuestIdtEntry(guest, 0, gateLo(0x61), gateHi(TRAP_GATE)); // direct
    loadGuestIdtEntry(guest, 13, gateLo(0x61), gateHi(TRAP_GATE)); // never direct
    loadGuestIdtEntry(guest, 6, gateLo(0x61), gateHi(INTERRUPT_GATE)); // not a trap gate
    loadGuestIdtEntry(guest, 0x80, gateLo(0x61), gateHi(TRAP_GATE | 0x6000)); // direct, DPL 3
    const idt = new DataView(new ArrayBuffer(256 * 8));
    const defaults = lg.switcher.defaultIdt;
    copyTraps(guest, idt, 0, defaults);
    const entry = (v: number): number[] => [idt.getUint32(v * 8, true), idt.getUint32(v * 8 + 4, true)];
    expect(entry(0)).toEqual([guest.idt[0], guest.idt[1]]);
    expect(entry(13)).toEqual([defaults[26], defaults[27]]);
    expect(entry(6)).toEqual([defaults[12], defaults[13]]);
    expect(entry(0x80)).toEqual([guest.syscallIdt[0], guest.syscallIdt[1]]);
    // The switcher's own gates: interrupt gates through LGUEST_CS, DPL 1 only for 0x1f.
    expect(defaults[27] & 0xff00).toBe(0x8e00);
    expect(defaults[26] >>> 16).toBe(0x50);
    expect(defaults[2 * 0x1f + 1] & 0xff00).toBe(0xae00);
    host.shutdown();
  });
});

describe('reflecting traps and injecting interrupts', () => {
  const DATA = 0x20000;
  const STACK = 0xc0030000; // kernel stack top (virtual); guest-physical 0x30000
  let host: Host;
  let t: TestGuest;
  beforeEach(async () => {
    let lg: Lguest;
    ({ host, lg } = testLguest());
    t = await testGuest(lg);
    t.guest.lguestData = DATA;
    t.guest.noirqStart = 0xc0100100;
    t.guest.noirqEnd = 0xc0100110;
    setReg(t.guest, 'eip', 0xc0100000);
    setReg(t.guest, 'esp', STACK);
    setReg(t.guest, 'ss', 0x69);
    setReg(t.guest, 'eflags', 0x202);
    loadGuestIdtEntry(t.guest, 14, gateLo(0x61), gateHi(INTERRUPT_GATE));
    loadGuestIdtEntry(t.guest, 33, gateLo(0x61), gateHi(INTERRUPT_GATE));
  });
  afterEach(() => host.shutdown());

  const stack = (i: number): number => peek32(t.proc, STACK - 0xc0000000 - 4 * (i + 1));

  it('pushes the frame the CPU would, with the error code, on the current kernel stack', () => {
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled, X86_EFLAGS_IF);
    setReg(t.guest, 'cs', 0x61);
    setReg(t.guest, 'errcode', 6);
    expect(deliverTrap(t.guest, 14)).toBe(true);
    expect([stack(0), stack(1), stack(2), stack(3)]).toEqual([0x202, 0x61, 0xc0100000, 6]);
    expect(getReg(t.guest, 'esp')).toBe(STACK - 16);
    expect(getReg(t.guest, 'eip')).toBe(HANDLER);
    expect(getReg(t.guest, 'cs')).toBe(0x61);
    // An interrupt gate turns the virtual interrupt flag off.
    expect(peek32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled)).toBe(0);
    expect(deliverTrap(t.guest, 13)).toBe(false); // no gate
    expect(deliverTrap(t.guest, 256)).toBe(false);
  });

  it('switches to the registered kernel stack from ring 3, clearing IF if the guest has it off', () => {
    t.guest.esp1 = STACK;
    t.guest.ss1 = 0x69;
    setReg(t.guest, 'cs', 0x73);
    setReg(t.guest, 'ss', 0x7b);
    setReg(t.guest, 'esp', 0xbffff000);
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled, 0);
    expect(deliverTrap(t.guest, 14)).toBe(true);
    expect([stack(0), stack(1), stack(2), stack(3), stack(4)]).toEqual([0x7b, 0xbffff000, 0x002, 0x73, 0xc0100000]);
    expect(getReg(t.guest, 'ss')).toBe(0x69);
  });

  it('injects the lowest pending IRQ the guest has not blocked, only when it has interrupts on', () => {
    t.guest.irqsPending = (1 << 0) | (1 << 1);
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.blocked_interrupts, 1); // IRQ 0 blocked
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled, 0);
    maybeDoInterrupt(t.guest);
    expect(getReg(t.guest, 'eip')).toBe(0xc0100000); // interrupts off: nothing
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled, X86_EFLAGS_IF);
    setReg(t.guest, 'eip', 0xc0100104); // inside the no-interrupt window
    maybeDoInterrupt(t.guest);
    expect(getReg(t.guest, 'eip')).toBe(0xc0100104);
    setReg(t.guest, 'eip', 0xc0100110);
    maybeDoInterrupt(t.guest);
    expect(getReg(t.guest, 'eip')).toBe(HANDLER); // IRQ 1 on vector 33
    expect(t.guest.irqsPending).toBe(1); // IRQ 0 still pending (blocked)
    expect(peek32(t.proc, DATA + LGUEST_DATA.offsetOf.time + 4)).toBe(0); // timestamp: 0 s + 0 ns
  });

  it('wakes a halted guest by turning its interrupts back on', () => {
    t.guest.halted = true;
    t.guest.irqsPending = 1 << 1;
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.irq_enabled, 0);
    maybeDoInterrupt(t.guest);
    expect(t.guest.halted).toBe(false);
    expect(getReg(t.guest, 'eip')).toBe(HANDLER);
    // The frame remembers interrupts as on: the handler's iret turns them back on.
    expect(stack(0) & X86_EFLAGS_IF).toBe(X86_EFLAGS_IF);
  });

  it('kills the guest when the frame would go outside its memory', () => {
    setReg(t.guest, 'esp', 0xc4000000); // guest-physical 64 MiB: beyond its 4 MiB
    setReg(t.guest, 'cs', 0x61);
    deliverTrap(t.guest, 14);
    expect(t.guest.dead).toBe('bad write address 0x3fffffc len 4');
  });
});
