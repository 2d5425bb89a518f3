#!/usr/bin/env node
// The guest-side build: compiles the C and GNU-assembler sources a package lists in its
// `i386.json` into freestanding i386 images (gcc -m32 -ffreestanding -nostdlib, ld -m elf_i386).
//
// i386.json: { "images": [ { "name": "x", "sources": ["a.S", "b.c"], "linkerScript": "x.ld",
//               "cflags": [], "defines": { "ATTACK": "1" }, "flat": true } ] }
// For each image it writes build/NAME.elf, build/NAME.bin when "flat" (objcopy -O binary) and
// build/NAME.sym.json (every global symbol and its address). Sources are relative to the package.
//
// Objects are shared: the same source with the same flags compiles once, however many images
// list it (a C library in eleven programs). Images that differ only in -D defines (the guest
// kernel's fourteen variants) share more: for each source, the preprocessor is asked once
// (gcc -E -dU) which macros the source tests or expands, and an image whose defines differ from
// the first image's only in macros the source never looks at gets the first image's object,
// since the preprocessor could not have told them apart. Jobs run side by side, as many as the
// machine has processors, in the manifest's order where it matters: a source compiled with the
// package's own build/ directory on its include path reads images built before it (the guest
// kernel .incbin's its programs), so it waits until every image listed before its own is linked.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? '.');
const manifestPath = join(pkgDir, 'i386.json');
if (!existsSync(manifestPath)) {
  console.error(`build-i386: no i386.json in ${pkgDir}`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const outDir = join(pkgDir, 'build');
const objDir = join(outDir, 'obj');
mkdirSync(outDir, { recursive: true });

// The toolchain must be there and must produce 32-bit code; say exactly what to install if not.
function requireTool(tool, debianPackage) {
  const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.error(
      `build-i386: '${tool}' was not found. The guest-side build needs GNU gcc and binutils.\n` +
        `  On Debian/Ubuntu: apt-get install -y ${debianPackage}`,
    );
    process.exit(1);
  }
}
requireTool('gcc', 'gcc');
requireTool('ld', 'binutils');
requireTool('objcopy', 'binutils');
requireTool('nm', 'binutils');

const baseCflags = [
  '-m32', '-march=i486', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables', '-fno-builtin', '-mno-sse', '-mno-mmx', '-mno-80387', '-O2', '-Wall',
  '-Werror', '-g0',
];

// A bounded pool of child processes: at most `availableParallelism()` at once.
const slots = Math.max(1, availableParallelism());
let running = 0;
const waiting = [];
async function run(cmd, args) {
  if (running >= slots) await new Promise((go) => waiting.push(go));
  running++;
  try {
    return await new Promise((done) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = [];
      const err = [];
      child.stdout.on('data', (b) => out.push(b));
      child.stderr.on('data', (b) => err.push(b));
      child.on('error', (e) => fail(cmd, args, '', String(e)));
      child.on('close', (status) => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (status !== 0) fail(cmd, args, stdout, stderr);
        done(stdout);
      });
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function fail(cmd, args, stdout, stderr) {
  process.stderr.write(stdout);
  process.stderr.write(stderr);
  console.error(`build-i386: ${cmd} failed: ${cmd} ${args.join(' ')}`);
  if (/unrecognized.*-m32|cannot find.*gnu\/stubs-32|elf_i386/.test(stderr)) {
    console.error('  The compiler cannot produce i386 code. On Debian/Ubuntu: apt-get install -y gcc-multilib');
  }
  process.exit(1);
}

// The defines in a flag list, by macro name.
function definesOf(args) {
  const defines = new Map();
  for (const f of args) if (f.startsWith('-D')) defines.set(f.slice(2).split('=')[0], f);
  return defines;
}

// Macros a preprocessor run with -dU reports: each one the source expanded or tested.
async function macrosLookedAt(srcPath, args) {
  const seen = new Set();
  for (const line of (await run('gcc', [...args, '-E', '-dU', srcPath])).split('\n')) {
    const m = /^#(?:define|undef)\s+([A-Za-z_]\w*)/.exec(line);
    if (m) seen.add(m[1]);
  }
  return seen;
}

// Plan every compile before running any: group the (source, flags) pairs by everything but
// their defines; within a group, the first pair's object serves each pair whose defines differ
// from the first's only in macros the first run never looked at.
const plan = new Map(); // `${image}\0${source}` -> object path
const compiles = [];
async function planObjects(images) {
  const groups = new Map();
  for (const [index, { image, args }] of images.entries()) {
    for (const src of image.sources) {
      const srcPath = resolve(pkgDir, src);
      const key = [srcPath, ...args.filter((f) => !f.startsWith('-D'))].join('\0');
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ name: image.name, index, srcPath, args });
    }
  }
  await Promise.all(
    [...groups.values()].map(async (members) => {
      const distinct = new Map(); // full flag list -> object
      for (const m of members) distinct.set(m.args.join('\0'), null);
      const first = members[0];
      const looked = distinct.size > 1 ? await macrosLookedAt(first.srcPath, first.args) : new Set();
      const firstDefines = definesOf(first.args);
      for (const m of members) {
        const flags = m.args.join('\0');
        if (distinct.get(flags) === null) {
          const defines = definesOf(m.args);
          const names = new Set([...firstDefines.keys(), ...defines.keys()]);
          const differs = [...names].some((n) => firstDefines.get(n) !== defines.get(n) && looked.has(n));
          const shared = differs ? undefined : distinct.get(first.args.join('\0'));
          if (shared) distinct.set(flags, shared);
          else {
            const obj = join(objDir, `${String(compiles.length).padStart(3, '0')}-${basename(m.srcPath).replace(/\.[^.]+$/, '')}.o`);
            compiles.push({ srcPath: m.srcPath, args: m.args, obj, index: m.index });
            distinct.set(flags, obj);
          }
        }
        plan.set(`${m.name}\0${m.srcPath}`, distinct.get(flags));
      }
    }),
  );
}

async function buildImage(image) {
  const objects = image.sources.map((src) => plan.get(`${image.name}\0${resolve(pkgDir, src)}`));
  await Promise.all(objects.map((obj) => compiled.get(obj)));
  const elf = join(outDir, `${image.name}.elf`);
  const ldArgs = ['-m', 'elf_i386', '-nostdlib', '--build-id=none', '-o', elf];
  if (image.linkerScript) ldArgs.push('-T', resolve(pkgDir, image.linkerScript));
  else ldArgs.push('-Ttext', image.textAddress ?? '0x100000', '-e', image.entry ?? '_start');
  await run('ld', [...ldArgs, ...objects]);
  if (image.flat) await run('objcopy', ['-O', 'binary', elf, join(outDir, `${image.name}.bin`)]);
  const symbols = {};
  for (const line of (await run('nm', ['-g', '--defined-only', elf])).split('\n')) {
    const m = /^([0-9a-f]+)\s+\w\s+(\S+)$/.exec(line.trim());
    if (m) symbols[m[2]] = parseInt(m[1], 16);
  }
  writeFileSync(join(outDir, `${image.name}.sym.json`), JSON.stringify(symbols, null, 1) + '\n');
  return `build-i386: ${image.name}: ${statSync(elf).size} bytes ELF${image.flat ? ' + flat binary' : ''}`;
}

function argsOf(image) {
  const defines = Object.entries(image.defines ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const includes = (image.include ?? []).map((d) => `-I${resolve(pkgDir, d)}`);
  return [...baseCflags, ...(image.cflags ?? []), ...defines, ...includes];
}

// Every object is compiled afresh (a stale one could outlive its source's edit); the
// per-image objects of builds before objects were shared go too.
rmSync(objDir, { recursive: true, force: true });
mkdirSync(objDir, { recursive: true });
for (const name of readdirSync(outDir)) if (name.endsWith('.o')) rmSync(join(outDir, name));
await planObjects(manifest.images.map((image) => ({ image, args: argsOf(image) })));
const linked = [];
const compiled = new Map();
for (const c of compiles) {
  const readsBuild = c.args.includes(`-I${outDir}`);
  compiled.set(
    c.obj,
    (async () => {
      await undefined; // `linked` is filled by the loop below before this line runs on
      if (readsBuild) await Promise.all(linked.slice(0, c.index));
      return run('gcc', [...c.args, '-c', c.srcPath, '-o', c.obj]);
    })(),
  );
}
for (const image of manifest.images) linked.push(buildImage(image));
const lines = await Promise.all(linked);
for (const line of lines) console.log(line);
const sources = manifest.images.reduce((n, image) => n + image.sources.length, 0);
console.log(`build-i386: ${sources} sources in ${manifest.images.length} images, ${compiles.length} compiles`);
