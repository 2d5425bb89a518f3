// The control file: how a launcher drives its guest (2.6.23's lguest_user.c, registered at
// the seed's /proc/lguest and at /dev/lguest).
//
// A launcher opens it and writes requests: a 32-bit request word, then 32-bit arguments.
// LHREQ_INITIALIZE comes first and creates the guest (its memory limit, its initial page
// directory, where it starts, its PAGE_OFFSET). Then read() runs the guest until there is
// something for the launcher. While it services that, the launcher may ask for the guest's
// input buffer at a key (LHREQ_GETDMA), raise an interrupt (LHREQ_IRQ), and a helper that
// watches for input breaks a running read() out (LHREQ_BREAK). Closing the file destroys the
// guest. Only the process that created the guest may run it or feed it; anyone holding the
// file may break it out.

import {
  LGUEST_BOOT_CS,
  LGUEST_BOOT_DS,
  LGUEST_BOOT_EFLAGS,
  LGUEST_DMA,
  LGUEST_IRQS,
  LHREQ_BREAK,
  LHREQ_GETDMA,
  LHREQ_INITIALIZE,
  LHREQ_IRQ,
  PAGE_SIZE,
  SWITCHER_PGD_INDEX,
} from '@lguest/abi';
import { Errno, waitEventInterruptible, type File, type FileOps, type Process } from '@lguest/host';
import { runGuest, type Lguest } from './core';
import { getDmaBuffer, releaseAllDma } from './io';
import { Guest, killGuest, setReg, wakeUpGuest } from './lg';
import { freeGuestPagetable, initGuestPagetable } from './page_tables';
import { setupGuestGdt } from './segments';

/** The argument words of a request, after the request word; null if too few were written. */
function args(data: Uint8Array, count: number): number[] | null {
  if (data.length < 4 + count * 4) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(view.getUint32(4 + i * 4, true));
  return out;
}

/** setup_regs: ring 1 at `start`, interrupts on, everything else zero (%esi = 0: boot params). */
function setupRegs(guest: Guest, start: number): void {
  guest.host.ram.fill(0, guest.regsPage, guest.regsPage + PAGE_SIZE);
  setReg(guest, 'cs', LGUEST_BOOT_CS);
  setReg(guest, 'ds', LGUEST_BOOT_DS);
  setReg(guest, 'es', LGUEST_BOOT_DS);
  setReg(guest, 'ss', LGUEST_BOOT_DS);
  setReg(guest, 'eflags', LGUEST_BOOT_EFLAGS);
  setReg(guest, 'eip', start);
}

/**
 * LHREQ_INITIALIZE {pfnlimit, pgdir, start, page_offset}: create the guest in a free slot.
 * 16 (the argument bytes), or -EBUSY (this file has one), -ENOSPC (all slots used), -EINVAL
 * (a PAGE_OFFSET inside the switcher's slot), -ENOMEM.
 */
function initialize(lg: Lguest, file: File<Guest>, data: Uint8Array, proc: Process): number {
  if (file.private) return -Errno.EBUSY;
  const a = args(data, 4);
  if (!a) return -Errno.EINVAL;
  const [pfnlimit, pgdir, start, pageOffset] = a;
  if (pageOffset >>> 22 >= SWITCHER_PGD_INDEX) return -Errno.EINVAL;
  const id = lg.guests.indexOf(null);
  if (id < 0) return -Errno.ENOSPC;

  const regsPage = lg.host.allocPage({ zero: true });
  if (regsPage < 0) return regsPage;
  const guest = new Guest({ id, globals: lg, proc, regsPage, pfnLimit: pfnlimit, pageOffset, epoch: lg.epoch });
  const r = initGuestPagetable(guest, pgdir);
  if (r < 0) {
    lg.host.putPage(regsPage);
    return r;
  }
  setupRegs(guest, start);
  setupGuestGdt(guest);
  lg.guests[id] = guest;
  file.private = guest;
  lg.onGuestCreated?.(guest);
  return 16;
}

