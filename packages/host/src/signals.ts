// Signals, as far as a launcher needs them. lguest's run_guest() checks signal_pending()
// on every trip round its loop and returns -ERESTARTSYS, so killing a launcher (or ^C in
// a real terminal) gets it out of the read() that runs its guest. The launcher here is
// TypeScript, so a "signal handler" is a TypeScript function, run when the interrupted
// system call returns, as Linux runs handlers on the way back to user mode.

/** Linux i386 signal numbers. */
export const Signal = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGURG: 23,
  SIGWINCH: 28,
  SIGIO: 29,
} as const;

/** Signals 1..NSIG-1 exist (no real-time signals here). */
export const NSIG = 32;

/**
 * What a process does with a signal: the default action, ignore it, or run a handler.
 * `restart` is SA_RESTART: a system call the signal interrupted is restarted after the
 * handler instead of failing with -EINTR.
 */
export type SignalAction =
  'default' | 'ignore' | { readonly handler: (sig: number) => void; readonly restart?: boolean };

/** Signals whose default action is to do nothing (no job control here: SIGSTOP too). */
export function ignoredByDefault(sig: number): boolean {
  return (
    sig === Signal.SIGCHLD ||
    sig === Signal.SIGCONT ||
    sig === Signal.SIGURG ||
    sig === Signal.SIGWINCH ||
    sig === Signal.SIGSTOP
  );
}
