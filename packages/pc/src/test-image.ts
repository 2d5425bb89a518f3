// Test-only: hand-assembled multiboot kernels for the PC's own tests, so `pc` can be tested
// without gcc and without the guest package. `Code` is a byte buffer with labels and
// fix-ups (absolute 32-bit, relative 8-bit, and the two halves of an IDT gate's offset);
// `multibootElf` wraps the code in a one-segment ELF with a multiboot header.

type Fixup = { at: number; label: string; kind: 'abs32' | 'rel8' | 'lo16' | 'hi16' };

export class Code {
  readonly bytes: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];

  /** `origin` is the physical (= linear) address of the first byte. */
  constructor(readonly origin: number) {}

  get here(): number {
    return this.origin + this.bytes.length;
  }

  emit(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.emit(v, v >> 8);
  }

  u32(v: number): this {
    return this.emit(v, v >> 8, v >> 16, v >>> 24);
  }

  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }

  /** The address of a label defined so far. */
  addressOf(label: string): number {
    const a = this.labels.get(label);
    if (a === undefined) throw new Error(`undefined label ${label}`);
    return a;
  }

  /** A placeholder filled with the label's value later. */
  ref(label: string, kind: Fixup['kind']): this {
    this.fixups.push({ at: this.bytes.length, label, kind });
    return kind === 'rel8' ? this.emit(0) : kind === 'abs32' ? this.u32(0) : this.u16(0);
  }

  /** Resolves every fix-up and returns the bytes. */
  link(): Uint8Array {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`undefined label ${f.label}`);
      const put = (offset: number, v: number): void => {
        this.bytes[f.at + offset] = v & 0xff;
      };
      if (f.kind === 'rel8') {
        const rel = target - (this.origin + f.at + 1);
        if (rel < -128 || rel > 127) throw new Error(`jump to ${f.label} out of rel8 range`);
        put(0, rel);
      } else if (f.kind === 'abs32') {
        for (let i = 0; i < 4; i++) put(i, target >>> (8 * i));
      } else {
        const half = f.kind === 'lo16' ? target & 0xffff : target >>> 16;
        put(0, half);
        put(1, half >> 8);
      }
    }
    return Uint8Array.from(this.bytes);
  }
}

/** Where the code of `multibootElf` starts (after the ELF header and one program header). */
export const CODE_OFFSET = 0x60;
export const LOAD_ADDRESS = 0x100000;

/** A new Code at the load address that already holds a multiboot header (flags 0). */
export function multibootCode(): Code {
  const c = new Code(LOAD_ADDRESS + CODE_OFFSET);
  c.u32(0x1badb002)
    .u32(0)
    .u32(-0x1badb002 >>> 0);
  return c;
}

/** An ET_EXEC i386 ELF loading `code` (built by multibootCode) at 1 MiB, entry at `entry`. */
export function multibootElf(code: Uint8Array, entry: number, bssBytes = 0): Uint8Array {
  const file = new Uint8Array(CODE_OFFSET + code.length);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, 52, true); // e_phoff
  v.setUint16(40, 52, true); // e_ehsize
  v.setUint16(42, 32, true); // e_phentsize
  v.setUint16(44, 1, true); // e_phnum
  v.setUint32(52, 1, true); // PT_LOAD
  v.setUint32(56, 0, true); // p_offset
  v.setUint32(60, LOAD_ADDRESS, true); // p_vaddr
  v.setUint32(64, LOAD_ADDRESS, true); // p_paddr
  v.setUint32(68, file.length, true);
  v.setUint32(72, file.length + bssBytes, true);
  v.setUint32(76, 7, true);
  file.set(code, CODE_OFFSET);
  return file;
}
