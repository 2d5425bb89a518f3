// The guest/host contract proper (include/linux/lguest.h in 2.6.23). A guest kernel running
// at ring 1 talks to the host in two ways: it traps with `int $0x1f` to make a hypercall,
// and it shares one structure, `struct lguest_data`, whose address it hands over in its
// first hypercall. Through that structure the guest turns virtual interrupts on and off
// without trapping, queues batched hypercalls in a ring, and the host tells it the time,
// the faulting address of a page fault, and where not to inject interrupts.
// (lguest-abi.md §2, §4.1, §5.2.)

import { defineStruct } from './struct';

/** The kernel release whose lguest ABI this package describes. */
export const LGUEST_ABI_VERSION = '2.6.23';

/** The hypercall vector (`int $0x1f`), gate DPL 1 so only the guest kernel can use it. */
export const LGUEST_TRAP_ENTRY = 0x1f;

// Hypercall numbers: %eax = number, %edx/%ebx/%ecx = arguments 1..3, result in %eax.
export const LHCALL_FLUSH_ASYNC = 0;
export const LHCALL_LGUEST_INIT = 1;
export const LHCALL_CRASH = 2;
export const LHCALL_LOAD_GDT = 3;
export const LHCALL_NEW_PGTABLE = 4;
export const LHCALL_FLUSH_TLB = 5;
export const LHCALL_LOAD_IDT_ENTRY = 6;
export const LHCALL_SET_STACK = 7;
export const LHCALL_TS = 8;
export const LHCALL_SET_CLOCKEVENT = 9;
export const LHCALL_HALT = 10;
// 11 is unused in 2.6.23 (it was GET_WALLCLOCK before the release).
export const LHCALL_BIND_DMA = 12;
export const LHCALL_SEND_DMA = 13;
export const LHCALL_SET_PTE = 14;
export const LHCALL_SET_PMD = 15;
export const LHCALL_LOAD_TLS = 16;

/** Entries in the asynchronous hypercall ring inside lguest_data. */
export const LHCALL_RING_SIZE = 64;
/** `hcall_status[i]` value: slot free (the host writes it after running the call). */
export const LHCALL_STATUS_FREE = 0xff;
/** `hcall_status[i]` value: call queued (the guest writes it after filling the slot). */
export const LHCALL_STATUS_PENDING = 0;

/** The ring a guest kernel runs in; its selectors carry this RPL (0x61, 0x69). */
export const GUEST_PL = 1;
/** Virtual IRQ lines per guest; IRQ n is delivered on vector FIRST_EXTERNAL_VECTOR + n. */
export const LGUEST_IRQS = 32;
/** What the host writes into `reserve_mem`: the top 4 MiB are the switcher's. */
export const LGUEST_RESERVE_MEM = 0x400000;
/** Guests a host runs at once; a guest id (`lguest_data.guestid`) is below this. */
export const MAX_LGUEST_GUESTS = 16;
/** Bytes of a CRASH message the host reads (the last is forced to NUL). */
export const LGUEST_CRASH_MSG_SIZE = 128;
/** The guest clockevent refuses deltas below this many nanoseconds. */
export const LG_CLOCK_MIN_DELTA = 100;
export const LG_CLOCK_MAX_DELTA = 0xffffffff;

/** The kernel's `struct timespec` on i386 (two longs). */
export const TIMESPEC = defineStruct('timespec', [
  ['tv_sec', 's32'],
  ['tv_nsec', 's32'],
], { doc: 'struct timespec as the i386 kernel lays it out: two 32-bit longs.' });

/** One queued hypercall: its four registers, in this (eax, edx, ebx, ecx) order. */
export const HCALL_RING = defineStruct('hcall_ring', [
  ['eax', 'u32'],
  ['edx', 'u32'],
  ['ebx', 'u32'],
  ['ecx', 'u32'],
], { doc: 'One asynchronous hypercall: the registers of the call it stands for (eax, edx, ebx, ecx).' });

/** The structure shared by guest and host, registered by LHCALL_LGUEST_INIT. */
export const LGUEST_DATA = defineStruct('lguest_data', [
  ['irq_enabled', 'u32'],
  ['blocked_interrupts', 'u32', LGUEST_IRQS / 32],
  ['cr2', 'u32'],
  ['time', TIMESPEC],
  ['hcall_status', 'u8', LHCALL_RING_SIZE],
  ['hcalls', HCALL_RING, LHCALL_RING_SIZE],
  ['reserve_mem', 'u32'],
  ['guestid', 'u16'],
  ['tsc_khz', 'u32'],
  ['noirq_start', 'u32'],
  ['noirq_end', 'u32'],
], {
  doc:
    'Shared between the guest and the host; the guest passes its physical address to ' +
    'LHCALL_LGUEST_INIT. irq_enabled is the virtual IF (0 or X86_EFLAGS_IF); a set bit in ' +
    'blocked_interrupts masks that IRQ; the host fills cr2, time, reserve_mem, guestid and ' +
    'tsc_khz; the guest fills noirq_start/noirq_end and queues calls in hcall_status/hcalls.',
});
