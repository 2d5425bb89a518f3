// Real Linux under lguest: the Linux 2.6.23 lguest guest (the bzImage, and the ELF vmlinux
// unpacked from its .gz) booted by the lguest command with an initramfs packed by our own
// writer from the klibc userland. Its /init is a klibc shell script that looks at the
// machine the way a user would — /proc/cpuinfo, /proc/interrupts, the lguest bus in sysfs,
// the clocksource, /proc/timer_list for the clock event device — runs a few commands, and
// ends as the kernel command line says (`ending=poweroff` or `ending=reboot`: Linux hands
// unknown name=value words to init as its environment).
//
// The endings are the original's: poweroff is "CRASH: Power down", exit status 0; reboot
// goes through the keyboard controller (whose ports a guest cannot reach) to the triple-fault
// path, faults in ring 1 in native_machine_emergency_restart, and init dies: "Attempted to
// kill init!", exit status 1.
//
// Every run is on the virtual clock, so it is the same run, instruction for instruction, on
// any machine however loaded; --timeout (virtual seconds, 1 instruction = 1 ns) bounds it.

import { lguest } from './lguest';
import { klibcInitramfs, LINUX, linuxTests, unpackVmlinux } from '../testing/linux';

const INIT = `#!/bin/sh
PATH=/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "init: klibc sh as pid $$, $((6 * 7))"
uname -a
echo "== cpuinfo"
cat /proc/cpuinfo
echo "== interrupts"
cat /proc/interrupts
echo "== lguest bus"
ls /sys/bus/lguest/devices
echo "== clocksource"
cat /sys/devices/system/clocksource/clocksource0/current_clocksource
echo "== timer_list"
cat /proc/timer_list
echo "init: ending with \${ending:-poweroff}"
\${ending:-poweroff}
`;

/** Virtual seconds a run may take: the reboot path spins ~25 virtual s in kb_wait's loops. */
const BUDGET_S = '120';

/** Jest's patience: the runs are bounded by --timeout in virtual time, so this only has to
 * outlast a very busy machine. */
const PATIENCE_MS = 3_600_000;

const run = linuxTests('Linux under lguest');
const maybe = run ? describe : describe.skip;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

async function boot(kernel: string, initrd: string, ending: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(
    [
      'run',
      '--clock=virtual',
      `--timeout=${BUDGET_S}`,
      `--initrd=${initrd}`,
      '64',
      kernel,
      'console=hvc0',
      `ending=${ending}`,
    ],
    {
      stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
      stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
      cwd: process.cwd(),
      defaultKernel: kernel,
    },
  );
  // The hvc console's tty turns each "\n" of a program into "\r\n" (ONLCR).
  return { status, stdout: stdout.replace(/\r\n/g, '\n'), stderr };
}

/** The part of the console between two markers the init script prints. */
function section(out: string, name: string): string {
  const start = out.indexOf(`== ${name}\n`);
  expect({ section: name, found: start >= 0 }).toEqual({ section: name, found: true });
  const end = out.indexOf('\n==', start + 1);
  return out.slice(start + name.length + 4, end < 0 ? undefined : end);
}

