// The console protocol (2.6.23 drivers/char/hvc_lguest.c and the Launcher's console). The
// console has no device memory: output is a SEND_DMA to key 0, which the host hands to the
// Launcher; input arrives in one buffer the guest binds at key 0 with the console's IRQ,
// and the guest re-arms it by setting used_len back to 0 once it has consumed the bytes.
// (lguest-abi.md §6.7.)

/** The key console output is sent to and console input is bound at. */
export const LGUEST_CONSOLE_DMA_KEY = 0;
/** Size of the single input buffer the guest binds. */
export const LGUEST_CONSOLE_INBUF_SIZE = 256;
