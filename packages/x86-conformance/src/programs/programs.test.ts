import { resolve } from 'node:path';
import { cores } from '@lguest/x86-cores';
import { PROGRAMS, loadProgram, runProgram } from './programs';

// Every self-checking program on every registered core: exit status 0, no FAIL line, and
// every check the program made reported as PASS (or as a SKIP with its reason).
const root = resolve(__dirname, '../..');

describe.each(cores.map((c) => [c.name, c] as const))('self-checking programs on core %s', (_name, core) => {
  it.each(PROGRAMS.map((p) => [p]))('%s passes every check', (program) => {
    const result = runProgram(core, program, loadProgram(root, program));
    const report = `${program}: status ${String(result.status)}${result.stop ? `, ${result.stop}` : ''}\n${result.output}`;
    expect({ failed: result.failed, stop: result.stop }).toEqual({ failed: [], stop: undefined });
    expect(result.passed.length).toBeGreaterThan(0);
    expect(result.output).toContain(`SUMMARY ${program}: passed=${result.passed.length} failed=0`);
    if (result.status !== 0) throw new Error(report);
  });
});
