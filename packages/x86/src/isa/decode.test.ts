// The decoder's fields on hand-picked encodings (the objdump and core comparisons cover
// lengths and validity wholesale), and the shape of the table it reads.

import { decode, isDecodeError, type Decoded, type DecodeError } from './decode';
import { FORMS, formFor, ONE_BYTE_MAP, TWO_BYTE_MAP, hasModrm } from './table';

const bytes = (h: string): Uint8Array => Uint8Array.from(h.split(' '), (x) => parseInt(x, 16));

function ok(h: string, mode32 = true): Decoded {
  const d = decode(bytes(h), 0, mode32);
  if (isDecodeError(d)) throw new Error(`${h}: ${d.reason}`);
  return d;
}

function bad(h: string, mode32 = true): DecodeError {
  const d = decode(bytes(h), 0, mode32);
  if (!isDecodeError(d)) throw new Error(`${h} decoded as ${d.mnemonic}`);
  return d;
}

describe('decode', () => {
  it('splits prefixes, opcode, ModRM, SIB, displacement and immediate', () => {
    // lock addl $0x12345678,%fs:-0x80(%esp,%eax,2)
    const d = ok('f0 64 81 44 44 80 78 56 34 12');
    expect(d).toMatchObject({
      length: 10,
      prefixCount: 2,
      lock: true,
      segment: 4,
      opcode: 0x81,
      mnemonic: 'add',
      modrm: 0x44,
      mod: 1,
      reg: 0,
      rm: 4,
      sib: 0x44,
      disp: -0x80,
      dispSize: 1,
      imm: 0x12345678,
      immSize: 4,
    });
    expect(d.ea).toEqual({ base: 4, index: 0, scale: 2, disp: -0x80, segment: 4, a32: true });
  });

  it('picks SS for EBP and ESP bases and DS otherwise, unless overridden', () => {
    expect(ok('8b 45 f8').ea?.segment).toBe(2);
    expect(ok('8b 04 24').ea?.segment).toBe(2);
    expect(ok('8b 03').ea?.segment).toBe(3);
    expect(ok('8b 46 02', false).ea).toMatchObject({ base: 5, index: -1, segment: 2, a32: false });
    expect(ok('26 8b 45 f8').ea?.segment).toBe(0);
  });

  it('decodes base-less addresses', () => {
    expect(ok('8b 05 78 56 34 12').ea).toMatchObject({ base: -1, index: -1, disp: 0x12345678 });
    expect(ok('8b 04 8d 00 10 00 00').ea).toMatchObject({ base: -1, index: 1, scale: 4, disp: 0x1000 });
    expect(ok('8b 06 34 12', false).ea).toMatchObject({ base: -1, index: -1, disp: 0x1234, a32: false });
    expect(ok('a1 78 56 34 12').ea).toMatchObject({ base: -1, index: -1, disp: 0x12345678, segment: 3 });
  });

  it('applies 66 and 67 against the default size', () => {
    expect(ok('66 b8 34 12')).toMatchObject({ o32: false, a32: true, imm: 0x1234, length: 4 });
    expect(ok('66 b8 78 56 34 12', false)).toMatchObject({ o32: true, imm: 0x12345678, length: 6 });
    expect(ok('67 8b 00')).toMatchObject({ a32: false, length: 3 });
    expect(ok('67 8b 00', false)).toMatchObject({ a32: true, length: 3 });
  });

  it('sign-extends Ibs and relative offsets and keeps other immediates unsigned', () => {
    expect(ok('83 c0 ff').imm).toBe(-1);
    expect(ok('80 c0 ff').imm).toBe(0xff);
    expect(ok('eb fe').imm).toBe(-2);
    expect(ok('e9 00 ff ff ff').imm).toBe(-0x100);
    expect(ok('c8 10 00 02')).toMatchObject({ imm: 0x10, immSize: 2, imm2: 2, imm2Size: 1 });
    expect(ok('9a 78 56 34 12 08 00')).toMatchObject({ imm: 0x12345678, imm2: 8, length: 7 });
  });

  it('resolves size-dependent mnemonics', () => {
    expect(ok('98').mnemonic).toBe('cwde');
    expect(ok('66 98').mnemonic).toBe('cbw');
    expect(ok('60', false).mnemonic).toBe('pusha');
    expect(ok('e3 00').mnemonic).toBe('jecxz');
    expect(ok('67 e3 00').mnemonic).toBe('jcxz');
    expect(ok('66 e3 00').mnemonic).toBe('jecxz');
  });

  it('selects group forms by ModRM reg, including the undocumented aliases', () => {
    expect(ok('f6 c8 01').form).toBe(formFor(0xf6, 1));
    expect(ok('c0 f0 01').mnemonic).toBe('sal');
    expect(ok('82 f0 01').mnemonic).toBe('xor');
    expect(ok('d6').mnemonic).toBe('salc');
    expect(ok('0f 04 07')).toMatchObject({ mnemonic: 'hostescape', imm: 7, length: 3 });
  });

  it('ignores the mod field of MOV to and from control registers', () => {
    expect(ok('0f 20 18')).toMatchObject({ length: 3, reg: 3, rm: 0, ea: null });
  });

  it('rejects what the processor rejects', () => {
    expect(bad('0f 05')).toMatchObject({ error: 'invalid', opcode: 0x0f05 });
    expect(bad('ff 38').reason).toContain('ff /7');
    expect(bad('8d c0').reason).toContain('memory');
    expect(bad('0f c7 c8').reason).toContain('memory');
    expect(bad('8e c8').reason).toContain('segment register 1');
    expect(bad('8c f0').reason).toContain('segment register 6');
    expect(bad('0f 22 e8').reason).toContain('CR5');
    expect(bad('f0 90').reason).toContain('LOCK');
    expect(bad('f0 01 c0').reason).toContain('LOCK');
  });

  it('reports truncation and the 15-byte limit', () => {
    expect(bad('66')).toMatchObject({ error: 'truncated', length: 1 });
    expect(bad('0f')).toMatchObject({ error: 'truncated' });
    expect(bad('8b')).toMatchObject({ error: 'truncated' });
    expect(bad('8b 04')).toMatchObject({ error: 'truncated' });
    expect(bad('b8 01 02')).toMatchObject({ error: 'truncated' });
    expect(bad(new Array(15).fill('66').join(' ') + ' 90')).toMatchObject({ error: 'too-long' });
    expect(bad(new Array(11).fill('3e').join(' ') + ' 05 78 56 34 12')).toMatchObject({
      error: 'too-long',
      length: 16,
    });
    expect(ok(new Array(14).fill('3e').join(' ') + ' 90').length).toBe(15);
  });

  it('decodes at an offset', () => {
    expect(decode(bytes('90 90 b0 05'), 2, true)).toMatchObject({ offset: 2, length: 2, imm: 5 });
  });
});

