import {
  HCALL_RING,
  LGUEST_DATA,
  LGUEST_RESERVE_MEM,
  LGUEST_TRAP_ENTRY,
  LHCALL_BIND_DMA,
  LHCALL_CRASH,
  LHCALL_FLUSH_ASYNC,
  LHCALL_HALT,
  LHCALL_LGUEST_INIT,
  LHCALL_LOAD_IDT_ENTRY,
  LHCALL_RING_SIZE,
  LHCALL_SET_CLOCKEVENT,
  LHCALL_SET_STACK,
  LHCALL_TS,
} from '@lguest/abi';
import type { Host } from '@lguest/host';
import { peek32, poke32, testGuest, testLguest, type TestGuest } from './fixture';
import { TSC_KHZ, doHcall, doHypercalls } from './hypercalls';
import { TRAPNUM_HCALL_DONE, getReg, setReg, type Guest } from './lg';

const DATA = 0x20000;

/** The guest traps with int $0x1f: these are its registers. */
function hypercall(guest: Guest, eax: number, edx = 0, ebx = 0, ecx = 0): void {
  setReg(guest, 'trapnum', LGUEST_TRAP_ENTRY);
  setReg(guest, 'eax', eax);
  setReg(guest, 'edx', edx);
  setReg(guest, 'ebx', ebx);
  setReg(guest, 'ecx', ecx);
  doHypercalls(guest);
}

/** lguest_data as a guest starts it: every ring slot free, the timer IRQ blocked. */
function initData(t: TestGuest): void {
  for (let i = 0; i < LHCALL_RING_SIZE; i += 4)
    poke32(t.proc, DATA + LGUEST_DATA.offsetOf.hcall_status + i, 0xffffffff);
  poke32(t.proc, DATA + LGUEST_DATA.offsetOf.blocked_interrupts, 1);
  poke32(t.proc, DATA + LGUEST_DATA.offsetOf.noirq_start, 0xc0100100);
  poke32(t.proc, DATA + LGUEST_DATA.offsetOf.noirq_end, 0xc0100108);
}

