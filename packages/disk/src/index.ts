// @lguest/disk: the block device. A host file (raw, or a qcow2 overlay on a backing file)
// becomes a guest's /dev/lgbX through the 2.6.23 block protocol.

export { Block, addBlock, diskName, type BlockDevice, type BlockGuestAccess, type BlockStats } from './block';
export { RawImage, iovLength, type DiskImage } from './image';
export { ProcessFile, NodeFile, type DiskFile, type IoVec } from './file';
export { lockDisk, DiskLock, DiskLockError, type LockMode } from './lock';
export { prepareDisk, parseBlockArg, PreparedDisk, DiskError, QCOW2_MAGIC, type DiskSpec } from './open';
