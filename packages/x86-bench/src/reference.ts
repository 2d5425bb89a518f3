// The workload computed in TypeScript: the answer every engine's checksum is held against.
// It is workload/workload.c line for line, in 32-bit unsigned arithmetic; change the two together.

const TABLE_WORDS = 16384;

/** The checksum `workload_run(iterations)` returns. */
export function referenceChecksum(iterations: number): number {
  const table = new Uint32Array(TABLE_WORDS);
  for (let i = 0; i < TABLE_WORDS; i++) table[i] = Math.imul(i, 0x9e3779b9);
  let x = 0x2545f491;
  let sum = 0;
  for (let i = 0; i < iterations; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    const j = x & (TABLE_WORDS - 1);
    const t = table[j];
    if ((t ^ x) & 0x100) sum = (sum + (t >>> 3)) >>> 0;
    else sum = (sum ^ (t + i)) >>> 0;
    table[(j + i) & (TABLE_WORDS - 1)] = t ^ sum;
  }
  return (sum ^ x) >>> 0;
}
