import {
  A_CODE,
  A_DATA,
  A_INT32,
  CODE0,
  CODE3,
  DATA0,
  DATA3,
  DPL3,
  F_32,
  IDT,
  TSS_A,
  accessByte,
  enterPm,
  gateAt,
  newCpu,
  r32,
  seg,
  standardGdt,
  w32,
} from './pm-fixture';
import { softwareInterrupt } from './interrupts';

describe('interrupt delivery to an inner ring', () => {
  it('marks the handler CS accessed in its own descriptor, not in the SS descriptor read in between', () => {
    const c = newCpu();
    standardGdt(c);
    // Unaccessed ring-0 code and data descriptors, as Linux writes them.
    seg(c, CODE0, 0, 0xfffff, A_CODE, F_32);
    seg(c, DATA0, 0, 0xfffff, A_DATA, F_32);
    gateAt(c, IDT + 0x80 * 8, CODE0, 0x5000, A_INT32 | DPL3);
    w32(c, TSS_A + 4, 0x9000); // esp0
    w32(c, TSS_A + 8, DATA0); // ss0
    enterPm(c, { cpl: 3, cs: CODE3, ss: DATA3, ds: DATA3, esp: 0x7000, eip: 0x1234 });
    const ssBefore = accessByte(c, DATA0);
    c.o32 = 1;
    softwareInterrupt(c, 0x80, true);
    expect(c.cpl).toBe(0);
    expect(c.eip).toBe(0x5000);
    expect(accessByte(c, CODE0)).toBe(0x9b); // code, now accessed
    expect(accessByte(c, DATA0)).toBe(ssBefore | 1); // still data (only its accessed bit set)
    // The frame on the ring-0 stack: SS, ESP, EFLAGS, CS, EIP.
    expect([r32(c, 0x9000 - 4), r32(c, 0x9000 - 8), r32(c, 0x9000 - 16), r32(c, 0x9000 - 20)]).toEqual([
      DATA3,
      0x7000,
      CODE3,
      0x1234,
    ]);
  });
});
