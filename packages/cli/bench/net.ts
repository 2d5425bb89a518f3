// The network part of bench:lguest: payload throughput between two real Linux guests on one
// --sharenet (every frame copied by lg from one guest's buffer into the other's), and from
// the host into a guest through --net=user (a Node socket, the user-mode TCP/IP stack, the
// launcher's frame ring, LHREQ_GETDMA/IRQ). The guests' lgnet sink times the transfer with
// its own clock, from accept to the sender's FIN: wall time on the host clock; on the virtual
// clock (one nanosecond per instruction retired) the same run's cost in instructions, which
// a busy machine does not change.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from '../src/lguest';
import { writeInitramfs } from '../testing/initramfs';

/** Raw frames guest to guest: what arrived, and how fast by the receiver's clock. */
export interface RawResult {
  readonly frames: number;
  readonly bytes: number;
  readonly mbPerSecond: number;
  /** On the virtual clock: instructions per frame, both guests and lg included (1 ns each). */
  readonly instructionsPerFrame?: number;
}

export interface NetResults {
  /** Raw 1514-byte frames between two guests on a --sharenet: wall clock, and its instruction cost. */
  readonly raw: RawResult | null;
  readonly rawVirtual: RawResult | null;
  /** Guest to guest over --sharenet: bytes and MB/s (TCP payload). */
  readonly sharenet: { bytes: number; mbPerSecond: number; instructions: number } | null;
  /** The same on the virtual clock: MB per second of virtual time, instructions per KiB. */
  readonly sharenetVirtual: { bytes: number; mbPerSecond: number; instructionsPerKiB: number } | null;
  /** Host to guest through --net=user (hostfwd). */
  readonly usernet: { bytes: number; mbPerSecond: number; instructions: number } | null;
  /** Why the benchmark did not run (no Linux test data). */
  readonly skipped?: string;
}

const RECEIVED = /lgnet: received (\d+) bytes in (\d+) us/;
const RECEIVED_RAW = /lgnet: received (\d+) frames \((\d+) bytes\) in (\d+) us/;
/** Raw frames per run. */
const RAW_FRAMES = 3000;

function rawThroughput(out: string, err: string, virtual: boolean): RawResult {
  const m = RECEIVED_RAW.exec(out);
  if (!m) throw new Error(`raw frames: the counter reported nothing:\n${out.slice(-2000)}\n${err}`);
  const [frames, bytes, us] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return {
    frames,
    bytes,
    mbPerSecond: bytes / us,
    ...(virtual ? { instructionsPerFrame: Math.round((us * 1000) / frames) } : {}),
  };
}

async function runLguest(
  argv: string[],
  kernel: string,
  onOut?: (all: string) => void,
): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await lguest(argv, {
    stdout: {
      write: (c) => {
        out += Buffer.from(c).toString();
        onOut?.(out);
      },
    },
    stderr: { write: (c) => (err += Buffer.from(c).toString()) },
    cwd: process.cwd(),
    defaultKernel: kernel,
  });
  return { out, err };
}

function throughput(out: string, err: string, what: string) {
  const m = RECEIVED.exec(out);
  if (!m) throw new Error(`${what}: the sink reported nothing:\n${out.slice(-2000)}\n${err}`);
  const bytes = Number(m[1]);
  const us = Number(m[2]);
  const instructions = Number(/instructions: (\d+)/.exec(err)?.[1] ?? 0);
  return { bytes, mbPerSecond: bytes / us, instructions };
}

/** The Linux guest's files, from the workspace root `root` (or $LGUEST_LINUX_DIR). */
function linuxFiles(root: string) {
  const dir = process.env.LGUEST_LINUX_DIR ?? join(root, '..', 'shared', 'testdata', 'linux-2.6.23');
  return { bzImage: join(dir, 'bzImage-2.6.23.17-lguest'), klibc: join(dir, 'klibc-2.0.12-i386.tar.gz') };
}

