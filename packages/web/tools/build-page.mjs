#!/usr/bin/env node
// Builds the web view's page into dist/page: the app bundled by esbuild (xterm.js included,
// so the page needs nothing from the network), its HTML and CSS, and xterm.js's stylesheet.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', 'page');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'page', 'app.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  conditions: ['@lguest/source'],
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(root, 'src', 'page', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'src', 'page', 'app.css'), join(out, 'app.css'));
const require = createRequire(import.meta.url);
const xterm = dirname(require.resolve('@xterm/xterm/package.json'));
copyFileSync(join(xterm, 'css', 'xterm.css'), join(out, 'xterm.css'));
