// Segment descriptors and gates as the CPU reads them: two little-endian dwords each. The
// host writes its GDT and IDT with these at boot, lg writes LGUEST_CS/DS into the host GDT
// with them, and the kernel-call entry turns a descriptor into the hidden cache the CPU
// would hold after loading it.

import type { SegmentState } from '@lguest/x86';

/** A code/data/system descriptor: [low dword, high dword]. `limit` is the 20-bit field. */
export function segmentDescriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const hi =
    (((base >>> 16) & 0xff) |
      ((access & 0xff) << 8) |
      (limit & 0xf0000) |
      ((flags & 0xf) << 20) |
      (base & 0xff000000)) >>>
    0;
  return [lo, hi];
}

/** A 32-bit interrupt (type 0xE) or trap (type 0xF) gate: [low dword, high dword]. */
export function gateDescriptor(selector: number, offset: number, type: number, dpl: number): [number, number] {
  const lo = ((offset & 0xffff) | ((selector & 0xffff) << 16)) >>> 0;
  const hi = ((offset & 0xffff0000) | 0x8000 | ((dpl & 3) << 13) | ((type & 0x1f) << 8)) >>> 0;
  return [lo, hi];
}

/** Access bytes (P, DPL, S, type) and flag nibbles (G, D/B) of the descriptors the host uses. */
export const ACCESS_KERNEL_CODE = 0x9a;
export const ACCESS_KERNEL_DATA = 0x92;
export const ACCESS_USER_CODE = 0xfa;
export const ACCESS_USER_DATA = 0xf2;
/** Present, DPL 0, available 32-bit TSS. */
export const ACCESS_TSS = 0x89;
/** 4 KiB granular, 32-bit. */
export const FLAGS_FLAT32 = 0xc;
export const GATE_INTERRUPT = 0x0e;
export const GATE_TRAP = 0x0f;

/** The descriptor cache a load of `selector` from the descriptor (lo, hi) would produce. */
export function descriptorCache(selector: number, lo: number, hi: number): SegmentState {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  const limit = hi & 0x800000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
  let access = (hi >>> 8) & 0xf0ff;
  // A code or data segment is marked accessed when loaded.
  if (access & 0x10) access |= 1;
  return { selector, base, limit, access };
}

/** An unusable (null) segment register. */
export function nullSegment(): SegmentState {
  return { selector: 0, base: 0, limit: 0, access: 0 };
}
