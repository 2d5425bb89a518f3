// @lguest/console: the console device, launcher side (the guest driver is in guest/). The
// CLI adds it to a launcher with addConsole; Console is the device's state, usable alone.
export * from './console';
export * from './device';
