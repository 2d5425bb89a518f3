// The block device, launcher side (lguest-abi.md §6.8; 2.6.23's setup_block_file and
// handle_block_output). The guest sees one page of device memory whose start is the shared
// struct lguest_block_page, and whose address is also the DMA key. It binds one reply buffer
// there, and for each request fills in type, sector and bytes, sets result to 0 and sends a
// DMA to the key: the data itself for a write, an empty "ping" for a read (whose data we put
// into the bound reply buffer) or a flush. The launcher's read() of /dev/lguest hands that
// DMA to us, with the guest stopped; we do the I/O between the file and guest memory, write
// `result` (1 done, 2 error), and raise the device's interrupt. One request at a time.
//
// Order matters for a disk that must never lose a byte: a write is in the host file (the
// host's page cache, which outlives us if we are killed) before result and the interrupt
// tell the guest it is done, and a flush is fdatasync'd before it completes.
//
// What the guest can get wrong, and what it gets for it. As in the original, a request that
// starts past the end of the disk, or a write that would run past it, kills the guest ("Bad
// offset …", "Write past end …") — but we check before writing, so the file never grows. A
// request type we do not know kills it too, and so does a DMA buffer outside guest memory
// (the launcher's check) or no reply buffer bound. Mistakes that are not the guest lying to
// us get an error status instead: `bytes` that disagree with the buffers, a read past the
// end, any write to a read-only disk, and an I/O error of the host file.

import {
  LGUEST_BLOCK_F_READONLY,
  LGUEST_BLOCK_FLUSH,
  LGUEST_BLOCK_PAGE,
  LGUEST_BLOCK_READ,
  LGUEST_BLOCK_RESULT_ERROR,
  LGUEST_BLOCK_RESULT_OK,
  LGUEST_BLOCK_SECTOR_SIZE,
  LGUEST_BLOCK_WRITE,
  LGUEST_DEVICE_F_RANDOMNESS,
  LGUEST_DEVICE_T_BLOCK,
  LGUEST_DMA,
} from '@lguest/abi';
import { errnoName } from '@lguest/host';
import { LauncherExit, type Device, type DmaOutput, type Launcher } from '@lguest/launcher';
import { iovLength, type DiskImage } from './image';

/** What the block device needs of its launcher: guest memory, GETDMA and the IRQ. */
export type BlockGuestAccess = Pick<Launcher, 'getDma' | 'dmaSections' | 'readGuest' | 'writeGuest' | 'sendIrq'>;

/** Counters, for tests, the verbose log and the benchmark. */
export interface BlockStats {
  reads: number;
  writes: number;
  flushes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests answered with result 2. */
  errors: number;
}

/** The disk name the guest gives the Nth block device: lgba, lgbb, … */
export function diskName(n: number): string {
  return `lgb${String.fromCharCode(0x61 + n)}`;
}

