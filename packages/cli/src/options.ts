// The command line. `lguest run` follows the original 2.6.23 launcher:
//
//   lguest [--verbose|-v] [--sharenet=FILE | --tunnet=… | --block=FILE | --initrd=FILE]…
//          MEM-IN-MB vmlinux|bzImage [kernel args…]
//
// with options allowed anywhere (getopt_long permutes; `--` ends them), device options kept
// in command-line order (that order is the device page's slot order), and MEM read like
// atoi() of "64m". On top of that come the host's own knobs (--clock, --cpu, --memory-host,
// --timeout) and `run-many`, which starts several guests in one host (architecture §8).
//
// Parsing never touches the file system and never throws anything but UsageError, whose
// message says what was wrong and what to do; main() prints it with the usage and exits 2.

import { parseArgs } from 'node:util';
import { GdbAddressError, parseGdbAddress, type GdbAddress } from '@lguest/gdbstub';
import { checkTunnet, NetOptionError, parseUserNet, sharenetHostPath } from '@lguest/net';
import { MAX_HOST_MEMORY_MIB } from '@lguest/host';
import { MAX_GUEST_MEMORY_MIB, MIN_GUEST_MEMORY_MIB } from '@lguest/launcher';
import { CORE_VARIABLE, DEFAULT_CORE, cores, defaultCoreName } from '@lguest/x86-cores';

/** Bad input from the user: printed without a stack trace, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ClockMode = 'host' | 'virtual';

/** A device option, in the order given. */
export interface DeviceOption {
  readonly kind: 'block' | 'sharenet' | 'tunnet' | 'net';
  readonly arg: string;
}

/** One guest: its memory, image and command line, and its devices. */
export interface GuestSpec {
  readonly memMiB: number;
  /** The kernel image path as given, or null for the bundled default guest. */
  readonly kernel: string | null;
  /** Kernel arguments, joined with spaces into the command line. */
  readonly cmdline: readonly string[];
  readonly initrd: string | null;
  readonly devices: readonly DeviceOption[];
}

/** The host every guest of one command shares. */
export interface HostSpec {
  readonly verbose: boolean;
  readonly clock: ClockMode;
  readonly cpu: string;
  /** Emulated host RAM in MiB, or null to size it from the guests. */
  readonly memoryHostMiB: number | null;
  /** Kill guests still running after this many seconds of host clock time (null: never). */
  readonly timeoutS: number | null;
}

/** --gdb=ADDR and -S: where gdb attaches and whether the guest waits for it. */
export interface GdbSpec {
  readonly address: GdbAddress;
  readonly wait: boolean;
}

export type Command =
  | {
      readonly kind: 'run';
      readonly host: HostSpec;
      readonly guest: GuestSpec;
      readonly native?: boolean;
      /** --gdb (and -S): the guest under a debugger. */
      readonly gdb?: GdbSpec;
      /** --monitor, --restore, --incoming: the monitor and where a saved guest comes from. */
      readonly machine?: MachineOptions;
    }
  | { readonly kind: 'run-many'; readonly host: HostSpec; readonly guests: readonly GuestSpec[] }
  | { readonly kind: 'disk'; readonly args: readonly string[] }
  | { readonly kind: 'initramfs'; readonly dir: string; readonly out: string }
  | {
      readonly kind: 'web';
      readonly host: HostSpec;
      readonly guests: readonly GuestSpec[];
      /** Several guests (given as run-many's --guest), one panel each. */
      readonly many: boolean;
      /** The page's port on 127.0.0.1; 0 picks a free one. */
      readonly port: number;
    }
  | { readonly kind: 'help' };

