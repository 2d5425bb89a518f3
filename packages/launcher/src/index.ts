// @lguest/launcher: the user-space half of lguest. The CLI builds a Launcher on a host
// process, device packages add their devices to it, and run() boots and serves the guest.

export {
  Launcher,
  MAX_GUEST_MEMORY_MIB,
  MIN_GUEST_MEMORY_MIB,
  POWER_DOWN,
  type LauncherOptions,
  type LauncherRestore,
  type LaunchResult,
} from './launcher';
export { Device, MAX_DEVICES, type DeviceSpec, type DmaOutput, type DmaSection } from './devices';
export { LauncherExit } from './errors';
export { GuestMemory } from './memory';
export { checkKernelImage, KERNEL_LOAD_ADDR, type LoadedKernel } from './kernel';
export { commandLine, memoryNeededMiB } from './boot';
