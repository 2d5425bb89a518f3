#!/usr/bin/env node
// Runs a TypeScript entry point of the workspace from source: esbuild bundles it (workspace
// packages resolved through the "@lguest/source" export condition) into a temporary ES module,
// which is then imported with the remaining command-line arguments in process.argv.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs ENTRY.ts [args…]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'lguest-run-ts-'));
const out = join(dir, 'main.mjs');
try {
  await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    conditions: ['@lguest/source'],
    outfile: out,
    packages: 'bundle',
    external: ['v86'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __lgCreateRequire } from 'node:module'; const require = __lgCreateRequire(import.meta.url);" },
  });
  process.argv = [process.argv[0], resolve(entry), ...rest];
  await import(pathToFileURL(out).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