/** `run`'s monitor and snapshot options (--native: no --incoming). */
export interface MachineOptions {
  /**
   * --monitor=unix:PATH: the monitor on that socket; --monitor=stdio: on the terminal with
   * the console, Ctrl-A c switching between them (monitor-mux.ts).
   */
  readonly monitor: { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'stdio' } | null;
  /** --restore=FILE: continue the guest saved in FILE. */
  readonly restore: string | null;
  /** --incoming=tcp:[HOST]:PORT: wait for a live migration there, then continue that guest. */
  readonly incoming: { readonly host: string; readonly port: number } | null;
}

/** `lguest web`'s port when none is given. */
export const DEFAULT_WEB_PORT = 8086;

/** Default guest memory when `lguest run` is given no MEM at all. */
export const DEFAULT_MEM_MIB = 32;
/** Guests lg can hold at once (its slot table). */
export const MAX_GUESTS = 16;
/** The emulated host's RAM: the host's own limit (the CPU core's physical addresses). */
export const MAX_HOST_MIB = MAX_HOST_MEMORY_MIB;
/** What the host keeps for itself beyond guest RAM: its tables, shadow pages, the switcher. */
export const HOST_RESERVE_MIB = 16;
/**
 * MEM, the one range said in the help and in every error: what the launcher accepts, and no
 * more than one guest can have in the biggest host (the host keeps HOST_RESERVE_MIB).
 */
export const MIN_MEM_MIB = MIN_GUEST_MEMORY_MIB;
export const MAX_MEM_MIB = Math.min(MAX_GUEST_MEMORY_MIB, MAX_HOST_MIB - HOST_RESERVE_MIB);
/** The sentence every MEM error ends with. */
const MEM_RANGE = `MEM is guest memory in MiB, from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}`;