describe('the table', () => {
  const flagLetters = /^o?d?i?s?z?a?p?c?$/;

  it('spells its entries consistently', () => {
    for (const f of FORMS) {
      const where = `${f.opcode.toString(16)}${f.reg !== undefined ? `/${f.reg}` : ''} ${f.mnemonic}`;
      expect([where, /^[a-z][a-z0-9]*$/.test(f.mnemonic)]).toEqual([where, true]);
      for (const set of [f.flags?.read, f.flags?.written, f.flags?.undefined]) {
        if (set !== undefined) expect([where, set, flagLetters.test(set)]).toEqual([where, set, true]);
      }
      if (f.lockable) expect([where, f.operands[0][0]]).toEqual([where, f.operands[0] === 'Mq' ? 'M' : 'E']);
      if (f.reg !== undefined) expect([where, hasModrm(f)]).toEqual([where, true]);
    }
  });

  it('covers the whole one-byte map except prefixes and 0F', () => {
    const missing: number[] = [];
    const notOpcodes = [0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];
    for (let b = 0; b < 256; b++) if (!ONE_BYTE_MAP[b] && !notOpcodes.includes(b)) missing.push(b);
    expect(missing).toEqual([]);
    for (const b of notOpcodes) expect(ONE_BYTE_MAP[b]).toBeUndefined();
  });

  it('answers formFor for plain and group opcodes', () => {
    expect(formFor(0x89)?.mnemonic).toBe('mov');
    expect(formFor(0x0fa2)?.mnemonic).toBe('cpuid');
    expect(formFor(0xff, 2)?.mnemonic).toBe('call');
    expect(formFor(0xff)).toBeUndefined();
    expect(formFor(0xff, 7)).toBeUndefined();
    expect(formFor(0x0f05)).toBeUndefined();
    expect(formFor(0x66)).toBeUndefined();
    expect(TWO_BYTE_MAP[0xc8]?.forms[0]?.mnemonic).toBe('bswap');
  });
});
