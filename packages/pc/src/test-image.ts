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

/** mov dx, port; mov al, byte; out dx, al — for each character. */
export function print(c: Code, text: string): void {
  for (const ch of text) c.emit(0x66, 0xba, 0xf8, 0x03, 0xb0, ch.charCodeAt(0), 0xee);
}

/** outw(0x604, 0x2000): ACPI soft-off. */
export function powerOff(c: Code): void {
  c.emit(0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x20, 0x66, 0xef, 0xf4);
}

export function outb(c: Code, port: number, value: number): void {
  c.emit(0xb0, value, 0xe6, port);
}

/**
 * A kernel that remaps the PICs, runs PIT channel 0 at about 1 kHz (mode 2, divisor 1193),
 * and sleeps in HLT until `ticks` (at most 127) timer interrupts have come; then it prints the
 * count + '0' and powers off. The count is a dword at the label 'count'.
 */
export function tickingKernel(ticks: number): Code {
  const c = multibootCode().label('start');
  c.emit(0xfa); // cli
  for (const [port, value] of [
    [0x20, 0x11],
    [0xa0, 0x11],
    [0x21, 0x20],
    [0xa1, 0x28],
    [0x21, 0x04],
    [0xa1, 0x02],
    [0x21, 0x01],
    [0xa1, 0x01],
    [0x21, 0xfe],
    [0xa1, 0xff],
  ]) {
    outb(c, port, value);
  }
  // PIT channel 0, mode 2, divisor 1193: about 1 kHz.
  outb(c, 0x43, 0x34);
  outb(c, 0x40, 0xa9);
  outb(c, 0x40, 0x04);
  c.emit(0x0f, 0x01, 0x1d).ref('idtr', 'abs32'); // lidt [idtr]
  c.emit(0xfb); // sti
  c.label('wait').emit(0xf4); // hlt
  c.emit(0x83, 0x3d).ref('count', 'abs32').emit(ticks); // cmp dword [count], ticks
  c.emit(0x72).ref('wait', 'rel8'); // jb wait
  c.emit(0xfa); // cli
  c.emit(0xa0).ref('count', 'abs32'); // mov al, [count]
  c.emit(0x04, 0x30); // add al, '0'
  c.emit(0x66, 0xba, 0xf8, 0x03, 0xee); // out 0x3f8, al
  powerOff(c);
  c.label('timer');
  c.emit(0xff, 0x05).ref('count', 'abs32'); // inc dword [count]
  c.emit(0x50);
  outb(c, 0x20, 0x20); // EOI
  c.emit(0x58, 0xcf); // pop eax; iret
  while (c.here % 8) c.emit(0x90);
  c.label('idt');
  for (let v = 0; v < 33; v++) {
    if (v === 32) c.ref('timer', 'lo16').u16(0x08).u16(0x8e00).ref('timer', 'hi16');
    else c.u32(0).u32(0);
  }
  c.label('idtr')
    .u16(33 * 8 - 1)
    .ref('idt', 'abs32');
  c.label('count').u32(0);
  return c;
}