export const USAGE = `usage:
  lguest run [options] [MEM [KERNEL [kernel args…]]]
  lguest run --native [host options] [--initrd=FILE] [MEM [KERNEL [kernel args…]]]
  lguest run-many [host options] --guest "[guest options] MEM [KERNEL [kernel args…]]" …
  lguest disk create|commit|info …   (lguest disk help: making disk files)
  lguest initramfs DIR OUT.cpio.gz
  lguest web [--port=N] [run options…] | [--port=N] [host options] --guest "…" …
  lguest help

run boots one guest in a fresh emulated host and serves its console until it ends.
  MEM                 guest memory in MiB, ${MIN_MEM_MIB} to ${MAX_MEM_MIB}, e.g. 32 or 64m (default ${DEFAULT_MEM_MIB})
  KERNEL              an lguest guest image: ELF vmlinux or bzImage with the GenuineLguest
                      signature (default: the bundled guest, packages/guest/build/guest.elf)
  kernel args…        the guest's command line (after -- if they start with '-')

guest options (run, or inside a --guest spec):
  --initrd=FILE       load FILE as the initial RAM disk, at the top of guest memory
                      (--native: as multiboot module 1, just past the kernel; for
                      a bzImage, at the top of memory as its boot protocol has it)
  --block=FILE[,ro]   a disk backed by FILE (raw, or a qcow2 overlay): the first is
                      /dev/lgba, then lgbb, …; ,ro makes guest writes fail (I/O error)
                      (--native: raw files only, the ATA master and slave, hda and hdb)
  --sharenet=FILE     a network shared with the other guests of this host naming FILE
  --net=user[,hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT]…
                      a network to the host without privileges: the guest is 10.0.2.15
                      (ip=dhcp), 10.0.2.2 is the host's loopback; each hostfwd forwards
                      a host port (on 127.0.0.1 unless ADDR is given) to a guest port
  --tunnet=IP|bridge:BR  a network to a new TAP device of this machine, its side given
                      address IP (or added to bridge BR); needs CAP_NET_ADMIN

run only:
  --gdb=tcp:[HOST]:PORT  serve the GDB remote protocol for the guest there (tcp::1234;
                      port 0 picks a free one, printed on stderr): gdb's target remote
                      gets its registers, its memory through its own page tables,
                      breakpoints, single steps, Ctrl-C
  -S, --gdb-wait      with --gdb: stop before the guest's first instruction until gdb
                      continues it
  --monitor=unix:PATH a monitor on the socket PATH: info status|registers|guest|devices,
                      stop, cont, savevm FILE, migrate tcp:HOST:PORT, quit (try help)
  --monitor=stdio     the monitor on the terminal with the console, as QEMU's mon:stdio:
                      Ctrl-A c switches between them, Ctrl-A x ends the guest, Ctrl-A h
                      lists the keys, Ctrl-A Ctrl-A sends a Ctrl-A to the guest
  --restore=FILE      continue the guest saved in FILE (by the monitor's savevm) in this
                      fresh host; its memory, devices and disks come from the snapshot
                      (a guest saved with --native continues on the PC)
  --incoming=tcp:[HOST]:PORT
                      wait there for a guest migrated live by another lguest's monitor
                      (migrate tcp:HOST:PORT), then continue it here
  --native            boot KERNEL on the emulated PC instead (a multiboot ELF, or a
                      bzImage through the Linux boot protocol; ring 0, the native
                      paravirt_ops): its COM1 UART is the console (console=ttyS0 for
                      Linux, which, built without math emulation, also needs a CPU core
                      with an x87 FPU); the PC's clock is virtual (--clock=host holds
                      it to wall time, so an idle guest sleeps), and --timeout counts
                      the PC's clock; --monitor and --restore work here too (not
                      migrate or --incoming: only guests under lguest migrate)

host options:
  -v, --verbose       the launchers' steps, lg's counters for each guest, and
                      "instructions: N" (retired by the CPU) at exit, on stderr
  --clock=host|virtual  wall time (default), or virtual time: 1 instruction = 1 ns,
                      and the same run, instruction for instruction, every time
  --cpu=NAME          the CPU core: ${cores.map((c) => c.name).join(', ')} (default:
                      $LGUEST_CPU if set, else ${DEFAULT_CORE})
  --memory-host=MIB   the emulated host's RAM (default: the guests' MEM + ${HOST_RESERVE_MIB}, at least 64)
  --timeout=SECONDS   stop guests still running after SECONDS of host clock time
  -h, --help          this text

run-many starts each --guest (or -g) in the same host, sharing its one CPU; each console
line is prefixed with the guest's name ([guest], [guest#2], …). It ends when all have ended.

initramfs packs the directory DIR as a "newc" cpio archive for --initrd: DIR becomes the
guest's /, and Linux runs its /init (a #!/bin/sh script will do). OUT is gzip'd, unless its
name ends in .cpio (the bundled guest reads only uncompressed archives). Files are owned by
root in the archive, keeping their permissions.
web runs the guest (or, given --guest, several as run-many) and serves a page at
http://127.0.0.1:PORT/ (default port ${DEFAULT_WEB_PORT}; --port=0 picks a free one): each guest's console,
its trips through the switcher, and the host's, the guest's and lg's shadow address
spaces, live. Closing the page leaves the guests running; lguest web ends with them.

The guest's console is your terminal, in raw mode while the guest runs: keys go to the
guest as typed. The bundled guest lands at a shell: type poweroff to turn it off (exit
status 0), or Ctrl-C three times (within a second of real time, whatever --clock says)
to end any guest (exit status 2).

Exit status: 0 when the guest powers off (run-many: every guest); 1 when a guest died —
killed by the host or by its own panic — with the reason on stderr (--native: a triple fault or a halt for good); 124 when --timeout stopped
it; 2 after three Ctrl-C, and for bad input; 130 on SIGINT (Ctrl-C when stdin is not a
terminal, or run-many, whose guests get no input).`;

