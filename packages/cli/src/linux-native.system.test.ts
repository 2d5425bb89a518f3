// The same Linux 2.6.23 bzImage, natively: `lguest run --native 64 bzImage console=ttyS0`
// boots it on the emulated PC through the Linux/x86 boot protocol (the PC's loader fills in
// boot_params and enters the 32-bit kernel, which unpacks itself), with the native
// paravirt_ops in ring 0 and the 16550 as ttyS0.
//
// How far it gets depends on one property of the CPU core: this kernel has no math
// emulation, so natively it insists on an x87 FPU (check_fpu: "No coprocessor found and no
// math emulation present. Giving up."). Under lguest the same kernel never asks: lguest_init
// takes the FPU on trust. So with a core whose CPUID has no FPU, the native boot ends there,
// and that is what we assert; with one that has an FPU, it must go on to the klibc /init.
//
// Virtual clock throughout; --timeout (virtual seconds, 100 M instructions each on the PC)
// bounds every run.

import { EMPTY_IO_BUS } from '@lguest/x86';
import { defaultCore } from '@lguest/x86-cores';
import { lguest } from './lguest';
import { klibcInitramfs, LINUX, linuxTests } from '../testing/linux';

const INIT = `#!/bin/sh
PATH=/bin
export PATH
mount -t proc proc /proc
echo "init: klibc sh as pid $$, $((6 * 7))"
uname -a
cat /proc/cpuinfo
\${ending:-poweroff}
`;

/** CPUID.1:EDX bit 0 of the core the tests run: whether it has an x87 FPU. */
function coreHasFpu(): boolean {
  const memory = new ArrayBuffer(1 << 20);
  // mov eax, 1; cpuid; hlt — in real mode at 0:0.
  new Uint8Array(memory).set([0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4], 0);
  const core = defaultCore().create({ memory, io: EMPTY_IO_BUS });
  const s = core.getState();
  core.setState({ ...s, cs: { ...s.cs, selector: 0, base: 0 }, eip: 0 });
  core.run(10);
  return (core.getState().edx & 1) !== 0;
}

/** Jest's patience: the runs are bounded by --timeout in virtual time, so this only has to
 * outlast a very busy machine. */
const PATIENCE_MS = 3_600_000;

const run = linuxTests('Linux natively on the PC');
const maybe = run ? describe : describe.skip;

maybe('Linux 2.6.23 natively on the emulated PC (lguest run --native)', () => {
  let initrd = '';
  beforeAll(() => {
    initrd = klibcInitramfs(INIT);
  }, PATIENCE_MS);

  it(
    'boots the bzImage through the boot protocol: e820 map, command line, ttyS0, its memory',
    async () => {
      const fpu = coreHasFpu();
      // Natively, poweroff halts the PC for good (no ACPI or APM in this kernel) and only
      // --timeout would end it; reboot resets the PC through the keyboard controller.
      const ending = fpu ? 'reboot' : 'poweroff';
      let stdout = '';
      let stderr = '';
      const status = await lguest(
        [
          'run',
          '--native',
          '--clock=virtual',
          `--timeout=${fpu ? 60 : 3}`,
          `--initrd=${initrd}`,
          '64',
          LINUX.bzImage,
          'console=ttyS0',
          `ending=${ending}`,
        ],
        {
          stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
          stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
          cwd: process.cwd(),
          defaultKernel: LINUX.bzImage,
        },
      );
      const out = stdout.replace(/\r\n/g, '\n');
      // The kernel unpacked itself and took our boot_params: the memory map as a PC BIOS gives it…
      expect(out).toMatch(/^Linux version 2\.6\.23\.17/m);
      expect(out).toContain(
        [
          'BIOS-provided physical RAM map:',
          ' BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)',
          ' BIOS-e820: 000000000009fc00 - 00000000000a0000 (reserved)',
          ' BIOS-e820: 00000000000f0000 - 0000000000100000 (reserved)',
          ' BIOS-e820: 0000000000100000 - 0000000004000000 (usable)',
        ].join('\n'),
      );
      expect(out).toContain('64MB LOWMEM available.');
      // …the command line, and the screen we described (VGA text, in RAM at 0xB8000).
      expect(out).toContain(`Kernel command line: console=ttyS0 ending=${ending}`);
      expect(out).toContain('Console: colour VGA+ 80x25');
      // Everything from here on came through the 16550 as ttyS0.
      expect(out).toContain('console [ttyS0] enabled');
      expect(out).toMatch(/Memory: \d+k\/65536k available/);
      expect(out).toContain('CPU: Vendor unknown, using generic init.');
      expect(out).toContain('Checking if this processor honours the WP bit even in supervisor mode... Ok.');
      if (!fpu) {
        // No x87 and no math emulation: the kernel stops in check_fpu and spins, until --timeout.
        expect(out).toContain('No coprocessor found and no math emulation present.\nGiving up.');
        expect(stderr).toContain('killed: still running after 3 s of virtual clock time (--timeout)');
        expect(status).toBe(124);
      } else {
        expect(out).toContain('init: klibc sh as pid 1, 42');
        expect(out).toMatch(/^Linux \(none\) 2\.6\.23\.17\S* .* i686 i386$/m);
        expect(out).toMatch(/^model name\s+: lguest\.ts i686 \(P6 integer core, x87 FPU\)$/m);
        expect(out).toContain('Restarting system.');
        expect(stderr).not.toContain('--timeout');
        expect(status).toBe(0);
      }
    },
    PATIENCE_MS,
  );
});
