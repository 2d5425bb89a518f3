// Test helper: where the real Linux 2.6.23 lguest guest is (../shared/testdata/linux-2.6.23 from
// the workspace root, or $LGUEST_LINUX_DIR), and its klibc userland unpacked once per test file.
//
// The data is not part of the repository. Under CI (CI=true) its absence is a failure. In a
// user's clone the Linux tests fail too, with a message that says where to put the data,
// unless the user opts out explicitly with LGUEST_SKIP_LINUX=1: then `linuxTests()` says loudly
// on stderr that they did not run and why, and returns false.

import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packInitramfs } from '../src/initramfs';

/** The workspace root: packages/cli/testing → three levels up. */
const ROOT = resolve(__dirname, '..', '..', '..');

export const LINUX_DIR = process.env.LGUEST_LINUX_DIR
  ? resolve(process.env.LGUEST_LINUX_DIR)
  : resolve(ROOT, '..', 'shared', 'testdata', 'linux-2.6.23');

export const LINUX = {
  bzImage: join(LINUX_DIR, 'bzImage-2.6.23.17-lguest'),
  vmlinuxGz: join(LINUX_DIR, 'vmlinux-2.6.23.17-lguest.gz'),
  systemMapGz: join(LINUX_DIR, 'System.map-2.6.23.17-lguest.gz'),
  config: join(LINUX_DIR, 'config-2.6.23.17-lguest'),
  klibcTarball: join(LINUX_DIR, 'klibc-2.0.12-i386.tar.gz'),
} as const;

const WHERE =
  `Put the Linux 2.6.23 lguest test data (bzImage-2.6.23.17-lguest, vmlinux-2.6.23.17-lguest.gz, ` +
  `klibc-2.0.12-i386.tar.gz, …) in ${LINUX_DIR}, or point LGUEST_LINUX_DIR at a directory holding it; ` +
  `to run the rest of the suite without the Linux tests, set LGUEST_SKIP_LINUX=1.`;

/**
 * Whether the Linux tests of a file should run. Throws (failing the file) when the data is
 * missing and nobody opted out; returns false, with a loud note on stderr, when the user set
 * LGUEST_SKIP_LINUX=1 (refused under CI).
 */
export function linuxTests(what: string): boolean {
  const missing = Object.values(LINUX).filter((f) => !existsSync(f));
  if (process.env.LGUEST_SKIP_LINUX === '1') {
    if (process.env.CI === 'true')
      throw new Error('LGUEST_SKIP_LINUX=1 is not allowed under CI: the Linux tests must run.');
    process.stderr.write(`\n*** ${what}: NOT RUN — LGUEST_SKIP_LINUX=1 was set. ***\n\n`);
    return false;
  }
  if (missing.length) {
    throw new Error(`${what}: the Linux guest test data is missing (${missing.join(', ')}). ${WHERE}`);
  }
  return true;
}

/** Unpacks the klibc tarball into a fresh temporary directory; returns its `klibc/` directory
 * (bin/ with sh, cat, mount, …; lib/ with klibc-*.so, the tools' ELF interpreter). */
export function unpackKlibc(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-klibc-'));
  const r = spawnSync('tar', ['-xzf', LINUX.klibcTarball, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${LINUX.klibcTarball} failed: ${r.stderr}`);
  return join(dir, 'klibc');
}

/**
 * The test userland: klibc's bin/ and lib/, `programs` (name → file on this machine) in bin/
 * and `init` (a shell script) in a fresh directory,
 * packed by `lguest initramfs`'s writer into DIR/initramfs.cpio.gz. Returns the archive's
 * path. /proc, /sys and /tmp are there to mount on; /dev comes from the kernel's own
 * built-in initramfs (/dev/console).
 */
export function klibcInitramfs(init: string, programs: Readonly<Record<string, string>> = {}): string {
  const klibc = unpackKlibc();
  const top = mkdtempSync(join(tmpdir(), 'lguest-linux-root-'));
  const root = join(top, 'root');
  for (const d of ['proc', 'sys', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  cpSync(join(klibc, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(klibc, 'lib'), join(root, 'lib'), { recursive: true });
  for (const [name, path] of Object.entries(programs)) {
    cpSync(path, join(root, 'bin', name));
    chmodSync(join(root, 'bin', name), 0o755);
  }
  writeFileSync(join(root, 'init'), init);
  chmodSync(join(root, 'init'), 0o755);
  const out = join(top, 'initramfs.cpio.gz');
  packInitramfs(root, out, top);
  return out;
}

/** The ELF vmlinux, unpacked from its .gz into a fresh temporary file; returns its path. */
export function unpackVmlinux(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'lguest-vmlinux-')), 'vmlinux');
  writeFileSync(out, gunzipSync(readFileSync(LINUX.vmlinuxGz)));
  return out;
}
