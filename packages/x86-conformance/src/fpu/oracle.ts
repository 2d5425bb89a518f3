// The FPU oracle: a small C program, built with the host's gcc, that executes x87 cases on
// this machine's CPU. The x87 is the same in 64-bit mode as in 32-bit mode, and the forms
// the kit generates address memory only through [EBX] (in 64-bit mode [RBX], the same
// bytes), so one 64-bit program answers for the i386. Each case is an FRSTOR image, EFLAGS,
// the instruction's bytes and 32 bytes of memory; the answer is the FNSAVE image after the
// instruction, EFLAGS, EAX and the memory.

import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

export const IMAGE = 108;
export const CODE_MAX = 15;
export const MEM = 32;
/** In: image, eflags (4), code length (1), code (15), memory. */
export const CASE_IN = IMAGE + 4 + 1 + CODE_MAX + MEM;
/** Out: image, eflags (4), eax (4), memory. */
export const CASE_OUT = IMAGE + 4 + 4 + MEM;

const SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { IMAGE = ${IMAGE}, CODE_MAX = ${CODE_MAX}, MEM = ${MEM} };
enum { CASE_IN = ${CASE_IN}, CASE_OUT = ${CASE_OUT} };

static uint8_t memory[MEM] __attribute__((aligned(16)));
static uint8_t image[IMAGE] __attribute__((aligned(16)));
static uint8_t saved[IMAGE] __attribute__((aligned(16)));

int main(void) {
  size_t cap = 1 << 20, len = 0;
  uint8_t *in = malloc(cap);
  size_t n;
  while ((n = fread(in + len, 1, cap - len, stdin)) > 0) {
    len += n;
    if (len == cap) in = realloc(in, cap *= 2);
  }
  if (len % CASE_IN) return 2;
  size_t cases = len / CASE_IN;
  uint8_t *out = malloc(cases * CASE_OUT + 1);
  uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) return 3;
  for (size_t k = 0; k < cases; k++) {
    const uint8_t *c = in + k * CASE_IN;
    uint8_t *o = out + k * CASE_OUT;
    uint32_t fl;
    memcpy(image, c, IMAGE);
    memcpy(&fl, c + IMAGE, 4);
    uint8_t clen = c[IMAGE + 4];
    memcpy(code, c + IMAGE + 5, clen);
    code[clen] = 0xc3;
    memcpy(memory, c + IMAGE + 5 + CODE_MAX, MEM);
    uint64_t flags = (fl & 0x8d5) | 0x202, rf;
    uint32_t eax;
    __asm__ volatile(
        "frstor (%[img])\n\t"
        "mov %[mem], %%rbx\n\t"
        "xor %%eax, %%eax\n\t"
        "push %[fl]\n\t"
        "popfq\n\t"
        "call *%[code]\n\t"
        "pushfq\n\t"
        "pop %[rf]\n\t"
        "fnsave (%[out])\n\t"
        : [rf] "=&r"(rf), "=&a"(eax)
        : [img] "r"(image), [fl] "r"(flags), [code] "r"(code), [mem] "r"(memory), [out] "r"(saved)
        : "rbx", "memory", "cc");
    memcpy(o, saved, IMAGE);
    uint32_t rf32 = (uint32_t)rf;
    memcpy(o + IMAGE, &rf32, 4);
    memcpy(o + IMAGE + 4, &eax, 4);
    memcpy(o + IMAGE + 8, memory, MEM);
  }
  fwrite(out, 1, cases * CASE_OUT, stdout);
  return 0;
}
`;

/** Builds the oracle once per source (cached under the system temp directory). */
export function buildOracle(): string {
  const hash = createHash('sha256').update(SOURCE).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `lguest-fpu-oracle-${hash}`);
  const exe = join(dir, 'fpu-oracle');
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'fpu-oracle.c');
  writeFileSync(src, SOURCE);
  const tmp = `${exe}.${process.pid}`;
  const cc = spawnSync('gcc', ['-O1', '-m64', '-mno-red-zone', '-o', tmp, src], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) {
    throw new Error(`fpu oracle: gcc failed: ${cc.error?.message ?? cc.stderr.trim().slice(0, 2000)}`);
  }
  renameSync(tmp, exe);
  return exe;
}

/** Runs the cases (CASE_IN bytes each, concatenated) on this CPU; CASE_OUT bytes each back. */
export function runOracle(input: Uint8Array): Uint8Array {
  const exe = buildOracle();
  const run = spawnSync(exe, [], { input, maxBuffer: (input.length / CASE_IN) * CASE_OUT + 4096 });
  if (run.error || run.status !== 0) {
    throw new Error(
      `fpu oracle: ${run.error?.message ?? (run.signal ? `killed by ${run.signal}` : `exit ${run.status}`)}`,
    );
  }
  return new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.length);
}