const HOST_OPTIONS = {
  verbose: { type: 'boolean', short: 'v' },
  clock: { type: 'string' },
  cpu: { type: 'string' },
  'memory-host': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `run` alone: boot on the emulated PC instead of under lguest; gdb; the monitor, snapshots. */
const RUN_OPTIONS = {
  native: { type: 'boolean' },
  gdb: { type: 'string' },
  'gdb-wait': { type: 'boolean', short: 'S' },
  monitor: { type: 'string' },
  restore: { type: 'string' },
  incoming: { type: 'string' },
} as const;

const GUEST_OPTIONS = {
  initrd: { type: 'string' },
  block: { type: 'string', multiple: true },
  sharenet: { type: 'string', multiple: true },
  tunnet: { type: 'string', multiple: true },
  net: { type: 'string', multiple: true },
} as const;

/** Parses argv (without node and the script). Throws UsageError. */
export function parseCommand(argv: readonly string[]): Command {
  const [verb, ...rest] = argv;
  switch (verb) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return { kind: 'help' };
    case 'run':
      return parseRun(rest);
    case 'run-many':
      return parseRunMany(rest);
    case 'disk':
      return { kind: 'disk', args: rest };
    case 'initramfs':
      return parseInitramfs(rest);
    case 'web':
      return parseWeb(rest);
    default:
      throw new UsageError(
        /^\d/.test(verb)
          ? `'${verb}' looks like MEM, but a command comes first: try 'lguest run ${argv.join(' ')}'`
          : `unknown command '${verb}': the commands are run, run-many, web, disk, initramfs and help`,
      );
  }
}

function parseRun(args: readonly string[]): Command {
  const { values, tokens, positionals } = parse(args, { ...HOST_OPTIONS, ...GUEST_OPTIONS, ...RUN_OPTIONS }, true);
  if (values.help) return { kind: 'help' };
  const guest = guestSpec(positionals, tokens, values.initrd);
  const gdb = gdbSpec(values);
  const machine = machineOptions(values, positionals, guest);
  if (!values.native) {
    return { kind: 'run', host: hostSpec(values), guest, ...(gdb ? { gdb } : {}), ...(machine ? { machine } : {}) };
  }
  if (machine?.incoming) {
    throw new UsageError(
      '--incoming waits for a guest migrated from another lguest, and only guests under lguest migrate: leave out --native',
    );
  }
  const network = guest.devices.find((d) => d.kind !== 'block');
  if (network) {
    throw new UsageError(
      `--native boots the kernel on the emulated PC, whose devices are a serial port and an ATA disk ` +
        `channel: --${network.kind} has no place there; leave it out`,
    );
  }
  return {
    kind: 'run',
    host: hostSpec(values),
    guest,
    native: true,
    ...(gdb ? { gdb } : {}),
    ...(machine ? { machine } : {}),
  };
}

/** --gdb=ADDR and -S/--gdb-wait (which needs --gdb). */
function gdbSpec(values: Parsed['values']): { address: GdbAddress; wait: boolean } | null {
  const wait = values['gdb-wait'] ?? false;
  if (values.gdb === undefined) {
    if (wait) throw new UsageError('-S (--gdb-wait) waits for a debugger: give --gdb too, e.g. --gdb=tcp::1234 -S');
    return null;
  }
  try {
    return { address: parseGdbAddress(values.gdb), wait };
  } catch (e) {
    if (e instanceof GdbAddressError) throw new UsageError(e.message);
    throw e;
  }
}

