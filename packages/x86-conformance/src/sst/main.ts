// `npm run sst -- [options] [FILE…]`: runs SingleStepTests files on a core and prints, per
// file, what passed, what the difference classes set aside, and the first failures in detail.
// This is the tool for the person debugging a core; the Jest test runs the same suite as a gate.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CoreFactory } from '@lguest/x86';
import { cores } from '@lguest/x86-cores';
import { sstDir } from './data';
import { DIFFERENCES_286_ON_386 } from './differences';
import { fakeCore } from './fake-core';
import { readMoo } from './moo';
import { fileOk, fileReport, testDump, totals, totalsText } from './report';
import { type FileResult, SstRunner } from './runner';
import { type SstFile, sstFiles } from './suite';

const USAGE = `usage: npm run sst -- [options] [FILE…]
  --core NAME       run on this registered core (default: every registered core);
                    "fake" is the kit's own ADD-only test core
  --test N[,N…]     run only these test indices of each file
  --details N       failures described per file (default 5)
  --dump            also print each described failure's recorded test in full
  --limit N         instructions a test may take before giving up (default 20000)
  --strict-memory   scan memory after every test to pin stray writes to a test (slow)
  --quiet           print only failing files and the totals
FILE is a MOO path or a name in the data folder: 00, F6.6, 286/D4.MOO.gz, 386/00.
Default: every 286 file and the 386 sample.`;

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      core: { type: 'string' },
      test: { type: 'string' },
      details: { type: 'string' },
      dump: { type: 'boolean' },
      limit: { type: 'string' },
      'strict-memory': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const factories = pickCores(values.core);
  const all = sstFiles();
  const files = positionals.length ? positionals.map((p) => findFile(p, all)) : all;
  const only = values.test ? new Set(values.test.split(',').map((n) => number(n, '--test'))) : undefined;
  const details = values.details ? number(values.details, '--details') : 5;

  let failing = 0;
  for (const factory of factories) {
    console.log(`core "${factory.name}": ${factory.description}`);
    const runner = new SstRunner(factory, {
      details,
      instructionLimit: values.limit ? number(values.limit, '--limit') : undefined,
      strictMemory: values['strict-memory'],
    });
    const results: FileResult[] = [];
    for (const file of files) {
      const moo = readMoo(readFileSync(file.path), file.name);
      const r = runner.runFile(moo, file, only);
      results.push(r);
      if (values.quiet && fileOk(r)) continue;
      console.log(fileReport(r));
      if (values.dump) {
        for (const f of r.failures) {
          const test = moo.tests.find((t) => t.index === f.index);
          if (test) console.log(`  #${f.index} recorded:\n${testDump(test, moo.wide)}`);
        }
      }
    }
    const t = totals(results);
    console.log(totalsText(t, files.some((f) => f.set === '286') ? DIFFERENCES_286_ON_386 : []));
    if (t.failedFiles) failing++;
  }
  return failing ? 1 : 0;
}

function pickCores(name: string | undefined): readonly CoreFactory[] {
  const fake = fakeCore();
  if (name === fake.name) return [fake];
  if (!cores.length)
    throw new Error(
      '@lguest/x86-cores registers no cores (its `cores` list is empty); try --core fake to check the kit',
    );
  if (name === undefined) return cores;
  const found = cores.find((c) => c.name === name);
  if (!found) throw new Error(`no core "${name}"; registered: ${cores.map((c) => c.name).join(', ')}`);
  return [found];
}

/** A file given on the command line: a path, or a short name in the suite. */
function findFile(arg: string, all: readonly SstFile[]): SstFile {
  const short = arg.toUpperCase().replace(/\.MOO(\.GZ)?$/, '');
  const hit = all.find((f) => {
    const name = f.name.toUpperCase().replace(/\.MOO(\.GZ)?$/, '');
    return name === short || `${f.set}/${name}` === short || (f.set === '286' && `286/${name}` === short);
  });
  if (hit) return hit;
  const path = resolve(arg);
  if (existsSync(path)) {
    const sibling = all.find((f) => resolve(f.path) === path);
    return (
      sibling ?? { path, set: '386', name: basename(path), flagsMask: 0xffff, revoked: new Set(), differences: [] }
    );
  }
  throw new Error(`no SST file "${arg}" in ${join(sstDir(), '286')} or ${join(sstDir(), '386')}, and no such path`);
}

function number(s: string, option: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${option} wants a non-negative integer, not "${s}"`);
  return n;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`sst: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
}