/** Runs both measurements with `kib` KiB each; `root` is the workspace root. */
export async function netBench(kib: number, root: string): Promise<NetResults> {
  const LINUX = linuxFiles(root);
  const lgnet = join(root, 'packages', 'net', 'build', 'lgnet.elf');
  if (!existsSync(LINUX.bzImage) || !existsSync(LINUX.klibc)) {
    return {
      raw: null,
      rawVirtual: null,
      sharenet: null,
      sharenetVirtual: null,
      usernet: null,
      skipped: `no Linux test data at ${LINUX.bzImage}`,
    };
  }
  if (!existsSync(lgnet)) {
    return {
      raw: null,
      rawVirtual: null,
      sharenet: null,
      sharenetVirtual: null,
      usernet: null,
      skipped: `${lgnet} is not built (npm run build)`,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'lguest-bench-net-'));
  const tar = spawnSync('tar', ['-xzf', LINUX.klibc, '-C', dir], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`unpacking ${LINUX.klibc}: ${tar.stderr}`);
  const klibc = join(dir, 'klibc');
  const sink = join(dir, 'sink.cpio');
  const blast = join(dir, 'blast.cpio');
  writeInitramfs(sink, klibc, 'lgnet sink 9000\npoweroff\n', lgnet);
  writeInitramfs(blast, klibc, `sleep 1\nlgnet blast 10.1.0.1 9000 ${kib}\npoweroff\n`, lgnet);
  const ip = (a: string) => `ip=${a}::10.1.0.254:255.255.255.0::eth0:off`;
  const counter = join(dir, 'rawcount.cpio');
  const sender = join(dir, 'rawsend.cpio');
  writeInitramfs(counter, klibc, 'lgnet rawcount\npoweroff\n', lgnet);
  writeInitramfs(sender, klibc, `sleep 2\nlgnet rawsend ${RAW_FRAMES}\npoweroff\n`, lgnet);
  /** Two Linux guests on one sharenet: the first with initramfs `a`, the second with `b`. */
  const pairRun = (net: string, a: string, b: string, clock: string) =>
    runLguest(
      [
        'run-many',
        '-v',
        `--clock=${clock}`,
        '--timeout=300',
        '--guest',
        `--sharenet=${net} --initrd=${a} 64 ${LINUX.bzImage} console=hvc0 ${ip('10.1.0.1')}`,
        '--guest',
        `--sharenet=${net} --initrd=${b} 64 ${LINUX.bzImage} console=hvc0 ${ip('10.1.0.2')}`,
      ],
      LINUX.bzImage,
    );
  const rawRun = (clock: string) => pairRun('raw', counter, sender, clock);
  const raw = await rawRun('host');
  const rawVirtual = await rawRun('virtual');
  const sharedRun = (clock: string) => pairRun('bench', sink, blast, clock);
  const shared = await sharedRun('host');
  const virtualRun = await sharedRun('virtual');
  const sharedVirtual = throughput(virtualRun.out, virtualRun.err, 'sharenet (virtual clock)');

  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  let sent = false;
  const user = await runLguest(
    [
      'run',
      '-v',
      '--timeout=300',
      `--net=user,hostfwd=tcp:127.0.0.1:${port}-:9000`,
      `--initrd=${sink}`,
      '64',
      LINUX.bzImage,
      'console=hvc0',
      'ip=dhcp',
    ],
    LINUX.bzImage,
    (out) => {
      if (sent || !out.includes('lgnet: listening on port 9000')) return;
      sent = true;
      const s = connect(port, '127.0.0.1', () => {
        const chunk = Buffer.alloc(64 * 1024);
        let left = kib * 1024;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!s.write(chunk.subarray(0, n))) return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
      s.on('data', () => {});
      s.on('error', () => {});
    },
  );
  return {
    raw: rawThroughput(raw.out, raw.err, false),
    rawVirtual: rawThroughput(rawVirtual.out, rawVirtual.err, true),
    sharenet: throughput(shared.out, shared.err, 'sharenet'),
    sharenetVirtual: {
      bytes: sharedVirtual.bytes,
      mbPerSecond: sharedVirtual.mbPerSecond,
      // One nanosecond per instruction: 1000 instructions a microsecond, over the KiB moved.
      instructionsPerKiB: Math.round((1000 * 1024) / sharedVirtual.mbPerSecond),
    },
    usernet: throughput(user.out, user.err, '--net=user'),
  };
}
