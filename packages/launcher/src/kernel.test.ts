import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, Host, type Process } from '@lguest/host';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { kernelText, makeElf } from './fixture';
import { memoryNeededMiB } from './boot';
import { checkKernelImage, findGzip, intuitPageOffset, loadBzImage, loadElf } from './kernel';
import { GuestMemory } from './memory';

describe('loading the kernel', () => {
  let host: Host;
  let proc: Process;
  let mem: GuestMemory;
  beforeEach(() => {
    host = new Host({ memoryMiB: 16, clock: 'virtual', hostMounts: [] });
    const p = host.createProcess();
    if (typeof p === 'number') throw new Error('no process');
    proc = p;
    mem = new GuestMemory(proc, 4 << 20);
    proc.mmap(0, mem.top, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  });
  afterEach(() => host.shutdown());

  it('puts ELF segments at their physical addresses and starts after "GenuineLguest"', () => {
    const data = Uint8Array.of(1, 2, 3, 4);
    const elf = makeElf([
      [0xc0100000, 0x100000, kernelText(0x40)],
      [0xc0200000, 0x200000, data],
    ]);
    expect(loadElf(mem, elf)).toEqual({ start: 0xc0100000 + 0x40 + 13, pageOffset: 0xc0000000, end: 0x200004 });
    expect(mem.read(0x200000, 4)).toEqual(data);
  });

  it('refuses what is not an i386 executable, or disagrees about PAGE_OFFSET, or has no signature', () => {
    expect(() => loadElf(mem, makeElf([[0xc0100000, 0x100000, kernelText()]], 62))).toThrow(
      'Malformed ELF: it is a 32-bit x86-64 executable, not a 32-bit i386 executable',
    );
    expect(() =>
      loadElf(
        mem,
        makeElf([
          [0xc0100000, 0x100000, kernelText()],
          [0x80200000, 0x200000, kernelText()],
        ]),
      ),
    ).toThrow('Page offset of segment 1 different');
    expect(() => loadElf(mem, makeElf([[0xc0100000, 0x100000, new Uint8Array(64)]]))).toThrow(
      'Is this image a genuine lguest?',
    );
    expect(() => loadElf(mem, makeElf([[0xc0400000, 0x400000, kernelText()]]))).toThrow('does not fit in guest memory');
  });

  it('finds the gzip member of a bzImage by its header, like the original', () => {
    const gz = gzipSync(Uint8Array.of(1, 2, 3));
    const image = new Uint8Array(0x300 + gz.length);
    image.set(gz, 0x300);
    expect(findGzip(image)).toBe(0x300);
    // A first 0x1f 0x8b whose OS byte is not UNIX ends the search for good (the quirk).
    const decoy = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0x0b);
    const both = new Uint8Array(decoy.length + image.length);
    both.set(decoy);
    both.set(image, decoy.length);
    expect(findGzip(both)).toBe(-1);
  });

  it('guesses PAGE_OFFSET from mov-to-%eax addresses', () => {
    const code = new Uint8Array(64);
    for (let i = 0; i < 4; i++) code.set([0xa1, 0x10, 0x20, 0x30, 0xc0], i * 5);
    expect(intuitPageOffset(code)).toBe(0xc0000000);
    expect(() => intuitPageOffset(code.subarray(0, 15))).toThrow('could not determine page offset');
  });

  it('unpacks a bzImage to 1 MiB', () => {
    const kernel = kernelText(0x10, 0x100);
    for (let i = 0; i < 4; i++) kernel.set([0xa1, 0, 0, 0x10, 0xc0], 0x80 + i * 5);
    const image = new Uint8Array([...new Uint8Array(0x200), ...gzipSync(kernel), ...new Uint8Array(32).fill(7)]);
    expect(loadBzImage(mem, image)).toEqual({
      start: 0xc0100000 + 0x10 + 13,
      pageOffset: 0xc0000000,
      end: 0x100000 + kernel.length,
    });
    expect(mem.read(0x100000, kernel.length)).toEqual(kernel);
    // Garbage where the deflate data should be.
    const broken = Uint8Array.from([
      ...gzipSync(kernel).subarray(0, 10),
      ...deflateRawSync(kernel).subarray(0, 8).fill(0xff),
    ]);
    expect(() => loadBzImage(mem, broken)).toThrow('Unpacking the kernel in the bzImage');
  });
});

describe('checking a kernel image before anything is built for it', () => {
  const elf = makeElf([[0xc0100000, 0x100000, kernelText(0x40)]]);

  it('says where an ELF kernel ends, and names the file in what is wrong', () => {
    expect(checkKernelImage(elf, "'k.elf'")).toEqual({ end: 0x100000 + kernelText(0x40).length });
    expect(() => checkKernelImage(elf.subarray(0, elf.length - 8), "'k.elf'")).toThrow(
      /^'k\.elf' is a damaged or truncated ELF file \(segment 0 \(\d+ bytes at file offset 84\) runs past the end of the file \(\d+ bytes\)\): build or copy it again$/,
    );
    expect(() => checkKernelImage(elf.subarray(0, 40), "'k.elf'")).toThrow(
      "'k.elf' is a damaged or truncated ELF file (the ELF header is cut short: the file has 40 bytes, the header needs 52): build or copy it again",
    );
    const x64 = elf.slice();
    x64[4] = 2;
    expect(() => checkKernelImage(x64, "'k.elf'")).toThrow(
      "'k.elf' is an ELF file but not an i386 executable (it is a 64-bit i386 executable): lguest boots 32-bit i386 kernels",
    );
    const bz = new Uint8Array(0x400).fill(0x5a);
    bz.set([0x48, 0x64, 0x72, 0x53], 0x202); // "HdrS", and no gzip stream
    expect(() => checkKernelImage(bz, "'bz'")).toThrow(
      /^'bz' is a bzImage with no kernel in it \(Could not find kernel in bzImage\)/,
    );
    expect(() => checkKernelImage(new Uint8Array(0), "'e'")).toThrow(/^'e' is not a kernel image: .*the file is empty/);
  });

  it('knows the guest memory an initrd needs beside the kernel', () => {
    // A kernel to 1.5 MiB and a 1 MiB initrd cannot share 2 MiB; the answer fits them both.
    const need = memoryNeededMiB(0x180000, 1 << 20);
    expect(need).toBe(3);
    expect(memoryNeededMiB(0x180000, 0)).toBe(2);
  });
});