/** --monitor, --restore and --incoming, checked; null if none was given. */
function machineOptions(
  values: Parsed['values'],
  positionals: readonly string[],
  guest: GuestSpec,
): MachineOptions | null {
  const { monitor, restore, incoming } = values;
  if (monitor === undefined && restore === undefined && incoming === undefined) return null;
  if (monitor !== undefined && monitor !== 'stdio' && !/^unix:./.test(monitor)) {
    throw new UsageError(
      `--monitor takes unix:PATH (a socket to create, e.g. --monitor=unix:lguest.sock) or stdio ` +
        `(on the terminal with the console: Ctrl-A c switches), not '${monitor}'`,
    );
  }
  if (restore !== undefined && incoming !== undefined) {
    throw new UsageError('--restore and --incoming both say where the guest comes from: give one');
  }
  if (restore === '') throw new UsageError('--restore needs the snapshot file, e.g. --restore=guest.snap');
  if (
    (restore !== undefined || incoming !== undefined) &&
    (positionals.length > 0 || guest.devices.length > 0 || guest.initrd)
  ) {
    throw new UsageError(
      `a ${restore !== undefined ? 'restored' : 'migrated'} guest brings its memory, kernel, command line and disks with it: ` +
        'give no MEM, KERNEL, --initrd or devices',
    );
  }
  return {
    monitor:
      monitor === undefined
        ? null
        : monitor === 'stdio'
          ? { kind: 'stdio' }
          : { kind: 'unix', path: monitor.slice('unix:'.length) },
    restore: restore ?? null,
    incoming: incoming === undefined ? null : parseTcp(incoming, '--incoming', true),
  };
}

/**
 * tcp:[HOST]:PORT. `listen`: the host may be left out (all of this machine's addresses
 * would be a surprise, so it means 127.0.0.1). Throws UsageError naming `what`.
 */
export function parseTcp(text: string, what: string, listen: boolean): { host: string; port: number } {
  const m = /^tcp:(\[[^\]]+\]|[^:]*):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535 || (!listen && (port === 0 || m[1] === ''))) {
    throw new UsageError(
      `${what} takes tcp:${listen ? '[HOST]' : 'HOST'}:PORT, e.g. ${what}${listen ? '=' : ' '}tcp:127.0.0.1:4444, not '${text}'`,
    );
  }
  const host = m[1] === '' ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

function parseInitramfs(args: readonly string[]): Command {
  const { values, positionals } = parse(args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) return { kind: 'help' };
  if (positionals.length !== 2) {
    throw new UsageError(
      `initramfs takes a directory and the archive to write, e.g. lguest initramfs rootfs initramfs.cpio.gz` +
        (positionals.length > 2 ? ` (got ${positionals.length} arguments)` : ''),
    );
  }
  const [dir, out] = positionals;
  return { kind: 'initramfs', dir, out };
}

function parseRunMany(args: readonly string[]): Command {
  // --guest values are whole command lines that may start with '-', which parseArgs would
  // take for options: pick them out first.
  const specs: string[] = [];
  const hostArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--guest' || a === '-g') {
      if (i + 1 >= args.length) throw new UsageError('option --guest needs a value, e.g. --guest "32 guest.elf"');
      specs.push(args[++i]);
    } else if (a.startsWith('--guest=')) {
      specs.push(a.slice('--guest='.length));
    } else {
      hostArgs.push(a);
    }
  }
  const { values, positionals } = parse(hostArgs, HOST_OPTIONS, true);
  if (values.help) return { kind: 'help' };
  if (positionals.length > 0) {
    throw new UsageError(
      `run-many takes each guest as --guest "MEM KERNEL …", not '${positionals[0]}': ` +
        `quote each guest, e.g. lguest run-many --guest "32 a.elf" --guest "32 b.elf"`,
    );
  }
  if (specs.length === 0) throw new UsageError('run-many needs at least one --guest "MEM KERNEL [args…]"');
  if (specs.length > MAX_GUESTS)
    throw new UsageError(`one host runs at most ${MAX_GUESTS} guests, not ${specs.length}`);
  const guests = specs.map((spec, i) => {
    try {
      const words = splitSpec(spec);
      const g = parse(words, GUEST_OPTIONS, true);
      return guestSpec(g.positionals, g.tokens, g.values.initrd);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`--guest #${i + 1} "${spec}": ${e.message}`);
      throw e;
    }
  });
  return { kind: 'run-many', host: hostSpec(values), guests };
}

