#!/usr/bin/env node
// The arrows between packages (docs/architecture.md): which workspace packages each one may
// import. Checked against both package.json dependencies and the imports in its sources, so
// an arrow cannot be added quietly. `npm test` runs this first.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ALLOWED = {
  abi: [],
  x86: [],
  'x86-conformance': ['x86', 'x86-cores'],
  'x86-bench': ['x86', 'x86-cores'],
  'x86-jit': ['x86'],
  'x86-cores': ['x86', 'x86-jit'],
  pc: ['x86'],
  host: ['x86'],
  lg: ['host', 'abi', 'x86'],
  guest: ['abi', 'pc', 'x86'], // pc and x86 only for its tests: booting the image natively
  launcher: ['host', 'abi'],
  console: ['launcher', 'abi', 'host'],
  disk: ['launcher', 'abi', 'host'],
  net: ['launcher', 'abi', 'host'],
  cli: ['abi', 'x86', 'x86-cores', 'host', 'lg', 'launcher', 'console', 'disk', 'net', 'pc', 'guest'],
};

// What a package's tests (files ending in .test.ts, and devDependencies) may import on top of
// ALLOWED. lg's end-to-end boot test composes a host, lg and a launcher and boots the guest
// image; lg's own sources still talk to a launcher only through the control file.
const TEST_ALLOWED = {
  lg: ['launcher', 'guest'],
};

const root = new URL('..', import.meta.url).pathname;
const packagesDir = join(root, 'packages');
const problems = [];

function sources(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(p);
  }
  return out;
}

for (const name of readdirSync(packagesDir)) {
  const pkgJson = join(packagesDir, name, 'package.json');
  if (!existsSync(pkgJson)) continue;
  if (!(name in ALLOWED)) {
    problems.push(`packages/${name}: not in the architecture's package table (tools/check-arrows.mjs)`);
    continue;
  }
  const allowed = new Set(ALLOWED[name]);
  const testAllowed = new Set([...allowed, ...(TEST_ALLOWED[name] ?? [])]);
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const depKinds = [
    [pkg.dependencies ?? {}, allowed],
    [pkg.devDependencies ?? {}, testAllowed],
  ];
  for (const [deps, may] of depKinds) {
    for (const dep of Object.keys(deps)) {
      const m = /^@lguest\/(.+)$/.exec(dep);
      if (m && !may.has(m[1])) problems.push(`packages/${name}/package.json depends on ${dep}, which it may not import`);
    }
  }
  for (const file of sources(join(packagesDir, name, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const may = file.endsWith('.test.ts') ? testAllowed : allowed;
    for (const m of text.matchAll(/from\s+['"]@lguest\/([\w-]+)['"]/g)) {
      if (!may.has(m[1])) problems.push(`${file.slice(root.length)} imports @lguest/${m[1]}, which ${name} may not import`);
    }
  }
}
if (problems.length) {
  console.error(`package arrows: ${problems.length} violation(s) of docs/architecture.md:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('package arrows: every import follows docs/architecture.md');
