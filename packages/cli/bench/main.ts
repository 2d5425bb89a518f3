// `npm run bench:lguest`: what a guest costs. Two numbers, each measured on the whole system
// (host, lg with its switcher, a launcher and the console), in this process, on the host clock:
//
//  * Hypercall round trips per second. The bench-hcalls guest (packages/guest, a variant
//    built with VARIANT_HCALL_BENCH) boots normally, prints a start marker, makes N
//    LHCALL_FLUSH_ASYNC calls — the cheapest there is: a trip through the switcher into the
//    host and back — and prints a done marker. The markers reach us through the console as
//    the guest prints them, so the wall time between them is N round trips (plus one console
//    write). Beside it, the cost in emulated instructions per round trip, from two runs on the
//    virtual clock with N and 2N calls (exact, and the same on every machine).
//  * Boot to banner: wall time from the start (before the host is built) to the first byte
//    of the guest's banner on the console. The first run pays for JavaScript warming up, so
//    it is reported apart from the best of the rest. The same again with the same image
//    booted natively on the emulated PC (`lguest run --native`, command line `selftest`):
//    no host, no lg, no switcher — the price of the paravirtualization around a boot.
//  * Disk: sequential write and read MB/s of the block device from inside the real Linux
//    guest (dd on /dev/lgba), and emulated instructions per KiB moved (bench-disk.ts).
//  * Boot to prompt: what a user waits for after typing the README's main-job command. We
//    spawn the real command, `node packages/cli/bin/lguest.mjs run` (no KERNEL: the bundled
//    guest, to its shell; the host clock; stdin a pipe), and take the wall time from the spawn
//    to the shell's first "# " on its stdout — Node's start, loading the bundle, building the
//    host and booting included. Then we type "poweroff" and check it exits 0. The same for
//    `run --native`. Every run is a fresh process, so the first is cold only as far as the
//    OS's caches go; it is reported apart all the same, and best and median are over all
//    runs. Beside them the same boot in this process (runSession / runNative, the host
//    clock), without the process start: where the rest of the time goes.
//  * Linux to /init: the Linux 2.6.23 lguest guest (bench-linux.ts), under lguest and natively,
//    on every core, from ../shared/testdata/linux-2.6.23 beside the checkout or
//    $LGUEST_LINUX_DIR (without the data, the row says so).
//
// A benchmark measures; it does not pass or fail on time. Exit status 1 only if a guest did
// not boot as expected (for boot to prompt: no prompt within a minute, or an exit status
// other than 0 after poweroff).
//
// Every registered CPU core (`--cpu=LIST` to choose) is measured the same way, one after the
// other, and the table has a column per core; the devices are measured once, on the default.

import { netBench, type NetResults } from './net';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_CORE, cores, findCore } from '@lguest/x86-cores';
import { linuxRow, linuxToInit, type LinuxResults } from './linux';
import type { GuestSpec, HostSpec } from '../src/options';
import { runNative } from '../src/native';
import { runSession } from '../src/session';
import { diskBench, type DiskBench } from './disk';

const USAGE = `usage: npm run bench:lguest -- [--json] [--runs=N] [--hcalls=N] [--quick] [--cpu=LIST]
  --json       one JSON object on stdout instead of the table (one member per core)
  --cpu=LIST   comma-separated CPU cores, side by side (default: every registered core)
  --runs=N     runs of each measurement (default 5; the best is reported)
  --hcalls=N   hypercalls per run (default 20000)
  --quick      --runs=2 --hcalls=5000`;

interface Options {
  json: boolean;
  quick: boolean;
  runs: number;
  hcalls: number;
  cpus: string[];
}

interface Results {
  hypercall: {
    calls: number;
    runs: number;
    bestSeconds: number;
    roundTripsPerSecond: number;
    microsecondsPerRoundTrip: number;
    instructionsPerRoundTrip: number;
  };
  bootToBanner: Timing;
  /** The same, with the same image booted on the emulated PC (`lguest run --native`). */
  nativeBootToBanner: Timing;
  /** `lguest run` (and `run --native`) as a user types it, spawned, to the shell's first prompt. */
  bootToPrompt: {
    command: Timing;
    nativeCommand: Timing;
    /** The same boots in this process: no process start, no bundle to load. */
    inProcess: Timing;
    nativeInProcess: Timing;
  };
  /** The Linux guest's time to /init on this core, or why it was not measured. */
  linuxToInit: LinuxResults | string;
  host: { node: string; cpu: string };
}