/** `web`: --port, then the rest as `run-many` when a --guest is given, else as `run`. */
function parseWeb(args: readonly string[]): Command {
  let port = DEFAULT_WEB_PORT;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    let value: string | undefined;
    if (a === '--port') {
      if (i + 1 >= args.length)
        throw new UsageError('option --port needs a value, e.g. --port=8086 (0: any free port)');
      value = args[++i];
    } else if (a.startsWith('--port=')) value = a.slice('--port='.length);
    else {
      rest.push(a);
      continue;
    }
    port = Number(value);
    if (!/^\d+$/.test(value) || port > 65535) {
      throw new UsageError(`--port takes a TCP port from 0 to 65535 (0: any free port), not '${value}'`);
    }
  }
  const many = rest.some((a) => a === '--guest' || a === '-g' || a.startsWith('--guest='));
  const inner = many ? parseRunMany(rest) : parseRun(rest);
  if (inner.kind !== 'run' && inner.kind !== 'run-many') return inner;
  if (inner.kind === 'run' && inner.gdb) {
    throw new UsageError('--gdb is for lguest run: web shows the guest running, so leave it out');
  }
  if (inner.kind === 'run' && inner.native) {
    throw new UsageError('web shows lguest at work, so it runs guests under lguest: leave out --native');
  }
  const guests = inner.kind === 'run' ? [inner.guest] : inner.guests;
  return { kind: 'web', host: inner.host, guests, many, port };
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
interface Parsed {
  values: {
    verbose?: boolean;
    help?: boolean;
    native?: boolean;
    gdb?: string;
    'gdb-wait'?: boolean;
    monitor?: string;
    restore?: string;
    incoming?: string;
    clock?: string;
    cpu?: string;
    'memory-host'?: string;
    timeout?: string;
    initrd?: string;
  };
  positionals: string[];
  tokens: { kind: string; name?: string; value?: string }[];
}

/** util.parseArgs, with its errors turned into UsageErrors that say how to fix them. */
function parse(args: readonly string[], options: OptionSpec, allowPositionals: boolean): Parsed {
  try {
    const r = parseArgs({ args: [...args], options, allowPositionals, strict: true, tokens: true });
    const values = r.values as ParsedValues;
    return { values: values as Parsed['values'], positionals: r.positionals, tokens: r.tokens };
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'([^']*)'/.exec(err.message);
    const opt = m?.[1] ?? '';
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(
          `unknown option '${opt}' (see 'lguest help'; kernel arguments that start with '-' go after '--')`,
        );
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw new UsageError(
          `option ${opt.replace(/ <value>$/, '')} needs a value, e.g. ${opt.replace(/ <value>$/, '')}=VALUE`,
        );
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`unexpected argument '${opt}'`);
      default:
        throw new UsageError(err.message);
    }
  }
}

function hostSpec(values: Parsed['values']): HostSpec {
  const clock = values.clock ?? 'host';
  if (clock !== 'host' && clock !== 'virtual') {
    throw new UsageError(`--clock must be 'host' (wall time) or 'virtual' (deterministic), not '${clock}'`);
  }
  const cpu = values.cpu ?? defaultCoreName();
  if (!cores.some((c) => c.name === cpu)) {
    const from = values.cpu === undefined ? ` (from ${CORE_VARIABLE})` : '';
    throw new UsageError(`unknown CPU core '${cpu}'${from}: the cores are ${cores.map((c) => c.name).join(', ')}`);
  }
  let memoryHostMiB: number | null = null;
  if (values['memory-host'] !== undefined) {
    memoryHostMiB = parseMiB(values['memory-host'], '--memory-host');
    if (memoryHostMiB > MAX_HOST_MIB) {
      throw new UsageError(
        `--memory-host ${memoryHostMiB} is more than the emulated host can have (${MAX_HOST_MIB} MiB)`,
      );
    }
  }
  let timeoutS: number | null = null;
  if (values.timeout !== undefined) {
    timeoutS = Number(values.timeout);
    if (!/^\d+(\.\d+)?$/.test(values.timeout) || !(timeoutS > 0)) {
      throw new UsageError(`--timeout takes a positive number of seconds, e.g. --timeout=10, not '${values.timeout}'`);
    }
  }
  return { verbose: values.verbose ?? false, clock, cpu, memoryHostMiB, timeoutS };
}

