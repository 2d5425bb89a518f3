// Error numbers. Everything a guest's launcher or the lg module can get wrong comes back the
// way Linux reports it: a negative errno in place of the result. A launcher that passes a bad
// address sees -EFAULT, not a JavaScript exception; lg's read() of the control file returns
// -ERESTARTSYS when a signal is pending, exactly as run_guest() does. Only a broken invariant
// inside the shim itself (a kernel BUG) throws.

/** Linux i386 errno values (asm-generic/errno-base.h, errno.h, linux/errno.h). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  /** Kernel-internal: "restart the system call if the signal allows"; user space sees EINTR. */
  ERESTARTSYS: 512,
} as const;

export type ErrnoName = keyof typeof Errno;

const names = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([name, value]) => [value, name]),
);

/** "ENOENT" for 2 or -2; "E<n>" for a number that is not in the table. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return names.get(n) ?? `E${n}`;
}

/** Whether a result is an error (a negative errno) rather than a value. */
export function isErr(result: number): boolean {
  return result < 0;
}
