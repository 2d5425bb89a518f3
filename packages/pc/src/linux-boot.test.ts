// The Linux/x86 boot protocol's 32-bit entry on the PC: a hand-made bzImage (a setup header
// and a tiny protected-mode kernel that reads boot_params through ESI and prints what it
// finds on COM1) and the loader's refusals. The real bzImage boots in the cli's system tests.

import { createPc } from './pc';
import { Code } from './test-image';
import { BOOT_PARAMS_ADDR, isBzImage, loadBzImage } from './linux-boot';

/** A bzImage: sector 0 with the setup header, one setup sector, then `kernel`. */
function bzImage(kernel: Uint8Array, patch: (view: DataView, bytes: Uint8Array) => void = () => {}): Uint8Array {
  const image = new Uint8Array(1024 + kernel.length);
  const view = new DataView(image.buffer);
  image[0x1f1] = 1; // setup_sects
  image[0x200] = 0xeb; // jmp short over the header…
  image[0x201] = 0x66; // …which ends at 0x268
  view.setUint32(0x202, 0x53726448, true); // "HdrS"
  view.setUint16(0x206, 0x0206, true);
  image[0x211] = 0x01; // LOADED_HIGH
  view.setUint32(0x214, 0x100000, true); // code32_start
  view.setUint32(0x22c, 0x37ffffff, true); // initrd_addr_max
  view.setUint32(0x238, 255, true); // cmdline_size
  image.set(kernel, 1024);
  patch(view, image);
  return image;
}

/** Prints the command line, '|', the e820 entry count as a digit, the initrd's first byte; powers off. */
function reportingKernel(): Uint8Array {
  const c = new Code(0x100000);
  c.emit(0x89, 0xf3); // mov ebx, esi
  c.emit(0x66, 0xba, 0xf8, 0x03); // mov dx, 0x3f8
  c.emit(0x8b, 0xb3).u32(0x228); // mov esi, [ebx+cmd_line_ptr]
  c.label('loop');
  c.emit(0xac, 0x84, 0xc0, 0x74).ref('done', 'rel8'); // lodsb; test al, al; jz done
  c.emit(0xee, 0xeb).ref('loop', 'rel8'); // out dx, al; jmp loop
  c.label('done');
  c.emit(0xb0, 0x7c, 0xee); // mov al, '|'; out dx, al
  c.emit(0x8a, 0x83).u32(0x1e8); // mov al, [ebx+e820_entries]
  c.emit(0x04, 0x30, 0xee); // add al, '0'; out dx, al
  c.emit(0x8b, 0xb3).u32(0x218); // mov esi, [ebx+ramdisk_image]
  c.emit(0x8a, 0x06, 0xee); // mov al, [esi]; out dx, al
  c.emit(0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x20, 0x66, 0xef, 0xf4); // outw(0x604, 0x2000); hlt
  return c.link();
}

describe('booting a bzImage (Linux/x86 boot protocol, 32-bit entry)', () => {
  it('enters the protected-mode kernel with ESI = boot_params: command line, e820 map, initrd', () => {
    const bytes: number[] = [];
    const pc = createPc({ memoryMiB: 16, serial: (b) => bytes.push(b) });
    const image = bzImage(reportingKernel());
    expect(isBzImage(image)).toBe(true);
    const boot = pc.boot(image, 'console=ttyS0 init=/init', [
      { data: Uint8Array.from([0x49, 1, 2]), string: 'initrd' },
    ]);
    expect(boot.entry).toBe(0x100000);
    expect(boot.modules).toHaveLength(1);
    // The initrd lies page-aligned at the top of RAM.
    expect(boot.modules[0]).toEqual({ start: (16 << 20) - 4096, end: (16 << 20) - 4096 + 3 });
    const s = pc.core.getState();
    expect([s.esi, s.cs.selector, s.ds.selector, s.ss.selector, s.eflags & 0x200]).toEqual([
      BOOT_PARAMS_ADDR,
      0x10,
      0x18,
      0x18,
      0,
    ]);
    const r = pc.run({ maxInstructions: 10_000 });
    expect(r.reason).toBe('power-off');
    expect(String.fromCharCode(...bytes)).toBe('console=ttyS0 init=/init|4I');
  });

  it('writes the setup header, the loader fields, the screen and a PC memory map into boot_params', () => {
    const memory = new ArrayBuffer(32 << 20);
    const image = bzImage(new Uint8Array(100));
    const boot = loadBzImage(image, memory, 'quiet', null);
    const p = new DataView(memory, BOOT_PARAMS_ADDR, 4096);
    expect(p.getUint32(0x202, true)).toBe(0x53726448); // the header, copied
    expect(p.getUint16(0x206, true)).toBe(0x0206);
    expect(p.getUint8(0x210)).toBe(0xff); // type_of_loader
    expect(p.getUint32(0x218, true)).toBe(0); // no initrd
    expect(boot.initrd).toBeNull();
    expect([p.getUint8(0x06), p.getUint8(0x07), p.getUint8(0x0e)]).toEqual([3, 80, 25]);
    expect(p.getUint32(0x1e0, true)).toBe(31 * 1024); // alt_mem_k: RAM above 1 MiB
    const e820 = [...Array(p.getUint8(0x1e8)).keys()].map((i) => [
      p.getUint32(0x2d0 + i * 20, true),
      p.getUint32(0x2d0 + i * 20 + 8, true),
      p.getUint32(0x2d0 + i * 20 + 16, true),
    ]);
    expect(e820).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, 31 << 20, 1],
    ]);
    const cmd = p.getUint32(0x228, true);
    expect(Buffer.from(memory, cmd, 6).toString('latin1')).toBe('quiet\0');
  });

  it('refuses what it cannot boot, saying why', () => {
    const memory = new ArrayBuffer(8 << 20);
    const kernel = new Uint8Array(64);
    expect(() => loadBzImage(new Uint8Array(4096), memory, '', null)).toThrow(/not a bzImage/);
    const old = bzImage(kernel, (v) => v.setUint16(0x206, 0x0201, true));
    expect(() => loadBzImage(old, memory, '', null)).toThrow(/boot protocol 0x0201 is too old/);
    const zImage = bzImage(kernel, (_v, b) => (b[0x211] = 0));
    expect(() => loadBzImage(zImage, memory, '', null)).toThrow(/a zImage/);
    expect(() => loadBzImage(bzImage(kernel), memory, 'x'.repeat(300), null)).toThrow(
      /command line is 300 bytes; this kernel takes at most 255/,
    );
    expect(() => loadBzImage(bzImage(new Uint8Array(9 << 20)), memory, '', null)).toThrow(/does not fit in 8 MiB/);
    expect(() => loadBzImage(bzImage(new Uint8Array(2 << 20)), memory, '', new Uint8Array(1 << 20))).toThrow(
      /initrd \(1048576 bytes\) does not fit in 8 MiB of RAM beside the kernel/,
    );
  });
});
