// The guest kernel booted natively: build/guest.elf through the emulated PC's multiboot
// loader, on our CPU core, in ring 0 with the native paravirt_ops. The console is the PC's
// UART. The run is deterministic (virtual time), so the test can hold the kernel to every
// step of its boot: banner, descriptor tables, ticks, page tables, demand paging, ring 3,
// and a clean power-off.

import { createPc } from '@lguest/pc';
import { loadGuestImage } from './image';
import { defaultCore } from '@lguest/x86-cores';

const MEMORY_MIB = 64;

function bootNatively(memoryMiB = MEMORY_MIB, cmdline = 'console=ttyS0 selftest') {
  let output = '';
  const pc = createPc({ memoryMiB, core: defaultCore(), serial: (b) => (output += String.fromCharCode(b)) });
  pc.boot(loadGuestImage().elf, cmdline);
  const result = pc.run({ maxInstructions: 200_000_000 });
  return { result, output, lines: output.split('\n') };
}

describe('the guest kernel on the emulated PC (native paravirt_ops)', () => {
  const run = bootNatively();

  it('powers off cleanly through the power-off port', () => {
    if (run.result.reason !== 'power-off') {
      throw new Error(
        `the guest stopped with '${run.result.reason}' at eip 0x${run.result.eip.toString(16)}:\n${run.output}`,
      );
    }
  });

  it('prints a banner saying native, ring 0, and the memory size from multiboot', () => {
    expect(run.lines[0]).toBe('Booting the lguest.ts guest kernel on native hardware (paravirt_ops "native"), ring 0');
    expect(run.lines[1]).toBe(`memory: ${MEMORY_MIB} MiB (multiboot mem_upper ${MEMORY_MIB * 1024 - 1024} KiB)`);
    expect(run.output).toContain('command line: console=ttyS0 selftest\n');
  });

  it('loads its GDT and IDT', () => {
    expect(run.output).toContain('descriptors: GDT of 32 entries, IDT of 256 vectors loaded\n');
  });

  it('takes PIT timer interrupts through the PIC', () => {
    expect(run.output).toContain('timer: pit clock event device, periodic, HZ=100\n');
    const ticks = run.lines.filter((l) => /^timer: tick \d+$/.test(l));
    expect(ticks).toEqual(['timer: tick 1', 'timer: tick 2', 'timer: tick 3', 'timer: tick 4', 'timer: tick 5']);
  });

  it('builds its own page tables and fills a region by page faults', () => {
    expect(run.output).toMatch(/paging: kernel page directory at 0x[0-9a-f]{8}, 64 MiB mapped at 0xc0000000\n/);
    expect(run.output).toContain('page faults: 16 pages faulted in at 0xe0000000, pattern ok\n');
    expect(run.output).toContain('page faults: 0xe0000000 unmapped, flushed and faulted back in zeroed\n');
  });

  it('runs a program in ring 3 that writes through int $0x80 and exits with its ring', () => {
    expect(run.output).toContain('hello from ring 3\n');
    expect(run.output).toContain('user: program exited with status 3 after 2 system calls, 1 stack page faults\n');
  });

  it('says goodbye before it powers off, and nothing panics', () => {
    expect(run.lines.at(-2)).toMatch(/^power: \d+ pages allocated, 18 page faults filled; powering off$/);
    expect(run.output).not.toContain('panic');
  });

  it('spends its ticks asleep: 5 ticks of 10 ms in far fewer instructions', () => {
    expect(run.result.virtualNanoseconds).toBeGreaterThan(50e6);
    expect(run.result.instructions).toBeLessThan(20_000_000);
  });

  it('boots with other memory sizes', () => {
    const small = bootNatively(16, 'selftest');
    expect(small.result.reason).toBe('power-off');
    expect(small.lines[1]).toBe('memory: 16 MiB (multiboot mem_upper 15360 KiB)');
    expect(small.output).toContain('command line: selftest\n');
  });
});

/**
 * A person at the serial console: boot without `selftest`, wait for each prompt, type a line
 * into the UART's receive side, and collect what the kernel answers.
 */
