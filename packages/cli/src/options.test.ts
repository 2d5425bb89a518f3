import { defaultCoreName } from '@lguest/x86-cores';
import { hostMemoryMiB, parseCommand, parseMiB, splitSpec, UsageError, type Command, USAGE } from './options';

function run(argv: string[]): Extract<Command, { kind: 'run' }> {
  const c = parseCommand(argv);
  if (c.kind !== 'run') throw new Error(`expected run, got ${c.kind}`);
  return c;
}

function usageError(argv: string[]): string {
  try {
    parseCommand(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('lguest run', () => {
  it('takes MEM, KERNEL and the kernel arguments, with options anywhere (getopt permutes)', () => {
    const c = run(['run', '64m', 'vmlinux', '--block=root.img', 'root=/dev/lgba', '-v', 'quiet']);
    expect(c.guest).toEqual({
      memMiB: 64,
      kernel: 'vmlinux',
      cmdline: ['root=/dev/lgba', 'quiet'],
      initrd: null,
      devices: [{ kind: 'block', arg: 'root.img' }],
    });
    expect(c.host).toEqual({
      verbose: true,
      clock: 'host',
      cpu: defaultCoreName(),
      memoryHostMiB: null,
      timeoutS: null,
    });
  });

  it('takes --gdb=tcp:[HOST]:PORT and -S, and refuses what cannot be debugged', () => {
    expect(run(['run', '--gdb=tcp::1234', '-S', '32']).gdb).toEqual({
      address: { host: null, port: 1234 },
      wait: true,
    });
    expect(run(['run', '--gdb', 'tcp:127.0.0.1:0', '32']).gdb).toEqual({
      address: { host: '127.0.0.1', port: 0 },
      wait: false,
    });
    expect(run(['run', '32']).gdb).toBeUndefined();
    expect(usageError(['run', '--gdb=udp::1', '32'])).toMatch(/--gdb takes tcp:\[HOST\]:PORT/);
    expect(usageError(['run', '-S', '32'])).toMatch(/give --gdb too/);
    expect(run(['run', '--gdb=tcp::1', '--native', '32']).gdb?.address.port).toBe(1);
    expect(usageError(['web', '--gdb=tcp::1', '32'])).toMatch(/--gdb is for lguest run/);
  });

  it('keeps device options in command-line order, both --opt=V and --opt V', () => {
    const c = run(['run', '--tunnet', '10.0.0.1', '32', '--block=a', 'k', '--sharenet=s', '--block', 'b']);
    expect(c.guest.devices).toEqual([
      { kind: 'tunnet', arg: '10.0.0.1' },
      { kind: 'block', arg: 'a' },
      { kind: 'sharenet', arg: 's' },
      { kind: 'block', arg: 'b' },
    ]);
  });

  it('takes --net=user with hostfwd rules as a device, and refuses bad network values with a usage error', () => {
    const c = run(['run', '--net=user,hostfwd=tcp::8080-:80', '32', 'k', '--sharenet=lan']);
    expect(c.guest.devices).toEqual([
      { kind: 'net', arg: 'user,hostfwd=tcp::8080-:80' },
      { kind: 'sharenet', arg: 'lan' },
    ]);
    expect(usageError(['run', '--net=tap', '32'])).toMatch(/the only network type is 'user'/);
    expect(usageError(['run', '--net=user,hostfwd=8080:80', '32'])).toMatch(/hostfwd=tcp:127.0.0.1:8080-:80/);
    expect(usageError(['run', '--tunnet=eth0', '32'])).toMatch(/--tunnet=eth0: give the host side's IPv4 address/);
  });

  it('passes arguments after -- to the kernel even when they look like options', () => {
    expect(run(['run', '32', 'k', '--', '--weird', '-x']).guest.cmdline).toEqual(['--weird', '-x']);
  });

  it('defaults to 32 MiB and the bundled guest', () => {
    expect(run(['run']).guest).toMatchObject({ memMiB: 32, kernel: null });
    expect(run(['run', '48']).guest).toMatchObject({ memMiB: 48, kernel: null });
  });

  it('reads the host options', () => {
    const c = run(['run', '--clock=virtual', '--cpu', 'interpreter', '--memory-host=256', '--timeout=2.5', '32', 'k']);
    expect(c.host).toEqual({ verbose: false, clock: 'virtual', cpu: 'interpreter', memoryHostMiB: 256, timeoutS: 2.5 });
    expect(c.guest.initrd).toBeNull();
    expect(run(['run', '--initrd=rd.img', '32', 'k']).guest.initrd).toBe('rd.img');
  });

  it('says what was wrong and what to do', () => {
    expect(usageError(['run', 'abc', 'k'])).toBe("MEM must be a size in MiB such as 32 or 64m, not 'abc'");
    // One range, from one place, in every error and in the help.
    for (const mem of ['0', '1', '2033', '2560', '3000m'])
      expect(usageError(['run', mem, 'k'])).toBe(`MEM ${mem}: MEM is guest memory in MiB, from 2 to 2032`);
    expect(USAGE).toContain('guest memory in MiB, 2 to 2032,');
    expect(parseCommand(['run', '2032', 'k'])).toMatchObject({ guest: { memMiB: 2032 } });
    expect(parseCommand(['run', '2', 'k'])).toMatchObject({ guest: { memMiB: 2 } });
    expect(usageError(['run', '--bogus', '32'])).toMatch(/^unknown option '--bogus' \(see 'lguest help'/);
    expect(usageError(['run', '32', 'k', '--block'])).toBe('option --block needs a value, e.g. --block=VALUE');
    expect(usageError(['run', '--clock=wall'])).toMatch(/--clock must be 'host' .* or 'virtual' .*, not 'wall'/);
    expect(usageError(['run', '--cpu=quantum'])).toBe("unknown CPU core 'quantum': the cores are interpreter, jit");
    const saved = process.env.LGUEST_CPU;
    try {
      process.env.LGUEST_CPU = 'quantum';
      expect(usageError(['run', '32', 'k'])).toBe(
        "unknown CPU core 'quantum' (from LGUEST_CPU): the cores are interpreter, jit",
      );
      process.env.LGUEST_CPU = 'jit';
      expect(run(['run', '32', 'k']).host.cpu).toBe('jit');
      expect(run(['run', '--cpu=interpreter', '32', 'k']).host.cpu).toBe('interpreter');
    } finally {
      if (saved === undefined) delete process.env.LGUEST_CPU;
      else process.env.LGUEST_CPU = saved;
    }
    expect(usageError(['run', '--timeout=soon'])).toMatch(/--timeout takes a positive number of seconds/);
    expect(usageError(['run', '--memory-host=4096'])).toMatch(/more than the emulated host can have \(2048 MiB\)/);
    expect(usageError(['boot'])).toBe(
      "unknown command 'boot': the commands are run, run-many, web, disk, initramfs and help",
    );
    expect(usageError(['32', 'k'])).toBe("'32' looks like MEM, but a command comes first: try 'lguest run 32 k'");
  });

  it('has help', () => {
    expect(parseCommand([]).kind).toBe('help');
    expect(parseCommand(['help']).kind).toBe('help');
    expect(parseCommand(['run', '--help']).kind).toBe('help');
    expect(parseCommand(['run', '-h']).kind).toBe('help');
  });
});

describe('lguest run-many', () => {
  it('parses each --guest like run, and the host options once', () => {
    const c = parseCommand([
      'run-many',
      '--clock=virtual',
      '--guest',
      '32 a.elf',
      '--guest',
      '--block=d 16m b.elf x=1 "y z"',
    ]);
    if (c.kind !== 'run-many') throw new Error(c.kind);
    expect(c.host.clock).toBe('virtual');
    expect(c.guests).toEqual([
      { memMiB: 32, kernel: 'a.elf', cmdline: [], initrd: null, devices: [] },
      { memMiB: 16, kernel: 'b.elf', cmdline: ['x=1', 'y z'], initrd: null, devices: [{ kind: 'block', arg: 'd' }] },
    ]);
  });

  it('names the guest spec that is wrong', () => {
    expect(usageError(['run-many'])).toMatch(/needs at least one --guest/);
    expect(usageError(['run-many', '--guest', '32 a', '--guest', 'lots b'])).toBe(
      `--guest #2 "lots b": MEM must be a size in MiB such as 32 or 64m, not 'lots'`,
    );
    expect(usageError(['run-many', '--guest', '32 a --clock=virtual'])).toMatch(
      /^--guest #1 .*unknown option '--clock'/,
    );
    expect(usageError(['run-many', '32', 'a'])).toMatch(/run-many takes each guest as --guest/);
  });
});

describe('helpers', () => {
  it('parseMiB reads digits with an optional m', () => {
    expect(parseMiB('64', 'MEM')).toBe(64);
    expect(parseMiB('64M', 'MEM')).toBe(64);
    expect(() => parseMiB('64k', 'MEM')).toThrow(UsageError);
    expect(() => parseMiB('-1', 'MEM')).toThrow(UsageError);
  });

  it('splitSpec splits on whitespace and honours quotes', () => {
    expect(splitSpec('  32   a.elf  "x y" \'z\'')).toEqual(['32', 'a.elf', 'x y', 'z']);
    expect(splitSpec('a ""')).toEqual(['a', '']);
    expect(() => splitSpec('a "b')).toThrow(/unterminated/);
    expect(() => splitSpec('   ')).toThrow(/empty guest/);
  });

  it('sizes the host from the guests, and refuses guests that do not fit', () => {
    const host = { verbose: false, clock: 'host', cpu: 'interpreter', memoryHostMiB: null, timeoutS: null } as const;
    const g = (memMiB: number) => ({ memMiB, kernel: null, cmdline: [], initrd: null, devices: [] });
    expect(hostMemoryMiB(host, [g(32)])).toBe(64);
    expect(hostMemoryMiB(host, [g(64), g(64)])).toBe(144);
    expect(() => hostMemoryMiB(host, [g(4000)])).toThrow(/MEM 4000 MiB is too big for this host: .* at most 2032 MiB/);
    expect(() => hostMemoryMiB({ ...host, memoryHostMiB: 40 }, [g(32)])).toThrow(
      /the guests need 48 MiB of host RAM .* but --memory-host is 40/,
    );
  });
});

describe('lguest web', () => {
  function web(argv: string[]): Extract<Command, { kind: 'web' }> {
    const c = parseCommand(argv);
    if (c.kind !== 'web') throw new Error(`expected web, got ${c.kind}`);
    return c;
  }

  it('takes --port and the options of run, with one guest', () => {
    const c = web(['web', '--port=0', '--clock=virtual', '64', 'g.elf', 'selftest']);
    expect(c.port).toBe(0);
    expect(c.many).toBe(false);
    expect(c.host.clock).toBe('virtual');
    expect(c.guests).toEqual([{ memMiB: 64, kernel: 'g.elf', cmdline: ['selftest'], initrd: null, devices: [] }]);
    expect(web(['web']).port).toBe(8086);
    expect(web(['web', '--port', '9000']).port).toBe(9000);
  });

  it("takes run-many's --guest for one panel per guest", () => {
    const c = web(['web', '-v', '--guest', '32 a.elf', '--port=8100', '--guest=32 b.elf x']);
    expect(c.many).toBe(true);
    expect(c.port).toBe(8100);
    expect(c.host.verbose).toBe(true);
    expect(c.guests.map((g) => [g.kernel, g.cmdline])).toEqual([
      ['a.elf', []],
      ['b.elf', ['x']],
    ]);
  });

  it('refuses a bad port and --native, saying what to do', () => {
    expect(usageError(['web', '--port=http'])).toMatch(/--port takes a TCP port from 0 to 65535/);
    expect(usageError(['web', '--port=70000'])).toMatch(/--port takes a TCP port/);
    expect(usageError(['web', '--port'])).toMatch(/--port needs a value/);
    expect(usageError(['web', '--native'])).toMatch(/leave out --native/);
  });
});

describe('lguest run: the monitor, --restore and --incoming', () => {
  it('takes a Unix socket for the monitor, a snapshot file, or a TCP address to listen on', () => {
    expect(run(['run', '--monitor=unix:/tmp/m.sock']).machine).toEqual({
      monitor: { kind: 'unix', path: '/tmp/m.sock' },
      restore: null,
      incoming: null,
    });
    expect(run(['run', '--restore=g.snap', '--clock=virtual']).machine).toEqual({
      monitor: null,
      restore: 'g.snap',
      incoming: null,
    });
    expect(run(['run', '--monitor=stdio']).machine?.monitor).toEqual({ kind: 'stdio' });
    expect(run(['run', '--incoming=tcp::4444']).machine?.incoming).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(run(['run', '--incoming=tcp:[::1]:0']).machine?.incoming).toEqual({ host: '::1', port: 0 });
    expect(run(['run', '32']).machine).toBeUndefined();
  });

  it('says what is wrong with each', () => {
    expect(usageError(['run', '--monitor=tcp::4444'])).toMatch(/--monitor takes unix:PATH .* or stdio/);
    expect(usageError(['run', '--incoming=4444'])).toMatch(/--incoming takes tcp:\[HOST\]:PORT/);
    expect(usageError(['run', '--restore=a', '--incoming=tcp::1'])).toMatch(/give one/);
    expect(usageError(['run', '--restore=a', '64'])).toMatch(
      /brings its memory, kernel, command line and disks with it/,
    );
    expect(usageError(['run', '--restore=a', '--block=d.img'])).toMatch(/give no MEM, KERNEL, --initrd or devices/);
    expect(usageError(['run', '--native', '--incoming=tcp::1'])).toMatch(/only guests under lguest migrate/);
  });

  it('lets --native have a monitor and a restore', () => {
    const c = run(['run', '--native', '--monitor=unix:m', '64']);
    expect(c.native).toBe(true);
    expect(c.machine?.monitor).toEqual({ kind: 'unix', path: 'm' });
    expect(run(['run', '--native', '--restore=a.snap']).machine?.restore).toBe('a.snap');
  });
});
