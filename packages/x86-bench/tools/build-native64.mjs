#!/usr/bin/env node
// The x86-64 build of the native benchmark program, for hosts whose kernel runs no i386
// programs: the same workload.c and native.c as build/workload-native.elf, with the same
// flags as tools/build-i386.mjs but for x86-64 (no -m32 -march=i486), and an x86-64 entry.
// Writes build/workload-native64.elf.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const pkgDir = resolve(process.argv[2] ?? '.');
const outDir = join(pkgDir, 'build');
mkdirSync(outDir, { recursive: true });

const cflags = [
  '-m64',
  '-ffreestanding',
  '-nostdlib',
  '-fno-pic',
  '-fno-pie',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-builtin',
  '-mno-sse',
  '-mno-mmx',
  '-mno-80387',
  '-O2',
  '-Wall',
  '-Werror',
  '-g0',
];
const sources = ['workload/native-start64.S', 'workload/native.c', 'workload/workload.c'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    process.stderr.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? r.error?.message ?? '');
    console.error(`build-native64: ${cmd} failed: ${cmd} ${args.join(' ')}`);
    process.exit(1);
  }
}

const objects = sources.map((src) => {
  const obj = join(outDir, `workload-native64.${basename(src).replace(/\.[^.]+$/, '')}.o`);
  run('gcc', [...cflags, '-c', resolve(pkgDir, src), '-o', obj]);
  return obj;
});
const elf = join(outDir, 'workload-native64.elf');
run('ld', [
  '-m',
  'elf_x86_64',
  '-nostdlib',
  '--build-id=none',
  '-Ttext',
  '0x401000',
  '-e',
  '_start',
  '-o',
  elf,
  ...objects,
]);
console.log(`build-native64: workload-native64: ${statSync(elf).size} bytes ELF`);