/** What is measured once, on the default core: the devices. */
interface Devices {
  /** The block device under Linux, or why it was not measured. */
  disk: DiskBench | { skipped: string };
  /** Network throughput with real Linux guests (net.ts). */
  network: NetResults;
}

/** Wall times of `runs` runs, in milliseconds. */
interface Timing {
  runs: number;
  firstMs: number;
  bestMs: number;
  medianMs: number;
}

/** The shell's prompt, at the start of a line. */
const PROMPT = /(^|\n)# /;
/** Longest wait for a prompt or an exit before a boot-to-prompt run counts as failed. */
const PROMPT_PATIENCE_MS = 60_000;

/** The host every measurement runs on; `cpu` is set to each core in turn. */
let HOST: HostSpec = { verbose: false, clock: 'host', cpu: DEFAULT_CORE, memoryHostMiB: null, timeoutS: null };

function guestSpec(cmdline: string[]): GuestSpec {
  return { memMiB: 32, kernel: null, cmdline, initrd: null, devices: [] };
}

/** packages/guest/build, from packages/cli/src (run-ts keeps argv[1] at the source file). */
function guestBuild(): string {
  const from = process.argv[1] ? dirname(process.argv[1]) : dirname(fileURLToPath(import.meta.url));
  return join(from, '..', '..', 'guest', 'build');
}

/** The Linux guest's data: $LGUEST_LINUX_DIR, or ../shared/testdata/linux-2.6.23 beside the checkout. */
function linuxDir(): string {
  return (
    process.env.LGUEST_LINUX_DIR ?? join(guestBuild(), '..', '..', '..', '..', 'shared', 'testdata', 'linux-2.6.23')
  );
}

/** packages/cli/bin/lguest.mjs, the `lguest` command, from packages/cli/src. */
function lguestCommand(): string {
  const from = process.argv[1] ? dirname(process.argv[1]) : dirname(fileURLToPath(import.meta.url));
  return join(from, '..', 'bin', 'lguest.mjs');
}

/** Median of `ms`, with `first` taken apart from best and median when `firstApart`. */
function timing(ms: number[], firstApart: boolean): Timing {
  const rest = firstApart && ms.length > 1 ? ms.slice(1) : ms;
  const sorted = [...rest].sort((a, b) => a - b);
  return { runs: ms.length, firstMs: ms[0], bestMs: sorted[0], medianMs: sorted[Math.floor(sorted.length / 2)] };
}

/**
 * Spawns `lguest run ARGS` with a pipe for stdin and resolves to the milliseconds from the
 * spawn to the first prompt, once the guest has also powered off with status 0 after we typed
 * "poweroff". Rejects, with what the command printed, if either does not happen.
 */
function commandToPrompt(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let promptMs = NaN;
    const t0 = performance.now();
    const child = spawn(process.execPath, [lguestCommand(), 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const fail = (why: string) => {
      clearTimeout(patience);
      child.kill('SIGKILL');
      const tail = (text: string) => text.slice(-600).replace(/^/gm, '    ');
      reject(
        new Error(`lguest run ${args.join(' ')}: ${why}
  stdout (end):
${tail(out)}
  stderr:
${tail(err)}`),
      );
    };
    const patience = setTimeout(
      () => fail(Number.isNaN(promptMs) ? 'no prompt within a minute' : 'still running a minute after poweroff'),
      PROMPT_PATIENCE_MS,
    );
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (Number.isNaN(promptMs) && PROMPT.test(out)) {
        promptMs = performance.now() - t0;
        child.stdin.write('poweroff\n');
      }
    });
    child.stderr.on('data', (chunk: string) => (err += chunk));
    child.stdin.on('error', () => undefined); // a command that died early: its exit says why
    child.on('error', (e) => fail(`could not start: ${e.message}`));
    child.on('close', (status, signal) => {
      clearTimeout(patience);
      if (Number.isNaN(promptMs)) fail(`ended (${signal ?? `status ${status}`}) before its first prompt`);
      else if (status !== 0) fail(`ended with ${signal ?? `status ${status}`} after poweroff, not 0`);
      else resolve(promptMs);
    });
  });
}

/**
 * The same boot in this process, to the first prompt, then "poweroff": under lguest (a host,
 * lg, a launcher: runSession) or on the emulated PC (runNative), both on the host clock.
 */
