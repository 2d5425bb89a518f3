// Test helpers for disks: an initramfs for the real Linux guest (a "newc" cpio of klibc and an
// /init script), and the host's own tools to make and inspect what the guest wrote —
// e2fsprogs (mke2fs, debugfs, e2fsck) and QEMU's qemu-img. CI installs them (.ci/run); a
// missing tool fails the test with the package to install.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One file of an initramfs. */
export interface CpioEntry {
  readonly name: string;
  /** st_mode: type and permission bits (0o100755 an executable, 0o40755 a directory). */
  readonly mode: number;
  readonly data?: Uint8Array;
}

/**
 * A "newc" cpio archive: per entry the header ("070701" and 13 fields of 8 hex digits), the
 * NUL-terminated name and the data, each padded to 4 bytes; then TRAILER!!!.
 */
export function newcCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(-b.length & 3)]);
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((e, ino) => {
    const data = Buffer.from(e.data ?? new Uint8Array(0));
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    const fields = [ino + 1, e.mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, e.name.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    parts.push(pad(Buffer.from(`${header}${e.name}\0`, 'latin1')), pad(data));
  });
  return Buffer.concat(parts);
}

/** Every file under `dir` as cpio entries named from the root, directories first. */
export function treeEntries(dir: string, prefix = ''): CpioEntry[] {
  const out: CpioEntry[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (st.isDirectory()) {
      out.push({ name: rel, mode: 0o40755 });
      out.push(...treeEntries(path, rel));
    } else {
      out.push({ name: rel, mode: 0o100000 | (st.mode & 0o777), data: readFileSync(path) });
    }
  }
  return out;
}

/** An initramfs of klibc (its bin/ and lib/) and `init` as /init. */
export function klibcInitramfs(klibc: string, init: string): Buffer {
  return newcCpio([
    { name: 'bin', mode: 0o40755 },
    ...treeEntries(join(klibc, 'bin'), 'bin'),
    { name: 'lib', mode: 0o40755 },
    ...treeEntries(join(klibc, 'lib'), 'lib'),
    { name: 'dev', mode: 0o40755 },
    { name: 'mnt', mode: 0o40755 },
    { name: 'sys', mode: 0o40755 },
    { name: 'proc', mode: 0o40755 },
    { name: 'init', mode: 0o100755, data: Buffer.from(init) },
  ]);
}

/** Where a host tool is (e2fsprogs live in /sbin, which may not be on a user's PATH). */
export function tool(name: string, pkg: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: install ${pkg} (apt-get install ${pkg}); CI does it in .ci/run`);
}

/** Runs a host tool; returns its status and output. */
export function runTool(name: string, pkg: string, args: readonly string[]): { status: number; out: string } {
  const r = spawnSync(tool(name, pkg), args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** mke2fs -t ext2 of `size` (e.g. "8M"), filled from `fromDir` if given. Throws on failure. */
export function mkext2(image: string, size: string, fromDir?: string): void {
  const args = ['-q', '-F', '-t', 'ext2', '-b', '1024', ...(fromDir ? ['-d', fromDir] : []), image, size];
  const r = runTool('mke2fs', 'e2fsprogs', args);
  if (r.status !== 0) throw new Error(`mke2fs ${args.join(' ')} failed: ${r.out}`);
}

/** debugfs -R REQUEST IMAGE, read-only: its stdout. */
export function debugfs(image: string, request: string): string {
  const r = spawnSync(tool('debugfs', 'e2fsprogs'), ['-R', request, image], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`debugfs -R '${request}' ${image} failed: ${r.stderr}`);
  return r.stdout;
}

/** debugfs -w with a script of commands (e.g. `cd /dev`, `mknod console c 5 1`). Throws on failure. */
export function debugfsWrite(image: string, commands: readonly string[]): void {
  const r = spawnSync(tool('debugfs', 'e2fsprogs'), ['-w', '-f', '-', image], {
    encoding: 'utf8',
    input: `${commands.join('\n')}\n`,
  });
  if (r.status !== 0) throw new Error(`debugfs -w ${image} failed: ${r.stderr}`);
}

/**
 * Shell lines that make /dev nodes for the lguest disks the kernel found: lguest_blk takes a
 * dynamic major per disk, so the numbers come from sysfs.
 */
export const MAKE_DISK_NODES = [
  'mount -t sysfs sysfs /sys',
  'for d in lgba lgbb lgbc lgbd; do',
  '  if [ -e /sys/block/$d/dev ]; then IFS=: read maj min < /sys/block/$d/dev; mknod /dev/$d b $maj $min; fi',
  'done',
];

/** e2fsck -fn: the status (0 clean) and the report. */
export function e2fsck(image: string): { status: number; out: string } {
  return runTool('e2fsck', 'e2fsprogs', ['-fn', image]);
}

/** qemu-img with `args`: the status and the report. */
export function qemuImg(args: readonly string[]): { status: number; out: string } {
  return runTool('qemu-img', 'qemu-utils', args);
}
