// Test helper: an initramfs for the real Linux guest — klibc's shell and tools, lgnet (the
// network tool of packages/net, a static i386 program) and an /init script — written as a
// "newc" cpio the kernel unpacks by itself.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The built lgnet program (npm run build), found through the workspace's packages. */
export function lgnetPath(): string {
  return join(dirname(require.resolve('@lguest/net/package.json')), 'build', 'lgnet.elf');
}

/** One file of the archive: its path without a leading '/', its mode, its bytes. */
interface Entry {
  readonly name: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

/** The "newc" cpio of `entries` (directories given as mode 0o40755 entries of their own). */
export function newcCpio(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(-b.length & 3)]);
  [...entries, { name: 'TRAILER!!!', mode: 0, data: new Uint8Array(0) }].forEach((e, i) => {
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    const fields = [i + 1, e.mode, 0, 0, 1, 0, e.data.length, 0, 0, 0, 0, e.name.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    parts.push(pad(Buffer.from(`${header}${e.name}\0`, 'latin1')), pad(Buffer.from(e.data)));
  });
  return Buffer.concat(parts);
}

/**
 * Writes `file`: an initramfs whose /init is `script` (run by klibc's sh), with klibc's
 * tools in /bin, its library in /lib, lgnet (at `lgnet` on this machine) in /bin, and any
 * `extra` programs (a path in the archive, a file on this machine).
 */
export function writeInitramfs(
  file: string,
  klibc: string,
  script: string,
  lgnet = lgnetPath(),
  extra: readonly { name: string; path: string }[] = [],
): void {
  const dir = (name: string): Entry => ({ name, mode: 0o40755, data: new Uint8Array(0) });
  const exe = (name: string, path: string): Entry => ({ name, mode: 0o100755, data: readFileSync(path) });
  const entries: Entry[] = [dir('bin'), dir('lib'), dir('dev'), dir('proc')];
  for (const tool of ['sh', 'sleep', 'poweroff', 'cat', 'ls'])
    entries.push(exe(`bin/${tool}`, join(klibc, 'bin', tool)));
  for (const lib of readdirSync(join(klibc, 'lib'))) entries.push(exe(`lib/${lib}`, join(klibc, 'lib', lib)));
  entries.push(exe('bin/lgnet', lgnet));
  for (const e of extra) entries.push(exe(e.name, e.path));
  entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(`#!/bin/sh\n${script}`) });
  writeFileSync(file, newcCpio(entries));
}
