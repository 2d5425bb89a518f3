// How the launcher gives up. The original launcher calls errx() — print a message, exit —
// wherever the guest or the user handed it something it cannot work with: a kernel that is
// not a kernel, a DMA buffer outside guest memory, a device that failed. Here that is a
// LauncherExit thrown from wherever the problem is found (a device's handler included) and
// caught in exactly one place, Launcher.run(), which turns it into the launcher's result.

/** errx(status, message): stop the launcher with this exit status and reason. */
export class LauncherExit extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'LauncherExit';
    this.status = status;
  }
}

/** "0x100000": how addresses appear in the launcher's messages. */
export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}
