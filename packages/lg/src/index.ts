// @lguest/lg: the lg module. The CLI (or a test) loads it into a host with lguestInit; from
// then on launchers reach it only through its control file, /proc/lguest or /dev/lguest.

export { lguestInit, Lguest, DEV_PATH, PROC_NAME, wallClockEpoch } from './core';
export { Guest, type GuestStats } from './lg';
export { TSC_KHZ } from './hypercalls';
export {
  debugGuest,
  GuestDebug,
  DEBUG_KICK_VECTOR,
  type GuestDebugOptions,
  type GuestStop,
  type WatchpointKind,
} from './debug';
export {
  GUEST_STATE_VERSION,
  loadGuestState,
  saveGuestState,
  unsavable,
  writeProtectShadows,
  type GuestState,
  type SavedDmaBinding,
} from './snapshot';
