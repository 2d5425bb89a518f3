// The differential test as a gate: 20,000 seeded cases over every form of the instruction-set
// table, run on the host CPU and on every registered core, compared register for register,
// flag for flag (undefined flags masked), byte for byte and exception for exception.
//
// On a host that runs i386 programs the cases run there (the i386 oracle). On one that does
// not, they run as 64-bit code (the long-mode oracle) over the forms whose meaning is the same
// in 64-bit mode; the run then says loudly, before anything else, how many forms went
// unchecked against hardware and why. LGUEST_REQUIRE_I386=1 makes that host a failure.

import { cores } from '@lguest/x86-cores';
import {
  interpreter,
  type CoreFactory,
  type CpuCore,
  type CpuState,
  type Exit,
  type Machine,
  type WatchKind,
} from '@lguest/x86';
import { exclusionReason, formName, usesStack } from './forms';
import { hostOracle } from './host-oracle';
import { instructionForms } from './isa';
import { KNOWN_CORE_MISMATCHES } from './known';
import {
  i386Eip,
  LONG_MODE_16_BIT_ONLY,
  LONG_MODE_EXCLUSIONS,
  LONG_MODE_ONLY,
  longModeCaseProblem,
  longModeCode,
} from './long-mode';
import { generateCases, makePlan } from './plan';
import { protectionClassReport, runDiff, summary, uncheckedReport, type DiffResult } from './run';

const SEED = 0x4c475354;
const CASES = 20_000;

// Throws (and so fails every test of this file) when LGUEST_REQUIRE_I386=1 on a host
// without i386 execution.
const oracle = hostOracle();
if (oracle.name !== 'i386') console.warn(`differential test: ${oracle.reason}.\n${uncheckedReport(oracle.name)}`);

/** Forms that raise an exception at CPL 3 by design, whatever their operands. */
function alwaysFaults(mnemonic: string, privileged: boolean): boolean {
  return privileged || mnemonic === 'ud2' || mnemonic === 'int' || mnemonic === 'int3';
}

