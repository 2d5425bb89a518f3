import type { Host } from '@lguest/host';
import type { Lguest } from './core';
import { DEBUG_KICK_VECTOR, debugGuest, type GuestDebug, type GuestStop } from './debug';
import { poke32, testGuest, testLguest, type TestGuest } from './fixture';
import { copyTraps, loadGuestIdtEntry } from './interrupts_and_traps';
import { getReg, setReg } from './lg';

const PGDIR = 0x3ff000;
const KTABLE = 0x3fe000;
const KVA = 0xc0000000;
const TF = 0x100;

describe('a guest under a debugger', () => {
  let host: Host;
  let lg: Lguest;
  let t: TestGuest;
  let debug: GuestDebug;
  let stops: GuestStop[];

  beforeEach(async () => {
    ({ host, lg } = testLguest());
    stops = [];
    // Attached when LHREQ_INITIALIZE makes the guest, as the CLI does.
    lg.onGuestCreated = (guest) => {
      debug = debugGuest(guest, { waitAtStart: true, stopped: (why) => stops.push(why) });
    };
    t = await testGuest(lg, { pgdir: PGDIR });
    // Two kernel pages mapped at 0xc0000000: guest-physical 0x100000 and 0x101000.
    poke32(t.proc, PGDIR + (KVA >>> 22) * 4, KTABLE | 0x63);
    poke32(t.proc, KTABLE, 0x100000 | 0x63);
    poke32(t.proc, KTABLE + 4, 0x101000 | 0x63);
  });
  afterEach(() => host.shutdown());

  it('is attached before the first trip, and with -S stops there', () => {
    expect(t.guest.debug).toBe(debug);
    expect(debug.mustStop()).toBe(true);
  });

  it('keeps the debug trap (vector 1) coming through the switcher, even for a trap gate', () => {
    loadGuestIdtEntry(t.guest, 1, (0x61 << 16) | 0x1000, 0xc0108f00);
    loadGuestIdtEntry(t.guest, 3, (0x61 << 16) | 0x1000, 0xc0108f00);
    const idt = new DataView(new ArrayBuffer(256 * 8));
    copyTraps(t.guest, idt, 0, lg.switcher.defaultIdt);
    expect(idt.getUint32(8 + 4, true)).toBe(lg.switcher.defaultIdt[3]);
    expect(idt.getUint32(3 * 8 + 4, true)).toBe(t.guest.idt[7]); // int3 stays the guest's
  });

  it('reads the register page in gdb order and writes only what ring 1 may have', async () => {
    await stopNow();
    setReg(t.guest, 'eax', 0x11);
    setReg(t.guest, 'esp', 0xc0001ff0);
    setReg(t.guest, 'eip', 0xc0100000);
    const regs = new Uint32Array(16);
    debug.readRegisters(regs);
    expect(regs[0]).toBe(0x11);
    expect(regs[4]).toBe(0xc0001ff0);
    expect(regs[8]).toBe(0xc0100000);
    expect(regs[10]).toBe(getReg(t.guest, 'cs'));
    expect(debug.writeRegister(1, 0xabcd)).toBe(true);
    expect(getReg(t.guest, 'ecx')).toBe(0xabcd);
    expect(debug.writeRegister(10, 0x08)).toBe(false); // cs
    expect(debug.writeRegister(9, 0x3002)).toBe(true); // IOPL 3, IF off: refused bits
    expect(getReg(t.guest, 'eflags')).toBe(0x202);
  });

  it('reads and writes memory at virtual addresses through the guest page tables', () => {
    expect(debug.writeMemory(KVA + 0xffe, Uint8Array.of(1, 2, 3, 4))).toBe(4); // across pages
    const back = new Uint8Array(4);
    expect(debug.readMemory(KVA + 0xffe, back)).toBe(4);
    expect(Array.from(back)).toEqual([1, 2, 3, 4]);
    expect(t.proc.readMemory(0x101000, 2)).toEqual(Uint8Array.of(3, 4));
    // Unmapped: nothing, or up to the end of what is mapped; the guest is unharmed.
    expect(debug.readMemory(0, new Uint8Array(4))).toBe(0);
    expect(debug.readMemory(KVA + 0x1ffe, new Uint8Array(4))).toBe(2);
    expect(debug.writeMemory(0xffc00000, Uint8Array.of(0))).toBe(0);
    expect(t.guest.dead).toBeNull();
  });

  it('steps with TF, takes the debug trap as the end of the step, and hides it from the guest', async () => {
    await stopNow();
    setReg(t.guest, 'eip', 0xc0100000);
    debug.resume(true);
    expect(debug.stopped).toBe(false);
    expect(debug.holdInterrupts).toBe(true);
    debug.beforeEntry();
    expect(getReg(t.guest, 'eflags') & TF).toBe(TF);
    // A page fault lg fills in: the instruction did not run, the step goes on.
    expect(debug.afterExit(14)).toBe(false);
    expect(getReg(t.guest, 'eflags') & TF).toBe(0);
    expect(debug.mustStop()).toBe(false);
    debug.beforeEntry();
    setReg(t.guest, 'eip', 0xc0100002);
    expect(debug.afterExit(1)).toBe(true);
    expect(getReg(t.guest, 'eflags') & TF).toBe(0);
    expect(debug.mustStop()).toBe(true);
  });

  it('ends a step when EIP moved another way (a hypercall)', async () => {
    await stopNow();
    setReg(t.guest, 'eip', 0xc0100000);
    debug.resume(true);
    debug.beforeEntry();
    setReg(t.guest, 'eip', 0xc0100002);
    expect(debug.afterExit(0x1f)).toBe(false); // the hypercall is lg's to do
    expect(debug.mustStop()).toBe(true);
  });

  it('gives this guest its breakpoints for its kernel calls only; a hit in the guest raises the kick', async () => {
    expect(debug.callBreakpoints).toBeNull();
    debug.insertBreakpoint('software', 0xc0100010);
    debug.insertBreakpoint('hardware', 0xc0100010);
    expect(debug.callBreakpoints?.addresses).toEqual([0xc0100010]);
    debug.removeBreakpoint('software', 0xc0100010);
    expect(debug.callBreakpoints?.addresses).toEqual([0xc0100010]); // the hardware one holds it
    await stopNow();
    debug.resume(false);
    // Outside a kernel call the host services a raised interrupt at once: count the kicks.
    let kicks = 0;
    host.requestIrq(DEBUG_KICK_VECTOR, () => kicks++);
    debug.callBreakpoints?.hit(0xc0100010, 0); // the switcher or the host: not the guest's
    expect(kicks).toBe(0);
    debug.callBreakpoints?.hit(0xc0100010, 1);
    expect(kicks).toBe(1);
    expect(debug.afterExit(DEBUG_KICK_VECTOR)).toBe(true);
    expect(debug.mustStop()).toBe(true);
    debug.removeBreakpoint('hardware', 0xc0100010);
    expect(debug.callBreakpoints).toBeNull();
  });

  it('stops for Ctrl-C, and lets go of everything on detach', async () => {
    await stopNow();
    debug.resume(false);
    debug.interrupt();
    expect(debug.mustStop()).toBe(true);
    debug.insertBreakpoint('software', 0xc0100010);
    debug.detach();
    expect(debug.mustStop()).toBe(false);
    expect(debug.callBreakpoints).toBeNull();
  });

  /** Stop the guest as run_guest would, without waiting for the resume. */
  async function stopNow(): Promise<void> {
    if (!debug.mustStop()) debug.interrupt();
    void debug.stop(t.proc);
    await Promise.resolve();
    expect(debug.stopped).toBe(true);
    expect(stops.length).toBeGreaterThan(0);
  }
});