/** LHREQ_GETDMA {key}: the guest-physical address of a buffer bound there (its used_len now
 * holds the IRQ), or -ENOENT. */
function userGetDma(guest: Guest, data: Uint8Array): number {
  const a = args(data, 1);
  if (!a) return -Errno.EINVAL;
  const found = getDmaBuffer(guest, a[0]);
  if (!found || found.dma === 0) return -Errno.ENOENT;
  const r = guest.host.putUser32(guest.proc, found.dma + LGUEST_DMA.offsetOf.used_len, found.interrupt);
  return r < 0 ? r : found.dma;
}

/** LHREQ_IRQ {irq}: mark it pending (and wake the guest if it sleeps). 0 or -EINVAL. */
function userSendIrq(guest: Guest, data: Uint8Array): number {
  const a = args(data, 1);
  if (!a) return -Errno.EINVAL;
  if (a[0] >= LGUEST_IRQS) return -Errno.EINVAL;
  guest.irqsPending |= 1 << a[0];
  wakeUpGuest(guest);
  return 0;
}

/**
 * LHREQ_BREAK {on}: on makes the running read() return -EAGAIN and sleeps until someone
 * writes off (or the guest dies); off lets those sleepers go. 0, or -ERESTARTSYS on a signal.
 */
async function breakGuestOut(guest: Guest, data: Uint8Array, proc: Process): Promise<number> {
  const a = args(data, 1);
  if (!a) return -Errno.EINVAL;
  if (a[0] !== 0) {
    guest.breakOut = true;
    wakeUpGuest(guest);
    return waitEventInterruptible(guest.breakWq, proc, () => !guest.breakOut);
  }
  guest.breakOut = false;
  guest.breakWq.wakeUpAll();
  return 0;
}

/** The file operations of /proc/lguest and /dev/lguest. */
export function controlFileOps(lg: Lguest): FileOps<Guest> {
  return {
    write(file, data, proc) {
      if (data.length < 4) return -Errno.EINVAL;
      const req = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
      const guest = file.private;
      if (req !== LHREQ_INITIALIZE && !guest) return -Errno.EINVAL;
      if (guest && guest.dead !== null) return -Errno.ENOENT;
      // Only the launcher that made the guest may do more than break it out.
      if (guest && proc !== guest.proc && req !== LHREQ_BREAK) return -Errno.EPERM;
      switch (req) {
        case LHREQ_INITIALIZE:
          return initialize(lg, file, data, proc);
        case LHREQ_GETDMA:
          return guest ? userGetDma(guest, data) : -Errno.EINVAL;
        case LHREQ_IRQ:
          return guest ? userSendIrq(guest, data) : -Errno.EINVAL;
        case LHREQ_BREAK:
          return guest ? breakGuestOut(guest, data, proc) : -Errno.EINVAL;
        default:
          return -Errno.EINVAL;
      }
    },

    async read(file, buffer, proc) {
      const guest = file.private;
      if (!guest) return -Errno.EINVAL;
      if (proc !== guest.proc) return -Errno.EPERM;
      if (guest.dead !== null) {
        const reason = new TextEncoder().encode(`${guest.dead}\0`);
        const len = Math.min(buffer.length, reason.length);
        buffer.set(reason.subarray(0, len));
        return len;
      }
      // One read() at a time runs a guest.
      if (guest.inRead) return -Errno.EBUSY;
      // The DMA handed over last time has been seen to.
      guest.dmaIsPending = false;
      guest.inRead = true;
      try {
        return await runGuest(lg, guest, proc, buffer);
      } finally {
        guest.inRead = false;
      }
    },

    release(file) {
      const guest = file.private;
      if (!guest) return;
      file.private = undefined;
      killGuest(guest, 'the control file was closed');
      guest.clock.cancel();
      releaseAllDma(guest);
      freeGuestPagetable(guest);
      lg.host.putPage(guest.regsPage);
      lg.guests[guest.id] = null;
      if (lg.switcher.lastGuest === guest) lg.switcher.lastGuest = null;
    },
  };
}
