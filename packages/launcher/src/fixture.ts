// Test-only: small kernels for the launcher's tests — an ELF is a header, program headers and
// the bytes of each PT_LOAD; a kernel's text needs only the signature the launcher looks for.

/** An i386 ET_EXEC with one PT_LOAD per [vaddr, paddr, bytes]. */
export function makeElf(segments: [number, number, Uint8Array][], machine = 3): Uint8Array {
  const phoff = 52;
  let offset = phoff + segments.length * 32;
  const size = offset + segments.reduce((n, [, , b]) => n + b.length, 0);
  const elf = new Uint8Array(size);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, machine, true);
  v.setUint32(28, phoff, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segments.length, true);
  segments.forEach(([vaddr, paddr, bytes], i) => {
    const ph = phoff + i * 32;
    v.setUint32(ph, 1, true); // PT_LOAD
    v.setUint32(ph + 4, offset, true);
    v.setUint32(ph + 8, vaddr, true);
    v.setUint32(ph + 12, paddr, true);
    v.setUint32(ph + 16, bytes.length, true);
    v.setUint32(ph + 20, bytes.length, true);
    elf.set(bytes, offset);
    offset += bytes.length;
  });
  return elf;
}

/** Kernel text with the signature at `at` and some code after it. */
export function kernelText(at = 0x40, size = 0x200): Uint8Array {
  const text = new Uint8Array(size).fill(0x90);
  text.set(new TextEncoder().encode('GenuineLguest'), at);
  return text;
}
