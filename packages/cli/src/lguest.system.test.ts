// Whole-system tests: the lguest command boots real guest images — the C kernel of
// packages/guest, in ring 1 on the emulated i386, through the lg module's switcher and a
// launcher process — and we read what a user would read: the console, the messages on
// stderr and the exit status. Most run the command in-process (lguest() with captured
// streams); one runs the built executable the way a user does.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { lguest, type LguestIo } from './lguest';
import { MAX_MEM_MIB } from './options';
import { runSession } from './session';
import { HANG_GUARD_MS } from '../testing/pty';
import { defaultCoreName } from '@lguest/x86-cores';

const GUEST_BUILD = join(dirname(require.resolve('@lguest/guest/package.json')), 'build');
const CLI_DIR = join(__dirname, '..');
const image = (name: string) => join(GUEST_BUILD, `${name}.elf`);
const GUEST = image('guest');

beforeAll(() => {
  if (!existsSync(image('attack-irqs-off-loop'))) {
    throw new Error(`the guest images are not built (${GUEST_BUILD}): run 'npm run build' at the repository root`);
  }
});

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `lguest ARGV` in-process with captured streams. */
async function run(argv: string[], extra: Partial<LguestIo> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd: CLI_DIR,
    defaultKernel: GUEST,
    ...extra,
  });
  return { status, stdout, stderr };
}

/** The lines of run-many's console output that came from guest `name`, without the prefix. */
function consoleOf(out: string, name: string): string {
  const prefix = `[${name}] `;
  return out
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length))
    .join('\n');
}

/** What every well-behaved boot of the guest prints, in order. */
function expectGoodBoot(console: string, memMiB: number): void {
  const story = [
    `Booting the lguest.ts guest kernel on lguest (paravirt_ops "lguest"), ring 1`,
    `memory: ${memMiB} MiB (boot_params e820: 1 entry)`,
    'console: lguest console (device 0), input buffer of 256 bytes bound on IRQ 1',
    'timer: lguest clock event device, one-shot, HZ=100',
    'timer: tick 1',
    'timer: tick 5',
    'page faults: 16 pages faulted in at 0xe0000000, pattern ok',
    'hello from ring 3',
    'user: program exited with status 3 after 2 system calls',
    'powering off',
  ];
  let at = 0;
  for (const line of story) {
    const i = console.indexOf(line, at);
    expect({ line, found: i >= 0 }).toEqual({ line, found: true });
    at = i + line.length;
  }
}