function guestSpec(positionals: readonly string[], tokens: Parsed['tokens'], initrd: string | undefined): GuestSpec {
  const [memArg, kernel, ...cmdline] = positionals;
  const memMiB = memArg === undefined ? DEFAULT_MEM_MIB : parseMiB(memArg, 'MEM', MEM_RANGE);
  if (memMiB < MIN_MEM_MIB || memMiB > MAX_MEM_MIB) {
    throw new UsageError(`MEM ${memArg}: ${MEM_RANGE}`);
  }
  const devices: DeviceOption[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'net') checkUserNet(t.value);
    if (t.name === 'sharenet') {
      try {
        sharenetHostPath(t.value);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}: give the name of the network, e.g. --sharenet=lan`);
      }
    }
    if (t.name === 'tunnet') {
      const problem = checkTunnet(t.value);
      if (problem) throw new UsageError(problem);
    }
    if (t.name === 'block' || t.name === 'sharenet' || t.name === 'tunnet' || t.name === 'net')
      devices.push({ kind: t.name, arg: t.value });
  }
  return { memMiB, kernel: kernel ?? null, cmdline, initrd: initrd ?? null, devices };
}

/** A --net value must parse here, so a mistake is a usage error (exit 2), not a dead launcher. */
function checkUserNet(value: string): void {
  try {
    parseUserNet(value);
  } catch (e) {
    if (e instanceof NetOptionError) throw new UsageError(e.message);
    throw e;
  }
}

/** A size in MiB: digits with an optional m/M (the original's atoi("64m") is 64). `range`
 * (the caller's limits, in words) goes into the error for what is not a size or is 0. */
export function parseMiB(text: string, what: string, range = `${what} must be at least 1 MiB`): number {
  const m = /^(\d+)[mM]?$/.exec(text);
  if (!m) throw new UsageError(`${what} must be a size in MiB such as 32 or 64m, not '${text}'`);
  const n = Number(m[1]);
  if (n < 1) throw new UsageError(`${what} ${text}: ${range}`);
  return n;
}

/** Splits a --guest spec into words: whitespace separates, '…' and "…" group. */
export function splitSpec(spec: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (const ch of spec) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} quote`);
  if (word !== null) words.push(word);
  if (words.length === 0) throw new UsageError('an empty guest: give at least MEM');
  return words;
}

/** Host RAM for a set of guests: as asked, or enough for them all plus the host's own share. */
export function hostMemoryMiB(host: HostSpec, guests: readonly GuestSpec[]): number {
  const need = guests.reduce((sum, g) => sum + g.memMiB, 0) + HOST_RESERVE_MIB;
  if (host.memoryHostMiB !== null) {
    if (need > host.memoryHostMiB) {
      throw new UsageError(
        `the guests need ${need} MiB of host RAM (their MEM plus ${HOST_RESERVE_MIB} MiB for the host), ` +
          `but --memory-host is ${host.memoryHostMiB}: give less MEM or a bigger --memory-host`,
      );
    }
    return host.memoryHostMiB;
  }
  if (need > MAX_HOST_MIB) {
    const mem = guests.map((g) => g.memMiB).join(' + ');
    throw new UsageError(
      `MEM ${mem} MiB is too big for this host: the emulated host has at most ${MAX_HOST_MIB} MiB, ` +
        `of which it keeps ${HOST_RESERVE_MIB} MiB; give at most ${MAX_MEM_MIB} MiB in all`,
    );
  }
  return Math.max(need, 64);
}