describe(`differential test: host CPU (${oracle.name} oracle) versus cores`, () => {
  let result: DiffResult;

  beforeAll(() => {
    result = runDiff({ seed: SEED, cases: CASES, cores, oracle: oracle.name });
    console.log(summary(result));
  }, 300_000);

  test('every form of the table is generated, or excluded with a reason', () => {
    const forms = instructionForms();
    const uncovered = forms.filter((f) => {
      if (result.plan.excluded.some((e) => e.form === f && e.reason.length > 0)) return false;
      return (result.perForm.get(f)?.cases ?? 0) === 0;
    });
    expect(uncovered.map(formName)).toEqual([]);
    expect(result.plan.supported.length + result.plan.excluded.length).toBe(forms.length);
  });

  test(`every form the ${oracle.name} oracle runs that can complete at CPL 3 completes natively in some case`, () => {
    // A generator that only ever produces faulting snippets would compare nothing but vectors.
    const neverCompleted = result.plan.supported.filter((f) => {
      const s = result.perForm.get(f);
      return !alwaysFaults(f.mnemonic, f.privilege !== undefined) && s !== undefined && s.faulted === s.cases;
    });
    expect(neverCompleted.map(formName)).toEqual([]);
  });

  test.each(cores.map((c) => c.name))('core "%s" matches the host on every case', (name) => {
    const r = result.cores.find((c) => c.core === name);
    expect(r).toBeDefined();
    // The reports name the form, bytes, inputs and each difference; an empty list is a pass.
    expect(r?.reports ?? []).toEqual([]);
    expect(r?.mismatches).toBe(0);
  });

  test('stack forms meet the guard pages: the host raised #PF 7, 6 and 4 for PUSH, PUSHF, ENTER, POP and LEAVE', () => {
    // What the hardware answered, by error code (write to the read-only page, write to and
    // read from the absent one) and by mnemonic: the class the core's ENTER bug came from.
    const seen = new Map<number, Set<string>>();
    result.cases.forEach((c, i) => {
      const o = result.native[i];
      if (!usesStack(c.form) || o.vector !== 14) return;
      seen.set(o.error, (seen.get(o.error) ?? new Set()).add(c.form.mnemonic));
    });
    for (const m of ['push', 'pushfd', 'enter']) expect([...(seen.get(7) ?? [])]).toContain(m);
    for (const m of ['push', 'enter']) expect([...(seen.get(6) ?? [])]).toContain(m);
    for (const m of ['pop', 'leave']) expect([...(seen.get(4) ?? [])]).toContain(m);
  });

  test('segment loads run with valid, null and bad selectors: the host loaded some and raised #GP(0) and #GP(selector)', () => {
    if (oracle.name !== 'long-mode') return; // the i386 oracle leaves segment loads out (Linux owns the GDT)
    const answers = new Map<string, Set<string>>();
    result.cases.forEach((c, i) => {
      const name = formName(c.form);
      if (!LONG_MODE_ONLY.has(name)) return;
      const o = result.native[i];
      const a = o.vector < 0 ? 'loaded' : o.vector === 13 ? (o.error === 0 ? '#GP(0)' : '#GP(sel)') : `#${o.vector}`;
      answers.set(name, (answers.get(name) ?? new Set()).add(a));
    });
    for (const name of LONG_MODE_ONLY) {
      const seen = [...(answers.get(name) ?? [])];
      expect({ name, loaded: seen.includes('loaded'), refused: seen.includes('#GP(sel)') }).toEqual({
        name,
        loaded: true,
        refused: true,
      });
    }
    const ssLoads = [...(answers.get('mov Sw,Ew (8E)') ?? []), ...(answers.get('lss Gv,Mp (0F B2)') ?? [])];
    expect(ssLoads).toContain('#GP(0)'); // a null SS
    expect([...(answers.get('mov Sw,Ew (8E)') ?? [])]).toContain('#6'); // MOV CS, and Sreg 6 and 7
  });

  test('known core mismatches name a core that exists and say why', () => {
    for (const k of KNOWN_CORE_MISMATCHES) {
      expect(cores.map((c) => c.name)).toContain(k.core);
      expect(k.reason.length).toBeGreaterThan(40);
    }
  });
});

describe('the differential harness itself', () => {
  test('the header says which protection classes each oracle leaves unchecked against hardware', () => {
    const longMode = protectionClassReport('long-mode');
    expect(longMode).toMatch(/paging at CPL 3[^\n]*:\n\s+checked against the host CPU/);
    expect(longMode).toMatch(/segment-register loads[^\n]*:\n\s+partly: MOV Sreg [^\n]*; NOT POP DS\/ES\/SS/);
    expect(longMode).toMatch(/stack-size transitions[^\n]*:\n\s+NOT checked/);
    expect(longMode).toContain('not on hardware');
    expect(uncheckedReport('long-mode')).toContain(longMode);
  });

  test('a seed and an index regenerate the same case', () => {
    const plan = makePlan(instructionForms());
    const a = generateCases(plan, 99, 500);
    const b = generateCases(plan, 99, 100, 400);
    expect(Array.from(b[37].snippet)).toEqual(Array.from(a[437].snippet));
    expect(Array.from(b[37].regs)).toEqual(Array.from(a[437].regs));
    expect(b[37].patches).toEqual(a[437].patches);
  });

  test('stack forms start with ESP inside the region, unless testing the stack limit or the guard pages', () => {
    const plan = makePlan(instructionForms());
    const stackCases = generateCases(plan, 5, 4000).filter(
      (c) =>
        usesStack(c.form) &&
        !c.notes.includes('ESP at the stack limit') &&
        !c.notes.includes('ESP at the guard pages below the data area'),
    );
    expect(stackCases.length).toBeGreaterThan(100);
    for (const c of stackCases) {
      // Through the flat stack a linear address; through an LDT stack an offset into the data area.
      const offset = c.stack === 'flat' ? c.regs[4] - 0x100000 : c.stack === 'ldt32' ? c.regs[4] : c.regs[4] & 0xffff;
      expect(offset).toBeGreaterThanOrEqual(0x1000);
      expect(offset).toBeLessThan(0x1100);
    }
  });

  test(`a core that executes ADC where ADD Ev,Gv is written is caught (${oracle.name} oracle)`, () => {
    const r = runDiff({
      seed: 3,
      cases: 600,
      form: 'add',
      cores: [mutant(interpreter)],
      details: 1,
      oracle: oracle.name,
    });
    const c = r.cores[0];
    expect(c.mismatches).toBeGreaterThan(10);
    expect([...c.byForm.keys()]).toEqual(['add Ev,Gv (01)']);
    expect(c.reports[0]).toMatch(
      /add Ev,Gv \(01\)[\s\S]*bytes 01 [\s\S]*(eflags|region\[[^\]]*\]|e[a-d]x|e[sd]i|e[sb]p): native/,
    );
  }, 60_000);
});

