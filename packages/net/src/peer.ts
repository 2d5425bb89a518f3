// A network on which the launcher itself is the other peer: --tunnet (frames go to a TAP
// device) and --net=user (frames go to the user-mode TCP/IP stack). As in the original's
// --tunnet, the device page is the launcher's own memory; the guest is peer 1 (its features
// say slot 1), the launcher is peer 0 and writes its MAC into slot 0 with the promiscuous
// bit set, so the guest sends it every frame: a SEND_DMA to key page + 0, which lg hands to
// us (a private key) through read(). The other way, we GETDMA the guest's receive buffers at
// key page + 4 and raise its interrupt.
//
// Frames for the guest wait in a ring of preallocated slots until the launcher lets us at the
// guest. Nothing on the data path allocates here: frames move between preallocated buffers
// (the ring, a receive buffer and a buffer for one section) by offset, the buffers we filled are kept
// in typed arrays, and the guest's DMA descriptors are read into one scratch buffer. (The
// launcher's own read()/LHREQ calls, beneath us, are promises.) LHREQ_GETDMA returns the guest's *last* buffer when all
// are full, and overwrites its used_len; so we read the used_len of each buffer we already
// filled before asking, and if the answer is one of them that was still full, we put its
// length back and wait for the guest to re-arm it (it does so as soon as it takes a frame;
// nothing tells us, so we look again shortly, as the console does).
//
// What the guest sends is checked before anyone sees it: a frame shorter than an Ethernet
// header or longer than 1514 bytes is dropped and counted under its reason; a DMA buffer
// outside guest memory stops the launcher (the original's errx), killing only this guest.

import {
  LGUEST_DEVICE_T_NET,
  LGUEST_DMA,
  LGUEST_MAX_DMA_SECTIONS,
  LGUEST_NET_MAX_PACKET,
  LGUEST_NET_MIN_PACKET,
  LGUEST_NET_PROMISC_BIT,
  NET_PEERNUM,
  netPeerKey,
} from '@lguest/abi';
import { LauncherExit, type Device, type DmaOutput, type Launcher } from '@lguest/launcher';
import { PrefixViews } from './pool';
import { copyBytes } from './tcpip/wire';

/** Frames the ring holds for the guest; more are dropped (TCP retransmits, as on a wire). */
export const RING_FRAMES = 256;
/** How long frames wait before we look at the guest's buffers again. */
export const RETRY_MS = 1;

export interface PeerStats {
  framesFromGuest: number;
  bytesFromGuest: number;
  framesToGuest: number;
  bytesToGuest: number;
  /** Frames dropped, by reason. */
  readonly drops: Map<string, number>;
}

export interface LauncherPeer {
  readonly device: Device;
  readonly stats: PeerStats;
  /**
   * Queue a frame for the guest: `length` bytes of `frame` from `start` (copied). False if
   * it was dropped (ring full, bad size).
   */
  send(frame: Uint8Array, start?: number, length?: number): boolean;
  /** Stop retrying (the launcher's run is over). */
  close(): void;
}

export interface LauncherPeerOptions {
  /** The launcher's MAC (peer 0's slot). */
  readonly mac: Uint8Array;
  /** Device features besides the slot: the original sets RANDOMNESS for --tunnet. */
  readonly features?: number;
  /**
   * A frame from the guest: the first `length` bytes of `frame`, a scratch buffer (the same
   * one every time), valid during the call.
   */
  readonly receive: (frame: Uint8Array, length: number) => void;
  /** Once guest memory exists, before the guest runs (open sockets, the TAP, listeners). */
  readonly setup?: (launcher: Launcher) => void | Promise<void>;
}

