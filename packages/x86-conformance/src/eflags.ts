// EFLAGS bits by name, for describing a flag difference in a test report ("CF- SF+").

export const EFLAGS_BITS: readonly (readonly [number, string])[] = [
  [0x1, 'CF'],
  [0x4, 'PF'],
  [0x10, 'AF'],
  [0x40, 'ZF'],
  [0x80, 'SF'],
  [0x100, 'TF'],
  [0x200, 'IF'],
  [0x400, 'DF'],
  [0x800, 'OF'],
  [0x3000, 'IOPL'],
  [0x4000, 'NT'],
  [0x10000, 'RF'],
  [0x20000, 'VM'],
  [0x40000, 'AC'],
  [0x200000, 'ID'],
];
