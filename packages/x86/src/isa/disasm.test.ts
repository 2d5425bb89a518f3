// The disassembler (and through it the decoder's lengths) against GNU objdump: every table
// form in several operand variations, in 32-bit code and in 16-bit code, each written raw to
// its own file and disassembled by one objdump run. Only whitespace is normalised; every
// place we knowingly differ is listed in DIVERGENCES with its reason.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, isDecodeError } from './decode';
import { disassemble, disassembleAt, type Syntax } from './disasm';
import { FORMS } from './table';
import { samplesOf, type Sample } from './samples';

function haveObjdump(): boolean {
  try {
    execFileSync('objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface ObjdumpLine {
  length: number;
  text: string;
}

/** First instruction objdump sees in each file, and how many bytes it took. */
function objdumpFirst(samples: Sample[], mode32: boolean, syntax: Syntax): ObjdumpLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-isa-'));
  try {
    const files = samples.map((s, i) => {
      const f = join(dir, `s${i}.bin`);
      writeFileSync(f, s.bytes);
      return f;
    });
    const args = ['-D', '--insn-width=16', '-b', 'binary', '-m', 'i386'];
    const options = [...(syntax === 'intel' ? ['intel'] : []), ...(mode32 ? [] : ['data16', 'addr16'])];
    if (options.length) args.push('-M', options.join(','));
    const result: ObjdumpLine[] = [];
    for (let at = 0; at < files.length; at += 500) {
      const out = execFileSync('objdump', [...args, ...files.slice(at, at + 500)], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      // Each file's section starts with "<.data>:"; its first line is the first instruction.
      for (const section of out.split('<.data>:').slice(1)) {
        const line = section.split('\n').find((l) => /^\s+0:\t/.test(l)) ?? '';
        const [, hexBytes = '', text = ''] = line.split('\t');
        result.push({ length: hexBytes.trim().split(/\s+/).filter(Boolean).length, text: normalise(text) });
      }
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function normalise(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

interface Divergence {
  /** Why we differ from objdump on purpose. */
  reason: string;
  applies(s: Sample): boolean;
  /** What to compare instead: adjust objdump's text, or `null` to compare lengths only,
   *  or `'skip'` when even the length is objdump's mistake. */
  adjust(objdump: string, s: Sample, syntax: Syntax): string | null | 'skip';
}

const DIVERGENCES: Divergence[] = [
  {
    reason: 'SALC (D6) is undocumented; objdump calls it (bad), the core executes it',
    applies: (s) => s.form.opcode === 0xd6,
    adjust: () => 'salc',
  },
  {
    reason: '0F 04 ib is the lguest host escape; objdump does not know it',
    applies: (s) => s.form.opcode === 0x0f04,
    adjust: () => 'skip',
  },
  {
    reason: '0F 18–1E: P6 hint NOPs that later processors gave meanings objdump prints (PREFETCHh, MPX, CET)',
    applies: (s) => s.form.opcode >= 0x0f18 && s.form.opcode <= 0x0f1e,
    adjust: () => 'skip',
  },
  {
    reason:
      'the undocumented x87 aliases (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FXCH7, FSTP8, FSTP9) are (bad) to objdump',
    applies: (s) =>
      s.form.x87 !== undefined &&
      /^\w+\d /.test(s.form.x87.registers[s.bytes[s.bytes.length - 1] & 7] ?? '') &&
      s.bytes[s.bytes.length - 1] >= 0xc0,
    adjust: () => null,
  },
  {
    reason:
      'objdump marks FNENI and FNDISI "(8087 only)" and FNSETPM "(287 only)"; on a P6 they are no-ops we name plainly',
    applies: (s) => s.form.opcode === 0xdb && s.form.reg === 4,
    adjust: (t) => t.replace(/\((8087|287) only\)$/, ''),
  },
  {
    reason: 'in 16-bit code objdump does not wrap 8-bit relative targets to 16 bits; IP does',
    applies: (s) => !s.mode32 && s.form.operands.includes('Jb'),
    adjust: (t) => t.replace(/0x(f{4}[0-9a-f]{4})\b/, (_, v: string) => '0x' + (parseInt(v, 16) & 0xffff).toString(16)),
  },
  {
    reason: 'on a 486, 3E before an indirect near CALL/JMP is a DS override; objdump reads it as NOTRACK (CET)',
    applies: (s) => s.form.opcode === 0xff && (s.form.reg === 2 || s.form.reg === 4) && s.bytes.includes(0x3e),
    adjust: (t, _s, syntax) =>
      syntax === 'att'
        ? t.replace(/^notrack (call|jmp)(\w*) \*/, '$1$2 *%ds:')
        : t.replace(/^notrack /, '').replace(/ PTR \[/, ' PTR ds:['),
  },
  {
    reason: 'in 16-bit code objdump splits 66 off a direct far CALL/JMP (ptr16:32) as "data32"',
    applies: (s) => !s.mode32 && s.form.operands.includes('Ap') && s.bytes.includes(0x66),
    adjust: () => 'skip',
  },
];

describe('disassembler against GNU objdump', () => {
  // objdump comes with GNU binutils, which the guest-side build needs anyway.
  it('has GNU objdump to compare with', () => {
    if (!haveObjdump()) throw new Error('objdump was not found: install GNU binutils (apt-get install -y binutils)');
  });
  const run = it;
  const cases: [boolean, Syntax][] = [
    [true, 'att'],
    [false, 'att'],
    [true, 'intel'],
    [false, 'intel'],
  ];
  for (const [mode32, syntax] of cases) {
    run(
      `matches objdump${syntax === 'intel' ? ' -M intel' : ''} for every form in ${mode32 ? '32' : '16'}-bit code`,
      () => {
        const samples = FORMS.flatMap((f) => samplesOf(f, mode32));
        expect(samples.length).toBeGreaterThan(FORMS.length * 5);
        const theirs = objdumpFirst(samples, mode32, syntax);
        expect(theirs.length).toBe(samples.length);
        const mismatches: string[] = [];
        samples.forEach((s, i) => {
          const ours = disassemble(s.bytes, 0, mode32, { syntax });
          let want: string | null | 'skip' = theirs[i].text;
          let wantLength = theirs[i].length;
          for (const d of DIVERGENCES)
            if (d.applies(s) && want !== 'skip' && want !== null) want = d.adjust(want, s, syntax);
          if (want === 'skip') return;
          if (ours.length !== s.bytes.length) wantLength = s.bytes.length;
          const sameText = want === null || normalise(ours.text) === want;
          if (!sameText || ours.length !== wantLength) {
            mismatches.push(
              `${hexOf(s.bytes)}  [${s.form.mnemonic} ${s.form.operands.join(',')} ${s.label}]\n` +
                `    ours:    ${ours.text} (${ours.length})\n    objdump: ${theirs[i].text} (${theirs[i].length})`,
            );
          }
        });
        // One line per form and variation kind keeps a systematic error readable.
        const seen = new Set<string>();
        const distinct = mismatches.filter((m) => {
          const key = m.slice(m.indexOf('['), m.indexOf(']')).replace(/\d+\]?$/, '');
          return !seen.has(key) && seen.add(key);
        });
        expect(distinct.slice(0, 60).join('\n')).toBe('');
        expect(mismatches.length).toBe(0);
      },
    );
  }

  it('decodes every sample to its own form and length', () => {
    for (const mode32 of [true, false]) {
      for (const s of FORMS.flatMap((f) => samplesOf(f, mode32))) {
        const d = decode(s.bytes, 0, mode32);
        if (isDecodeError(d)) throw new Error(`${hexOf(s.bytes)} (${s.label}): ${d.reason}`);
        expect([d.form, d.length]).toEqual([s.form, s.bytes.length]);
      }
    }
  });
});

describe('disassembler details', () => {
  const bytes = (h: string): Uint8Array => Uint8Array.from(h.split(' '), (x) => parseInt(x, 16));

  it('spells the examples in the brief', () => {
    expect(disassemble(bytes('0f 22 d8'), 0, true).text).toBe('mov %eax,%cr3');
    expect(disassemble(bytes('c7 45 08 01 00 00 00'), 0, true).text).toBe('movl $0x1,0x8(%ebp)');
    expect(disassemble(bytes('9a 34 12 00 00 10 00'), 0, true).text).toBe('lcall $0x10,$0x1234');
    expect(disassemble(bytes('f3 a5'), 0, true).text).toBe('rep movsl %ds:(%esi),%es:(%edi)');
  });

  it('computes branch targets from the given address', () => {
    expect(disassemble(bytes('eb fe'), 0, true, { address: 0xc0101234 }).text).toBe('jmp 0xc0101234');
    expect(disassemble(bytes('e8 00 00 00 00'), 0, true, { address: 0xfffffffb }).text).toBe('call 0x0');
  });

  it('reports bad bytes without throwing', () => {
    const r = disassemble(bytes('0f 0a'), 0, true);
    expect(r).toMatchObject({ text: '(bad)', length: 2 });
    expect(r.error).toContain('undefined opcode 0f 0a');
    expect(disassemble(bytes('8d c0'), 0, true).error).toContain('memory operand');
    expect(disassemble(bytes('f0 01 c0'), 0, true).error).toContain('LOCK');
    expect(disassemble(bytes('81 05 00'), 0, true).error).toContain('end');
    expect(disassemble(new Uint8Array(16).fill(0x3e), 0, true).error).toContain('15');
  });

  it('disassembles at a linear address through a reader', () => {
    const mem = new Map<number, number>([
      [0xc0101234, 0x0f],
      [0xc0101235, 0x22],
      [0xc0101236, 0xd8],
      [0xc0101240, 0x0f],
    ]);
    const read = (a: number): number => mem.get(a) ?? -1;
    expect(disassembleAt(read, 0xc0101234, true)).toEqual({ text: 'mov %eax,%cr3', length: 3 });
    expect(disassembleAt(read, 0x1000, true)).toMatchObject({ text: '(unreadable)', length: 0 });
    expect(disassembleAt(read, 0xc0101235, true).text).toBe('and %al,%bl');
    expect(disassembleAt(read, 0xc0101240, true)).toMatchObject({ text: '(bad)', length: 1 });
  });

  it('spells x87 instructions as objdump does: sizes, ST(i) operands, the System V FSUB/FDIV swap', () => {
    const both = (h: string): string[] =>
      (['att', 'intel'] as const).map((syntax) => disassemble(bytes(h), 0, true, { syntax }).text);
    expect(both('d9 00')).toEqual(['flds (%eax)', 'fld DWORD PTR [eax]']);
    expect(both('dd 45 f8')).toEqual(['fldl -0x8(%ebp)', 'fld QWORD PTR [ebp-0x8]']);
    expect(both('db 2c 24')).toEqual(['fldt (%esp)', 'fld TBYTE PTR [esp]']);
    expect(both('df 3b')).toEqual(['fistpll (%ebx)', 'fistp QWORD PTR [ebx]']);
    expect(both('de 0e')).toEqual(['fimuls (%esi)', 'fimul WORD PTR [esi]']);
    expect(both('da 4d 04')).toEqual(['fimull 0x4(%ebp)', 'fimul DWORD PTR [ebp+0x4]']);
    expect(both('df 26')).toEqual(['fbld (%esi)', 'fbld TBYTE PTR [esi]']);
    expect(both('d9 6d fe')).toEqual(['fldcw -0x2(%ebp)', 'fldcw WORD PTR [ebp-0x2]']);
    expect(both('66 d9 30')).toEqual(['fnstenvs (%eax)', 'fnstenvw [eax]']);
    expect(both('dd 30')).toEqual(['fnsave (%eax)', 'fnsave [eax]']);
    expect(both('d8 c1')).toEqual(['fadd %st(1),%st', 'fadd st,st(1)']);
    expect(both('dc c2')).toEqual(['fadd %st,%st(2)', 'fadd st(2),st']);
    expect(both('de e9')).toEqual(['fsubrp %st,%st(1)', 'fsubp st(1),st']);
    expect(both('dc f9')).toEqual(['fdivr %st,%st(1)', 'fdiv st(1),st']);
    expect(both('db f1')).toEqual(['fcomi %st(1),%st', 'fcomi st,st(1)']);
    expect(both('da c3')).toEqual(['fcmovb %st(3),%st', 'fcmovb st,st(3)']);
    expect(both('df e0')).toEqual(['fnstsw %ax', 'fnstsw ax']);
    expect(both('d9 fe')).toEqual(['fsin', 'fsin']);
    expect(both('d9 c9')).toEqual(['fxch %st(1)', 'fxch st(1)']);
    // The undocumented aliases keep the table's names (objdump has none for them).
    expect(both('d9 d9')).toEqual(['fstp1 %st(1)', 'fstp1 st(1)']);
  });

  it('has an Intel syntax', () => {
    const intel = (h: string): string => disassemble(bytes(h), 0, true, { syntax: 'intel' }).text;
    expect(intel('c7 45 08 01 00 00 00')).toBe('mov DWORD PTR [ebp+0x8],0x1');
    expect(intel('0f 22 d8')).toBe('mov cr3,eax');
    expect(intel('8b 04 8d f8 ff ff ff')).toBe('mov eax,DWORD PTR [ecx*4-0x8]');
    expect(intel('f3 a5')).toBe('rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi]');
    expect(intel('26 8a 07')).toBe('mov al,BYTE PTR es:[edi]');
  });
});
