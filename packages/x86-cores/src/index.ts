// The registry of CPU cores. A host picks one by name (`lguest run --cpu=NAME`); the
// conformance kit and the benchmark run every one listed here. It lives in its own package
// because `x86` imports nothing and a core in another package imports `x86`: only here are
// both visible. Adding a core is one line below (and the package in `dependencies`).
import { interpreter, type CoreFactory } from '@lguest/x86';
import { jit } from '@lguest/x86-jit';

export const cores: readonly CoreFactory[] = [interpreter, jit];

/** The core a host runs when none is named. */
export const DEFAULT_CORE = 'interpreter';

/** The core named `name`, or an error listing the ones that exist. */
export function findCore(name: string): CoreFactory {
  const core = cores.find((c) => c.name === name);
  if (!core) throw new Error(`unknown CPU core '${name}'; available: ${cores.map((c) => c.name).join(', ')}`);
  return core;
}
