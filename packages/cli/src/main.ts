#!/usr/bin/env node
// The `lguest` executable: the lguest command with this process's streams. Relative paths
// are taken from where the user typed the command (npm run sets the cwd to the repository
// root, but remembers the original in INIT_CWD). The bundled guest image is found next to
// this package.
//
// Stopping: when stdin is a terminal the console puts it in raw mode (terminal.ts), so
// Ctrl-C is a byte for the guest and three of them within a second end it with status 2.
// SIGINT (Ctrl-C without a raw terminal: piped input, run-many), SIGTERM and SIGHUP stop the
// guests with 128 + the signal's number. The terminal's mode comes back on every way out:
// ConsoleInput.detach when the guest ends, the finally below, and process 'exit' for
// anything else (an exception, process.exit).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lguest } from './lguest';
import type { StopRequest } from './session';
import { ConsoleInput, CTRL_C_STATUS } from './terminal';

/** packages/guest/build/guest.elf, from packages/cli/dist/main.js (or src/main.ts). */
function bundledGuest(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'guest', 'build', 'guest.elf');
}

/** packages/web/dist/page: the page `lguest web` serves, built by `npm run build`. */
function webPage(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'web', 'dist', 'page');
}

async function main(): Promise<void> {
  const stop = new AbortController();
  const stopWith = (request: StopRequest) => {
    if (!stop.signal.aborted) stop.abort(request);
  };
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  const onSignal = (signal: NodeJS.Signals) => {
    const status = signals.find(([s]) => s === signal)?.[1] ?? 1;
    input.restore();
    stopWith({ reason: signal === 'SIGINT' ? 'killed: interrupted by the user' : `killed: ${signal}`, status });
  };
  for (const [signal] of signals) process.on(signal, onSignal);
  const verbose = process.argv.slice(2).some((a) => a === '-v' || a === '--verbose');
  const input = new ConsoleInput(process.stdin, {
    onTripleCtrlC: () => stopWith({ reason: 'killed: three Ctrl-C from the console', status: CTRL_C_STATUS }),
    log: verbose ? (line) => process.stderr.write(`lguest: ${line}\n`) : undefined,
  });
  // A console nobody reads any more (`lguest run | head`): stop the guests and go quietly,
  // as a program killed by SIGPIPE would.
  const onOutputError = (e: NodeJS.ErrnoException) => {
    stopWith({
      reason: `killed: the console output was closed (${e.code ?? e.message})`,
      status: 141,
    });
  };
  process.stdout.on('error', onOutputError);
  const fromNpm = process.env.npm_lifecycle_event === 'lguest' && process.env.INIT_CWD;
  const cwd = fromNpm && existsSync(process.env.INIT_CWD ?? '') ? (process.env.INIT_CWD as string) : process.cwd();
  try {
    process.exitCode = await lguest(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: input,
      cwd,
      defaultKernel: bundledGuest(),
      signal: stop.signal,
      webPage: webPage(),
    });
  } finally {
    for (const [signal] of signals) process.off(signal, onSignal);
    // We listened to stdin for the guest's console: give the terminal its mode back and let
    // go of stdin so Node can exit.
    input.detach();
    input.restore();
    process.stdin.pause();
    process.stdin.unref?.();
  }
}

void main();
