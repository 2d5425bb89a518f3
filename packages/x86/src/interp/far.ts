// Far control transfers in every mode. Being written.
import type { Cpu } from './cpu';
import { setSegCache } from './segments';
import { CS } from './cpu';

/** JMP ptr16:16/32 or JMP m16:16/32. */
export function jmpFar(c: Cpu, sel: number, off: number): void {
  if (c.protectedMode && !c.v86) c.fault(6);
  setSegCache(c, CS, sel, sel << 4, c.segLimit[CS], c.segAccess[CS]);
  c.eip = c.o32 ? off : off & 0xffff;
}

/** CALL ptr16:16/32 or CALL m16:16/32. */
export function callFar(c: Cpu, sel: number, off: number): void {
  if (c.protectedMode && !c.v86) c.fault(6);
  c.pushV(c.segSel[CS]);
  c.pushV(c.eip);
  setSegCache(c, CS, sel, sel << 4, c.segLimit[CS], c.segAccess[CS]);
  c.eip = c.o32 ? off : off & 0xffff;
}

/** RETF [imm16]. */
export function retFar(c: Cpu, imm: number): void {
  if (c.protectedMode && !c.v86) c.fault(6);
  const ip = c.popV();
  const sel = c.popV() & 0xffff;
  c.setSp(c.sp() + imm);
  setSegCache(c, CS, sel, sel << 4, c.segLimit[CS], c.segAccess[CS]);
  c.eip = ip;
}