/** One disk served to one guest. */
export class Block {
  readonly stats: BlockStats = { reads: 0, writes: 0, flushes: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  /** Disk size in whole sectors (a partial last sector is not part of the disk). */
  readonly numSectors: number;
  /** Called with a line when the guest's request fails (the verbose log). */
  log: ((line: string) => void) | null = null;
  private readonly header = new Uint8Array(LGUEST_BLOCK_PAGE.size);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly word = new Uint8Array(4);
  private readonly wordView = new DataView(this.word.buffer);

  constructor(readonly image: DiskImage) {
    // num_sectors is a u32: the protocol cannot describe more than 2 TiB.
    this.numSectors = Math.min(Math.floor(image.size / LGUEST_BLOCK_SECTOR_SIZE), 0xffffffff);
  }

  /** Bytes of disk the guest can address. */
  get capacity(): number {
    return this.numSectors * LGUEST_BLOCK_SECTOR_SIZE;
  }

  /** At set-up: the disk's size goes into the page, where the guest's probe reads it. */
  setup(page: number, guest: BlockGuestAccess): void {
    this.setWord(this.numSectors);
    guest.writeGuest(page + LGUEST_BLOCK_PAGE.offsetOf.num_sectors, this.word);
  }

  /**
   * handle_block_output: the request in the page at `page`, whose DMA `out` the guest just
   * sent. Returns what goes into that DMA's used_len (bytes written, else 0). Throws
   * LauncherExit to kill the guest.
   */
  async handleRequest(page: number, out: DmaOutput, guest: BlockGuestAccess): Promise<number> {
    this.header.set(guest.readGuest(page, LGUEST_BLOCK_PAGE.size));
    const type = LGUEST_BLOCK_PAGE.f.type.get(this.headerView, 0);
    const sector = LGUEST_BLOCK_PAGE.f.sector.get(this.headerView, 0);
    const bytes = LGUEST_BLOCK_PAGE.f.bytes.get(this.headerView, 0);
    const offset = sector * LGUEST_BLOCK_SECTOR_SIZE;

    if (type !== LGUEST_BLOCK_READ && type !== LGUEST_BLOCK_WRITE && type !== LGUEST_BLOCK_FLUSH) {
      throw new LauncherExit(1, `Bad block request type ${type}`);
    }
    if (type !== LGUEST_BLOCK_FLUSH && offset >= this.capacity) {
      throw new LauncherExit(1, `Bad offset ${offset} vs ${this.capacity}`);
    }
    const reply = await guest.getDma(page);
    if (!reply) throw new LauncherExit(1, "Block request didn't give us a dma buffer");

    let status = LGUEST_BLOCK_RESULT_OK;
    let used = 0;
    let replyUsed = 0;
    const fail = (why: string) => {
      status = LGUEST_BLOCK_RESULT_ERROR;
      this.stats.errors++;
      this.log?.(`${this.image.path}: ${why}`);
    };

    if (type === LGUEST_BLOCK_WRITE) {
      const len = iovLength(out.sections);
      if (offset + len > this.capacity) throw new LauncherExit(1, `Write past end ${offset}+${len}`);
      if (len !== bytes) fail(`write of ${len} bytes at sector ${sector} says it is ${bytes}`);
      else if (this.image.readOnly) fail(`write to a read-only disk at sector ${sector} refused`);
      else {
        const n = this.image.write({ iov: out.sections }, offset);
        if (n !== len) fail(`write of ${len} bytes at sector ${sector}: ${n < 0 ? errnoName(n) : `only ${n}`}`);
        else {
          this.stats.writes++;
          this.stats.bytesWritten += n;
          used = n;
        }
      }
    } else if (type === LGUEST_BLOCK_READ) {
      const sections = guest.dmaSections(reply.dma);
      const len = iovLength(sections);
      if (len !== bytes) fail(`read of ${len} bytes at sector ${sector} says it is ${bytes}`);
      else if (offset + len > this.capacity) fail(`read of ${len} bytes at sector ${sector} runs past the end`);
      else {
        const n = this.image.read({ iov: sections }, offset);
        if (n !== len) fail(`read of ${len} bytes at sector ${sector}: ${n < 0 ? errnoName(n) : `only ${n}`}`);
        else {
          this.stats.reads++;
          this.stats.bytesRead += n;
        }
        replyUsed = Math.max(n, 0);
      }
    } else {
      const r = this.image.flush();
      if (r < 0) fail(`flush: ${errnoName(r)}`);
      else this.stats.flushes++;
    }

    this.setWord(replyUsed);
    guest.writeGuest(reply.dma + LGUEST_DMA.offsetOf.used_len, this.word);
    this.setWord(status);
    guest.writeGuest(page + LGUEST_BLOCK_PAGE.offsetOf.result, this.word);
    await guest.sendIrq(reply.irq);
    return used;
  }

  close(): void {
    this.image.close();
  }

  private setWord(value: number): void {
    this.wordView.setUint32(0, value >>> 0, true);
  }
}

/** A block device added to a launcher; its disk is opened when the launcher sets up. */
export interface BlockDevice {
  readonly device: Device;
  /** The open disk, once the launcher has set the device up. */
  readonly block: Block | null;
  /** Close the disk (after the launcher's run; its stats stay readable). */
  close(): void;
}

/**
 * Adds a block device to `launcher` as its next device (type 3, one page, the page's address
 * is the key). `open` opens its disk in the launcher's process at set-up; an error there
 * (a DiskError, any Error) ends the launcher with its message. A `readOnly` disk carries
 * LGUEST_BLOCK_F_READONLY in its descriptor's features.
 */
export function addBlock(
  launcher: Launcher,
  open: (launcher: Launcher) => Promise<Block>,
  readOnly = false,
): BlockDevice {
  let block: Block | null = null;
  let closed = false;
  const device = launcher.addDevice({
    type: LGUEST_DEVICE_T_BLOCK,
    // A read-only disk says so in its features, so the guest refuses writes before sending them.
    features: LGUEST_DEVICE_F_RANDOMNESS | (readOnly ? LGUEST_BLOCK_F_READONLY : 0),
    numPages: 1,
    setup: async (dev, l) => {
      try {
        block = await open(l);
      } catch (e) {
        if (e instanceof LauncherExit) throw e;
        throw new LauncherExit(1, (e as Error).message);
      }
      block.setup(dev.pages, l);
    },
    handleOutput: (out, dev, l) => {
      if (!block) throw new LauncherExit(1, 'Block request before the disk was opened');
      return block.handleRequest(dev.pages, out, l);
    },
  });
  device.watchKey = device.pages;
  return {
    device,
    get block() {
      return block;
    },
    close() {
      if (closed) return;
      closed = true;
      block?.close();
    },
  };
}
