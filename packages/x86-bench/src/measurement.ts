// What one engine reports for one run of the workload.

export interface Measurement {
  /** Row label: "native", "interpreter", "interpreter+paging", "v86-jit", … */
  engine: string;
  /** Instructions executed: the engine's own count when it keeps one, else the known count. */
  instructions: number;
  /** True when `instructions` came from the engine's own counter. */
  counted: boolean;
  /** CPU seconds (user + system) of the workload alone (no process start, loading or set-up). */
  seconds: number;
  /** The checksum the engine computed. */
  checksum: number;
}

/** Hex as the native program prints it: 0x0000abcd. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * CPU seconds (user + system) this process has used since `start` (a `process.cpuUsage()`).
 * CPU time rather than wall time: on a machine shared with other work, wall time measures
 * the neighbours too. It includes V8's compiler and collector threads, which is the price of
 * a JIT (ours and v86's alike).
 */
export function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}
