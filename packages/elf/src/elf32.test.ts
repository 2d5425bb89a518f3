import { ElfError, describeElf, isElf, loadElfPhysical, readElf32, type ElfProblem } from './elf32';

/** A well-formed i386 ET_EXEC: one PT_LOAD per [paddr, bytes, extra bss], an optional PT_NOTE first. */
function makeElf(segments: [number, Uint8Array, number][], { note = false } = {}): Uint8Array {
  const phnum = segments.length + (note ? 1 : 0);
  let offset = 52 + phnum * 32;
  const elf = new Uint8Array(offset + segments.reduce((n, [, b]) => n + b.length, 0));
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(24, 0x100010, true); // e_entry
  v.setUint32(28, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, phnum, true);
  let ph = 52;
  if (note) {
    v.setUint32(ph, 4, true); // PT_NOTE, pointing nowhere sensible: only PT_LOAD is checked
    v.setUint32(ph + 4, 0xffffff00, true);
    v.setUint32(ph + 16, 0x1000, true);
    ph += 32;
  }
  for (const [paddr, bytes, bss] of segments) {
    v.setUint32(ph, 1, true);
    v.setUint32(ph + 4, offset, true);
    v.setUint32(ph + 8, (paddr + 0xc0000000) >>> 0, true);
    v.setUint32(ph + 12, paddr, true);
    v.setUint32(ph + 16, bytes.length, true);
    v.setUint32(ph + 20, bytes.length + bss, true);
    elf.set(bytes, offset);
    offset += bytes.length;
    ph += 32;
  }
  return elf;
}

const TEXT = new Uint8Array([0x90, 0x90, 0xf4, 0xeb, 0xfe]);
const DATA = new Uint8Array([1, 2, 3, 4]);

function refusal(image: Uint8Array): { problem: ElfProblem; message: string } {
  try {
    readElf32(image);
  } catch (e) {
    if (e instanceof ElfError) return { problem: e.problem, message: e.message };
    throw e;
  }
  throw new Error('readElf32 accepted the image');
}

