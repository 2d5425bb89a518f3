// `lguest web`: the guests of `run` (or `run-many`), with each console and a live picture of
// the machine on a local page instead of the terminal. The session is the same one; the web
// view only takes the consoles' places and watches the host and lg once they are up
// (SessionOptions.observe). It ends when the guests do.

import { WebView } from '@lguest/web';
import { UsageError } from './options';
import type { ByteSink } from './prefix';
import type { GuestOutcome, GuestPlan, SessionOptions } from './session';

/**
 * Serves the page on `port`, runs the session through `run` with the web consoles in the
 * plans, and closes the page when the session is over. Resolves to the session's status.
 */
export async function runWeb<P extends GuestPlan>(
  port: number,
  plans: readonly P[],
  io: { readonly stdout: ByteSink; readonly webPage?: string },
  say: (line: string) => void,
  run: (plans: P[], observe: SessionOptions['observe']) => Promise<number>,
): Promise<number> {
  if (!io.webPage) throw new Error('lguest web: no page directory was given');
  let view: WebView;
  try {
    view = await WebView.listen({ port, pageDir: io.webPage, guests: plans.map((p) => p.name) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new UsageError(`port ${port} is in use: give another with --port=N (0: any free port)`);
    if (err.code === 'EACCES') throw new UsageError(`port ${port} needs privileges: give one above 1023 with --port=N`);
    throw new UsageError(err.message);
  }
  io.stdout.write(`${view.url}\n`);
  say(`serving the web view at ${view.url} until the guests end`);
  const webPlans = plans.map((plan, i) => ({
    ...plan,
    output: view.consoleOutput(i),
    input: view.inputs[i],
    onEnd: (g: GuestOutcome) => view.ended(i, g.poweredOff ? 'powered off' : g.reason),
  }));
  try {
    return await run(webPlans, (host, lg, launchers) =>
      view.watch(
        host,
        lg,
        launchers.map((proc, i) => ({ name: plans[i].name, memMiB: plans[i].spec.memMiB, proc })),
      ),
    );
  } finally {
    await view.close();
  }
}
