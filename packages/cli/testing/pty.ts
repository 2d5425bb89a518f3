// Test helpers: the built `lguest` command and the guest images it runs, and util-linux
// `script`, which gives a command a real pseudo-terminal. Shared by the end-to-end tests
// (terminal.system.test.ts, shell-session.system.test.ts); nothing here is part of the command itself.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const GUEST_BUILD = join(dirname(require.resolve('@lguest/guest/package.json')), 'build');
/** The bundled guest: boot lines, then init and its shell (or its story, with `selftest`). */
export const GUEST = join(GUEST_BUILD, 'guest.elf');
/** A guest that spins with interrupts off, forever. */
export const SPINNER = join(GUEST_BUILD, 'attack-irqs-off-loop.elf');
/** The built command (`npm run build`), as bin/lguest.mjs runs it. */
export const MAIN = join(__dirname, '..', 'dist', 'main.js');

/** A line of `stty -g` output: the terminal's whole mode, as colon-separated hex fields. */
export const STTY_G = /^[0-9a-f]+(:[0-9a-f]+)+$/;

/**
 * How long a spawned command may take before a test calls it hung: not a bound any test
 * relies on (each run is bounded by what it counts — instructions, virtual time, --timeout),
 * only what stops a run that will never end on its own.
 */
export const HANG_GUARD_MS = 10 * 60_000;

/** Waits (up to HANG_GUARD_MS) until the session log says raw mode is on: keys typed before would be cooked. */
export const WAIT_FOR_RAW =
  'i=0; while ! grep -q "the terminal is in raw mode" "$LOG" 2>/dev/null && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done; ';

/** How the tests run `script`: quietly (-q), flushing as it goes (-f), with the command's exit
 * status as its own (-e), the command run by the shell (-c) in a fresh pseudo-terminal. */
export const SCRIPT_OPTIONS = '-qfec';

/**
 * Runs `command` in a fresh pseudo-terminal (script, logging the session to $LOG), typing
 * `keys` ([delay s, bytes as printf]) into it once lguest has put it in raw mode. Returns
 * what the terminal showed, without the CRs of its CR LF line ends.
 */
export function inPty(command: string, keys: [number, string][]): string {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-pty-'));
  const log = join(dir, 'typescript');
  const typing = keys.map(([delay, bytes]) => `sleep ${delay}; printf '${bytes}'; `).join('');
  const r = spawnSync(
    'sh',
    ['-c', `(${keys.length ? WAIT_FOR_RAW : ''}${typing}sleep 3) | script ${SCRIPT_OPTIONS} "${command}" "$LOG"`],
    {
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
      env: { ...process.env, LOG: log },
    },
  );
  rmSync(dir, { recursive: true, force: true });
  return r.stdout.replace(/\r/g, '');
}
