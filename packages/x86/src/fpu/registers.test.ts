import { EMPTY_IO_BUS, Exit } from '../contract';
import { interpreter } from '../interp/index';
import { withX87Registers, x87Registers } from './registers';

describe('the x87 state as a debugger sees it', () => {
  it('shows what FNINIT; FLD1; FLDPI left: ST(0) pi, ST(1) 1.0, TOP 6, two valid tags', () => {
    const memory = new ArrayBuffer(1 << 20);
    // fninit; fld1; fldpi; cli; hlt at 0000:0100
    new Uint8Array(memory).set([0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xfa, 0xf4], 0x100);
    const core = interpreter.create({ memory, io: EMPTY_IO_BUS });
    core.reset();
    const s = core.getState();
    s.cs = { ...s.cs, selector: 0, base: 0 };
    s.eip = 0x100;
    core.setState(s);
    expect(core.run(100)).toBe(Exit.Halt);
    const r = x87Registers(core.saveFpu!());
    // pi = 0x4000 c90fdaa2 2168c235 (rounded to nearest), 1.0 = 0x3fff 80000000 00000000
    expect(Buffer.from(r.st.subarray(0, 10)).toString('hex')).toBe('35c26821a2da0fc90040');
    expect(Buffer.from(r.st.subarray(10, 20)).toString('hex')).toBe('0000000000000080ff3f');
    expect(r.fctrl).toBe(0x37f);
    expect(r.fstat).toBe(6 << 11);
    // Physical registers 6 and 7 valid (00), the rest empty (11).
    expect(r.ftag).toBe(0x0fff);
  });

  it('puts back what a debugger changed, and reads it the same', () => {
    const before = x87Registers(null);
    const st = new Uint8Array(80);
    st.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x40], 0); // ST(0) = 2.0
    const regs = { ...before, st, fctrl: 0x27f, fstat: 7 << 11, ftag: 0x3fff, fioff: 0xc0101234, fop: 0x1e8 };
    const back = x87Registers(withX87Registers(null, regs));
    expect(back).toEqual({ ...regs, st });
  });
});
