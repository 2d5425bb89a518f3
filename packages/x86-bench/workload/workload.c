/*
 * The CPU benchmark's workload: an integer loop of the kind an emulator spends its life on.
 * Each round steps a xorshift generator (shifts and xors), loads a table word picked by the
 * generator, takes a branch on the data (so a predictor or a block-chaining JIT cannot know
 * the way ahead), adds, and stores back into another word of the table. The table spans
 * sixteen 4 KiB pages, so with paging on every round goes through the TLB.
 *
 * The result depends on every round; src/reference.ts computes the same function in
 * TypeScript so each engine's checksum can be verified.  Keep the two in step.
 *
 * Compiled with gcc -O2 -march=i486, the loop body is 26 instructions on either side of the
 * branch, so the instruction count is a straight line in `iterations`.
 */
#include "workload.h"

static u32 table[WORKLOAD_TABLE_WORDS];

u32 workload_run(u32 iterations)
{
	u32 x = 0x2545f491u, sum = 0, i;

	for (i = 0; i < WORKLOAD_TABLE_WORDS; i++)
		table[i] = i * 0x9e3779b9u;
	for (i = 0; i < iterations; i++) {
		u32 j, t;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		j = x & (WORKLOAD_TABLE_WORDS - 1);
		t = table[j];
		if ((t ^ x) & 0x100)
			sum += t >> 3;
		else
			sum ^= t + i;
		table[(j + i) & (WORKLOAD_TABLE_WORDS - 1)] = t ^ sum;
	}
	return sum ^ x;
}