describe('the long-mode oracle', () => {
  const forms = instructionForms();
  const plan = makePlan(forms, undefined, 'long-mode');

  test('every form it excludes exists in the table, is not already excluded, and has a reason', () => {
    const names = new Map(forms.map((f) => [formName(f), f]));
    for (const [name, reason] of LONG_MODE_EXCLUSIONS) {
      const form = names.get(name);
      expect({ name, exists: form !== undefined }).toEqual({ name, exists: true });
      expect({ name, i386: form && exclusionReason(form) }).toEqual({ name, i386: undefined });
      expect(reason.length).toBeGreaterThan(20);
    }
    expect(new Set(LONG_MODE_EXCLUSIONS.map(([n]) => n)).size).toBe(LONG_MODE_EXCLUSIONS.length);
    for (const name of LONG_MODE_16_BIT_ONLY) {
      expect({ name, runs: plan.supported.some((f) => formName(f) === name) }).toEqual({ name, runs: true });
    }
    expect(plan.supported.length + plan.excluded.length).toBe(forms.length);
    const everywhere = forms.filter((f) => exclusionReason(f) && !LONG_MODE_ONLY.has(formName(f)));
    expect(plan.excluded.length).toBe(LONG_MODE_EXCLUSIONS.length + everywhere.length);
  });

  test('runs the integer core of the table: ALU, shifts, MUL/DIV, bit operations, strings, Jcc, LOOP', () => {
    const run = new Set(plan.supported.map(formName));
    for (const name of [
      'add Ev,Gv (01)',
      'adc Eb,Ib (80 /2)',
      'rcl Ev,CL (D3 /2)',
      'div Ev (F7 /6)',
      'idiv Eb (F6 /7)',
      'imul Gv,Ev,Ibs (6B)',
      'bts Ev,Gv (0F AB)',
      'bsr Gv,Ev (0F BD)',
      'setle Eb (0F 9E)',
      'cmovnbe Gv,Ev (0F 47)',
      'cmpxchg8b Mq (0F C7 /1)',
      'xadd Ev,Gv (0F C1)',
      'lea Gv,M (8D)',
      'movs Yv,Xv (A5)',
      'cmps Xb,Yb (A6)',
      'xlat (D7)',
      'mov eAX,Ov (A1)',
      'jnle Jv (0F 8F)',
      'loopne Jb (E0)',
      'jecxz Jb (E3)',
      'sahf (9E)',
      'cwde (98)',
      'bswap Zv (0F C9)',
    ])
      expect({ name, run: run.has(name) }).toEqual({ name, run: true });
  });

  test('draws only cases it can reproduce, and the same ones again from the same seed', () => {
    const a = generateCases(plan, 11, 3000);
    const b = generateCases(plan, 11, 50, 2000);
    expect(a.filter((c) => longModeCaseProblem(c) !== undefined)).toEqual([]);
    // PUSH and POP only with 66h; never FS, GS, CS overrides or 67h.
    const stack = a.filter((c) => LONG_MODE_16_BIT_ONLY.has(formName(c.form)));
    expect(stack.length).toBeGreaterThan(100);
    expect(stack.filter((c) => !c.insn.includes(0x66)).map((c) => c.index)).toEqual([]);
    const prefixes = a.map((c) => c.insn[0]);
    for (const p of [0x2e, 0x64, 0x65, 0x67]) expect(prefixes).not.toContain(p);
    expect(Array.from(b[7].snippet)).toEqual(Array.from(a[2007].snippet));
    expect(Array.from(b[7].regs)).toEqual(Array.from(a[2007].regs));
  });

  test('adds 67h to addressing instructions and turns [disp32] into SIB form', () => {
    const [c] = generateCases(makePlan(forms, 'add Ev,Gv (01)', 'long-mode'), 1, 1);
    const at = (insn: number[]) => ({ ...c, insn: Uint8Array.from(insn), snippet: Uint8Array.from(insn) });
    // add %eax,0x101000 → addr32 add %eax,0x101000(,%eiz,1)
    const direct = longModeCode(at([0x01, 0x05, 0x00, 0x10, 0x10, 0x00]));
    expect(Array.from(direct.snippet)).toEqual([0x67, 0x01, 0x04, 0x25, 0x00, 0x10, 0x10, 0x00]);
    expect(direct.grown).toBe(2);
    // o16 add %ax,0x10(%ebx,%esi,4)
    const sib = longModeCode(at([0x66, 0x01, 0x44, 0xb3, 0x10]));
    expect(Array.from(sib.snippet)).toEqual([0x67, 0x66, 0x01, 0x44, 0xb3, 0x10]);
    // add %eax,%ecx: no memory, no change
    expect(Array.from(longModeCode(at([0x01, 0xc1])).snippet)).toEqual([0x01, 0xc1]);
    // A trap after the instruction reports the i386 instruction's end; a fault its start.
    expect(i386Eip(0x110108, 0x110100, direct, 6)).toBe(0x110106);
    expect(i386Eip(0x110100, 0x110100, direct, 6)).toBe(0x110100);
  });
});

