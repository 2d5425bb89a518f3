// @lguest/abi: the lguest ABI of Linux 2.6.23 — the one contract the lg module, the Launcher,
// the devices and (through generated C headers) the guest kernel all build against. Import
// constants and struct descriptions from here; see README.md for the map of the files.

export * from './struct';
export * from './i386';
export * from './lguest';
export * from './launcher';
export * from './switcher';
export * from './boot';
export * from './console';
export * from './block';
export * from './net';
