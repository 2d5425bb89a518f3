#!/usr/bin/env node
// The `lguest` command's entry: the bundle esbuild writes to dist/main.js. This file exists in
// the repository so npm can link the command at install time, before anything is built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('lguest: the command is not built yet. Run `npm run build` at the repository root, then try again.');
  process.exit(2);
}
await import(main.href);
