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
//
// A benchmark measures; it does not pass or fail on time. Exit status 1 only if a guest did
// not boot as expected.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { GuestSpec, HostSpec } from './options';
import { runNative } from './native';
import { runSession } from './session';

const USAGE = `usage: npm run bench:lguest -- [--json] [--runs=N] [--hcalls=N] [--quick]
  --json       one JSON object on stdout instead of the table
  --runs=N     runs of each measurement (default 5; the best is reported)
  --hcalls=N   hypercalls per run (default 20000)
  --quick      --runs=2 --hcalls=5000`;

interface Options {
  json: boolean;
  runs: number;
  hcalls: number;
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
  bootToBanner: { runs: number; firstMs: number; bestMs: number; medianMs: number };
  /** The same, with the same image booted on the emulated PC (`lguest run --native`). */
  nativeBootToBanner: { runs: number; firstMs: number; bestMs: number; medianMs: number };
  host: { node: string; cpu: string };
}

const HOST: HostSpec = { verbose: false, clock: 'host', cpu: 'interpreter', memoryHostMiB: null, timeoutS: null };

function guestSpec(cmdline: string[]): GuestSpec {
  return { memMiB: 32, kernel: null, cmdline, initrd: null, devices: [] };
}

/** packages/guest/build, from packages/cli/src (run-ts keeps argv[1] at the source file). */
function guestBuild(): string {
  const from = process.argv[1] ? dirname(process.argv[1]) : dirname(fileURLToPath(import.meta.url));
  return join(from, '..', '..', 'guest', 'build');
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

async function bootToBanner(kernel: string, o: Options): Promise<Results['bootToBanner']> {
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
  const rest = ms.length > 1 ? ms.slice(1) : ms;
  const sorted = [...rest].sort((a, b) => a - b);
  return {
    runs: o.runs,
    firstMs: ms[0],
    bestMs: sorted[0],
    medianMs: sorted[Math.floor(sorted.length / 2)],
  };
}

/** Boot to banner on the emulated PC (virtual clock, flat out): from before the PC is built to the banner's first line. */
async function nativeBootToBanner(kernel: string, o: Options): Promise<Results['nativeBootToBanner']> {
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
  const rest = ms.length > 1 ? ms.slice(1) : ms;
  const sorted = [...rest].sort((a, b) => a - b);
  return { runs: o.runs, firstMs: ms[0], bestMs: sorted[0], medianMs: sorted[Math.floor(sorted.length / 2)] };
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
    runs: count(values.runs, values.quick ? 2 : 5, 'runs'),
    hcalls: count(values.hcalls, values.quick ? 5000 : 20000, 'hcalls'),
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
  for (const f of [guest, bench]) {
    if (!existsSync(f)) {
      process.stderr.write(`bench:lguest: ${f} is not built: run 'npm run build' at the repository root\n`);
      return 1;
    }
  }
  progress(`bench:lguest: ${o.runs} runs each, ${o.hcalls} hypercalls per run, host clock, CPU core interpreter`);
  try {
    const results: Results = {
      // Boot first: its first run is the process's first, so it really is cold.
      bootToBanner: await bootToBanner(guest, o),
      hypercall: await hypercalls(bench, o),
      nativeBootToBanner: await nativeBootToBanner(guest, o),
      host: { node: process.version, cpu: HOST.cpu },
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      const h = results.hypercall;
      const b = results.bootToBanner;
      const rows = [
        ['hypercall round trips', `${Math.round(h.roundTripsPerSecond).toLocaleString('en')} /s`],
        [
          '  per round trip',
          `${h.microsecondsPerRoundTrip.toFixed(2)} µs, ${h.instructionsPerRoundTrip.toFixed(1)} instructions`,
        ],
        ['boot to banner', `${b.bestMs.toFixed(1)} ms best, ${b.medianMs.toFixed(1)} ms median`],
        ['  first run (cold)', `${b.firstMs.toFixed(1)} ms`],
        [
          'native boot to banner',
          `${results.nativeBootToBanner.bestMs.toFixed(1)} ms best, ${results.nativeBootToBanner.medianMs.toFixed(1)} ms median`,
        ],
      ];
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(24)}${v}\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`bench:lguest: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main();
