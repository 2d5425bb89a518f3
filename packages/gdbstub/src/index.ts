// @lguest/gdbstub: the GDB remote serial protocol for one guest CPU. Whoever runs the guest
// implements DebugTarget; the CLI listens with GdbServer (`lguest run --gdb=tcp::1234`).

export { GdbServer, GdbAddressError, parseGdbAddress, type GdbAddress } from './server';
export { GdbSession, MAX_WATCH_LENGTH } from './stub';
export {
  I386_REGISTERS,
  I386_REGISTER_COUNT,
  I387_REGISTERS,
  type FpuRegisters,
  type BreakpointKind,
  type DebugTarget,
  type StopReason,
  type WatchpointKind,
} from './target';
export { framePacket, PacketReader, type WireEvent } from './packets';
