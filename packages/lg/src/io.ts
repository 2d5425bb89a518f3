// I/O: the "DMA" that all of a guest's devices are made of (2.6.23's io.c).
//
// A guest doesn't poke device registers; it names buffers. To receive, it binds an array of
// struct lguest_dma (each up to 16 guest-physical sections) at a key with LHCALL_BIND_DMA,
// saying which IRQ to raise when one is filled. To send, it hands one struct lguest_dma to
// LHCALL_SEND_DMA with a key. A key is an address in the launcher's memory, turned into a
// futex key: for memory only this launcher has, the key means something only to it, so the
// send goes to the launcher (read() of the control file returns it). For a page of a file
// two launchers both map shared, the keys are equal in both, and the host copies the data
// itself from one guest into a buffer the other bound there — inter-guest networking, with
// no launcher in the path. The launcher feeds input the other way: LHREQ_GETDMA finds the
// buffer bound at a key, it writes into it, and LHREQ_IRQ tells the guest.
//
// Everything here reads another guest's descriptors, so everything is checked: a bad array
// kills its owner, a bad section kills its owner, and the sender never learns more than how
// many bytes arrived.
//
// The data path between guests allocates nothing: descriptors are read into scratch
// records that exist once (lg handles one SEND_DMA at a time), the receiver's buffers are
// looked at through their used_len word alone until a free one is found, and each section is
// copied inside host RAM (copyWithin) from the sender's page, resolved through its launcher's
// page tables, to the receiver's pinned page.

import { LGUEST_DMA, LGUEST_IRQS, LGUEST_MAX_DMA_SECTIONS, MAX_LGUEST_GUESTS, PAGE_SIZE } from '@lguest/abi';
import { keyEquals, keyString, type FutexKey } from '@lguest/host';
import { hex, killGuest, lguestAddressOk, lgwriteU32, wakeUpGuest, type DmaInfo, type Guest } from './lg';

/** A struct lguest_dma read out of guest memory. */
interface Dma {
  usedLen: number;
  readonly addr: Uint32Array;
  readonly len: Uint16Array;
}

function newDma(): Dma {
  return {
    usedLen: 0,
    addr: new Uint32Array(LGUEST_MAX_DMA_SECTIONS),
    len: new Uint16Array(LGUEST_MAX_DMA_SECTIONS),
  };
}

/** The scratch records of one transfer: the sender's descriptor and the receiver's. */
const srcScratch = newDma();
const dstScratch = newDma();
/** A descriptor's bytes, and the receiver's pinned pages (one per section). */
const dmaBytes = new Uint8Array(LGUEST_DMA.size);
const dmaView = new DataView(dmaBytes.buffer);
const u32Bytes = new Uint8Array(4);
const pinned = new Int32Array(LGUEST_MAX_DMA_SECTIONS);

/** The descriptor in dmaBytes, into `dma`. */
function parseDma(dma: Dma): Dma {
  dma.usedLen = LGUEST_DMA.f.used_len.get(dmaView, 0);
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
    dma.addr[i] = LGUEST_DMA.f.addr.get(dmaView, 0, i);
    dma.len[i] = LGUEST_DMA.f.len.get(dmaView, 0, i);
  }
  return dma;
}

/**
 * Reads `guest`'s descriptor at `addr` into `into`; null after killing `guest` for it (the
 * sender for a bad read address, the receiver for a bad registered struct).
 */
function readDma(guest: Guest, addr: number, into: Dma, registered: boolean): Dma | null {
  if (
    !lguestAddressOk(guest, addr, LGUEST_DMA.size) ||
    guest.host.copyFromUserInto(guest.proc, addr >>> 0, dmaBytes) !== 0
  ) {
    killGuest(
      guest,
      registered ? 'bad address in registered DMA struct' : `bad read address ${hex(addr)} len ${LGUEST_DMA.size}`,
    );
    return null;
  }
  return parseDma(into);
}

/** The used_len of `guest`'s descriptor at `addr`; -1 after killing that guest. */
function readUsedLen(guest: Guest, addr: number): number {
  const at = addr + LGUEST_DMA.offsetOf.used_len;
  if (!lguestAddressOk(guest, at, 4) || guest.host.copyFromUserInto(guest.proc, at >>> 0, u32Bytes) !== 0) {
    killGuest(guest, 'bad address in registered DMA struct');
    return -1;
  }
  return (u32Bytes[0] | (u32Bytes[1] << 8) | (u32Bytes[2] << 16) | (u32Bytes[3] << 24)) >>> 0;
}

/** lgwrite_other for a u32; false after killing that guest. */
function lgwriteOtherU32(guest: Guest, addr: number, value: number): boolean {
  if (lguestAddressOk(guest, addr, 4) && guest.host.putUser32(guest.proc, addr >>> 0, value >>> 0) === 0) return true;
  killGuest(guest, 'bad address writing to registered DMA');
  return false;
}

// ------------------------------------------------------------------ binding

