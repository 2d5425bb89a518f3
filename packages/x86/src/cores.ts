// The registry of CPU cores. The host picks one by name (`--cpu NAME`); the conformance kit
// runs against every one listed here. A second core registers itself by being added below.
import type { CoreFactory } from './contract';
import { interpreter } from './interp/index';

export const cores: readonly CoreFactory[] = [interpreter];

/** The core named `name`, or an error listing the ones that exist. */
export function findCore(name: string): CoreFactory {
  const core = cores.find((c) => c.name === name);
  if (!core) throw new Error(`unknown CPU core '${name}'; available: ${cores.map((c) => c.name).join(', ')}`);
  return core;
}
