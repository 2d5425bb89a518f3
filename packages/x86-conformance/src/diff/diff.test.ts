// The differential test as a gate: 20,000 seeded cases over every form of the instruction-set
// table, run on the host CPU and on every registered core, compared register for register,
// flag for flag (undefined flags masked), byte for byte and exception for exception.

import { cores } from '@lguest/x86-cores';
import { interpreter, type CoreFactory, type CpuCore, type CpuState, type Exit, type Machine } from '@lguest/x86';
import { formName, usesStack } from './forms';
import { instructionForms } from './isa';
import { KNOWN_CORE_MISMATCHES } from './known';
import { generateCases, makePlan } from './plan';
import { runDiff, summary, type DiffResult } from './run';

const SEED = 0x4c475354;
const CASES = 20_000;

/** Forms that raise an exception at CPL 3 by design, whatever their operands. */
function alwaysFaults(mnemonic: string, privileged: boolean): boolean {
  return privileged || mnemonic === 'ud2' || mnemonic === 'int' || mnemonic === 'int3';
}

describe('differential test: host CPU versus cores', () => {
  let result: DiffResult;

  beforeAll(() => {
    result = runDiff({ seed: SEED, cases: CASES, cores });
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

  test('every form that can complete at CPL 3 completes natively in some case', () => {
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

  test('known core mismatches name a core that exists and say why', () => {
    for (const k of KNOWN_CORE_MISMATCHES) {
      expect(cores.map((c) => c.name)).toContain(k.core);
      expect(k.reason.length).toBeGreaterThan(40);
    }
  });
});

describe('the differential harness itself', () => {
  test('a seed and an index regenerate the same case', () => {
    const plan = makePlan(instructionForms());
    const a = generateCases(plan, 99, 500);
    const b = generateCases(plan, 99, 100, 400);
    expect(Array.from(b[37].snippet)).toEqual(Array.from(a[437].snippet));
    expect(Array.from(b[37].regs)).toEqual(Array.from(a[437].regs));
    expect(b[37].patches).toEqual(a[437].patches);
  });

  test('stack forms start with ESP inside the region, unless testing the stack limit', () => {
    const plan = makePlan(instructionForms());
    const stackCases = generateCases(plan, 5, 4000).filter(
      (c) => usesStack(c.form) && !c.notes.includes('ESP at the stack limit'),
    );
    expect(stackCases.length).toBeGreaterThan(100);
    for (const c of stackCases) {
      // Through the flat stack a linear address; through an LDT stack an offset into the data area.
      const offset = c.stack === 'flat' ? c.regs[4] - 0x100000 : c.stack === 'ldt32' ? c.regs[4] : c.regs[4] & 0xffff;
      expect(offset).toBeGreaterThanOrEqual(0x1000);
      expect(offset).toBeLessThan(0x1100);
    }
  });

  test('a core that executes ADC where ADD Ev,Gv is written is caught', () => {
    const r = runDiff({ seed: 3, cases: 600, form: 'add', cores: [mutant(interpreter)], details: 1 });
    const c = r.cores[0];
    expect(c.mismatches).toBeGreaterThan(10);
    expect([...c.byForm.keys()]).toEqual(['add Ev,Gv (01)']);
    expect(c.reports[0]).toMatch(
      /add Ev,Gv \(01\)[\s\S]*bytes 01 [\s\S]*(eflags|region\[[^\]]*\]|e[a-d]x|e[sd]i|e[sb]p): native/,
    );
  }, 60_000);
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
        invalidatePhysical: (p: number, n: number) => core.invalidatePhysical(p, n),
        flushTlb: () => core.flushTlb(),
      };
    },
  };
}
