// The disk part of `npm run bench:lguest`: sequential read and write throughput of the block
// device as the real Linux guest sees it, and what a KiB costs in emulated instructions.
//
// The Linux 2.6.23 guest boots from an initramfs of klibc with one raw disk (32 MiB). Its
// /init prints a marker, writes the first 16 MiB of /dev/lgba with dd (64 KiB blocks, the
// most lguest_blk puts in one request) and syncs, prints a second marker, reads the other
// 16 MiB — which it never wrote, so none of it is in its page cache — and prints a third.
// The markers reach us through the console as the guest prints them: the wall time between
// them, on the host clock, is the time for 16 MiB. The instruction cost comes from two runs
// on the virtual clock, one moving the data and one moving none (the same boot otherwise):
// their difference over the KiB moved, read and write together.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareDisk } from '@lguest/disk';
import type { HostSpec } from '../src/options';
import { runSession } from '../src/session';
import { klibcInitramfs } from '../testing/disk-tools';

export interface DiskBench {
  /** MiB each way per run. */
  mib: number;
  runs: number;
  writeMBps: number;
  readMBps: number;
  /** The same per second of this process's CPU time: what the rate is on an otherwise idle machine. */
  writeMBperCpuSecond: number;
  readMBperCpuSecond: number;
  /** Emulated instructions (guest, switcher and host) per KiB moved, reads and writes together. */
  instructionsPerKiB: number;
}

/** This process's CPU time so far (user + system), in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** 64 KiB blocks per 16 MiB. */
const BLOCKS = 256;
const MARK_START = 'bench: disk start';
const MARK_WRITTEN = 'bench: disk written';
const MARK_READ = 'bench: disk read';

/** The Linux test data: $LGUEST_LINUX_DIR, or ../shared/testdata/linux-2.6.23 beside the workspace. */
function linuxDir(root: string): string {
  return process.env.LGUEST_LINUX_DIR
    ? resolve(process.env.LGUEST_LINUX_DIR)
    : resolve(root, '..', 'shared', 'testdata', 'linux-2.6.23');
}

function init(blocks: number): string {
  return [
    '#!/bin/sh',
    'mount -t sysfs sysfs /sys',
    'IFS=: read maj min < /sys/block/lgba/dev',
    'mknod /dev/lgba b $maj $min',
    'mknod /dev/zero c 1 5',
    'mknod /dev/null c 1 3',
    `echo "${MARK_START}"`,
    `dd if=/dev/zero of=/dev/lgba bs=64k count=${blocks} 2>/dev/null`,
    'sync',
    `echo "${MARK_WRITTEN}"`,
    `dd if=/dev/lgba of=/dev/null bs=64k skip=${BLOCKS} count=${blocks} 2>/dev/null`,
    `echo "${MARK_READ}"`,
    'poweroff -f',
    '',
  ].join('\n');
}

/**
 * Runs the disk benchmark (`runs` timed boots, two on the virtual clock), or returns a reason
 * it cannot (no Linux test data).
 */
export async function diskBench(
  root: string,
  host: HostSpec,
  runs: number,
  progress: (line: string) => void,
): Promise<DiskBench | string> {
  const dir = linuxDir(root);
  const bzImage = join(dir, 'bzImage-2.6.23.17-lguest');
  const klibcTar = join(dir, 'klibc-2.0.12-i386.tar.gz');
  if (!existsSync(bzImage) || !existsSync(klibcTar))
    return `no Linux test data in ${dir} (set LGUEST_LINUX_DIR to where it is)`;
  const work = mkdtempSync(join(tmpdir(), 'lguest-bench-disk-'));
  try {
    const tar = spawnSync('tar', ['-xzf', klibcTar, '-C', work], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`tar -xzf ${klibcTar}: ${tar.stderr}`);
    const initrds = new Map<number, string>();
    for (const blocks of [0, BLOCKS]) {
      const file = join(work, `init-${blocks}.cpio`);
      writeFileSync(file, klibcInitramfs(join(work, 'klibc'), init(blocks)));
      initrds.set(blocks, file);
    }
    const disk = join(work, 'disk.img');
    writeFileSync(disk, Buffer.alloc(0));
    truncateSync(disk, 2 * BLOCKS * 64 * 1024);

    const once = async (clock: 'host' | 'virtual', blocks: number) => {
      const marks = new Map<string, { wall: number; cpu: number }>();
      let text = '';
      const prepared = await prepareDisk({ path: disk, readOnly: false });
      try {
        const outcome = await runSession({
          host: { ...host, clock },
          hostMemoryMiB: 96,
          guests: [
            {
              name: 'bench',
              spec: {
                memMiB: 64,
                kernel: bzImage,
                cmdline: ['console=hvc0'],
                initrd: initrds.get(blocks) ?? null,
                devices: [],
              },
              kernelPath: bzImage,
              initrdPath: initrds.get(blocks) ?? null,
              disks: [prepared],
              output: {
                write: (chunk) => {
                  const now = performance.now();
                  text += Buffer.from(chunk).toString('latin1');
                  for (const m of [MARK_START, MARK_WRITTEN, MARK_READ])
                    if (!marks.has(m) && text.includes(m)) marks.set(m, { wall: now, cpu: cpuMs() });
                },
              },
            },
          ],
        });
        const g = outcome.guests[0];
        if (!g.poweredOff || marks.size !== 3)
          throw new Error(`the Linux disk guest did not run: ${g.reason}\n${text.slice(-500)}`);
        return { marks, instructions: outcome.instructions };
      } finally {
        await prepared.release();
      }
    };

    const mb = (BLOCKS * 64 * 1024) / 1e6;
    const writes: number[] = [];
    const reads: number[] = [];
    const cpuWrites: number[] = [];
    const cpuReads: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { marks } = await once('host', BLOCKS);
      const [start, written, read] = [MARK_START, MARK_WRITTEN, MARK_READ].map((m) => marks.get(m)!);
      const rate = (a: number, b: number) => mb / ((b - a) / 1000);
      writes.push(rate(start.wall, written.wall));
      reads.push(rate(written.wall, read.wall));
      cpuWrites.push(rate(start.cpu, written.cpu));
      cpuReads.push(rate(written.cpu, read.cpu));
      progress(
        `  disk run ${i + 1}: write ${writes[i].toFixed(1)} MB/s (${cpuWrites[i].toFixed(1)} per CPU second), ` +
          `read ${reads[i].toFixed(1)} MB/s (${cpuReads[i].toFixed(1)} per CPU second)`,
      );
    }
    const none = await once('virtual', 0);
    const all = await once('virtual', BLOCKS);
    return {
      mib: (BLOCKS * 64) / 1024,
      runs,
      writeMBps: Math.max(...writes),
      readMBps: Math.max(...reads),
      writeMBperCpuSecond: Math.max(...cpuWrites),
      readMBperCpuSecond: Math.max(...cpuReads),
      instructionsPerKiB: (all.instructions - none.instructions) / (2 * BLOCKS * 64),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
