// The cores the benchmark can run: the `cores` registry of @lguest/x86-cores.

import { cores } from '@lguest/x86-cores';
import type { CoreFactory } from '@lguest/x86';

/** Every registered core, in registry order (possibly none). */
export function registeredCores(): readonly CoreFactory[] {
  return cores;
}

/** Said whenever a core was wanted and none is registered. */
export const NO_CORES_MESSAGE =
  'no CPU core is registered: @lguest/x86-cores must export `cores`, an array of CoreFactory ' +
  '(the reference one named "interpreter"), and it is empty';
