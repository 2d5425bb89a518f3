// Core mismatches the differential test has found and the core does not fix yet, each
// checked against the host CPU and the architecture manuals (and Bochs where they are
// silent). The test still runs their cases, counts their mismatches and prints them, but
// does not fail on them; whoever fixes the core removes the entry, and from then on the
// test insists it stays fixed.

import type { DiffCase, Outcome } from './case';

export interface KnownMismatch {
  /** The core this applies to. */
  core: string;
  /** A few words naming the bug in run summaries. */
  title: string;
  /** The form's mnemonic; absent for a bug that is not about one instruction. */
  mnemonic?: string;
  /** Only cases (with the host's outcome) for which this holds. */
  applies?: (c: DiffCase, native: Outcome) => boolean;
  /** What is wrong, with a reproducer (bytes and the inputs that matter). */
  reason: string;
}

export const KNOWN_CORE_MISMATCHES: readonly KnownMismatch[] = [];

/** The entry covering case `c` (whose host outcome was `native`) on `core`, if any. */
export function knownMismatch(core: string, c: DiffCase, native: Outcome): KnownMismatch | undefined {
  return KNOWN_CORE_MISMATCHES.find(
    (k) =>
      k.core === core &&
      (k.mnemonic === undefined || k.mnemonic === c.form.mnemonic) &&
      (k.applies === undefined || k.applies(c, native)),
  );
}
