#!/usr/bin/env node
// The guest-side build: compiles the C and GNU-assembler sources a package lists in its
// `i386.json` into freestanding i386 images (gcc -m32 -ffreestanding -nostdlib, ld -m elf_i386).
//
// i386.json: { "images": [ { "name": "x", "sources": ["a.S", "b.c"], "linkerScript": "x.ld",
//               "cflags": [], "defines": { "ATTACK": "1" }, "flat": true } ] }
// For each image it writes build/NAME.elf, build/NAME.bin when "flat" (objcopy -O binary) and
// build/NAME.sym.json (every global symbol and its address). Sources are relative to the package.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? '.');
const manifestPath = join(pkgDir, 'i386.json');
if (!existsSync(manifestPath)) {
  console.error(`build-i386: no i386.json in ${pkgDir}`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const outDir = join(pkgDir, 'build');
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

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    console.error(`build-i386: ${cmd} failed: ${cmd} ${args.join(' ')}`);
    if (/unrecognized.*-m32|cannot find.*gnu\/stubs-32|elf_i386/.test(r.stderr ?? '')) {
      console.error('  The compiler cannot produce i386 code. On Debian/Ubuntu: apt-get install -y gcc-multilib');
    }
    process.exit(1);
  }
  return r.stdout;
}

for (const image of manifest.images) {
  const defines = Object.entries(image.defines ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const includes = (image.include ?? []).map((d) => `-I${resolve(pkgDir, d)}`);
  const objects = [];
  for (const src of image.sources) {
    const srcPath = resolve(pkgDir, src);
    const obj = join(outDir, `${image.name}.${basename(src).replace(/\.[^.]+$/, '')}.o`);
    run('gcc', [...baseCflags, ...(image.cflags ?? []), ...defines, ...includes, '-c', srcPath, '-o', obj]);
    objects.push(obj);
  }
  const elf = join(outDir, `${image.name}.elf`);
  const ldArgs = ['-m', 'elf_i386', '-nostdlib', '--build-id=none', '-o', elf];
  if (image.linkerScript) ldArgs.push('-T', resolve(pkgDir, image.linkerScript));
  else ldArgs.push('-Ttext', image.textAddress ?? '0x100000', '-e', image.entry ?? '_start');
  run('ld', [...ldArgs, ...objects]);
  if (image.flat) run('objcopy', ['-O', 'binary', elf, join(outDir, `${image.name}.bin`)]);
  const symbols = {};
  for (const line of run('nm', ['-g', '--defined-only', elf]).split('\n')) {
    const m = /^([0-9a-f]+)\s+\w\s+(\S+)$/.exec(line.trim());
    if (m) symbols[m[2]] = parseInt(m[1], 16);
  }
  writeFileSync(join(outDir, `${image.name}.sym.json`), JSON.stringify(symbols, null, 1) + '\n');
  console.log(`build-i386: ${image.name}: ${statSync(elf).size} bytes ELF${image.flat ? ' + flat binary' : ''}`);
}
