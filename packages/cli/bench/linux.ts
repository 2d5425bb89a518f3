// `npm run bench:lguest`'s Linux rows: the Linux 2.6.23 lguest guest's time to /init. Its
// initramfs is klibc with an /init that prints one line; the time is the wall time from
// before the host (or the PC) is built to that line on the console — the kernel's unpacking
// and its whole boot included. Under lguest on the host clock, as `lguest run` runs it; on
// the emulated PC (`--native`) on the virtual clock, flat out, as the other native rows.
// Once the line is there the guest is stopped: the ending is not part of the measure.
//
// Natively the kernel stops before /init on a core without an x87 FPU ("No coprocessor
// found … Giving up."): then the row says so instead of giving a time.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packInitramfs } from '../src/initramfs';
import { runNative } from '../src/native';
import type { HostSpec } from '../src/options';
import { runSession } from '../src/session';

const MARKER = 'bench: /init is running';
const INIT = `#!/bin/sh\necho "${MARKER}"\n/bin/poweroff\n`;
/** What the kernel prints when it will go no further natively. */
const NO_FPU = 'No coprocessor found and no math emulation present.';
/** Bound on a native run that never gets there: virtual seconds. */
const NATIVE_BUDGET_S = 60;

export interface LinuxTiming {
  runs: number;
  /** Milliseconds to the /init line, per run; empty when it was not reached. */
  ms: number[];
  /** Why /init was not reached, if it was not. */
  notReached?: string;
}

export interface LinuxResults {
  lguest: LinuxTiming;
  native: LinuxTiming;
}

/** The data files, or a sentence saying why there are none. */
function linuxFiles(dir: string): { bzImage: string; klibc: string } | string {
  const bzImage = join(dir, 'bzImage-2.6.23.17-lguest');
  const klibc = join(dir, 'klibc-2.0.12-i386.tar.gz');
  for (const f of [bzImage, klibc]) if (!existsSync(f)) return `no ${f} (set LGUEST_LINUX_DIR)`;
  return { bzImage, klibc };
}

/** klibc plus the bench's /init, packed by our initramfs writer; returns the archive. */
function initramfs(klibcTarball: string): string {
  const top = mkdtempSync(join(tmpdir(), 'lguest-bench-linux-'));
  const r = spawnSync('tar', ['-xzf', klibcTarball, '-C', top], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${klibcTarball}: ${r.stderr}`);
  const root = join(top, 'klibc');
  writeFileSync(join(root, 'init'), INIT);
  chmodSync(join(root, 'init'), 0o755);
  const out = join(top, 'initramfs.cpio.gz');
  packInitramfs(root, out, top);
  return out;
}

/** One boot to /init; resolves to its milliseconds, or to the reason it never got there. */
async function once(host: HostSpec, bzImage: string, initrd: string, native: boolean): Promise<number | string> {
  const stop = new AbortController();
  const t0 = performance.now();
  let at = NaN;
  let text = '';
  let reason: string;
  const output = {
    write: (chunk: Uint8Array) => {
      text += Buffer.from(chunk).toString('latin1');
      if (Number.isNaN(at) && text.includes(MARKER)) {
        at = performance.now();
        stop.abort({ reason: 'bench: /init reached', status: 0 });
      } else if (text.includes(NO_FPU) && !stop.signal.aborted) {
        stop.abort({ reason: 'the kernel needs an x87 FPU, which this CPU core lacks', status: 1 });
      }
    },
  };
  if (native) {
    const r = await runNative(
      { ...host, clock: 'virtual', timeoutS: NATIVE_BUDGET_S },
      { kernelPath: bzImage, memMiB: 64, cmdline: ['console=ttyS0'], initrdPath: initrd, output },
      stop.signal,
    );
    reason = r.reason;
  } else {
    const r = await runSession({
      host,
      hostMemoryMiB: 80,
      guests: [
        {
          name: 'linux',
          spec: { memMiB: 64, kernel: bzImage, cmdline: ['console=hvc0'], initrd, devices: [] },
          kernelPath: bzImage,
          initrdPath: initrd,
          output,
        },
      ],
      signal: stop.signal,
    });
    reason = r.guests[0].reason;
  }
  return Number.isNaN(at) ? reason : at - t0;
}

/** Boots the Linux guest `runs` times under lguest and natively; `dir` holds the data. */
export async function linuxToInit(
  dir: string,
  runs: number,
  host: HostSpec,
  progress: (line: string) => void,
): Promise<LinuxResults | string> {
  const files = linuxFiles(dir);
  if (typeof files === 'string') return files;
  const initrd = initramfs(files.klibc);
  const measure = async (native: boolean): Promise<LinuxTiming> => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await once(host, files.bzImage, initrd, native);
      const what = native ? 'native' : 'lguest';
      if (typeof r === 'string') {
        progress(`  Linux ${what} run ${i + 1}: /init not reached: ${r}`);
        return { runs: i + 1, ms, notReached: r };
      }
      ms.push(r);
      progress(`  Linux ${what} run ${i + 1}: /init after ${r.toFixed(0)} ms`);
    }
    return { runs, ms };
  };
  return { lguest: await measure(false), native: await measure(true) };
}

/** "7012 ms best, 7400 ms median", or why there is no time. */
export function linuxRow(t: LinuxTiming): string {
  if (t.ms.length === 0) return `not reached: ${t.notReached ?? 'no runs'}`;
  const sorted = [...t.ms].sort((a, b) => a - b);
  return `${sorted[0].toFixed(0)} ms best, ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms median`;
}
