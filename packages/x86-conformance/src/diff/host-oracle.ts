// Which oracle the differential test runs on this host: the i386 one when the kernel runs i386
// programs (it covers every form), else the long-mode one, with the reason said. Setting
// LGUEST_REQUIRE_I386=1 turns a host without i386 execution into an error instead.

import { i386Execution } from '../i386-host';
import type { OracleName } from './plan';

export interface HostOracle {
  name: OracleName;
  /** Why the i386 oracle cannot run here (long-mode only). */
  reason?: string;
}

/** The oracle for this host. Throws when LGUEST_REQUIRE_I386=1 and i386 programs cannot run. */
export function hostOracle(env: NodeJS.ProcessEnv = process.env): HostOracle {
  const probe = i386Execution();
  if (probe.runs) return { name: 'i386' };
  if (env.LGUEST_REQUIRE_I386 === '1') {
    throw new Error(`LGUEST_REQUIRE_I386=1, but ${probe.reason}: the i386 oracle cannot run`);
  }
  return { name: 'long-mode', reason: probe.reason };
}
