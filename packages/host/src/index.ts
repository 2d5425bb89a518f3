// @lguest/host: the host-kernel shim. lg uses all of it, as a module uses the kernel; a
// launcher uses only Process (its system calls) and the constants that go with them.

export { Host, MAX_HOST_MEMORY_MIB, type HostOptions, type DescriptorTable } from './host';
export { Errno, errnoName, isErr, type ErrnoName } from './errno';
export * from './layout';
export { Clock, VIRTUAL_NS_PER_INSTRUCTION, type ClockMode } from './clock';
export { HrTimer, TimerBase, type TimerCallback } from './timers';
export { HostPic, IrqTable, type HostInterrupt, type InterruptFrame, type IrqHandler } from './irq';
export { HostIoBus, type PortHandler } from './io-bus';
export { KernelCpu, type CallBreakpoints, type KernelCall, type KernelCallOptions, type KernelRegs } from './kernel-call';
export { PageAllocator, type AllocFlags } from './page-alloc';
export { type BootLayout } from './head';
export { segmentDescriptor, gateDescriptor, descriptorCache } from './descriptors';
export { SAVED_REGISTERS } from './entry';
export { translate, ptePhys, pgdIndex, pteIndex, entryFrame } from './pgtable';
export {
  Mm,
  Vma,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  type MappedFile,
} from './mm';
export { Process, FIRST_FD, MAX_FDS, type IoVec } from './process';
export { Signal, NSIG, type SignalAction } from './signals';
export { WaitQueue, waitEvent, waitEventInterruptible, type SignalTarget, type Sleeper } from './wait';
export { Scheduler, type Task } from './sched';
export { futexKey, keyEquals, keyString, type FutexKey } from './futex';
export {
  File,
  CharDevice,
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_ACCMODE,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_NONBLOCK,
  SEEK_SET,
  SEEK_CUR,
  SEEK_END,
  POLLIN,
  POLLPRI,
  POLLOUT,
  POLLERR,
  POLLHUP,
  type FileOps,
  type Stat,
  type InodeKind,
  type RegularFile,
} from './vfs';
export { Vfs } from './namei';
export { TmpfsFile, TmpfsDir } from './tmpfs';
export { type HostMountOptions } from './hostfs';
