#!/usr/bin/env node
// `npm run setup`: checks that the machine can build the guest side (gcc -m32, ld -m elf_i386)
// and says exactly what to install when it cannot. npm packages come from `npm ci`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'lguest-toolchain-'));
try {
  writeFileSync(join(dir, 't.c'), 'void _start(void) { for (;;) __asm__ volatile("hlt"); }\n');
  const cc = spawnSync('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-c', join(dir, 't.c'), '-o', join(dir, 't.o')], {
    encoding: 'utf8',
  });
  if (cc.error) fail('gcc was not found', 'gcc');
  if (cc.status !== 0) fail(`gcc -m32 failed:\n${cc.stderr}`, 'gcc-multilib');
  const ld = spawnSync('ld', ['-m', 'elf_i386', '-o', join(dir, 't.elf'), join(dir, 't.o')], { encoding: 'utf8' });
  if (ld.error) fail('ld was not found', 'binutils');
  if (ld.status !== 0) fail(`ld -m elf_i386 failed:\n${ld.stderr}`, 'binutils');
  console.log('toolchain: gcc -m32 and ld -m elf_i386 work');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function fail(what, pkg) {
  console.error(`toolchain: ${what}\n  The guest-side build needs it. On Debian/Ubuntu: apt-get install -y ${pkg}`);
  process.exit(1);
}