maybe('Linux 2.6.23 under lguest', () => {
  let initrd = '';
  beforeAll(() => {
    initrd = klibcInitramfs(INIT);
  }, PATIENCE_MS);

  it(
    'boots the bzImage to a klibc /init: lguest bus, hvc0, clock event and clocksource; poweroff → 0',
    async () => {
      const r = await boot(LINUX.bzImage, initrd, 'poweroff');
      const out = r.stdout;
      // The kernel found the lguest paravirt_ops, our CPU and our memory.
      expect(out).toContain('Booting paravirtualized kernel on lguest');
      expect(out).toContain('CPU: Vendor unknown, using generic init.');
      expect(out).toMatch(/LGUEST: 0000000000000000 - 0000000004000000 \(usable\)/);
      expect(out).toContain('Kernel command line: console=hvc0 ending=poweroff');
      // The console device, its clock event device and clocksource.
      expect(out).toContain('console [hvc0] enabled');
      expect(out).toContain('Time: lguest clocksource has been installed.');
      expect(out).toContain('Switched to high resolution mode on CPU 0');
      expect(out).toContain('checking if image is initramfs... it is');
      // /init ran, under klibc's sh, as pid 1.
      expect(out).toContain('init: klibc sh as pid 1, 42');
      expect(out).toMatch(/^Linux \(none\) 2\.6\.23\.17\S* #\d+ SMP .* i686 i386$/m);
      const cpuinfo = section(out, 'cpuinfo');
      expect(cpuinfo).toMatch(/^vendor_id\s+: lguest\.ts386$/m);
      // What the core's CPUID says: a P6 (family 6) with an x87, under our own brand string.
      expect(cpuinfo).toMatch(/^cpu family\s+: 6$/m);
      expect(cpuinfo).toMatch(/^model name\s+: lguest\.ts i686 \(P6 integer core, x87 FPU\)$/m);
      expect(cpuinfo).toMatch(/^fpu\s+: yes$/m);
      expect(cpuinfo).toMatch(/^fpu_exception\s+: yes$/m);
      // lguest_cpuid masks what the guest may use: no TSC, no PSE, no PAE, no SEP.
      expect(cpuinfo).toMatch(/^flags\s+: fpu cx8 pge cmov up$/m);
      // The console's interrupt, on lguest's irq_chip.
      expect(section(out, 'interrupts')).toMatch(/^\s+1:\s+\d+\s+lguest-\S*\s+hvc_console$/m);
      // The lguest bus in sysfs: device 0, the console.
      expect(section(out, 'lguest bus')).toMatch(/ 0 -> \.\.\/\.\.\/\.\.\/devices\/lguest\/0$/m);
      expect(section(out, 'clocksource').trim()).toBe('lguest');
      const timers = section(out, 'timer_list');
      expect(timers).toContain('Clock Event Device: lguest');
      expect(timers).toContain('set_next_event: lguest_clockevent_set_next_event');
      expect(timers).toMatch(/\.hres_active\s+: 1/);
      // poweroff: the guest's LHCALL_CRASH "Power down", and status 0.
      expect(out).toContain('init: ending with poweroff');
      expect(out).toContain('Power down.');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
    PATIENCE_MS,
  );

  it(
    "boots the ELF vmlinux (from the .gz); reboot ends as the original's did: ring-1 fault, init killed → 1",
    async () => {
      const r = await boot(unpackVmlinux(), initrd, 'reboot');
      const out = r.stdout;
      expect(out).toContain('Booting paravirtualized kernel on lguest');
      expect(out).toContain('init: klibc sh as pid 1, 42');
      expect(out).toContain('Clock Event Device: lguest');
      expect(out).toContain('init: ending with reboot');
      // The keyboard controller cannot be reached from ring 1 (lg answers its port reads with
      // all ones), so the kernel falls through to its triple-fault trick — `int3` with an
      // empty IDT — which under lguest is a general protection fault in ring 1, in the
      // reboot system call: pid 1 dies of it.
      expect(out).toContain('Restarting system.');
      expect(out).toMatch(/general protection fault: [0-9a-f]{4} \[#1\]/);
      expect(out).toMatch(/EIP:\s+0061:\[<c0[0-9a-f]{6}>\]/); // CS 0x61: ring 1
      expect(out).toMatch(/EIP is at native_machine_emergency_restart\+0x[0-9a-f]+\/0x[0-9a-f]+/);
      // The shell reports its child's death; the script is done, so init exits, and the
      // kernel will not have that.
      const died = out.indexOf('Segment violation');
      expect(died).toBeGreaterThan(out.indexOf('Restarting system.'));
      expect(out.indexOf('Kernel panic - not syncing: Attempted to kill init!')).toBeGreaterThan(died);
      expect(r.stderr).toBe('lguest: guest died: CRASH: Attempted to kill init!\n');
      expect(r.status).toBe(1);
    },
    PATIENCE_MS,
  );
});
