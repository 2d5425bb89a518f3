// The console as one of the launcher's devices. The launcher gives it descriptor slot and IRQ
// like any device (the original adds the console after every command-line device, so it is
// usually the last slot), sends it whatever the guest DMAs to key 0, and calls it back with
// the guest stopped when it has said it has input.
//
// Input that cannot go in yet — the guest has not bound its buffer, or has not finished
// reading the last one — stays queued, and we ask to be called again a little later: the
// guest re-arms its buffer by writing used_len = 0, which nothing tells us about. The same
// after a delivery that left bytes queued (more than one buffer's worth was typed or piped):
// no new input may ever come to ask for us, so we ask ourselves. "Later" is the launcher's
// after(): a sleep on the host's clock, so under a virtual clock a run stays deterministic
// (and a halted guest's host skips straight to the retry).

import { LGUEST_CONSOLE_DMA_KEY, LGUEST_DEVICE_T_CONSOLE } from '@lguest/abi';
import type { Device, Launcher } from '@lguest/launcher';
import { Console, type ConsoleOptions } from './console';

/** How long queued input waits (ns of host clock) before we look at the guest's buffer again. */
export const INPUT_RETRY_NS = 10_000_000;

export interface ConsoleDevice {
  readonly console: Console;
  readonly device: Device;
  /** The launcher has set the device up: guest memory exists and the kernel is loaded. */
  readonly setUp: boolean;
  /** Stop listening to the input and stop retrying (call when the launcher's run ends). */
  close(): void;
}

/** Adds the console to `launcher` (before run()). `wake` in options is ours to set. */
export function addConsole(launcher: Launcher, options: Omit<ConsoleOptions, 'wake'>): ConsoleDevice {
  let cancelRetry: (() => void) | null = null;
  let closed = false;
  let setUp = false;
  // The device exists only after addDevice; input cannot arrive before the guest runs.
  const holder: { device: Device | null } = { device: null };
  const console = new Console({ ...options, wake: () => launcher.inputReady(holder.device) });

  const device = launcher.addDevice({
    type: LGUEST_DEVICE_T_CONSOLE,
    watchKey: LGUEST_CONSOLE_DMA_KEY,
    setup: () => {
      setUp = true;
    },
    handleOutput: (out) => console.handleOutput([out.bytes()]),
    handleInput: async (dev, l) => {
      const r = await console.deliverInput(l);
      const more = r === 'buffer-busy' || r === 'not-bound' || (r === 'delivered' && console.pendingInput > 0);
      if (more && !closed && cancelRetry === null) {
        cancelRetry = l.after(INPUT_RETRY_NS, () => {
          cancelRetry = null;
          if (!closed) l.inputReady(dev);
        });
      }
      // Keep being asked while input may still come or is still queued.
      return !console.inputEnded || console.pendingInput > 0;
    },
  });
  holder.device = device;

  return {
    console,
    device,
    get setUp() {
      return setUp;
    },
    close() {
      closed = true;
      cancelRetry?.();
      cancelRetry = null;
      console.close();
    },
  };
}