async function inProcessToPrompt(kernel: string, native: boolean): Promise<number> {
  const input = new PassThrough();
  let text = '';
  let promptMs = NaN;
  const t0 = performance.now();
  const output = {
    write: (chunk: Uint8Array) => {
      text += Buffer.from(chunk).toString('latin1');
      if (Number.isNaN(promptMs) && PROMPT.test(text)) {
        promptMs = performance.now() - t0;
        input.write('poweroff\n');
      }
    },
  };
  let ok: boolean;
  let reason: string;
  if (native) {
    const r = await runNative(HOST, { kernelPath: kernel, memMiB: 32, cmdline: [], output, input });
    [ok, reason] = [r.poweredOff, r.reason];
  } else {
    const r = await runSession({
      host: HOST,
      hostMemoryMiB: 64,
      guests: [{ name: 'bench', spec: guestSpec([]), kernelPath: kernel, initrdPath: null, output, input }],
    });
    [ok, reason] = [r.guests[0].poweredOff, r.guests[0].reason];
  }
  const where = native ? 'on the PC' : 'under lguest';
  if (Number.isNaN(promptMs)) throw new Error(`the guest ${where} ended before its first prompt: ${reason}`);
  if (!ok) throw new Error(`the guest ${where} did not power off after poweroff: ${reason}`);
  return promptMs;
}

async function bootToPrompt(kernel: string, o: Options): Promise<Results['bootToPrompt']> {
  const measure = async (what: string, once: () => Promise<number>, firstApart: boolean) => {
    const ms: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      ms.push(await once());
      progress(`  ${what} run ${i + 1}: prompt after ${ms[i].toFixed(1)} ms`);
    }
    return timing(ms, firstApart);
  };
  return {
    command: await measure('lguest run', () => commandToPrompt([`--cpu=${HOST.cpu}`]), false),
    nativeCommand: await measure(
      'lguest run --native',
      () => commandToPrompt(['--native', `--cpu=${HOST.cpu}`]),
      false,
    ),
    // In this process the boots before have warmed the code up; the first is still apart.
    inProcess: await measure('in-process lguest', () => inProcessToPrompt(kernel, false), true),
    nativeInProcess: await measure('in-process native', () => inProcessToPrompt(kernel, true), true),
  };
}

/** Boots `kernel` once; calls `onText` with the console so far and the wall time of each write. */
async function boot(
  kernel: string,
  cmdline: string[],
  clock: 'host' | 'virtual',
  onText?: (text: string, now: number) => void,
): Promise<{ ok: boolean; reason: string; instructions: number; console: string }> {
  let console = '';
  const outcome = await runSession({
    host: { ...HOST, clock },
    hostMemoryMiB: 64,
    guests: [
      {
        name: 'bench',
        spec: guestSpec(cmdline),
        kernelPath: kernel,
        initrdPath: null,
        output: {
          write: (chunk) => {
            const now = performance.now();
            console += Buffer.from(chunk).toString('latin1');
            onText?.(console, now);
          },
        },
      },
    ],
  });
  const g = outcome.guests[0];
  return { ok: g.poweredOff, reason: g.reason, instructions: outcome.instructions, console };
}

async function hypercalls(kernel: string, o: Options): Promise<Results['hypercall']> {
  const start = `bench: ${o.hcalls} hypercalls start`;
  const done = `bench: ${o.hcalls} hypercalls done`;
  const times: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    let t0 = NaN;
    let t1 = NaN;
    const r = await boot(kernel, [`hcalls=${o.hcalls}`], 'host', (text, now) => {
      if (Number.isNaN(t0) && text.includes(start)) t0 = now;
      if (Number.isNaN(t1) && text.includes(done)) t1 = now;
    });
    if (!r.ok || Number.isNaN(t0) || Number.isNaN(t1)) throw new Error(`the hypercall guest did not run: ${r.reason}`);
    times.push((t1 - t0) / 1000);
    progress(`  hypercalls run ${i + 1}: ${o.hcalls} in ${(t1 - t0).toFixed(1)} ms`);
  }
  // The exact emulated cost: the difference between N and 2N calls on the virtual clock.
  const one = await boot(kernel, [`hcalls=${o.hcalls}`], 'virtual');
  const two = await boot(kernel, [`hcalls=${2 * o.hcalls}`], 'virtual');
  if (!one.ok || !two.ok) throw new Error(`the hypercall guest did not run: ${one.reason} / ${two.reason}`);
  const best = Math.min(...times);
  return {
    calls: o.hcalls,
    runs: o.runs,
    bestSeconds: best,
    roundTripsPerSecond: o.hcalls / best,
    microsecondsPerRoundTrip: (best * 1e6) / o.hcalls,
    instructionsPerRoundTrip: (two.instructions - one.instructions) / o.hcalls,
  };
}

