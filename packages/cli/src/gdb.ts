// `lguest run --gdb=tcp::PORT [-S]`: the guest under gdb. The server listens before the
// session starts (so the port is known, and printed, at once); the guest is put under the
// debugger when lg makes it (LHREQ_INITIALIZE), before its first instruction, and with -S it
// waits there for gdb's `continue`. When the guest ends, gdb is told (W00, or the launcher's
// status) and the server closes.

import { GdbServer, type GdbAddress } from '@lguest/gdbstub';
import { debugGuest, type GuestDebug, type Lguest } from '@lguest/lg';
import type { Process } from '@lguest/host';
import type { PcRunHooks } from '@lguest/pc';
import { PcDebug } from './native-debug';

/** What --gdb and -S asked for. */
export interface GdbSpec {
  readonly address: GdbAddress;
  /** -S / --gdb-wait: stop before the guest's first instruction. */
  readonly wait: boolean;
}

export class GuestGdb {
  private readonly server: GdbServer;
  private debug: GuestDebug | PcDebug | null = null;
  private over = false;

  private constructor(
    private readonly spec: GdbSpec,
    log: (line: string) => void,
  ) {
    this.server = new GdbServer(log);
  }

  /** Listens at the spec's address; says where on `say` (always: port 0 picks one). */
  static async listen(spec: GdbSpec, say: (line: string) => void, log: (line: string) => void): Promise<GuestGdb> {
    const gdb = new GuestGdb(spec, log);
    let port: number;
    try {
      port = await gdb.server.listen(spec.address);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const where = `${spec.address.host ?? ''}:${spec.address.port}`;
      throw new GdbListenError(
        `--gdb=tcp:${where}: cannot listen there (${err.code ?? err.message})` +
          (err.code === 'EADDRINUSE'
            ? ': another program has that port; give another, or tcp::0 for any free one'
            : ''),
      );
    }
    say(
      `gdb: listening on tcp:${spec.address.host ?? ''}:${port}` +
        (spec.wait ? ' (the guest waits for gdb to continue it)' : ''),
    );
    return gdb;
  }

  /** Put the guest run by `launcher` under the debugger when lg makes it. */
  watch(lg: Lguest, launcher: Process): void {
    const before = lg.onGuestCreated;
    lg.onGuestCreated = (guest) => {
      before?.(guest);
      if (guest.proc !== launcher || this.debug) return;
      this.debug = debugGuest(guest, {
        waitAtStart: this.spec.wait,
        stopped: (why) => this.server.targetStopped(why),
      });
      this.server.setTarget(this.debug);
    };
  }

  /** `run --native`: the PC's guest under the debugger; hooks for its run loop. */
  native(): PcRunHooks {
    const debug = new PcDebug(this.spec.wait, (why) => this.server.targetStopped(why));
    this.debug = debug;
    this.server.setTarget(debug);
    return debug;
  }

  /** The guest ended with `status`: gdb hears it, and the server closes. */
  ended(status: number): void {
    if (this.over) return;
    this.over = true;
    if (this.debug) {
      this.debug.exited = status;
      this.server.targetStopped({ kind: 'exited', status });
    }
    this.server.close();
  }
}

/** The --gdb address cannot be listened on: a user's mistake (exit status 2). */
export class GdbListenError extends Error {
  override readonly name = 'GdbListenError';
}
