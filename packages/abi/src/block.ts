// The block device protocol (2.6.23 drivers/block/lguest_blk.c and the Launcher's block
// file). The device's one page starts with `lguest_block_page`: the guest writes a request
// there and sends a DMA to the page's address — carrying the data for a write, or an empty
// "ping" for a read, whose data the Launcher puts in the reply buffer the guest bound at
// that same key. The Launcher writes `result` and raises the device IRQ. One request at a
// time. (lguest-abi.md §6.8.)

import { defineStruct } from './struct';

export const LGUEST_BLOCK_READ = 0;
export const LGUEST_BLOCK_WRITE = 1;
/**
 * Not in 2.6.23 (whose lguest_blk never flushes): everything written before it reaches
 * stable storage (fdatasync) before the result is written. sector and bytes are 0; the guest
 * sends an empty DMA, as for a read.
 */
export const LGUEST_BLOCK_FLUSH = 2;

/**
 * A descriptor `features` bit of ours (2.6.23 has none for disks): the Launcher serves this
 * disk read-only (`--block=FILE,ro`), so the guest can say so and refuse writes itself.
 */
export const LGUEST_BLOCK_F_READONLY = 0x0001;

export const LGUEST_BLOCK_RESULT_PENDING = 0;
export const LGUEST_BLOCK_RESULT_OK = 1;
export const LGUEST_BLOCK_RESULT_ERROR = 2;

/** Bytes per sector (`sector` and `num_sectors` count these). */
export const LGUEST_BLOCK_SECTOR_SIZE = 512;

export const LGUEST_BLOCK_PAGE = defineStruct('lguest_block_page', [
  ['type', 's32'],
  ['sector', 'u32'],
  ['bytes', 'u32'],
  ['result', 's32'],
  ['num_sectors', 'u32'],
], {
  doc:
    'Start of the block device page. The guest writes type (LGUEST_BLOCK_READ/WRITE), sector ' +
    'and bytes and sets result to 0; the Launcher writes result and, at set-up, num_sectors.',
});
