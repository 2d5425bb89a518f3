// Loading the bare-metal image into physical memory, as a multiboot loader does for an ELF
// kernel: every PT_LOAD segment copied to its physical address, the rest of its memory size
// (.bss) zeroed.

const ELF_MAGIC = 0x464c457f; // "\x7fELF", little-endian
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;

/**
 * Copies the loadable segments of a 32-bit i386 executable into `memory` at their physical
 * addresses and returns the entry point. Throws if the file is not such an ELF or a segment
 * does not fit in memory.
 */
export function loadElf(image: Uint8Array, memory: Uint8Array): number {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (
    image.byteLength < 52 ||
    view.getUint32(0, true) !== ELF_MAGIC ||
    image[4] !== ELFCLASS32 ||
    image[5] !== ELFDATA2LSB ||
    view.getUint16(16, true) !== ET_EXEC ||
    view.getUint16(18, true) !== EM_386
  ) {
    throw new Error('not a 32-bit little-endian i386 ELF executable');
  }
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 32 > image.byteLength) throw new Error(`program header ${i} lies outside the file`);
    if (view.getUint32(ph, true) !== PT_LOAD) continue;
    const offset = view.getUint32(ph + 4, true);
    const paddr = view.getUint32(ph + 12, true);
    const filesz = view.getUint32(ph + 16, true);
    const memsz = view.getUint32(ph + 20, true);
    if (filesz > memsz || offset + filesz > image.byteLength) throw new Error(`segment ${i} is malformed`);
    if (paddr + memsz > memory.byteLength) {
      throw new Error(`segment ${i} at 0x${paddr.toString(16)} (+0x${memsz.toString(16)}) does not fit in memory`);
    }
    memory.set(image.subarray(offset, offset + filesz), paddr);
    memory.fill(0, paddr + filesz, paddr + memsz);
  }
  return entry;
}