async function bootToBanner(kernel: string, o: Options): Promise<Timing> {
  const banner = 'Booting the lguest.ts guest kernel';
  const ms: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = performance.now();
    let at = NaN;
    const r = await boot(kernel, ['selftest'], 'host', (text, now) => {
      if (Number.isNaN(at) && text.startsWith(banner.slice(0, Math.min(text.length, banner.length)))) at = now;
    });
    if (!r.ok || !r.console.startsWith(banner)) throw new Error(`the guest did not boot: ${r.reason}`);
    ms.push(at - t0);
    progress(`  boot run ${i + 1}: banner after ${(at - t0).toFixed(1)} ms`);
  }
  return timing(ms, true);
}

/** Boot to banner on the emulated PC (virtual clock, flat out): from before the PC is built to the banner's first line. */
async function nativeBootToBanner(kernel: string, o: Options): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = performance.now();
    let at = NaN;
    let text = '';
    const r = await runNative(
      { ...HOST, clock: 'virtual' },
      {
        kernelPath: kernel,
        memMiB: 32,
        cmdline: ['selftest'],
        output: {
          write: (chunk) => {
            if (Number.isNaN(at)) at = performance.now();
            text += Buffer.from(chunk).toString();
          },
        },
      },
    );
    if (!r.poweredOff || !text.startsWith('Booting the lguest.ts guest kernel'))
      throw new Error(`the guest did not boot on the PC: ${r.reason}`);
    ms.push(at - t0);
    progress(`  native boot run ${i + 1}: banner after ${(at - t0).toFixed(1)} ms`);
  }
  return timing(ms, true);
}

/** The disk benchmark, with the Linux guest (at most 3 timed runs: each is a Linux boot). */
async function measureDisk(o: Options): Promise<Devices['disk']> {
  const root = join(dirname(lguestCommand()), '..', '..', '..');
  const r = await diskBench(root, HOST, Math.min(o.runs, 3), progress);
  if (typeof r === 'string') {
    progress(`  disk: not measured: ${r}`);
    return { skipped: r };
  }
  return r;
}

function diskRows(d: Devices['disk']): string[][] {
  if ('skipped' in d) return [['disk (Linux guest)', `not measured: ${d.skipped}`]];
  return [
    [`disk (Linux, dd ${d.mib} MiB)`, ''],
    [
      '  sequential write',
      `${d.writeMBps.toFixed(1)} MB/s, ${d.writeMBperCpuSecond.toFixed(1)} MB per CPU second (dd 64 KiB blocks, then sync)`,
    ],
    [
      '  sequential read',
      `${d.readMBps.toFixed(1)} MB/s, ${d.readMBperCpuSecond.toFixed(1)} MB per CPU second (uncached)`,
    ],
    ['  per KiB moved', `${Math.round(d.instructionsPerKiB)} instructions`],
  ];
}

