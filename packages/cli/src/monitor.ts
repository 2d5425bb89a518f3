// The monitor: a second way into a running lguest, beside the guest's console, in the manner
// of QEMU's human monitor. `lguest run --monitor=unix:PATH` listens on a Unix socket; each
// connection gets a prompt, "(lguest) ", and answers one line per command:
//
//   info status|registers|guest|devices   look at the guest
//   stop, cont                            hold it between two trips through the switcher; let it go
//   savevm FILE                           write a snapshot that `lguest run --restore=FILE` continues
//   migrate tcp:HOST:PORT                 move it, live, to `lguest run --incoming=tcp:…:PORT`
//   quit                                  end the guest (lguest exits 0)
//
// The monitor is a view and a controller, never in the guest's way: nothing of it runs
// unless a command comes, and a command that must see the guest whole (registers, a
// snapshot) asks for a quiescent point. What it drives is a `MonitorTarget`: a guest under
// lguest (`LguestTarget` here: the quiescent point is one LHREQ_BREAK, as console input
// does) or the PC of `--native` (native-monitor.ts: the boundary between two slices).

import { createServer, type Server, type Socket } from 'node:net';
import { unlinkSync, writeFileSync } from 'node:fs';
import { LGUEST_REGS } from '@lguest/abi';
import { diskName } from '@lguest/disk';
import { encodeSnapshot, PageSetWriter, type Section } from '@lguest/snapshot';
import { saveSections } from './machine-state';
import { migrateTo, type MigrateOptions, type MigrationReport } from './migrate';
import { parseTcp, UsageError, type HostSpec } from './options';
import type { GuestRun } from './session';

export const PROMPT = '(lguest) ';

const HELP = `commands:
  info status          running or stopped, and the host clock
  info registers       the guest's registers as lg saved them at its last exit
  info guest           memory, kernel, lg's counters for the guest
  info devices         the guest's devices, their interrupts and counters
  stop                 stop the guest (between two trips through the switcher)
  cont                 let a stopped guest run again
  savevm FILE          save the guest to FILE (continue it with lguest run --restore=FILE)
  migrate tcp:HOST:PORT  move the guest, live, to lguest run --incoming=tcp:HOST:PORT;
                       this lguest ends when the other has it
  quit                 end the guest; lguest exits with status 0
  help                 this text`;

/** What a monitor drives: the one guest of `lguest run`, under lguest or on the PC. */
export interface MonitorTarget {
  /** The guest has ended. */
  readonly over: boolean;
  /** Where its clock is, for `info status` ("host clock 1.500000 s (virtual)"). */
  clock(): string;
  /**
   * Runs `fn` with the guest still and whole, at its next quiescent point; `stopping` is
   * aborted when the run ends, and whatever holds the guest must then let it go.
   */
  atQuiescentPoint<T>(fn: (stopping: AbortSignal) => T | Promise<T>): Promise<T>;
  /** At a quiescent point: `info registers`, `info guest`, and a whole snapshot. */
  registers(): string;
  guestInfo(): string;
  save(): { sections: Section[]; pages: number };
  devicesInfo(): string;
  /** Moves the guest to another lguest; absent where it cannot (with `cannotMigrate` saying why). */
  migrate?(to: { host: string; port: number }, options: MigrateOptions): Promise<MigrationReport>;
  readonly cannotMigrate?: string;
  /** Ends the run with `status`, saying `reason`. */
  end(status: number, reason: string): void;
}

/** What the monitor shows and drives: the one guest of `lguest run`. */
export class Monitor {
  private run: MonitorTarget | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Set while `stop` holds the guest: letting go of it. */
  private held: { release: () => void } | null = null;
  /** A migration in progress (one at a time). */
  private migrating = false;

  constructor(
    private readonly host: HostSpec,
    private readonly say: (line: string) => void,
  ) {}

  /** The guest to drive, once the session has made its run. */
  attach(target: MonitorTarget): void {
    this.run = target;
  }