describe('lguest run', () => {
  it('boots the guest: banner in ring 1 with its memory, ticks, ring 3, exit 0 at power-off', async () => {
    const r = await run(['run', '32', GUEST, 'selftest']);
    expectGoodBoot(r.stdout, 32);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('boots the bundled guest to its shell when no KERNEL is given, with the memory asked for', async () => {
    const stdin = new PassThrough();
    stdin.write('poweroff\n');
    const r = await run(['run', '--clock=virtual', '48m'], { stdin });
    expect(r.stdout).toContain('ring 1\nmemory: 48 MiB');
    expect(r.stdout).toContain('init: starting /bin/sh');
    expect(r.stdout).toContain('powering off');
    expect(r.status).toBe(0);
  });

  it('passes the kernel arguments on the command line', async () => {
    const r = await run(['run', '--clock=virtual', '32', GUEST, 'root=/dev/lgba', 'selftest', '--', '--quiet']);
    expect(r.stdout).toContain('command line: root=/dev/lgba selftest --quiet \n');
    expect(r.status).toBe(0);
  });

  it("reports the guest's own panic as its death, exit 1", async () => {
    const r = await run(['run', '--clock=virtual', '32', image('panic')]);
    expect(r.stdout).toContain('Kernel panic: the panic variant panics on purpose after 5 ticks\n');
    expect(r.stderr).toBe('lguest: guest died: CRASH: the panic variant panics on purpose after 5 ticks\n');
    expect(r.status).toBe(1);
  });

  it('loads an initrd at the top of guest memory and still boots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-initrd-'));
    writeFileSync(join(dir, 'initrd.img'), Buffer.alloc(10_000, 0xa5));
    const r = await run(['run', '--clock=virtual', `--initrd=${join(dir, 'initrd.img')}`, '32', GUEST, 'selftest']);
    expectGoodBoot(r.stdout, 32);
    expect(r.status).toBe(0);
  });

  it('gives the same run twice on the virtual clock, instruction for instruction', async () => {
    const counts = [];
    for (let i = 0; i < 2; i++) {
      const r = await run(['run', '-v', '--clock=virtual', '32', GUEST, 'selftest']);
      expect(r.status).toBe(0);
      const m = /^lguest: instructions: (\d+)$/m.exec(r.stderr);
      expect(m).not.toBeNull();
      counts.push(Number(m?.[1]));
    }
    expect(counts[0]).toBeGreaterThan(500_000);
    expect(counts[1]).toBe(counts[0]);
  });

  it('delivers console input into the buffer the guest bound, and raises its IRQ', async () => {
    const input = 'echo hello, guest\npoweroff\n';
    const stdin = new PassThrough();
    stdin.write(input);
    let console = '';
    const outcome = await runSession({
      host: { verbose: false, clock: 'host', cpu: defaultCoreName(), memoryHostMiB: null, timeoutS: null },
      hostMemoryMiB: 64,
      guests: [
        {
          name: 'guest',
          spec: spec(32),
          kernelPath: GUEST,
          initrdPath: null,
          output: {
            write: (chunk) => {
              console += Buffer.from(chunk).toString();
              return 0;
            },
          },
          input: stdin,
        },
      ],
    });
    expect(outcome.guests[0].poweredOff).toBe(true);
    expect(outcome.guests[0].consoleInputBytes).toBe(input.length);
    // Both lines arrive at once. The terminal echoes what is typed (where the typed-ahead
    // line's echo lands depends on when it arrives), the shell runs `echo` — so the text shows
    // up twice: echoed and printed — and then the typed-ahead poweroff.
    expect(console).toContain('echo hello, guest\n'); // the echo of what was typed
    expect(console).toMatch(/^(# )?hello, guest$/m); // what the command printed
    expect(console).toContain('powering off');
    expect(outcome.guests[0].stats?.interrupts).toBeGreaterThanOrEqual(1); // the console IRQ was raised
  });
});

function spec(memMiB: number) {
  return { memMiB, kernel: null, cmdline: [], initrd: null, devices: [] };
}

/**
 * A cpio archive in the "newc" format the guest reads: a 110-byte ASCII header per entry
 * ("070701", then 13 fields of 8 hex digits), the NUL-terminated name, the data, each padded
 * to 4 bytes, and the TRAILER!!! entry. Directories get an entry of their own, as `cpio -o`
 * gives them; the guest serves only the regular files.
 */
function newcCpio(entries: [name: string, content: string | 'directory'][]): Buffer {
  const parts: Buffer[] = [];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(-b.length & 3)]);
  entries.push(['TRAILER!!!', '']);
  entries.forEach(([name, content], ino) => {
    const data = content === 'directory' ? Buffer.alloc(0) : Buffer.from(content);
    const mode = content === 'directory' ? 0o40755 : name === 'TRAILER!!!' ? 0 : 0o100644;
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    const fields = [ino + 1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    parts.push(pad(Buffer.from(`${header}${name}\0`, 'latin1')), pad(data));
  });
  return Buffer.concat(parts);
}