function promptRow(t: Timing): string {
  return `${t.bestMs.toFixed(1)} ms best, ${t.medianMs.toFixed(1)} ms median, ${t.firstMs.toFixed(1)} ms first`;
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function parse(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      runs: { type: 'string' },
      hcalls: { type: 'string' },
      quick: { type: 'boolean' },
      cpu: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const count = (v: string | undefined, dflt: number, what: string) => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${what} takes a positive whole number, not '${v}'`);
    return Number(v);
  };
  return {
    json: values.json ?? false,
    quick: values.quick ?? false,
    runs: count(values.runs, values.quick ? 2 : 5, 'runs'),
    hcalls: count(values.hcalls, values.quick ? 5000 : 20000, 'hcalls'),
    cpus: (values.cpu ?? cores.map((c) => c.name).join(',')).split(',').map((name) => findCore(name.trim()).name),
  };
}

async function main(): Promise<number> {
  let o: Options | null;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench:lguest: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const build = guestBuild();
  const guest = join(build, 'guest.elf');
  const bench = join(build, 'bench-hcalls.elf');
  const command = join(dirname(lguestCommand()), '..', 'dist', 'main.js');
  for (const f of [guest, bench, command]) {
    if (!existsSync(f)) {
      process.stderr.write(`bench:lguest: ${f} is not built: run 'npm run build' at the repository root\n`);
      return 1;
    }
  }
  progress(
    `bench:lguest: ${o.runs} runs each, ${o.hcalls} hypercalls per run, host clock, CPU cores ${o.cpus.join(', ')}`,
  );
  try {
    const all: Record<string, Results> = {};
    for (const cpu of o.cpus) {
      HOST = { ...HOST, cpu };
      progress(`core ${cpu}:`);
      all[cpu] = {
        // Boot first: its first run is the core's first, so it really is cold.
        bootToBanner: await bootToBanner(guest, o),
        hypercall: await hypercalls(bench, o),
        nativeBootToBanner: await nativeBootToBanner(guest, o),
        bootToPrompt: await bootToPrompt(guest, o),
        linuxToInit: await linuxToInit(linuxDir(), Math.min(o.runs, 3), HOST, progress),
        host: { node: process.version, cpu },
      };
    }
    // The devices, measured once, on the default core.
    HOST = { ...HOST, cpu: DEFAULT_CORE };
    const devices: Devices = {
      disk: await measureDisk(o),
      network: await netBench(o.quick ? 1024 : 4096, join(dirname(lguestCommand()), '..', '..', '..')),
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ cores: all, ...devices }, null, 2)}\n`);
    } else {
      const column = (results: Results): string[] => {
        const h = results.hypercall;
        const b = results.bootToBanner;
        return [
          `${Math.round(h.roundTripsPerSecond).toLocaleString('en')} /s`,
          `${h.microsecondsPerRoundTrip.toFixed(2)} µs, ${h.instructionsPerRoundTrip.toFixed(1)} instr.`,
          `${b.bestMs.toFixed(1)} ms best, ${b.medianMs.toFixed(1)} median`,
          `${b.firstMs.toFixed(1)} ms`,
          `${results.nativeBootToBanner.bestMs.toFixed(1)} ms best, ${results.nativeBootToBanner.medianMs.toFixed(1)} median`,
          '',
          promptRow(results.bootToPrompt.command),
          promptRow(results.bootToPrompt.nativeCommand),
          promptRow(results.bootToPrompt.inProcess),
          promptRow(results.bootToPrompt.nativeInProcess),
          '',
          ...(typeof results.linuxToInit === 'string'
            ? [`not measured: ${results.linuxToInit}`, '']
            : [linuxRow(results.linuxToInit.lguest), linuxRow(results.linuxToInit.native)]),
        ];
      };
      const labels = [
        'hypercall round trips',
        '  per round trip',
        'boot to banner',
        '  first run (cold)',
        'native boot to banner',
        'boot to prompt',
        '  lguest run',
        '  lguest run --native',
        '  in-process, lguest',
        '  in-process, native',
        'Linux to /init',
        '  lguest run',
        '  lguest run --native',
      ];
      const columns = o.cpus.map((cpu) => column(all[cpu]));
      const width = Math.max(...columns.flat().map((v) => v.length), ...o.cpus.map((c) => c.length)) + 2;
      process.stdout.write(`${''.padEnd(24)}${o.cpus.map((c) => c.padEnd(width)).join('')}`.trimEnd() + '\n');
      labels.forEach((label, i) => {
        process.stdout.write(`${label.padEnd(24)}${columns.map((c) => c[i].padEnd(width)).join('')}`.trimEnd() + '\n');
      });
      const rows = [...diskRows(devices.disk), ...netRows(devices.network)];
      process.stdout.write(`\ndevices (core ${DEFAULT_CORE}):\n`);
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(24)}${v}`.trimEnd() + '\n');
    }
    return 0;
  } catch (e) {
    process.stderr.write(`bench:lguest: ${(e as Error).message}\n`);
    return 1;
  }
}

/** The network rows: TCP payload MB/s guest to guest and host to guest. */
function netRows(n: NetResults): string[][] {
  if (n.skipped) return [['network', `not measured: ${n.skipped}`]];
  const row = (r: NetResults['sharenet']) =>
    r
      ? `${r.mbPerSecond.toFixed(2)} MB/s (${(r.bytes / 1048576).toFixed(0)} MiB TCP payload, ${(r.instructions / 1e6).toFixed(0)}M instructions in the run)`
      : '';
  const raw = n.raw && n.rawVirtual;
  return [
    ['network (Linux guests)', ''],
    [
      '  raw frames, guest→guest',
      raw
        ? `${n.raw!.mbPerSecond.toFixed(2)} MB/s (${n.raw!.frames} of 1514 bytes arrived); ` +
          `${n.rawVirtual!.mbPerSecond.toFixed(1)} MB/s of virtual time, ` +
          `${n.rawVirtual!.instructionsPerFrame} instructions a frame`
        : '',
    ],
    ['  TCP guest→guest sharenet', row(n.sharenet)],
    [
      '    on the virtual clock',
      n.sharenetVirtual
        ? `${n.sharenetVirtual.mbPerSecond.toFixed(1)} MB/s of virtual time, ${n.sharenetVirtual.instructionsPerKiB} instructions per KiB`
        : '',
    ],
    ['  TCP host→guest net=user', row(n.usernet)],
  ];
}

process.exitCode = await main();