  /** Listens on the Unix socket `path` (replacing a stale socket file). */
  async listen(path: string): Promise<void> {
    try {
      unlinkSync(path);
    } catch {
      // nothing there: fine
    }
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new UsageError(`--monitor: cannot listen on '${path}': ${e.code ?? e.message}`)),
      );
      server.listen(path, () => resolve());
    });
    server.on('error', (e) => this.say(`monitor: ${e.message}`));
    this.server = server;
    this.say(`monitor: listening on unix:${path}`);
  }

  /** Stops listening and hangs up (the guest has ended); lets a stopped guest go first. */
  close(): void {
    this.held?.release();
    this.held = null;
    for (const s of this.sockets) s.end();
    this.server?.close();
    this.server = null;
  }

  /** One connection: the prompt, then each line answered in turn. */
  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    socket.write(`lguest monitor: type 'help' for the commands\n${PROMPT}`);
    let pending = '';
    let queue = Promise.resolve();
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        queue = queue.then(async () => {
          const answer = await this.execute(line, (progress) => socket.write(`${progress}\n`));
          if (!socket.destroyed) socket.write(`${answer ? `${answer}\n` : ''}${PROMPT}`);
        });
      }
    });
  }

  /** One command line; resolves to its answer (never rejects: errors are answers). */
  async execute(line: string, progress: (line: string) => void = () => {}): Promise<string> {
    const [cmd, ...args] = line.trim().split(/\s+/);
    try {
      switch (cmd) {
        case '':
          return '';
        case 'help':
        case '?':
          return HELP;
        case 'info':
          return await this.info(args);
        case 'stop':
          return await this.stop();
        case 'cont':
        case 'c':
          return this.cont();
        case 'savevm':
          return await this.savevm(args);
        case 'migrate':
          return await this.migrate(args, progress);
        case 'quit':
        case 'q':
          return this.quit();
        default:
          return `unknown command '${cmd}': type 'help' for the commands`;
      }
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  }

  private guestRun(): MonitorTarget {
    const run = this.run;
    if (!run || run.over) throw new Error('there is no guest running');
    return run;
  }

  /** Runs `fn` with the guest whole: now if stopped, else at its next quiescent point. */
  private withGuestStopped<T>(fn: (run: MonitorTarget) => T | Promise<T>): Promise<T> {
    const run = this.guestRun();
    if (this.held) return Promise.resolve(fn(run));
    return run.atQuiescentPoint(() => fn(run));
  }

  private async info(args: string[]): Promise<string> {
    const what = args[0];
    switch (what) {
      case 'status': {
        const run = this.guestRun();
        const state = this.held ? 'paused' : this.migrating ? 'running (migrating)' : 'running';
        return `VM status: ${state}; ${run.clock()}`;
      }
      case 'registers':
        return this.withGuestStopped((run) => run.registers());
      case 'guest':
        return this.withGuestStopped((run) => run.guestInfo());
      case 'devices':
        return this.guestRun().devicesInfo();
      default:
        return `${what ? `info ${what}: ` : ''}say info status, info registers, info guest or info devices`;
    }
  }

  /** Holds the guest at a quiescent point until cont (or quit, or the end of the session). */
  async stop(): Promise<string> {
    if (this.held) return 'the guest is already stopped';
    const run = this.guestRun();
    await new Promise<void>((stopped, failed) => {
      run
        .atQuiescentPoint(
          (stopping) =>
            new Promise<void>((release) => {
              // Ended meanwhile (a --timeout, Ctrl-C, quit): the guest must be let go to end.
              const letGo = () => {
                this.held = null;
                release();
              };
              this.held = { release: letGo };
              stopping.addEventListener('abort', letGo);
              if (stopping.aborted) letGo();
              stopped();
            }),
        )
        .catch(failed);
    });
    return 'stopped';
  }

  cont(): string {
    if (!this.held) return this.run && !this.run.over ? 'the guest is running' : 'there is no guest running';
    const { release } = this.held;
    this.held = null;
    release();
    return 'running';
  }

  private async savevm(args: string[]): Promise<string> {
    if (args.length !== 1) return 'savevm takes the file to write, e.g. savevm guest.snap';
    const file = args[0];
    const started = performance.now();
    const { sections, pages } = await this.withGuestStopped((run) => run.save());
    const stopMs = performance.now() - started;
    const bytes = encodeSnapshot(sections);
    writeFileSync(file, bytes);
    return (
      `saved ${file}: ${pages} pages of guest memory, ${bytes.length} bytes; ` +
      `${stopMs.toFixed(1)} ms from the command to the guest copied`
    );
  }

  private async migrate(args: string[], progress: (line: string) => void): Promise<string> {
    if (args.length !== 1) return 'migrate takes where to, e.g. migrate tcp:127.0.0.1:4444';
    let to;
    try {
      to = parseTcp(args[0], 'migrate', false);
    } catch (e) {
      return (e as Error).message;
    }
    if (this.migrating) return 'a migration is already under way';
    const run = this.guestRun();
    if (!run.migrate) return `migrate: ${run.cannotMigrate ?? 'this guest cannot be migrated'}`;
    this.migrating = true;
    let report: MigrationReport;
    try {
      report = await run.migrate(to, {
        clock: this.host.clock,
        cpu: this.host.cpu,
        progress,
        stop: () => this.stop(),
        cont: () => this.cont(),
        pages: () => new PageSetWriter(),
      });
    } finally {
      this.migrating = false;
    }
    const summary = describeMigration(report, `tcp:${to.host}:${to.port}`);
    this.say(summary);
    // The other side has the guest: this one ends (stopped, it never runs again).
    run.end(0, `migrated to tcp:${to.host}:${to.port}`);
    this.cont();
    return summary;
  }

  private quit(): string {
    const run = this.guestRun();
    run.end(0, 'quit from the monitor');
    this.cont();
    return 'quitting';
  }
}