describe('an initrd the guest reads: cat from its shell, under lguest and on the PC (--native)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-initrd-'));
  const initrd = join(dir, 'initrd.cpio');
  writeFileSync(
    initrd,
    newcCpio([
      ['.', 'directory'],
      ['./hello.txt', 'hello from the initrd\n'],
      ['./etc', 'directory'],
      ['./etc/issue', 'lguest.ts, booted with an initrd\n'],
    ]),
  );

  it.each([
    ['lguest', []],
    ['--native', ['--native']],
  ])('%s: the files are there, with their contents, and poweroff exits 0', async (_how, options) => {
    // All lines at once, before the guest has even booted: the console holds them (natively:
    // until the guest's UART raises RTS) and the guest's tty keeps the lines typed ahead.
    const stdin = new PassThrough();
    stdin.write('ls /\ncat /hello.txt\ncat /etc/issue\npoweroff\n');
    const r = await run(['run', ...options, '--clock=virtual', `--initrd=${initrd}`, '32'], { stdin });
    expect(r.stdout).toContain('init: starting /bin/sh');
    expect(r.stdout).toMatch(/^(# )?hello\.txt$/m); // ls / lists the initrd's files…
    expect(r.stdout).toMatch(/^etc\/issue$/m);
    expect(r.stdout).not.toMatch(/^etc$/m); // …but not its directories
    expect(r.stdout).toMatch(/^(# )?hello from the initrd$/m);
    expect(r.stdout).toMatch(/^(# )?lguest\.ts, booted with an initrd$/m);
    expect(r.stdout).toContain('powering off');
    expect(r.stdout).not.toContain('panic');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--native: says where the initrd went (-v), after the kernel', async () => {
    const stdin = new PassThrough();
    stdin.write('poweroff\n');
    const r = await run(['run', '--native', '-v', '--clock=virtual', `--initrd=${initrd}`, '32'], { stdin });
    // Page-aligned, just past the kernel image: a little above 1 MiB…
    const placed = /^lguest: pc: 32 MiB, .*, initrd .*initrd\.cpio \((\d+) bytes\) at (0x1[0-9a-f]{2}000)$/m.exec(
      r.stderr,
    );
    expect(placed).not.toBeNull();
    // …where the kernel's page allocator would have begun: its first page (the page
    // directory) comes from past the initrd instead.
    const initrdEnd = Number(placed?.[2]) + Number(placed?.[1]);
    const pgdir = Number(/^paging: kernel page directory at (0x[0-9a-f]+)/m.exec(r.stdout)?.[1]);
    expect(pgdir).toBeGreaterThanOrEqual(initrdEnd);
    expect(pgdir).toBeLessThan(initrdEnd + 4096);
    expect(r.status).toBe(0);
  });

  it('--native: an initrd too big for the memory is refused before the guest starts, with status 1', async () => {
    const big = join(dir, 'big.img');
    writeFileSync(big, Buffer.alloc(4 << 20));
    const r = await run(['run', '--native', '--clock=virtual', `--initrd=${big}`, '4']);
    expect(r.stderr).toMatch(
      /^lguest: cannot start the guest on the PC: module 1 \('.*big\.img', 4194304 bytes\) does not fit in 4 MiB of RAM: .*; give the machine more memory\n$/,
    );
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });
});

describe('MEM: every value the help allows boots', () => {
  it.each([2, MAX_MEM_MIB])('%i MiB: boots to its power-off', async (mem) => {
    const r = await run(['run', '--clock=virtual', String(mem), GUEST, 'selftest']);
    expect(r.stdout).toContain(`memory: ${mem} MiB (boot_params e820: 1 entry)`);
    expect(r.status).toBe(0);
  });
});

describe('console input piped faster than the guest reads it, under lguest and --native', () => {
  it.each([
    ['lguest', []],
    ['--native', ['--native']],
  ])('%s: 40 lines piped at once all run, then poweroff exits 0', async (_how, options) => {
    // 368 bytes before the guest has booted: more than its 256-byte console buffer, so the
    // console must deliver again after a delivery that left bytes queued. --timeout (guest
    // time) ends a run whose input stalled.
    const lines = Array.from({ length: 40 }, (_, i) => `echo line${i + 1}`);
    const stdin = new PassThrough();
    stdin.end([...lines, 'poweroff', ''].join('\n'));
    const r = await run(['run', ...options, '--clock=virtual', '--timeout=60', '32'], { stdin });
    // Each command's output, not its echo (which interleaves with earlier commands' output).
    for (let i = 1; i <= 40; i++) expect(r.stdout).toMatch(new RegExp(`(?<!echo )line${i}\n`));
    expect(r.stdout).toContain('powering off');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the shell and its terminal, under lguest and --native', () => {
  const machines = [
    ['lguest', []],
    ['--native', ['--native']],
  ] as const;

  it.each(machines)("%s: ';' and '&' separate commands, as in sh", async (_how, options) => {
    const stdin = new PassThrough();
    stdin.end('echo a; echo b\nhog 300 & hog 200 &\nwait\necho c;; echo d\npoweroff\n');
    const r = await run(['run', ...options, '--clock=virtual', '--timeout=60', '32'], { stdin });
    expect(r.stdout).toMatch(/(?<!echo )a\nb\n/);
    expect(r.stdout).toMatch(/\[(\d+)\] hog\n\[(?!\1)\d+\] hog\n/); // two jobs from one line
    expect(r.stdout).toMatch(/hog\[\d+\]: 62 primes below 300\n/);
    expect(r.stdout).toMatch(/hog\[\d+\]: 46 primes below 200\n/);
    expect(r.stdout).toMatch(/(?<!echo )c\nsh: syntax error: a ';' or '&' with no command before it\n/);
    expect(r.stdout).not.toMatch(/^(# )?d$/m);
    expect(r.status).toBe(0);
  });

  it.each(machines)(
    '%s: a 2,000-byte line runs; one past 4,095 bytes rings the bell and is cut there, and the terminal goes on',
    async (_how, options) => {
      const stdin = new PassThrough();
      const long = 'x'.repeat(2000);
      const tooLong = 'y'.repeat(5000);
      stdin.end(`echo ${long}\necho ${tooLong}\necho after\npoweroff\n`);
      const r = await run(['run', ...options, '--clock=virtual', '--timeout=60', '32'], { stdin });
      expect(r.stdout).toMatch(new RegExp(`(?<!echo )${long}\\n`));
      // "echo " and 4,090 y: the line's 4,095 bytes; each byte beyond them rang the bell.
      expect(r.stdout).toMatch(new RegExp(`(?<!y)y{4090}\\n`));
      expect(r.stdout).not.toMatch(/y{4091}/);
      expect(r.stdout).toContain('\x07');
      expect(r.stdout).toMatch(/(?<!echo )after\n/);
      expect(r.status).toBe(0);
    },
  );

  it('a truncated cpio initrd: the guest says what it skipped, and keeps the files before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-cpio-'));
    const whole = newcCpio([
      ['./first.txt', 'the first file\n'],
      ['./second.txt', 'the second file, cut short by the truncation\n'.repeat(8)],
    ]);
    const initrd = join(dir, 'cut.cpio');
    writeFileSync(initrd, whole.subarray(0, whole.length - 200));
    const stdin = new PassThrough();
    stdin.end('cat /first.txt\npoweroff\n');
    const r = await run(['run', '--clock=virtual', '--timeout=60', `--initrd=${initrd}`, '32'], { stdin });
    // The launcher hands the guest whole pages, so the archive reads on in zeros where it was
    // cut, and the walk stops where the trailer's header (124 bytes) should have been.
    expect(r.stdout).toContain('initrd: 2 files from 4096 bytes of cpio\n');
    expect(r.stdout).toContain(
      `initrd: skipped bytes ${whole.length - 124} to 4096 of the archive: ` +
        'no newc cpio header here (magic 070701; make it with cpio -H newc)\n',
    );
    expect(r.stdout).toMatch(/(?<!cat \/first\.txt\n)the first file\n/);
    expect(r.status).toBe(0);
  });
});

describe('attack guests: killed with a clear reason while a second guest in the same host boots', () => {
  const attacks: [string, RegExp][] = [
    // The kernel's data segment is cut below the switcher: the write faults (#SS through %ss).
    ['attack-switcher-write', /^unhandled trap 12 at 0xc01[0-9a-f]{5} \(0x0\): mov %edx,%ss:\(%eax\)$/],
    // DPL 0 became 1 (the far jump lands in ring 1), and the data twin is cut: #GP on the write.
    ['attack-gdt-dpl0', /^unhandled trap 13 at 0xc01[0-9a-f]{5} \(0x0\): mov %edx,%fs:\(%ecx\)$/],
    ['attack-gdt-limit', /^unhandled trap 13 at 0xc01[0-9a-f]{5} \(0x0\): mov %edx,%fs:\(%ecx\)$/],
    ['attack-set-pte-beyond', /^bad page table entry$/],
    ['attack-hcall-bad-pointer', /^bad read address 0xb7ff0000 len 256$/],
    ['attack-hcall-unknown', /^Bad hypercall 99$/],
    ['attack-hcall-before-init', /^hypercall 9 before LGUEST_INIT$/],
    // The hypercall gate is DPL 1: from ring 3, int $0x1f is a #GP with error code (0x1f << 3) | 2.
    ['attack-ring3-hcall', /^unhandled trap 13 at 0x8048005 \(0xfa\): int \$0x1f$/],
  ];

  it.each(attacks)('%s', async (attack, reason) => {
    const r = await run([
      'run-many',
      '--clock=virtual',
      '--guest',
      `32 ${image(attack)}`,
      '--guest',
      `32 ${GUEST} selftest`,
    ]);
    const death = new RegExp(`^lguest: \\[${attack}\\] guest died: (.*)$`, 'm').exec(r.stderr);
    expect(death?.[1]).toMatch(reason);
    expect(r.stderr).not.toContain('ATTACK SUCCEEDED');
    expect(r.stdout).not.toContain('ATTACK SUCCEEDED');
    // The attack ran after the guest was fully up (except the one that attacks before LGUEST_INIT).
    if (attack !== 'attack-hcall-before-init') expect(consoleOf(r.stdout, attack)).toContain('attack: ');
    expectGoodBoot(consoleOf(r.stdout, 'guest'), 32);
    expect(r.stderr).toContain('lguest: [guest] powered off\n');
    expect(r.status).toBe(1);
  });

  it('attack-irqs-off-loop: preempted by the host tick; the other guest completes; the watchdog stops it', async () => {
    const attack = 'attack-irqs-off-loop';
    const r = await run([
      'run-many',
      '-v',
      '--clock=virtual',
      '--timeout=0.15',
      '--guest',
      `32 ${image(attack)}`,
      '--guest',
      `32 ${GUEST} selftest`,
    ]);
    expect(consoleOf(r.stdout, attack)).toContain('attack: spinning forever with interrupts disabled');
    expectGoodBoot(consoleOf(r.stdout, 'guest'), 32);
    // The good guest powered off long before the watchdog, while the attacker spun.
    const lines = r.stderr.split('\n');
    const goodEnd = lines.findIndex((l) => l.startsWith('lguest: guest: CRASH: Power down'));
    const attackEnd = lines.findIndex((l) => l.startsWith(`lguest: ${attack}: killed:`));
    expect(goodEnd).toBeGreaterThanOrEqual(0);
    expect(attackEnd).toBeGreaterThan(goodEnd);
    // It kept being switched out (the host's tick) rather than owning the CPU.
    const switches = Number(/attack-irqs-off-loop: killed: .*?; (\d+) switches/.exec(r.stderr)?.[1]);
    expect(switches).toBeGreaterThan(100);
    expect(r.stderr).toContain(
      `lguest: [${attack}] killed: still running after 0.15 s of virtual clock time (--timeout)\n`,
    );
    // 0.15 s of virtual time: one instruction per ns, except while every guest was halted
    // waiting for a tick (the clock skips those) — which never happens once the attacker spins.
    const instructions = Number(/^lguest: instructions: (\d+)$/m.exec(r.stderr)?.[1]);
    expect(instructions).toBeGreaterThan(80_000_000);
    expect(instructions).toBeLessThanOrEqual(150_000_000);
    expect(r.status).toBe(124);
  });

  it('a user interrupt stops a spinning guest at once', async () => {
    // The abort comes as the guest starts to spin with its interrupts off; "at once" is
    // counted in instructions on the virtual clock (a tick is 10 M): a stop that waited for
    // the guest would never come, one that waited for its own timer would take far more.
    const stop = new AbortController();
    let stdout = '';
    let stderr = '';
    const status = await lguest(['run', '-v', '--clock=virtual', '32', image('attack-irqs-off-loop')], {
      stdout: {
        write: (c) => {
          stdout += Buffer.from(c).toString();
          if (stdout.includes('attack: spinning forever')) stop.abort();
        },
      },
      stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
      cwd: CLI_DIR,
      defaultKernel: GUEST,
      signal: stop.signal,
    });
    expect(stderr).toContain('lguest: killed: interrupted by the user\n');
    expect(status).toBe(130);
    const instructions = Number(/^lguest: instructions: (\d+)$/m.exec(stderr)?.[1]);
    expect(instructions).toBeGreaterThan(0);
    expect(instructions).toBeLessThan(30_000_000);
  });

  it('interleaves two guests the same way twice on the virtual clock', async () => {
    const argv = [
      'run-many',
      '-v',
      '--clock=virtual',
      '--guest',
      `32 ${GUEST} selftest`,
      '--guest',
      `24 ${GUEST} selftest`,
    ];
    const [a, b] = [await run(argv), await run(argv)];
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout); // the same lines from each guest, in the same order
    expect(/^lguest: instructions: (\d+)$/m.exec(a.stderr)?.[1]).toBe(
      /^lguest: instructions: (\d+)$/m.exec(b.stderr)?.[1],
    );
  });

  it('run-many exits 0 when every guest powers off, and names each console', async () => {
    const r = await run([
      'run-many',
      '--clock=virtual',
      '--guest',
      `32 ${GUEST} selftest`,
      '--guest',
      `16 ${GUEST} second selftest`,
    ]);
    expectGoodBoot(consoleOf(r.stdout, 'guest'), 32);
    expectGoodBoot(consoleOf(r.stdout, 'guest#2'), 16);
    expect(consoleOf(r.stdout, 'guest#2')).toContain('command line: second');
    expect(r.stderr).toBe('lguest: [guest] powered off\nlguest: [guest#2] powered off\n');
    expect(r.status).toBe(0);
  });
});

describe('bad input: a sentence saying what is wrong and what to do, status 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-cli-'));
  const garbage = join(dir, 'garbage.img');
  writeFileSync(garbage, 'this is not a kernel');
  // An i386 executable ELF header and nothing lguest about it.
  const noSignature = join(dir, 'plain.elf');
  const elf = Buffer.alloc(128);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(3, 18); // EM_386
  elf.writeUInt32LE(52, 28); // e_phoff: one PT_LOAD of the whole file at 1 MiB
  elf.writeUInt16LE(32, 42);
  elf.writeUInt16LE(1, 44);
  [1, 0, 0xc0100000, 0x100000, 128, 128].forEach((v, i) => elf.writeUInt32LE(v, 52 + 4 * i));
  writeFileSync(noSignature, elf);
  // The real guest, cut in half: its header is fine, its sections run past the end.
  const truncated = join(dir, 'guest-cut.elf');
  const whole = readFileSync(GUEST);
  writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
  // The x86 boot header's "HdrS" and no gzip stream after it.
  const badBz = join(dir, 'garbage.bz');
  const bz = Buffer.alloc(4096, 0x5a);
  bz.write('HdrS', 0x202, 'latin1');
  writeFileSync(badBz, bz);
  const bigInitrd = join(dir, 'big.rd');
  writeFileSync(bigInitrd, Buffer.alloc(1 << 20));

  const cases: [string, string[], RegExp][] = [
    [
      'a missing kernel',
      ['run', '32', join(dir, 'nope.elf')],
      /cannot read kernel '.*nope\.elf': no such file\. Give the path of an lguest guest image/,
    ],
    [
      'a file that is not a kernel',
      ['run', '32', garbage],
      /is not a kernel image: neither an ELF vmlinux nor a bzImage \(it starts with 74 68 69 73\)/,
    ],
    [
      'an ELF for another machine',
      ['run', '32', process.execPath],
      /is an ELF file but not an i386 executable \(it is a 64-bit x86-64 /,
    ],
    [
      'an i386 ELF without the signature',
      ['run', '32', noSignature],
      /has no GenuineLguest signature: is this image a genuine lguest\?/,
    ],
    [
      'a truncated ELF kernel',
      ['run', '32', truncated],
      /'.*guest-cut\.elf' is a damaged or truncated ELF file \(segment \d+ \(\d+ bytes at file offset \d+\) runs past the end of the file \(\d+ bytes\)\): build or copy it again/,
    ],
    [
      'a bzImage with garbage for a kernel',
      ['run', '32', badBz],
      /'.*garbage\.bz' is a bzImage with no kernel in it \(Could not find kernel in bzImage\)/,
    ],
    [
      'a 10 KB command line',
      ['run', '32', GUEST, 'x'.repeat(10240)],
      /kernel arguments: The kernel command line is 10241 bytes; the limit is \d+; give fewer or shorter arguments/,
    ],
    [
      'an initrd that does not fit beside the kernel',
      ['run', `--initrd=${bigInitrd}`, '2', GUEST],
      /initrd '.*big\.rd' \(1048576 bytes\) does not fit beside the kernel in 2 MiB of guest memory: give MEM of at least \d+/,
    ],
    ['MEM that is not a number', ['run', 'lots', GUEST], /MEM must be a size in MiB such as 32 or 64m, not 'lots'/],
    [
      'MEM too big for the host',
      ['run', '--memory-host=64', '64', GUEST],
      /the guests need 80 MiB of host RAM .* but --memory-host is 64/,
    ],
    ['MEM beyond the limit', ['run', '3000', GUEST], /MEM 3000: MEM is guest memory in MiB, from 2 to 2032/],
    [
      'a missing initrd',
      ['run', `--initrd=${join(dir, 'rd.img')}`, '32', GUEST],
      /cannot read initrd '.*rd\.img': no such file/,
    ],
    [
      'a missing initrd with --native',
      ['run', '--native', `--initrd=${join(dir, 'rd.img')}`, '32', GUEST],
      /cannot read initrd '.*rd\.img': no such file/,
    ],
    ['an unknown option', ['run', '--frobnicate', '32', GUEST], /unknown option '--frobnicate'/],
    [
      'a --net=user forward that is not one',
      ['run', '32', GUEST, '--net=user,hostfwd=tcp:127.0.0.1:x-:80'],
      /--net=user: hostfwd 'tcp:127\.0\.0\.1:x-:80' is not tcp:\[ADDR\]:HOSTPORT-:GUESTPORT/,
    ],
    ['a --sharenet without a name', ['run', '32', GUEST, '--sharenet='], /--sharenet needs a file name, not ''/],
    [
      'a missing disk',
      ['run', '32', GUEST, `--block=${join(dir, 'nodisk.img')}`],
      /disk '.*nodisk\.img': no such file \(make one with: lguest disk create .*nodisk\.img 64M\)/,
    ],
    ['a disk that is a directory', ['run', '32', GUEST, `--block=${dir},ro`], /disk '.*' is not a regular file/],
    [
      'an unknown CPU core',
      ['run', '--cpu=quantum', '32', GUEST],
      /unknown CPU core 'quantum': the cores are interpreter/,
    ],
  ];

  it.each(cases)('%s', async (_what, argv, message) => {
    const r = await run(argv);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^lguest: /);
    expect(r.stderr).toContain("Try 'lguest help' for the usage.");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });
});

describe('the lguest executable', () => {
  const main = join(CLI_DIR, 'dist', 'main.js');

  it('is built, boots a guest with its own streams and exits with its status', () => {
    expect({ built: existsSync(main), hint: 'npx nx build cli' }).toEqual({ built: true, hint: 'npx nx build cli' });
    const ok = spawnSync(process.execPath, [main, 'run', '32', GUEST, 'selftest'], {
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    expectGoodBoot(ok.stdout, 32);
    expect(ok.status).toBe(0);
    const dead = spawnSync(process.execPath, [main, 'run', '32', image('attack-hcall-unknown')], {
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    expect(dead.stderr).toBe('lguest: guest died: Bad hypercall 99\n');
    expect(dead.status).toBe(1);
    const help = spawnSync(process.execPath, [main, 'help'], { encoding: 'utf8' });
    expect(help.stdout).toMatch(/^usage:\n {2}lguest run \[options\] \[MEM \[KERNEL \[kernel args…\]\]\]/);
    expect(help.status).toBe(0);
  });
});
