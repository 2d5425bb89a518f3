// The registry of CPU cores. A host picks one by name (`lguest run --cpu=NAME`); the
// conformance kit and the benchmark run every one listed here. It lives in its own package
// because `x86` imports nothing and a core in another package imports `x86`: only here are
// both visible. Adding a core is one line below (and the package in `dependencies`).
import { interpreter, type CoreFactory } from '@lguest/x86';
import { jit } from '@lguest/x86-jit';

export const cores: readonly CoreFactory[] = [interpreter, jit];

/**
 * The core a host runs when none is named (and `LGUEST_CPU` names none): the block compiler,
 * which passes the conformance kit and every guest test of the workspace. The interpreter
 * stays the reference: the kit's second opinion (lockstep, fuzz) and `--cpu=interpreter`.
 */
export const DEFAULT_CORE = 'jit';

/** The environment variable that names the core to run when `--cpu` does not. */
export const CORE_VARIABLE = 'LGUEST_CPU';

/** The core named `name`, or an error listing the ones that exist. */
export function findCore(name: string): CoreFactory {
  const core = cores.find((c) => c.name === name);
  if (!core) throw new Error(`unknown CPU core '${name}'; available: ${cores.map((c) => c.name).join(', ')}`);
  return core;
}

/**
 * The name of the core to run when none is given: `LGUEST_CPU` if set (and not empty), else
 * `DEFAULT_CORE`. Whether the name exists is the caller's to check (`findCore`), so it can
 * say where the bad name came from.
 */
export function defaultCoreName(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const named = env[CORE_VARIABLE];
  return named !== undefined && named !== '' ? named : DEFAULT_CORE;
}

/**
 * The core a test (or a tool) runs when it names none: `LGUEST_CPU`, else `DEFAULT_CORE`.
 * Every guest-booting test builds its host or PC with this, so `LGUEST_CPU=jit npm run
 * test:system` runs the workspace's guests on the block compiler.
 */
export function defaultCore(env: Readonly<Record<string, string | undefined>> = process.env): CoreFactory {
  const name = defaultCoreName(env);
  const core = cores.find((c) => c.name === name);
  if (!core) {
    throw new Error(`${CORE_VARIABLE}=${name} names no CPU core; the cores are ${cores.map((c) => c.name).join(', ')}`);
  }
  return core;
}
