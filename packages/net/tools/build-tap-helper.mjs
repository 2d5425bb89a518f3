#!/usr/bin/env node
// Builds build/lguest-tap, the --tunnet helper (tap/lguest-tap.c), with the host's C compiler.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const pkg = resolve(new URL('..', import.meta.url).pathname);
mkdirSync(join(pkg, 'build'), { recursive: true });
const args = [
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-o',
  join(pkg, 'build', 'lguest-tap'),
  join(pkg, 'tap', 'lguest-tap.c'),
];
const r = spawnSync('gcc', args, { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  console.error('build-tap-helper: gcc failed (on Debian/Ubuntu: apt-get install -y gcc libc6-dev)');
  process.exit(1);
}
console.log('build-tap-helper: lguest-tap built');
