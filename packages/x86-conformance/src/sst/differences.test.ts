import { type MooTest, Reg } from './moo';
import { candidate, classify, DIFFERENCES_286_ON_386 } from './differences';
import { readShape } from './shape';

type Regs = Partial<Record<'bx' | 'bp' | 'si' | 'di' | 'sp' | 'ip' | 'ax' | 'cx' | 'dx' | 'flags', number>>;
const regs: Regs = { sp: 0x100, ip: 0x100 };

/** Classifies `bytes` (HLT appended) as if it had recorded `vector` (-1: none). */
function decide(bytes: number[], vector = -1, r: Regs = regs, ram: [number, number][] = []): string | undefined {
  const values = new Uint32Array(20);
  const at = {
    bx: Reg.EBX,
    bp: Reg.EBP,
    si: Reg.ESI,
    di: Reg.EDI,
    sp: Reg.ESP,
    ip: Reg.EIP,
    ax: Reg.EAX,
    cx: Reg.ECX,
    dx: Reg.EDX,
    flags: Reg.EFLAGS,
  };
  for (const [k, v] of Object.entries(r)) values[at[k as keyof Regs]] = v;
  const test = {
    index: 0,
    name: '',
    bytes: Uint8Array.from([...bytes, 0xf4]),
    initial: {
      regs: { present: 0x3fff, values },
      ram: { addresses: Uint32Array.from(ram.map((p) => p[0])), values: Uint8Array.from(ram.map((p) => p[1])) },
    },
    final: {
      regs: { present: 0, values: new Uint32Array(20) },
      ram: { addresses: new Uint32Array(0), values: new Uint8Array(0) },
    },
    exception: vector >= 0 ? { vector, flagAddress: 0 } : undefined,
  } as unknown as MooTest;
  const c = classify(DIFFERENCES_286_ON_386, candidate(test, values));
  return c && `${c.difference.id}:${c.resolution.kind}`;
}

describe('286-on-386 differences', () => {
  it('reads prefixes, ModRM and the operand segment', () => {
    const s = readShape(Uint8Array.from([0xf0, 0x2e, 0x36, 0x01, 0x46, 0x10, 0xf4]));
    expect(s).toMatchObject({
      lock: true,
      override: 2,
      opcode: 0x01,
      reg: 0,
      memory: true,
      segment: 2,
      prefixCount: 3,
      length: 6,
    });
    expect(readShape(Uint8Array.from([0x00, 0x42, 0x05, 0xf4])).segment).toBe(2); // [bp+si+5] is SS
    expect(readShape(Uint8Array.from([0x00, 0x06, 0x34, 0x12, 0xf4])).segment).toBe(3); // [1234h] is DS
  });

  it('expects #UD for LOCK without a lockable memory destination', () => {
    expect(decide([0xf0, 0x00, 0xc0])).toBe('lock-ud:fault'); // lock add al,al
    expect(decide([0xf0, 0x02, 0x07])).toBe('lock-ud:fault'); // lock add al,[bx]: register destination
    expect(decide([0xf0, 0x90])).toBe('lock-ud:fault'); // lock nop
    expect(decide([0xf0, 0x38, 0x07])).toBe('lock-ud:fault'); // lock cmp [bx],al
    expect(decide([0xf0, 0x00, 0x07])).toBeUndefined(); // lock add [bx],al is fine
    expect(decide([0xf0, 0xfe, 0x07])).toBeUndefined(); // lock inc byte [bx]
    expect(decide([0xf0, 0xc6, 0x4f, 0x00, 0x00], 6)).toBe('lock-ud:agree'); // #UD on both
  });

  it('skips the escape opcodes, over-long instructions and MOV FS/GS', () => {
    expect(decide([0xd8, 0x07])).toBe('fpu-escape:skip');
    expect(decide([0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x81, 0x07, 0x34, 0x12], 13)).toBe(
      'long-instruction:skip',
    );
    expect(decide([0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x81, 0x07, 0x34, 0x12], 13)).toBeUndefined(); // 10 bytes
    expect(decide([0x8e, 0xe0], 6)).toBe('mov-fs-gs:skip');
    expect(decide([0x8e, 0xf0], 6)).toBeUndefined(); // reg 6 is #UD on both
  });

  it('allows #SS for SS-relative overruns, not for DS, ES or fetch overruns', () => {
    expect(decide([0x01, 0x46, 0x00], 13)).toBe('ss-overrun:vector'); // add [bp+0],ax
    expect(decide([0x36, 0x01, 0x07], 13)).toBe('ss-overrun:vector'); // add ss:[bx],ax
    expect(decide([0x01, 0x07], 13)).toBeUndefined(); // add [bx],ax: DS
    expect(decide([0x50], 13)).toBe('ss-overrun:vector'); // push ax
    const bxAtEnd = { ...regs, bx: 0xffff };
    expect(decide([0xff, 0x37], 13, bxAtEnd)).toBeUndefined(); // push [bx] with bx=FFFF: DS operand overran
    expect(decide([0xff, 0x37], 13)).toBe('ss-overrun:vector'); // push [bx]: the push overran
    expect(decide([0x36, 0xa4], 13)).toBe('ss-overrun:vector'); // movsb from ss:[si]
    expect(decide([0xff, 0x37], 13, { ...regs, ip: 0xffff })).toBeUndefined(); // fetch crossed CS's limit
  });

  it('expects word string registers at the element that crosses 0xFFFF', () => {
    expect(decide([0xa5], 13, { si: 0xffff })).toBe('string-overrun:restart');
    expect(decide([0xf3, 0xab], 13, { cx: 5, di: 0xfffb })).toBe('string-overrun:restart'); // third element
    expect(decide([0xf3, 0xab], 13, { cx: 2, di: 0xfffb })).toBeUndefined(); // stops before it
    expect(decide([0xa5], 13)).toBeUndefined(); // nothing crosses: the #GP is not the string's
    expect(decide([0xa4], 13, { si: 0xffff })).toBeUndefined(); // bytes cannot cross 0xFFFF
  });

  it('expects POP m16 to fault before popping when its destination overruns', () => {
    expect(decide([0x8f, 0x07], 13, { ...regs, bx: 0xffff })).toBe('pop-overrun:fault');
    expect(decide([0x8f, 0x07], 13, { ...regs, bx: 0x1234, sp: 0xffff })).toBe('ss-overrun:vector');
  });

  it('expects #DE for AAM 0 and for IDIV quotients out of range', () => {
    expect(decide([0xd4, 0x00], 0)).toBe('aam-zero:fault');
    // idiv bl: AX = -32319, BL = 124: quotient -260 does not fit in a byte
    expect(decide([0xf6, 0xfb], -1, { ax: 0x81c1, bx: 124 })).toBe('idiv-overflow:fault');
    expect(decide([0xf6, 0xfb], -1, { ax: 0xff80, bx: 1 })).toBeUndefined(); // -128 fits
    // idiv byte [bx] reads its divisor from the test's bytes (DS = 0)
    expect(decide([0xf6, 0x3f], -1, { ax: 0x4000, bx: 0x50 }, [[0x50, 2]])).toBe('idiv-overflow:fault');
    expect(decide([0xf6, 0x3f], -1, { ax: 0x4000, bx: 0x50 })).toBeUndefined(); // divisor not in the data
    // idiv word: DX:AX = 0x00010000 / 2 = 0x8000 does not fit
    expect(decide([0xf7, 0xfb], -1, { ax: 0, dx: 1, bx: 2 })).toBe('idiv-overflow:fault');
  });
});
