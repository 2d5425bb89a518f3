// What one engine reports for one run of the workload.

export interface Measurement {
  /** Row label: "native", "interpreter", "interpreter+paging", "v86-jit", … */
  engine: string;
  /** Instructions executed: the engine's own count when it keeps one, else the known count. */
  instructions: number;
  /** True when `instructions` came from the engine's own counter. */
  counted: boolean;
  /** Wall-clock seconds of the workload alone (no process start, loading or set-up). */
  seconds: number;
  /** The checksum the engine computed. */
  checksum: number;
}

/** Hex as the native program prints it: 0x0000abcd. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