function unlink(guest: Guest, info: DmaInfo): void {
  const list = guest.globals.dmaHash.get(info.keyName);
  if (list) {
    const i = list.indexOf(info);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) guest.globals.dmaHash.delete(info.keyName);
  }
  info.interrupt = 0;
  info.key = null;
  info.keyName = '';
}

/**
 * LHCALL_BIND_DMA(key, dmas, (num << 8) | irq): bind `numdmas` buffers at guest-physical
 * `dmas` to `ukey`, raising `interrupt` when one is filled; interrupt 0 unbinds (key, dmas).
 * 1 on success, 0 if no slot is free or the IRQ is out of range. A bad key kills.
 */
export function bindDma(guest: Guest, ukey: number, dmas: number, numdmas: number, interrupt: number): number {
  if (interrupt >= LGUEST_IRQS) return 0;
  const key = guest.host.futexKey(guest.proc, ukey >>> 0);
  if (typeof key === 'number') {
    killGuest(guest, `bad dma key ${hex(ukey)}`);
    return 0;
  }
  if (interrupt === 0) {
    for (const info of guest.dma) {
      if (info.interrupt && info.key && keyEquals(info.key, key) && info.dmas === dmas >>> 0) {
        unlink(guest, info);
        return 1;
      }
    }
    return 0;
  }
  for (const info of guest.dma) {
    if (info.interrupt) continue;
    info.dmas = dmas >>> 0;
    info.numDmas = numdmas;
    info.nextDma = 0;
    info.key = key;
    info.keyName = keyString(key);
    info.guestId = guest.id;
    info.interrupt = interrupt;
    const list = guest.globals.dmaHash.get(info.keyName);
    if (list) list.unshift(info);
    else guest.globals.dmaHash.set(info.keyName, [info]);
    return 1;
  }
  return 0;
}

/** At close: every binding of the guest goes (release of its futex keys). */
export function releaseAllDma(guest: Guest): void {
  for (const info of guest.dma) if (info.interrupt) unlink(guest, info);
}

// ------------------------------------------------------------------ sending

/** The last key sent to and its string: a guest sends frame after frame to the same key. */
let lastKey: FutexKey | null = null;
let lastKeyName = '';

function keyName(key: FutexKey): string {
  if (!lastKey || !keyEquals(lastKey, key)) {
    lastKey = key;
    lastKeyName = keyString(key);
  }
  return lastKeyName;
}

/**
 * LHCALL_SEND_DMA(key, dma). A shared key goes to the first other guest bound there; a
 * private one is for our launcher: read() returns (dma, key) before the guest runs again.
 * `lastTry` is set for the one retry of a send that found no free buffer.
 */
export function sendDma(guest: Guest, ukey: number, udma: number, lastTry = false): void {
  const key = guest.host.futexKey(guest.proc, ukey >>> 0);
  if (typeof key === 'number') {
    killGuest(guest, 'bad sending DMA key');
    return;
  }
  if (!key.shared) {
    guest.dmaIsPending = true;
    guest.pendingDma = udma >>> 0;
    guest.pendingKey = ukey >>> 0;
    return;
  }
  // The original drops its locks and tries once more when the receiver had no free buffer,
  // so the receiver can restock on another CPU. With one CPU, run_guest lets the receiver
  // have the CPU first (it was just woken to take its frames), then retries exactly once.
  for (const info of guest.globals.dmaHash.get(keyName(key)) ?? []) {
    if (info.guestId === guest.id) continue;
    if (!dmaTransfer(guest, udma >>> 0, info) && !lastTry) guest.dmaRetry = { key: ukey >>> 0, dma: udma >>> 0 };
    break;
  }
}

/**
 * dma_list_ok: every section of `dma` inside `guest`'s memory, at most a page long and not
 * crossing a page. Kills the owner otherwise.
 */
function dmaListOk(guest: Guest, dma: Dma): boolean {
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
    const len = dma.len[i];
    if (len === 0) return true;
    const addr = dma.addr[i];
    if (!lguestAddressOk(guest, addr, len) || len > PAGE_SIZE || (addr % PAGE_SIZE) + len > PAGE_SIZE) {
      killGuest(guest, `bad DMA entry: ${len}@${hex(addr)}`);
      return false;
    }
  }
  return true;
}

/**
 * copy_data: the source sections into the destination sections (whose pages are pinned),
 * section by section, inside host RAM. Returns the bytes copied; 0 after killing the sender
 * for a bad source.
 */
