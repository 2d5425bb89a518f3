#!/usr/bin/env node
// The `lguest` executable: the lguest command with this process's streams. Relative paths
// are taken from where the user typed the command (npm run sets the cwd to the repository
// root, but remembers the original in INIT_CWD). Ctrl-C (SIGINT) stops the guests and ends
// the run with status 130; the bundled guest image is found next to this package.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lguest } from './lguest';
import type { StopRequest } from './session';

/** packages/guest/build/guest.elf, from packages/cli/dist/main.js (or src/main.ts). */
function bundledGuest(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'guest', 'build', 'guest.elf');
}

async function main(): Promise<void> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.on('SIGINT', onSigint);
  // A console nobody reads any more (`lguest run | head`): stop the guests and go quietly,
  // as a program killed by SIGPIPE would.
  const onOutputError = (e: NodeJS.ErrnoException) => {
    const request: StopRequest = {
      reason: `killed: the console output was closed (${e.code ?? e.message})`,
      status: 141,
    };
    if (!stop.signal.aborted) stop.abort(request);
  };
  process.stdout.on('error', onOutputError);
  const fromNpm = process.env.npm_lifecycle_event === 'lguest' && process.env.INIT_CWD;
  const cwd = fromNpm && existsSync(process.env.INIT_CWD ?? '') ? (process.env.INIT_CWD as string) : process.cwd();
  try {
    process.exitCode = await lguest(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      cwd,
      defaultKernel: bundledGuest(),
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
    // We listened to stdin for the guest's console: let go of it so Node can exit.
    process.stdin.pause();
    process.stdin.unref?.();
  }
}

void main();
