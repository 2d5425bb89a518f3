// The CPU as both of the PC's boot loaders hand it to a 32-bit kernel: protected mode on
// (CR0 = PE | ET), paging off, flat 4 GiB ring-0 code and data segments from the loader's
// GDT, interrupts off (EFLAGS holds only its reserved bit), the real-mode IVT as the IDT, and
// every general register zero except those the boot protocol names. The multiboot loader
// (EAX = magic, EBX = info structure) and the Linux boot protocol (ESI = boot_params) differ
// only in those registers, the selectors, the GDT and the stack.

import type { CpuState, SegmentState } from '@lguest/x86';

/** Access bits (descriptor bits 8–23) of a flat 32-bit ring-0 code segment: present, execute/read, 4 KiB granular. */
export const FLAT_CODE_ACCESS = 0xc09b;
/** Access bits of a flat 32-bit ring-0 data segment: present, read/write, 4 KiB granular. */
export const FLAT_DATA_ACCESS = 0xc093;

export interface FlatEntry {
  eip: number;
  esp: number;
  codeSelector: number;
  dataSelector: number;
  gdtr: { base: number; limit: number };
  /** The registers the boot protocol passes something in; the others are zero. */
  registers?: Partial<Pick<CpuState, 'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'ebp'>>;
}

function flat(selector: number, access: number): SegmentState {
  return { selector, base: 0, limit: 0xffffffff, access };
}

/** The flat protected-mode entry state, built on `reset` (the core's power-on state). */
export function flatProtectedModeEntry(reset: CpuState, entry: FlatEntry): CpuState {
  const data = (): SegmentState => flat(entry.dataSelector, FLAT_DATA_ACCESS);
  return {
    ...reset,
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    ...entry.registers,
    esp: entry.esp,
    eip: entry.eip >>> 0,
    eflags: 0x2,
    cs: flat(entry.codeSelector, FLAT_CODE_ACCESS),
    ds: data(),
    es: data(),
    fs: data(),
    gs: data(),
    ss: data(),
    gdtr: { ...entry.gdtr },
    idtr: { base: 0, limit: 0x3ff },
    cr0: 0x11, // PE | ET
    cr2: 0,
    cr3: 0,
    cr4: 0,
    cpl: 0,
    halted: false,
  };
}