/** The migration's summary line, as both the monitor and the log say it. */
export function describeMigration(r: MigrationReport, to: string): string {
  return (
    `migrated to ${to}: ${r.rounds} rounds of pre-copy and one stopped, ${r.pagesSent} pages (${r.bytesSent} bytes) sent; ` +
    `downtime ${r.downtimeMs.toFixed(1)} ms wall, ${r.downtimeVirtualNs} ns of the guest's clock ` +
    `(${r.finalPages} pages sent while it was stopped)`
  );
}

/** A guest under lguest as the monitor drives it. */
export class LguestTarget implements MonitorTarget {
  constructor(
    private readonly run: GuestRun,
    private readonly host: HostSpec,
  ) {}

  get over(): boolean {
    return this.run.over;
  }

  clock(): string {
    return `host clock ${(this.run.host.clock.now() / 1e9).toFixed(6)} s (${this.host.clock})`;
  }

  atQuiescentPoint<T>(fn: (stopping: AbortSignal) => T | Promise<T>): Promise<T> {
    return this.run.launcher.atQuiescentPoint(fn);
  }

  registers(): string {
    return registers(this.run);
  }

  guestInfo(): string {
    return guestInfo(this.run);
  }

  devicesInfo(): string {
    return devicesInfo(this.run);
  }

  save(): { sections: Section[]; pages: number } {
    return saveSections(this.run, this.host.clock, this.host.cpu);
  }

  migrate(to: { host: string; port: number }, options: MigrateOptions): Promise<MigrationReport> {
    return migrateTo(this.run, to, options);
  }

  end(status: number, reason: string): void {
    this.run.stop(status, reason, 'abort');
  }
}

/** `info registers`: the saved frame, as the switcher left it. */
function registers(run: GuestRun): string {
  const guest = run.lgGuest();
  if (!guest) throw new Error('the guest has not started yet');
  const view = run.host.view;
  const reg = (name: keyof typeof LGUEST_REGS.offsetOf) =>
    view.getUint32(guest.regs + LGUEST_REGS.offsetOf[name], true);
  const h = (v: number) => v.toString(16).padStart(8, '0');
  const names = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags'] as const;
  const segs = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;
  return [
    names.map((n) => `${n.toUpperCase()}=${h(reg(n))}`).join(' '),
    segs.map((n) => `${n.toUpperCase()}=${reg(n).toString(16).padStart(4, '0')}`).join(' '),
    `CR3=${h(guest.pgdirs[guest.pgdidx].gpgdir)} lguest_data=${h(guest.lguestData)} ` +
      `trap=${reg('trapnum')} errcode=${h(reg('errcode'))} halted=${guest.halted ? 1 : 0} ` +
      `irqs-pending=${h(guest.irqsPending)}`,
  ].join('\n');
}

/** `info guest`: what it is and what lg counted. */
function guestInfo(run: GuestRun): string {
  const guest = run.lgGuest();
  const s = guest?.stats;
  return [
    `guest ${run.plan.name}: ${run.plan.spec.memMiB} MiB, kernel ${run.plan.kernelPath}` +
      (run.plan.spec.cmdline.length ? `, command line "${run.plan.spec.cmdline.join(' ')}"` : '') +
      `; launcher pid ${run.proc.pid}`,
    s
      ? `lg: guest id ${guest.id}, ${s.switches} switches, ${s.hypercalls} hypercalls + ${s.asyncHypercalls} async, ` +
        `${s.demandFaults} demand faults, ${s.reflectedTraps} reflected traps, ${s.interrupts} interrupts`
      : 'lg: the guest has not started yet',
  ].join('\n');
}

/** `info devices`: one line each, in slot order. */
function devicesInfo(run: GuestRun): string {
  const lines: string[] = [];
  let disk = 0;
  for (const dev of run.launcher.devices) {
    if (dev === run.console.device) {
      const c = run.console.console;
      lines.push(
        `${dev.index}: console, irq ${dev.irq}: ${c.outputBytes} bytes out, ${c.inputBytes} bytes in, ${c.pendingInput} queued`,
      );
      continue;
    }
    const b = run.blocks.find((x) => x.device === dev);
    if (b) {
      const d = run.plan.disks?.[disk];
      const st = b.block?.stats;
      lines.push(
        `${dev.index}: block ${diskName(disk)}, irq ${dev.irq}: ${d?.spec.path ?? '?'} (${d?.format ?? '?'}${d?.spec.readOnly ? ', read-only' : ''})` +
          (st ? `; ${st.reads} reads, ${st.writes} writes, ${st.flushes} flushes, ${st.errors} errors` : ''),
      );
      disk++;
      continue;
    }
    lines.push(`${dev.index}: type ${dev.spec.type}, irq ${dev.irq}`);
  }
  return lines.join('\n');
}