describe('readElf32', () => {
  it('reads the entry and every program header of a well-formed executable, the PT_LOADs apart', () => {
    const elf = readElf32(makeElf([[0x100000, TEXT, 0], [0x101000, DATA, 12]], { note: true }));
    expect(elf.entry).toBe(0x100010);
    expect(elf.programHeaders.map((p) => p.type)).toEqual([4, 1, 1]);
    expect(elf.loads.map(({ index, paddr, vaddr, filesz, memsz }) => [index, paddr, vaddr, filesz, memsz])).toEqual([
      [1, 0x100000, 0xc0100000, 5, 5],
      [2, 0x101000, 0xc0101000, 4, 16],
    ]);
  });

  it('refuses a file without the magic, saying what it starts with', () => {
    expect(refusal(new TextEncoder().encode('this is text'))).toEqual({
      problem: 'not-elf',
      message: 'not an ELF file: it does not start with 7f 45 4c 46 (it starts with 74 68 69 73)',
    });
    expect(refusal(new Uint8Array(0)).message).toMatch(/it is empty/);
    expect(isElf(new Uint8Array([0x7f, 0x45, 0x4c]))).toBe(false);
  });

  it('refuses a header cut short at every length below 52 bytes', () => {
    const whole = makeElf([[0x100000, TEXT, 0]]);
    for (let n = 4; n < 52; n++) {
      expect(refusal(whole.subarray(0, n))).toEqual({
        problem: 'truncated-header',
        message: `the ELF header is cut short: the file has ${n} bytes, the header needs 52`,
      });
    }
  });

  it('refuses another class, byte order, machine or file type, naming what the file is', () => {
    const cases: [string, (e: Uint8Array, v: DataView) => void, string][] = [
      ['64-bit', (e) => (e[4] = 2), '64-bit i386 executable'],
      ['big-endian', (e) => (e[5] = 2), '32-bit big-endian machine 768 type 512'],
      ['x86-64', (_, v) => v.setUint16(18, 62, true), '32-bit x86-64 executable'],
      ['ARM', (_, v) => v.setUint16(18, 40, true), '32-bit machine 40 executable'],
      ['shared object', (_, v) => v.setUint16(16, 3, true), '32-bit i386 shared object'],
      ['relocatable', (_, v) => v.setUint16(16, 1, true), '32-bit i386 relocatable object'],
    ];
    for (const [, spoil, what] of cases) {
      const elf = makeElf([[0x100000, TEXT, 0]]);
      spoil(elf, new DataView(elf.buffer));
      expect(refusal(elf)).toEqual({ problem: 'not-i386', message: `it is a ${what}, not a 32-bit i386 executable` });
    }
    expect(describeElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2]))).toBe('64-bit machine -1 type -1');
  });

  it('refuses program headers of the wrong size, none at all, or a table past the end of the file', () => {
    const odd = makeElf([[0x100000, TEXT, 0]]);
    new DataView(odd.buffer).setUint16(42, 56, true);
    expect(refusal(odd)).toEqual({
      problem: 'program-headers',
      message: 'its program headers are 56 bytes each; ELF32 program headers are 32',
    });
    const none = makeElf([[0x100000, TEXT, 0]]);
    new DataView(none.buffer).setUint16(44, 0, true);
    expect(refusal(none).problem).toBe('no-load');
    const far = makeElf([[0x100000, TEXT, 0]]);
    new DataView(far.buffer).setUint32(28, 0xfffffff0, true);
    expect(refusal(far)).toEqual({
      problem: 'program-headers',
      message: `its program header table (1 entries at offset ${0xfffffff0}) runs past the end of the file (${far.length} bytes)`,
    });
    const whole = makeElf([[0x100000, TEXT, 0], [0x101000, DATA, 0]]);
    expect(refusal(whole.subarray(0, 52 + 40)).problem).toBe('program-headers');
  });

  it('refuses a segment whose bytes run past the end of the file, or with more file than memory bytes', () => {
    const whole = makeElf([[0x100000, TEXT, 0], [0x101000, DATA, 0]]);
    expect(refusal(whole.subarray(0, whole.length - 1))).toEqual({
      problem: 'segment',
      message: `segment 1 (4 bytes at file offset ${whole.length - 4}) runs past the end of the file (${whole.length - 1} bytes)`,
    });
    const huge = makeElf([[0x100000, TEXT, 0]]);
    new DataView(huge.buffer).setUint32(52 + 4, 0xffffffff, true); // p_offset: no wrap-around to a small number
    expect(refusal(huge).problem).toBe('segment');
    const bss = makeElf([[0x100000, TEXT, 0]]);
    new DataView(bss.buffer).setUint32(52 + 20, 2, true);
    expect(refusal(bss)).toEqual({
      problem: 'segment',
      message: 'segment 0 has more bytes in the file (5) than in memory (2)',
    });
  });

  it('refuses an executable with no PT_LOAD segment', () => {
    const elf = makeElf([[0x100000, TEXT, 0]]);
    new DataView(elf.buffer).setUint32(52, 4, true); // the only header becomes a PT_NOTE
    expect(refusal(elf)).toEqual({ problem: 'no-load', message: 'it has no PT_LOAD segment: there is nothing to load' });
  });

  it('never throws anything but an ElfError, whatever the bytes (every truncation, every flipped header byte)', () => {
    const whole = makeElf([[0x100000, TEXT, 0], [0x101000, DATA, 8]], { note: true });
    const tries: Uint8Array[] = [];
    for (let n = 0; n <= whole.length; n++) tries.push(whole.slice(0, n));
    for (let at = 0; at < 52 + 3 * 32; at++) {
      for (const x of [0x00, 0xff, 0x80]) {
        const spoilt = whole.slice();
        spoilt[at] = x;
        tries.push(spoilt);
      }
    }
    for (const image of tries) {
      try {
        const elf = readElf32(image);
        for (const s of elf.loads) expect(s.offset + s.filesz).toBeLessThanOrEqual(image.length);
      } catch (e) {
        expect(e).toBeInstanceOf(ElfError);
      }
    }
  });
});

describe('loadElfPhysical', () => {
  it('copies each PT_LOAD to its physical address and zeroes its memory beyond the file bytes', () => {
    const memory = new Uint8Array(2 << 20).fill(0xcc);
    const loaded = loadElfPhysical(makeElf([[0x100000, TEXT, 0], [0x101000, DATA, 12]]), memory);
    expect(loaded).toEqual({ entry: 0x100010, start: 0x100000, end: 0x101010 });
    expect(Array.from(memory.subarray(0x100000, 0x100005))).toEqual(Array.from(TEXT));
    expect(Array.from(memory.subarray(0x101000, 0x101010))).toEqual([1, 2, 3, 4, ...new Array(12).fill(0)]);
    expect(memory[0x100005]).toBe(0xcc);
    expect(memory[0x101010]).toBe(0xcc);
  });

  it('refuses a segment outside memory before writing any byte', () => {
    const memory = new Uint8Array(1 << 20).fill(0xcc);
    expect(() => loadElfPhysical(makeElf([[0x80000, TEXT, 0], [0xffffc, DATA, 4]]), memory)).toThrow(
      new ElfError('does-not-fit', 'segment 1 at physical 0xffffc (+0x8) does not fit in 1 MiB of memory'),
    );
    expect(memory.every((b) => b === 0xcc)).toBe(true);
  });
});
