/* The benchmark workload, shared by the bare-metal image and the native Linux program. */
#ifndef WORKLOAD_H
#define WORKLOAD_H

typedef unsigned int u32;

/* Words in the table the workload reads and writes: 64 KiB, sixteen 4 KiB pages. */
#define WORKLOAD_TABLE_WORDS 16384u

/* Runs `iterations` rounds of the loop over a freshly filled table and returns the checksum. */
u32 workload_run(u32 iterations);

#endif