describe('hypercalls', () => {
  let host: Host;
  let t: TestGuest;
  beforeEach(async () => {
    const m = testLguest();
    host = m.host;
    t = await testGuest(m.lg);
    initData(t);
  });
  afterEach(() => host.shutdown());

  it('insists on LGUEST_INIT first', () => {
    hypercall(t.guest, LHCALL_HALT);
    expect(t.guest.dead).toBe('hypercall 10 before LGUEST_INIT');
  });

  it('LGUEST_INIT: checks the address, reads the no-irq window, tells the guest about the host', () => {
    hypercall(t.guest, LHCALL_LGUEST_INIT, DATA);
    expect(t.guest.dead).toBeNull();
    expect(t.guest.lguestData).toBe(DATA);
    expect([t.guest.noirqStart, t.guest.noirqEnd]).toEqual([0xc0100100, 0xc0100108]);
    expect(peek32(t.proc, DATA + LGUEST_DATA.offsetOf.reserve_mem)).toBe(LGUEST_RESERVE_MEM);
    expect(peek32(t.proc, DATA + LGUEST_DATA.offsetOf.tsc_khz)).toBe(TSC_KHZ);
    expect(peek32(t.proc, DATA + LGUEST_DATA.offsetOf.guestid) & 0xffff).toBe(t.guest.id);
    expect(getReg(t.guest, 'trapnum')).toBe(TRAPNUM_HCALL_DONE);
    hypercall(t.guest, LHCALL_LGUEST_INIT, DATA);
    expect(t.guest.dead).toBe('already have lguest_data');
  });

  it('LGUEST_INIT with lguest_data outside guest memory kills', async () => {
    hypercall(t.guest, LHCALL_LGUEST_INIT, 0x3fffff00);
    expect(t.guest.dead).toBe('bad guest page 0x3fffff00');
  });

  describe('once initialized', () => {
    beforeEach(() => hypercall(t.guest, LHCALL_LGUEST_INIT, DATA));

    it('CRASH: the guest dies with its own message', () => {
      const text = new TextEncoder().encode('Power down\0');
      t.proc.writeMemory(0x30000, text);
      hypercall(t.guest, LHCALL_CRASH, 0x30000);
      expect(t.guest.dead).toBe('CRASH: Power down');
    });

    it('reads at most 127 bytes of a CRASH message', () => {
      t.proc.writeMemory(0x30000, new TextEncoder().encode('x'.repeat(300)));
      hypercall(t.guest, LHCALL_CRASH, 0x30000);
      expect(t.guest.dead).toBe(`CRASH: ${'x'.repeat(127)}`);
    });

    it('kills for a call the ABI does not have', () => {
      hypercall(t.guest, 11);
      expect(t.guest.dead).toBe('Bad hypercall 11');
    });

    it('SET_STACK wants a ring-1 stack selector', () => {
      hypercall(t.guest, LHCALL_SET_STACK, 0x68, 0xc0030000, 2);
      expect(t.guest.dead).toBe('bad stack segment 104');
    });

    it("SET_STACK refuses the host's own data segment, even with RPL 1", () => {
      hypercall(t.guest, LHCALL_SET_STACK, (11 << 3) | 1, 0xc0030000, 2); // GDT_ENTRY_LGUEST_DS
      expect(t.guest.dead).toBe('bad stack segment 89');
    });

    it('SET_STACK takes at most two pages', () => {
      hypercall(t.guest, LHCALL_SET_STACK, 0x69, 0xc0030000, 3);
      expect(t.guest.dead).toBe('bad stack pages 3');
    });

    it('SET_STACK pins the stack, and kills if it is not mapped', () => {
      hypercall(t.guest, LHCALL_SET_STACK, 0x69, 0xc0030000, 2);
      expect(t.guest.dead).toBe('bad stack page 0xc0030000');
    });

    it('TS, HALT and SET_CLOCKEVENT set state; BIND_DMA answers in %eax', () => {
      hypercall(t.guest, LHCALL_TS, 8);
      expect(t.guest.ts).toBe(8);
      hypercall(t.guest, LHCALL_HALT);
      expect(t.guest.halted).toBe(true);
      hypercall(t.guest, LHCALL_SET_CLOCKEVENT, 1000);
      expect(t.guest.clock.active).toBe(true);
      hypercall(t.guest, LHCALL_SET_CLOCKEVENT, 0);
      expect(t.guest.clock.active).toBe(false);
      hypercall(t.guest, LHCALL_BIND_DMA, 0x40000, 0x41000, (1 << 8) | 3);
      expect(getReg(t.guest, 'eax')).toBe(1);
      hypercall(t.guest, LHCALL_BIND_DMA, 0x40000, 0x41000, (1 << 8) | 32); // IRQ out of range
      expect(getReg(t.guest, 'eax')).toBe(0);
      expect(t.guest.dead).toBeNull();
    });

    it('runs the async ring in order before the call that trapped, and frees the slots', () => {
      const queue = (slot: number, eax: number, edx: number, ebx: number, ecx: number): void => {
        const at = DATA + LGUEST_DATA.f.hcalls.at(slot);
        poke32(t.proc, at + HCALL_RING.offsetOf.eax, eax);
        poke32(t.proc, at + HCALL_RING.offsetOf.edx, edx);
        poke32(t.proc, at + HCALL_RING.offsetOf.ebx, ebx);
        poke32(t.proc, at + HCALL_RING.offsetOf.ecx, ecx);
        t.proc.writeMemory(DATA + LGUEST_DATA.offsetOf.hcall_status + slot, Uint8Array.of(0));
      };
      queue(0, LHCALL_TS, 8, 0, 0);
      queue(1, LHCALL_LOAD_IDT_ENTRY, 3, 0x00611234, 0xc010ef00);
      queue(2, LHCALL_TS, 0, 0, 0);
      hypercall(t.guest, LHCALL_FLUSH_ASYNC);
      expect(t.guest.ts).toBe(0); // both TS calls ran, in order
      expect(t.guest.idt[7]).toBe(0xc010ef00);
      expect(t.guest.stats.asyncHypercalls).toBe(3);
      const status = t.proc.readMemory(DATA + LGUEST_DATA.offsetOf.hcall_status, 4) as Uint8Array;
      expect([...status]).toEqual([0xff, 0xff, 0xff, 0xff]);
      // The ring carries on from slot 3 next time, not from 0.
      queue(3, LHCALL_TS, 8, 0, 0);
      hypercall(t.guest, LHCALL_FLUSH_ASYNC);
      expect(t.guest.ts).toBe(8);
      expect(t.guest.nextHcall).toBe(4);
    });

    it('does not redo a hypercall after it cleared trapnum', () => {
      hypercall(t.guest, LHCALL_BIND_DMA, 0x40000, 0x41000, (1 << 8) | 3);
      const bound = t.guest.dma.filter((d) => d.interrupt).length;
      doHypercalls(t.guest);
      expect(t.guest.dma.filter((d) => d.interrupt).length).toBe(bound);
      expect(doHcall(t.guest, LHCALL_FLUSH_ASYNC, 0, 0, 0)).toBeUndefined();
    });
  });
});

describe('the time in lguest_data', () => {
  it('is the wall clock on the host clock, and counts from 0 on the virtual clock', async () => {
    for (const clock of ['host', 'virtual'] as const) {
      const { host, lg } = testLguest({ clock });
      const t = await testGuest(lg);
      initData(t);
      hypercall(t.guest, LHCALL_LGUEST_INIT, DATA);
      const sec = peek32(t.proc, DATA + LGUEST_DATA.offsetOf.time);
      const nsec = peek32(t.proc, DATA + LGUEST_DATA.offsetOf.time + 4);
      expect(nsec).toBeLessThan(1e9);
      if (clock === 'host') expect(Math.abs(sec - Date.now() / 1000)).toBeLessThan(5);
      else expect(sec * 1e9 + nsec).toBe(host.clock.now());
      host.shutdown();
    }
  });
});
