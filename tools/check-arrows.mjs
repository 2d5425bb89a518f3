#!/usr/bin/env node
// The arrows between packages (docs/architecture.md): which workspace packages each one may
// import. Checked against both package.json dependencies and the imports in its sources, so
// an arrow cannot be added quietly. `npm test` runs this first.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ALLOWED = {
  abi: [],
  elf: [],
  x86: [],
  'x86-conformance': ['x86', 'x86-cores'],
  'x86-bench': ['x86', 'x86-cores', 'x86-conformance', 'elf'], // the conformance kit's probe of i386 execution
  'x86-jit': ['x86'],
  'x86-cores': ['x86', 'x86-jit'],
  pc: ['x86', 'elf'],
  host: ['abi', 'x86'], // abi's i386.ts: the Linux i386 layout (paging bits, GDT) both sides share
  lg: ['host', 'abi', 'x86'],
  guest: ['abi', 'elf'],
  launcher: ['host', 'abi', 'elf'],
  console: ['launcher', 'abi'],
  disk: ['launcher', 'abi', 'host'],
  net: ['launcher', 'abi', 'host'],
  web: ['abi', 'host', 'lg'],
  gdbstub: [],
  snapshot: [],
  cli: [
    'abi',
    'elf',
    'x86',
    'x86-cores',
    'host',
    'lg',
    'launcher',
    'console',
    'disk',
    'net',
    'pc',
    'guest',
    'web',
    'gdbstub',
    'snapshot',
  ],
};

// What a package's tests (files ending in .test.ts, and devDependencies) may import on top of
// ALLOWED. lg's end-to-end boot test composes a host, lg and a launcher and boots the guest
// image; lg's own sources still talk to a launcher only through the control file.
const TEST_ALLOWED = {
  lg: ['launcher', 'guest', 'elf', 'x86-cores'],
  web: ['launcher', 'console', 'guest', 'x86-cores'], // its sampler test boots a real guest
  guest: ['pc', 'x86', 'x86-cores'], // booting the image natively
  console: ['host'], // its device test times the input retry on a host's (virtual) clock
  // x86-cores: a guest-booting test runs the core LGUEST_CPU names (defaultCore)
};

// Whose guest-side C a package's i386.json may compile by path (`../NAME/…`): the guest
// kernel links each device's guest driver, which lives with its device (NAME/guest/).
const BUILD_ALLOWED = {
  guest: ['abi', 'console', 'disk', 'net'],
  lg: ['abi'], // the switcher's generated headers
  net: ['abi'], // lgnet starts at abi's crt0 for static i386 programs, as the guest's programs do
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
      if (m && !may.has(m[1]))
        problems.push(`packages/${name}/package.json depends on ${dep}, which it may not import`);
    }
  }
  // src/ is the package; testing/ (test helpers) is held to the test rules, bench/ to src's.
  const files = [
    ...sources(join(packagesDir, name, 'src')).map((f) => [f, f.endsWith('.test.ts')]),
    ...sources(join(packagesDir, name, 'testing')).map((f) => [f, true]),
    ...sources(join(packagesDir, name, 'bench')).map((f) => [f, false]),
  ];
  for (const [file, isTest] of files) {
    const text = readFileSync(file, 'utf8');
    const may = isTest ? testAllowed : allowed;
    for (const m of text.matchAll(/from\s+['"]@lguest\/([\w-]+)['"]/g)) {
      if (!may.has(m[1]))
        problems.push(`${file.slice(root.length)} imports @lguest/${m[1]}, which ${name} may not import`);
    }
  }
}
for (const name of readdirSync(packagesDir)) {
  const spec = join(packagesDir, name, 'i386.json');
  if (!existsSync(spec)) continue;
  const may = new Set(BUILD_ALLOWED[name] ?? []);
  for (const m of readFileSync(spec, 'utf8').matchAll(/"\.\.\/([\w-]+)\//g)) {
    if (!may.has(m[1])) problems.push(`packages/${name}/i386.json builds from ../${m[1]}/, which ${name} may not use`);
  }
}
if (problems.length) {
  console.error(`package arrows: ${problems.length} violation(s) of docs/architecture.md:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('package arrows: every import follows docs/architecture.md');