/** Adds a network device on which the launcher is peer 0 (before run()). */
export function addLauncherPeer(launcher: Launcher, options: LauncherPeerOptions): LauncherPeer {
  const stats: PeerStats = {
    framesFromGuest: 0,
    bytesFromGuest: 0,
    framesToGuest: 0,
    bytesToGuest: 0,
    drops: new Map(),
  };
  const drop = (why: string) => stats.drops.set(why, (stats.drops.get(why) ?? 0) + 1);
  const rx = new Uint8Array(LGUEST_NET_MAX_PACKET);
  const rxViews = new PrefixViews(rx);
  /** One section of a frame at a time, on its way between guest memory and rx or the ring. */
  const section = new PrefixViews(new Uint8Array(LGUEST_NET_MAX_PACKET));
  const ring = new Uint8Array(RING_FRAMES * LGUEST_NET_MAX_PACKET);
  const ringLen = new Uint16Array(RING_FRAMES);
  let ringHead = 0;
  let ringCount = 0;
  /**
   * The buffers we filled and the length we wrote (the guest re-arms one with used_len 0):
   * at most one per frame of the ring between two looks.
   */
  const filledDma = new Uint32Array(RING_FRAMES);
  const filledLen = new Uint16Array(RING_FRAMES);
  let filledCount = 0;
  /** A struct lguest_dma of the guest's, read in one piece. */
  const dmaBytes = new Uint8Array(LGUEST_DMA.size);
  const dmaView = new DataView(dmaBytes.buffer);
  const u32 = new Uint8Array(4);
  const u32v = new DataView(u32.buffer);
  let retry: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const holder: { device: Device | null } = { device: null };

  const readU32 = (l: Launcher, addr: number) => {
    l.proc.readMemoryInto(addr, u32);
    return u32v.getUint32(0, true);
  };
  const writeU32 = (l: Launcher, addr: number, v: number) => {
    u32v.setUint32(0, v >>> 0, true);
    l.writeGuest(addr, u32);
  };

  const device = launcher.addDevice({
    type: LGUEST_DEVICE_T_NET,
    numPages: 1,
    features: NET_PEERNUM | (options.features ?? 0),
    setup: async (dev, l) => {
      dev.watchKey = netPeerKey(dev.pages, 0);
      const mac = options.mac.slice();
      mac[0] |= LGUEST_NET_PROMISC_BIT;
      l.writeGuest(dev.pages, mac);
      await options.setup?.(l);
    },
    handleOutput: (out: DmaOutput, _dev, l) => {
      let len = 0;
      for (const s of out.sections) len += s.len;
      if (len < LGUEST_NET_MIN_PACKET || len > LGUEST_NET_MAX_PACKET) {
        drop(len < LGUEST_NET_MIN_PACKET ? 'runt frame from the guest' : 'oversized frame from the guest');
        return len === 0 ? 0 : len;
      }
      const sections = out.sections;
      if (sections.length === 1) {
        l.proc.readMemoryInto(sections[0].addr, rxViews.get(len));
      } else {
        let at = 0;
        for (let i = 0; i < sections.length; i++) {
          const s = sections[i];
          l.proc.readMemoryInto(s.addr, section.get(s.len));
          copyBytes(rx, at, section.buffer, 0, s.len);
          at += s.len;
        }
      }
      stats.framesFromGuest++;
      stats.bytesFromGuest += len;
      options.receive(rx, len);
      return len;
    },
    handleInput: async (dev, l) => {
      await deliver(dev, l);
      return !closed;
    },
  });
  holder.device = device;

  /** Moves frames from the ring into the guest's free buffers; one interrupt for the batch. */
  async function deliver(dev: Device, l: Launcher): Promise<void> {
    const key = netPeerKey(dev.pages, NET_PEERNUM);
    let irq = -1;
    while (ringCount > 0) {
      // Forget the buffers the guest has re-armed; the rest are still full.
      for (let i = 0; i < filledCount;) {
        if (readU32(l, filledDma[i] + LGUEST_DMA.offsetOf.used_len) === 0) {
          filledCount--;
          filledDma[i] = filledDma[filledCount];
          filledLen[i] = filledLen[filledCount];
        } else i++;
      }
      if (filledCount === RING_FRAMES) {
        // A guest with more buffers than the ring, none re-armed yet: look again shortly.
        scheduleRetry(dev, l);
        break;
      }
      const found = await l.getDma(key);
      if (!found) {
        // Not bound (the interface is down): frames for it are lost, as on a wire.
        drop('guest has no receive buffers bound');
        ringHead = (ringHead + ringCount) % RING_FRAMES;
        ringCount = 0;
        break;
      }
      let wasFilled = -1;
      for (let i = 0; i < filledCount; i++) if (filledDma[i] === found.dma) wasFilled = i;
      if (wasFilled >= 0) {
        // Every buffer is full and GETDMA gave us the last one anyway: put its length back.
        writeU32(l, found.dma + LGUEST_DMA.offsetOf.used_len, filledLen[wasFilled]);
        scheduleRetry(dev, l);
        break;
      }
      const len = ringLen[ringHead];
      const frameAt = ringHead * LGUEST_NET_MAX_PACKET;
      // The guest's descriptor: up to LGUEST_MAX_DMA_SECTIONS (address, length) pairs.
      l.proc.readMemoryInto(found.dma, dmaBytes);
      let done = 0;
      for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS && done < len; i++) {
        const sLen = LGUEST_DMA.f.len.get(dmaView, 0, i);
        if (sLen === 0) break;
        const sAddr = LGUEST_DMA.f.addr.get(dmaView, 0, i);
        if (!l.memory.ok(sAddr, sLen)) throw new LauncherExit(1, `Bad DMA buffer: ${sLen}@0x${sAddr.toString(16)}`);
        const n = Math.min(sLen, len - done);
        copyBytes(section.buffer, 0, ring, frameAt + done, n);
        l.writeGuest(sAddr, section.get(n));
        done += n;
      }
      if (done < len) drop('guest buffer too small');
      writeU32(l, found.dma + LGUEST_DMA.offsetOf.used_len, done);
      filledDma[filledCount] = found.dma;
      filledLen[filledCount] = done;
      filledCount++;
      irq = found.irq;
      stats.framesToGuest++;
      stats.bytesToGuest += done;
      ringHead = (ringHead + 1) % RING_FRAMES;
      ringCount--;
    }
    if (irq >= 0) await l.sendIrq(irq);
  }

  function scheduleRetry(dev: Device, l: Launcher): void {
    if (retry || closed) return;
    retry = setTimeout(() => {
      retry = null;
      if (!closed && ringCount > 0) l.inputReady(dev);
    }, RETRY_MS);
    retry.unref?.();
  }

  return {
    device,
    stats,
    send(frame: Uint8Array, start = 0, length = frame.length - start): boolean {
      if (closed) return false;
      if (length < LGUEST_NET_MIN_PACKET || length > LGUEST_NET_MAX_PACKET) {
        drop('bad frame size for the guest');
        return false;
      }
      if (ringCount === RING_FRAMES) {
        drop('ring full');
        return false;
      }
      const slot = (ringHead + ringCount) % RING_FRAMES;
      copyBytes(ring, slot * LGUEST_NET_MAX_PACKET, frame, start, length);
      ringLen[slot] = length;
      ringCount++;
      launcher.inputReady(holder.device);
      return true;
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
    },
  };
}
