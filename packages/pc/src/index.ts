// The emulated PC's public surface: createPc and the devices and loader it is made of.
export {
  createPc,
  type Pc,
  type PcOptions,
  type PcState,
  type RunOptions,
  type RunResult,
  type StopReason,
} from './pc';
export {
  runPc,
  lineBufferedSerial,
  REAL_WALL_CLOCK,
  RUN_SLICE_INSTRUCTIONS,
  RUN_SLICE_NS,
  PACE_LEAD_NS,
  type PcRunOptions,
  type PcRunOutcome,
  type PcRunEnd,
  type PcRunHooks,
  type PauseAnswer,
  type SerialInput,
  type WallClock,
} from './run-loop';
export { DualPic, Pic8259 } from './pic';
export { Pit, PitChannel, PIT_HZ } from './pit';
export { Uart16550, COM1_BASE, COM1_IRQ } from './uart';
export { AtaChannel, ATA_BASE, ATA_CONTROL, ATA_IRQ, type AtaDisk } from './ata';
export { PowerPort, POWER_PORT, POWER_OFF_VALUE } from './power';
export { PortBus, type PortDevice } from './port-bus';
export { VirtualClock } from './clock';
export {
  findMultibootHeader,
  loadMultiboot,
  multibootEntryState,
  MULTIBOOT_BOOTLOADER_MAGIC,
  MULTIBOOT_HEADER_MAGIC,
  MBI_MODS,
  type LoadedModule,
  type MultibootBoot,
  type MultibootModule,
} from './multiboot';
export { isBzImage, loadBzImage, linuxEntryState, BOOT_PARAMS_ADDR, type LinuxBoot } from './linux-boot';
export { I8042, I8042_DATA, I8042_COMMAND, KEYBOARD_IRQ } from './i8042';
export { Cmos, CMOS_INDEX, CMOS_DATA, CMOS_DEFAULT_EPOCH } from './cmos';
export { SystemPortB, SYSTEM_PORT_B } from './system-port';
