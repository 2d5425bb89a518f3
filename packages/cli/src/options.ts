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
import { DEFAULT_CORE, cores } from '@lguest/x86-cores';

/** Bad input from the user: printed without a stack trace, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ClockMode = 'host' | 'virtual';

/** A device option, in the order given. */
export interface DeviceOption {
  readonly kind: 'block' | 'sharenet' | 'tunnet';
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

export type Command =
  | { readonly kind: 'run'; readonly host: HostSpec; readonly guest: GuestSpec; readonly native?: boolean }
  | { readonly kind: 'run-many'; readonly host: HostSpec; readonly guests: readonly GuestSpec[] }
  | { readonly kind: 'help' };

/** Default guest memory when `lguest run` is given no MEM at all. */
export const DEFAULT_MEM_MIB = 32;
/** Guest memory the launcher accepts (its page tables and boot page need 2 MiB; 2560 fits below it). */
export const MIN_MEM_MIB = 2;
export const MAX_MEM_MIB = 2560;
/** Guests lg can hold at once (its slot table). */
export const MAX_GUESTS = 16;
/** The emulated host's RAM is capped by the reference core (physical addresses in Int32 slots). */
export const MAX_HOST_MIB = 2048;
/** What the host keeps for itself beyond guest RAM: its tables, shadow pages, the switcher. */
export const HOST_RESERVE_MIB = 16;

export const USAGE = `usage:
  lguest run [options] [MEM [KERNEL [kernel args…]]]
  lguest run --native [host options] [--initrd=FILE] [MEM [KERNEL [kernel args…]]]
  lguest run-many [host options] --guest "[guest options] MEM [KERNEL [kernel args…]]" …
  lguest help

run boots one guest in a fresh emulated host and serves its console until it ends.
  MEM                 guest memory in MiB, ${MIN_MEM_MIB} to ${MAX_MEM_MIB}, e.g. 32 or 64m (default ${DEFAULT_MEM_MIB})
  KERNEL              an lguest guest image: ELF vmlinux or bzImage with the GenuineLguest
                      signature (default: the bundled guest, packages/guest/build/guest.elf)
  kernel args…        the guest's command line (after -- if they start with '-')

guest options (run, or inside a --guest spec):
  --initrd=FILE       load FILE as the initial RAM disk, at the top of guest memory
                      (--native: as multiboot module 1, just past the kernel)
  --block=FILE        a disk backed by FILE                       (not yet supported)
  --sharenet=FILE     a network shared with other guests via FILE (not yet supported)
  --tunnet=IP|bridge:BR  a network to a host tap device           (not yet supported)

run only:
  --native            boot KERNEL on the emulated PC instead (multiboot, ring 0, the
                      native paravirt_ops): its COM1 UART is the console; the PC's clock
                      is virtual (--clock=host holds it to wall time, so an idle guest
                      sleeps), and --timeout counts the PC's clock

host options:
  -v, --verbose       the launchers' steps, lg's counters for each guest, and
                      "instructions: N" (retired by the CPU) at exit, on stderr
  --clock=host|virtual  wall time (default), or virtual time: 1 instruction = 1 ns,
                      and the same run, instruction for instruction, every time
  --cpu=NAME          the CPU core: ${cores.map((c) => c.name).join(', ')}
  --memory-host=MIB   the emulated host's RAM (default: the guests' MEM + ${HOST_RESERVE_MIB}, at least 64)
  --timeout=SECONDS   stop guests still running after SECONDS of host clock time
  -h, --help          this text

run-many starts each --guest (or -g) in the same host, sharing its one CPU; each console
line is prefixed with the guest's name ([guest], [guest#2], …). It ends when all have ended.

The guest's console is your terminal, in raw mode while the guest runs: keys go to the
guest as typed. The bundled guest lands at a shell: type poweroff to turn it off (exit
status 0), or Ctrl-C three times (within a second) to end any guest (exit status 2).

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

/** `run` alone: boot on the emulated PC instead of under lguest. */
const RUN_OPTIONS = {
  native: { type: 'boolean' },
} as const;

const GUEST_OPTIONS = {
  initrd: { type: 'string' },
  block: { type: 'string', multiple: true },
  sharenet: { type: 'string', multiple: true },
  tunnet: { type: 'string', multiple: true },
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
    default:
      throw new UsageError(
        /^\d/.test(verb)
          ? `'${verb}' looks like MEM, but a command comes first: try 'lguest run ${argv.join(' ')}'`
          : `unknown command '${verb}': the commands are run, run-many and help`,
      );
  }
}

function parseRun(args: readonly string[]): Command {
  const { values, tokens, positionals } = parse(args, { ...HOST_OPTIONS, ...GUEST_OPTIONS, ...RUN_OPTIONS }, true);
  if (values.help) return { kind: 'help' };
  const guest = guestSpec(positionals, tokens, values.initrd);
  if (!values.native) return { kind: 'run', host: hostSpec(values), guest };
  if (guest.devices.length > 0) {
    throw new UsageError(
      '--native boots the kernel on the emulated PC, which has a serial port and nothing else: ' +
        'leave out the device options',
    );
  }
  return { kind: 'run', host: hostSpec(values), guest, native: true };
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

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
interface Parsed {
  values: {
    verbose?: boolean;
    help?: boolean;
    native?: boolean;
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
  const cpu = values.cpu ?? DEFAULT_CORE;
  if (!cores.some((c) => c.name === cpu)) {
    throw new UsageError(`unknown CPU core '${cpu}': the cores are ${cores.map((c) => c.name).join(', ')}`);
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
  const memMiB = memArg === undefined ? DEFAULT_MEM_MIB : parseMiB(memArg, 'MEM');
  if (memMiB < MIN_MEM_MIB || memMiB > MAX_MEM_MIB) {
    throw new UsageError(
      `MEM must be from ${MIN_MEM_MIB} to ${MAX_MEM_MIB} MiB (the launcher's limits), not ${memMiB}`,
    );
  }
  const devices: DeviceOption[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'block' || t.name === 'sharenet' || t.name === 'tunnet')
      devices.push({ kind: t.name, arg: t.value });
  }
  return { memMiB, kernel: kernel ?? null, cmdline, initrd: initrd ?? null, devices };
}

/** A size in MiB: digits with an optional m/M (the original's atoi("64m") is 64). */
export function parseMiB(text: string, what: string): number {
  const m = /^(\d+)[mM]?$/.exec(text);
  if (!m) throw new UsageError(`${what} must be a size in MiB such as 32 or 64m, not '${text}'`);
  const n = Number(m[1]);
  if (n < 1) throw new UsageError(`${what} must be at least 1 MiB`);
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
        `of which it keeps ${HOST_RESERVE_MIB} MiB; give at most ${MAX_HOST_MIB - HOST_RESERVE_MIB} MiB in all`,
    );
  }
  return Math.max(need, 64);
}