function interactiveSession() {
  let output = '';
  const pc = createPc({
    memoryMiB: MEMORY_MIB,
    core: defaultCore(),
    serial: (b) => (output += String.fromCharCode(b)),
  });
  pc.boot(loadGuestImage().elf, 'console=ttyS0');
  /** Runs until the output ends with the prompt again (or the machine stops). */
  const settle = () => {
    for (let i = 0; i < 200; i++) {
      const r = pc.run({ maxInstructions: 500_000 });
      if (r.reason !== 'instruction-limit') return r.reason;
      if (output.endsWith('\n# ')) return 'prompt';
    }
    return 'no prompt';
  };
  const type = (text: string) => pc.uart.receive(Buffer.from(text, 'latin1'));
  return { settle, type, output: () => output, pc };
}

describe('the console shell on the emulated PC', () => {
  const s = interactiveSession();
  const transcript: Record<string, string> = {};
  const booted = s.settle();
  /** Types `line` plus Enter, runs to the next prompt, and returns what came back. */
  const command = (line: string, keys = `${line}\r`) => {
    const before = s.output().length;
    s.type(keys);
    const how = s.settle();
    transcript[line] = s.output().slice(before);
    return { how, text: transcript[line] };
  };

  it('boots to the shell without selftest, with the motd and a prompt', () => {
    expect(booted).toBe('prompt');
    expect(s.output()).toContain('init: starting /bin/sh\n');
    expect(s.output()).toContain('Welcome to the lguest.ts guest');
    expect(s.output()).not.toContain('timer: tick 1');
  });

  it('echoes what is typed and runs echo', () => {
    expect(command('echo hi')).toEqual({ how: 'prompt', text: 'echo hi\nhi\n# ' });
  });

  it('rubs out with backspace and DEL', () => {
    expect(command('echo ok', 'echo oxx\x7f\x08k\r').text).toBe('echo oxx\b \b\b \bk\nok\n# ');
  });

  it('lists and prints the built-in files', () => {
    expect(command('ls').text).toBe('ls\nbin/\ndev/\nproc/\netc/motd\nREADME\netc/hostname\n# ');
    expect(command('ls /bin').text).toBe(
      'ls /bin\ninit\nsh\nhello\nfault\nspin\ngreet\nupper\nhog\nsyscheck\nfpu\nping\nifconfig\nhttpd\nnc\n# ',
    );
    expect(command('ls /proc').text).toBe('ls /proc\nuptime\nmeminfo\nps\nkmsg\nlguest\nmounts\ndisks\nnet\n# ');
    expect(command('cat /etc/motd').text).toContain('Welcome to the lguest.ts guest');
    expect(command('cat /nope').text).toContain('cat: /nope: no such file or directory\n');
  });

  it('computes on the x87, and two programs at once each keep their own FPU (lazily, on #NM)', () => {
    expect(command('fpu 3').text).toMatch(
      new RegExp(
        '^fpu 3\n' +
          'fpu: 1/3 = 0\\.333333333333\n' +
          'fpu: sqrt\\(2\\) = 1\\.414213562373\n' +
          'fpu: 0\\.1 \\+ 0\\.2 = 0x3fd3333333333334\n' +
          'fpu: \\(long\\)-7\\.9 = -7\n' +
          'fpu: rint\\(2\\.5\\) nearest 2 down 2 up 3 chop 2\n' +
          'fpu: rint\\(-2\\.5\\) nearest -2 down -3 up -2 chop -2\n' +
          'fpu: 1/0 masked = inf \\(ZE\\)\n' +
          'fpu\\[\\d+\\]: killed by x87 error \\(trap 16\\) at eip [0-9a-f]{8}\n' +
          'fpu: 1/0 unmasked: SIGFPE\n' +
          'fpu\\[\\d+\\]: kept \\d+\\.5 across yields: ok\n# $',
      ),
    );
    const before = s.output().length;
    command('fpu 200 &');
    command('fpu 200');
    command('wait');
    const both = s.output().slice(before);
    const kept = [...both.matchAll(/fpu\[(\d+)\]: kept (\d+)\.5 across yields: (\w+)/g)];
    expect(kept.map((m) => m[3])).toEqual(['ok', 'ok']);
    // Each kept its own value (1234.5 + its pid) while the other used the FPU.
    for (const m of kept) expect(Number(m[2])).toBe(1234 + Number(m[1]));
    expect(both).not.toContain('WRONG');
  });

  it('reports the system: uname, uptime, free, dmesg, lguest', () => {
    expect(command('uname -a').text).toBe('uname -a\nlguest.ts lguest 0.1.0 #1 native hardware i386\n# ');
    expect(command('uptime').text).toMatch(/^uptime\nup \d+\.\d\d seconds, \d+ ticks at HZ=100\n# $/);
    expect(command('free').text).toMatch(/mem: +65536 +\d+ +\d+ +\d+\n# $/);
    expect(command('dmesg').text).toContain('Booting the lguest.ts guest kernel on native hardware');
    expect(command('lguest').text).toContain('not running on lguest: paravirt_ops "native"');
  });

  it('runs a ring-3 program, and kills one that faults while the shell carries on', () => {
    expect(command('hello').text).toBe('hello\nhello from ring 3\nhello: exit status 3\n# ');
    const f = command('fault');
    expect(f.how).toBe('prompt');
    expect(f.text).toMatch(/fault\[\d+\]: segmentation fault at 0x00000000 \(eip 08048002\)\n/);
    expect(f.text).toContain('fault: killed (signal 11)\n');
    expect(command('ps').text).toMatch(
      /^ps\n +PID +PPID STAT +TIME COMMAND\n +0 +0 S +[\d.]+ \[idle\]\n +1 +0 S +[\d.]+ init\n +2 +1 R +[\d.]+ sh\n# $/,
    );
  });

  it('loads ELF programs written in C: getpid, and read(0) through the line discipline to EOF', () => {
    expect(command('greet').text).toMatch(
      /^greet\nhello from an ELF program in ring 3, pid \d+\nheap: 12288 bytes from brk, checksum 1566720\n# $/,
    );
    s.type('upper\r');
    s.pc.run({ maxInstructions: 2_000_000 });
    s.type('shout this\r');
    s.pc.run({ maxInstructions: 2_000_000 });
    expect(command('upper', '\x04').how).toBe('prompt');
    expect(transcript.upper).toBe('# '); // Ctrl-D echoes nothing; upper exits 0
    expect(s.output()).toContain('# upper\nshout this\nSHOUT THIS\n# ');
    s.type('upper\r');
    s.pc.run({ maxInstructions: 2_000_000 });
    expect(command('upper ^C', '\x03').text).toBe('^C\nupper: interrupted\n# ');
  });

  it("gives a program's pages back when it ends", () => {
    const used = () => /mem: +\d+ +\d+ +(\d+) +(\d+)\n/.exec(command('free').text)?.slice(1);
    const before = used();
    command('greet');
    command('fault');
    expect(used()).toEqual(before);
  });

  it('sleeps through nanosleep, on the tick', () => {
    const before = s.pc.clock.nanoseconds;
    expect(command('sleep 2').text).toBe('sleep 2\n# ');
    expect(s.pc.clock.nanoseconds - before).toBeGreaterThanOrEqual(2e9);
  });

  it('interrupts a spinning program with Ctrl-C', () => {
    s.type('spin\r');
    for (let i = 0; i < 5; i++) s.pc.run({ maxInstructions: 1_000_000 });
    expect(s.output().endsWith('spin\n')).toBe(true); // still spinning, no prompt
    expect(command('spin', '\x03')).toEqual({ how: 'prompt', text: '^C\nspin: interrupted\n# ' });
    expect(command('echo still here').text).toBe('echo still here\nstill here\n# ');
  });

  it('says reboot is not supported, and powers off on poweroff', () => {
    expect(command('reboot').text).toContain('not supported by this host');
    expect(command('nosuch').text).toContain('nosuch: command not found');
    const off = command('poweroff');
    expect(off.how).toBe('power-off');
    expect(off.text).toMatch(/powering off\n$/);
    expect(s.output()).not.toContain('panic');
  });

  afterAll(() => {
    if (process.env.SHOW_SESSION) process.stdout.write(s.output());
  });
});

describe('processes on the emulated PC: fork, execve, waitpid, the scheduler, signals', () => {
  const s = interactiveSession();
  const booted = s.settle();
  const command = (line: string, keys = `${line}\r`) => {
    const before = s.output().length;
    s.type(keys);
    const how = s.settle();
    return { how, text: s.output().slice(before) };
  };
  /** The ps lines as { pid, ppid, stat, ticks, name }. */
  const ps = () =>
    [...command('ps').text.matchAll(/^ +(\d+) +(\d+) ([RSZ]) +(\d+)\.(\d\d) (\S+)$/gm)].map((m) => ({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      stat: m[3],
      ticks: Number(m[4]) * 100 + Number(m[5]),
      name: m[6],
    }));

  it('keeps the shell answering while a program spins in ring 3 in the background: the tick preempts it', () => {
    expect(booted).toBe('prompt');
    expect(command('spin &').text).toMatch(/^spin &\n\[3\] spin\n# $/);
    expect(command('echo alive').text).toBe('echo alive\nalive\n# ');
    const first = ps().find((p) => p.pid === 3);
    expect(first).toMatchObject({ ppid: 2, stat: 'R', name: 'spin' });
    for (let i = 0; i < 4; i++) s.pc.run({ maxInstructions: 2_000_000 });
    const later = ps().find((p) => p.pid === 3);
    expect(later!.ticks).toBeGreaterThan(first!.ticks); // it kept running between our commands
    // The shell reports a background job's end before the prompt after it notices.
    const killed = command('kill 3').text + command('echo after').text;
    expect(killed).toMatch(
      /^kill 3\n(\[3\] killed \(signal 15\)\n)?# echo after\nafter\n(\[3\] killed \(signal 15\)\n)?# $/,
    );
    expect(killed.match(/\[3\] killed/g)).toHaveLength(1);
    expect(ps().map((p) => p.pid)).toEqual([0, 1, 2]);
  });

  it('shares the CPU between two busy programs, each in its own address space', () => {
    expect(command('hog 30000 &').text).toMatch(/^hog 30000 &\n\[(\d+)\] hog\n# $/);
    expect(command('hog 30000 &').text).toMatch(/^hog 30000 &\n\[(\d+)\] hog\n# $/);
    for (let i = 0; i < 3; i++) s.pc.run({ maxInstructions: 2_000_000 });
    const hogs = ps().filter((p) => p.name === 'hog');
    expect(hogs).toHaveLength(2);
    for (const h of hogs) expect(h.ticks).toBeGreaterThan(0); // both ran: neither waited for the other
    const done = command('wait').text;
    for (const h of hogs) {
      expect(done).toContain(`hog[${h.pid}]: 3245 primes below 30000\n`);
      expect(done).toContain(`[${h.pid}] done\n`);
    }
  });

  it('answers bad system calls with errors and keeps signal frames honest (syscheck)', () => {
    const r = command('syscheck').text;
    expect(r).not.toContain('FAILED');
    expect(r).toMatch(/syscheck: (\d+) of \1 checks passed\n# $/);
  });

  it('refuses the terminal to a background job, and gives a fresh prompt on Ctrl-C', () => {
    expect(command('upper &').text).toMatch(/^upper &\n\[\d+\] upper\n# $/);
    expect(command('echo x').text).toMatch(/^echo x\nx\n\[\d+\] done, exit status 1\n# $/); // read(0) was -EIO
    expect(command('half-typed', 'half-typed\x03').text).toBe('half-typed^C\n# ');
    expect(command('echo still here').text).toBe('echo still here\nstill here\n# ');
  });

  it('protects init, and init starts a new shell when the shell is killed', () => {
    expect(command('kill -9 1').text).toBe('kill -9 1\nkill: 1: not permitted\n# ');
    const shell = ps().find((p) => p.name === 'sh')!;
    const r = command(`kill -9 ${shell.pid}`).text;
    expect(r).toContain('init: /bin/sh was killed (signal 9); starting another\n');
    expect(r).toContain('Welcome to the lguest.ts guest');
    const again = ps().find((p) => p.name === 'sh')!;
    expect(again.pid).not.toBe(shell.pid);
    expect(again.ppid).toBe(1);
  });

  it('powers off when the shell exits', () => {
    expect(command('exit').how).toBe('power-off');
    expect(s.output()).not.toContain('panic');
  });
});