/**
 * `inner` with one planted bug: opcode 01 (ADD Ev,Gv) runs as 11 (ADC Ev,Gv) when it starts
 * a snippet. It keeps `inner`'s name, so `inner`'s known mismatches stay set aside.
 */
function mutant(inner: CoreFactory): CoreFactory {
  return {
    name: inner.name,
    description: 'the reference interpreter with ADD Ev,Gv executed as ADC',
    create(machine: Machine): CpuCore {
      const core = inner.create(machine);
      const mem = new Uint8Array(machine.memory);
      return {
        name: inner.name,
        run(budget: number): Exit {
          const eip = core.getState().eip;
          if (mem[eip] === 0x01) mem[eip] = 0x11;
          return core.run(budget);
        },
        get retired(): number {
          return core.retired;
        },
        get escapeCode(): number {
          return core.escapeCode;
        },
        get irqLine(): boolean {
          return core.irqLine;
        },
        set irqLine(on: boolean) {
          core.irqLine = on;
        },
        reset: () => core.reset(),
        getState: (): CpuState => core.getState(),
        setState: (s: CpuState) => core.setState(s),
        requestStop: () => core.requestStop(),
        setBreakpoint: (a: number) => core.setBreakpoint(a),
        clearBreakpoint: (a: number) => core.clearBreakpoint(a),
        setWatchpoint: (a: number, n: number, k: WatchKind) => core.setWatchpoint(a, n, k),
        clearWatchpoint: (a: number, n: number, k: WatchKind) => core.clearWatchpoint(a, n, k),
        watchHit: () => core.watchHit(),
        invalidatePhysical: (p: number, n: number) => core.invalidatePhysical(p, n),
        flushTlb: () => core.flushTlb(),
      };
    },
  };
}
