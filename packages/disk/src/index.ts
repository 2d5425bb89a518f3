// @lguest/disk: the block device. A host file (raw, or a qcow2 overlay on a backing file)
// becomes a guest's /dev/lgbX through the 2.6.23 block protocol.

export { Block, addBlock, diskName, type BlockDevice, type BlockGuestAccess, type BlockStats } from './block';
export { RawImage, iovLength, type DiskImage } from './image';
export { ProcessFile, NodeFile, type DiskFile, type IoVec } from './file';
export { lockDisk, DiskLock, DiskLockError, type LockMode } from './lock';
export { prepareDisk, parseBlockArg, PreparedDisk, DiskError, type DiskSpec } from './open';
export {
  QCOW2_MAGIC,
  Qcow2Image,
  Qcow2Error,
  createQcow2,
  openImage,
  probeQcow2Chain,
  readQcow2Header,
  isQcow2File,
  backingPath,
  type Qcow2Header,
  type OpenFile,
} from './qcow2';
export { sliceTarget, targetLength, type Target } from './target';
