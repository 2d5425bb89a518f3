// IRET in every mode. Being written.
import type { Cpu } from './cpu';
import { setSegCache } from './segments';
import { CS } from './cpu';

export function iret(c: Cpu): void {
  if (c.protectedMode) c.fault(6);
  const ip = c.popV();
  const sel = c.popV() & 0xffff;
  const fl = c.popV();
  setSegCache(c, CS, sel, sel << 4, c.segLimit[CS], c.segAccess[CS]);
  c.eip = ip;
  c.setEflags(fl, c.o32 ? 0x257fd5 : 0x7fd5);
}
