// The network protocol (2.6.23 drivers/net/lguest_net.c and the Launcher's --sharenet and
// --tunnet). A network's page is shared by everyone on it: an array of 6-byte MAC slots, one
// per peer. A guest learns its own slot from the low bits of its device's features, publishes
// its MAC there, and binds receive buffers at key page + 4 × slot; to transmit it sends a DMA
// to the key of each peer whose MAC matches (or that is promiscuous). (lguest-abi.md §6.9.)

import { PAGE_SIZE } from './i386';
import { defineStruct } from './struct';

/** Feature bit: no checksums needed (guest to guest); the guest turns on SG and NO_CSUM. */
export const LGUEST_NET_F_NOCSUM = 0x4000;
/** Bit of mac[0] a peer sets to receive everything (the multicast bit); ignored in compares. */
export const LGUEST_NET_PROMISC_BIT = 0x01;
/** With --tunnet the Launcher is peer 0 and the guest is this peer. */
export const NET_PEERNUM = 1;
/** MAC slots in one network page. */
export const LGUEST_NET_MAX_PEERS = Math.floor(PAGE_SIZE / 6);
/** Received frames outside [MIN, MAX] bytes are dropped. */
export const LGUEST_NET_MIN_PACKET = 14;
export const LGUEST_NET_MAX_PACKET = 1514;

export const LGUEST_NET = defineStruct('lguest_net', [
  ['mac', 'u8', 6],
], { doc: 'One peer slot of a network page; mac[0] == 0 means the slot is unused.' });

/** The DMA key peer `slot` receives at, on the network page at guest-physical `page`. */
export function netPeerKey(page: number, slot: number): number {
  return (page + 4 * slot) >>> 0;
}

/** A guest's own slot: the low bits of its features, masked by the device memory size. */
export function netSlot(features: number, numPages: number): number {
  return features & (numPages * PAGE_SIZE - 1);
}