function copyData(src: Guest, srcDma: Dma, dst: Dma): number {
  const host = src.host;
  const ram = host.ram;
  const mm = src.proc.mm;
  let total = 0;
  let si = 0;
  let di = 0;
  let srcoff = 0;
  let dstoff = 0;
  while (si < LGUEST_MAX_DMA_SECTIONS && srcDma.len[si] && di < LGUEST_MAX_DMA_SECTIONS && dst.len[di]) {
    const len = Math.min(srcDma.len[si] - srcoff, dst.len[di] - dstoff);
    const at = pinned[di] + ((dst.addr[di] + dstoff) % PAGE_SIZE);
    // A source section lies within one page (dmaListOk): one lookup finds all of it.
    const from = mm.resolve((srcDma.addr[si] + srcoff) >>> 0, false);
    if (from < 0) {
      killGuest(src, 'bad address in sending DMA');
      return 0;
    }
    ram.copyWithin(at, from, from + len);
    host.invalidate(at, len);
    total += len;
    srcoff += len;
    dstoff += len;
    if (srcoff === srcDma.len[si]) {
      si++;
      srcoff = 0;
    }
    if (dstoff === dst.len[di]) {
      di++;
      dstoff = 0;
    }
  }
  return total;
}

/** do_dma: check both lists, pin the destination pages, copy. The bytes copied, or 0. */
function doDma(src: Guest, srcDma: Dma, dstGuest: Guest, dst: Dma): number {
  if (!dmaListOk(dstGuest, dst) || !dmaListOk(src, srcDma)) return 0;
  let n = 0;
  for (; n < LGUEST_MAX_DMA_SECTIONS && dst.len[n]; n++) {
    const frame = dstGuest.host.getUserPages(dstGuest.proc, dst.addr[n], true);
    if (frame < 0) {
      killGuest(dstGuest, 'Error mapping DMA pages');
      for (let i = 0; i < n; i++) dstGuest.host.putPage(pinned[i]);
      return 0;
    }
    pinned[n] = frame;
  }
  const ret = copyData(src, srcDma, dst);
  for (let i = 0; i < n; i++) dstGuest.host.putPage(pinned[i]);
  return ret;
}

/**
 * dma_transfer: from `src`'s descriptor at `udma` into the next free buffer of binding
 * `info`. The byte count goes into both used_len fields, and the receiver's IRQ is raised —
 * even when it had no free buffer, so it can restock. False only when it had none.
 */
function dmaTransfer(src: Guest, udma: number, info: DmaInfo): boolean {
  const dstGuest = src.globals.guests[info.guestId];
  if (!dstGuest || dstGuest.dead !== null) return true;
  const srcDma = readDma(src, udma, srcScratch, false);
  if (!srcDma) return true;

  let found = -1;
  for (let i = 0; i < info.numDmas; i++) {
    const dmanum = (info.nextDma + i) % info.numDmas;
    const at = info.dmas + dmanum * LGUEST_DMA.size;
    const used = readUsedLen(dstGuest, at);
    if (used < 0) return true;
    if (used === 0) {
      found = at;
      break;
    }
  }
  if (found >= 0) {
    const dst = readDma(dstGuest, found, dstScratch, true);
    if (!dst) return true;
    const ret = doDma(src, srcDma, dstGuest, dst);
    lgwriteU32(src, udma + LGUEST_DMA.offsetOf.used_len, ret);
    if (ret === 0 && srcDma.len[0] !== 0) return true;
    if (!lgwriteOtherU32(dstGuest, found + LGUEST_DMA.offsetOf.used_len, ret)) return true;
    info.nextDma = (info.nextDma + 1) & 0xffff;
    src.stats.dmaDelivered++;
    // Per destination, for whoever watches (lguest web draws DMA between guests from these).
    src.dmaFramesTo[dstGuest.id % MAX_LGUEST_GUESTS]++;
    src.dmaBytesTo[dstGuest.id % MAX_LGUEST_GUESTS] += ret;
  } else {
    src.stats.dmaNoBuffer++;
  }
  dstGuest.irqsPending |= 1 << info.interrupt;
  wakeUpGuest(dstGuest);
  return found >= 0;
}

// ------------------------------------------------------------------ the launcher's side

/**
 * get_dma_buffer (LHREQ_GETDMA): the first free buffer this guest bound at `ukey`, and the
 * binding's IRQ. As in the original, if every buffer is in use the last one is returned.
 * null if nothing is bound there (or the guest was killed for a bad key or array).
 */
export function getDmaBuffer(guest: Guest, ukey: number): { dma: number; interrupt: number } | null {
  const key = guest.host.futexKey(guest.proc, ukey >>> 0);
  if (typeof key === 'number') {
    killGuest(guest, 'bad registered DMA buffer');
    return null;
  }
  for (const info of guest.globals.dmaHash.get(keyString(key)) ?? []) {
    if (info.guestId !== guest.id) continue;
    let ret = 0;
    for (let j = 0; j < info.numDmas; j++) {
      ret = info.dmas + j * LGUEST_DMA.size;
      if (!lguestAddressOk(guest, ret, LGUEST_DMA.size)) {
        killGuest(guest, `bad read address ${hex(ret)} len ${LGUEST_DMA.size}`);
        return null;
      }
      const used = readUsedLen(guest, ret);
      if (used < 0) return null;
      if (used === 0) break;
    }
    return { dma: ret >>> 0, interrupt: info.interrupt };
  }
  return null;
}
