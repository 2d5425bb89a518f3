import { Exit, interp } from '@lguest/x86';
import { CODE, DATA, STACK_TOP, flatState, machine, pair, prepareMemory } from './fixture';
import { COMPILE_THRESHOLD, jit as jitFactory, type JitCpu } from './core';

/** mov ecx,100; xor eax,eax; mov ebx,DATA; loop: add eax,ecx; mov [ebx+ecx*4],eax; call f;
 *  dec ecx; jnz loop; hlt; f: push ebx; lea ebx,[eax+eax*2]; xor edx,ebx; pop ebx; ret */
function sumProgram(iterations = 100): Uint8Array {
  const d = DATA;
  return new Uint8Array([
    0xb9, iterations & 0xff, iterations >> 8, 0, 0,
    0x31, 0xc0,
    0xbb, d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, 0,
    0x01, 0xc8,
    0x89, 0x04, 0x8b,
    0xe8, 4, 0, 0, 0,
    0x49,
    0x75, 0xf3,
    0xf4,
    0x53,
    0x8d, 0x1c, 0x40,
    0x31, 0xda,
    0x5b,
    0xc3,
  ]); // prettier-ignore
}

function sumModel(iterations: number): { eax: number; edx: number } {
  let eax = 0;
  let edx = 0;
  for (let ecx = iterations; ecx > 0; ecx--) {
    eax = (eax + ecx) | 0;
    edx ^= Math.imul(eax, 3);
  }
  return { eax: eax >>> 0, edx: edx >>> 0 };
}

/**
 * loop: mov byte [CODE+8], cl ; add eax, imm8 (the patched byte) ; dec ecx ; jnz loop ; hlt.
 * The store changes the immediate of the very next instruction of the same block.
 */
function selfPatchingLoop(): Uint8Array {
  const patch = CODE + 8;
  return new Uint8Array([
    0x88, 0x0d, patch & 0xff, (patch >> 8) & 0xff, (patch >> 16) & 0xff, 0,
    0x83, 0xc0, 0x00,
    0x49,
    0x75, 0xf4,
    0xf4,
  ]); // prettier-ignore
}

describe('the block-compiling core', () => {
  it('runs a loop with calls, memory and the stack in compiled blocks, to the exact instruction', () => {
    const { jit } = pair(sumProgram(100), { regs: { edx: 0 } });
    const exit = jit.run(1_000_000);
    expect(exit).toBe(Exit.Halt);
    expect(jit.retired).toBe(3 + 100 * 10 + 1);
    const st = jit.getState();
    expect({ eax: st.eax, edx: st.edx }).toEqual(sumModel(100));
    expect(st.esp).toBe(STACK_TOP);
    expect(jit.compiled).toBeGreaterThan(0);
    // Every round after the loop turned hot (COMPILE_THRESHOLD visits, and one or two to
    // compile both of its blocks) runs compiled.
    expect(jit.inBlocks).toBeGreaterThan((100 - COMPILE_THRESHOLD - 2) * 10);
  });

  it('agrees with the interpreter after every block, flat and paged', () => {
    for (const paging of [false, true]) {
      const { lockstep } = pair(sumProgram(300), { paging });
      const r = lockstep.run(100_000);
      expect(r.divergence?.message ?? null).toBeNull();
      expect(r.exit).toBe(Exit.Halt);
      expect(r.retired).toBe(3 + 300 * 10 + 1);
    }
  });

  it('retires exactly the budget when a block would overrun it', () => {
    const { jit, ref } = pair(sumProgram(200));
    for (let i = 0; i < 150; i++) {
      expect(jit.run(7)).toBe(Exit.Budget);
      expect(ref.run(7)).toBe(Exit.Budget);
      expect(jit.retired).toBe(7);
      expect(jit.getState()).toEqual(ref.getState());
    }
  });

  it('restarts a faulting instruction exactly: earlier instructions of its block are kept', () => {
    // A hot loop whose third instruction reads through EBX; after 50 rounds EBX points at a
    // page the tables do not map, so the #PF comes from inside a compiled block.
    // loop: inc eax; add edx,eax; mov esi,[ebx]; add ebx,0x400; jmp loop
    const code = new Uint8Array([0x40, 0x01, 0xc2, 0x8b, 0x33, 0x81, 0xc3, 0x00, 0x04, 0, 0, 0xeb, 0xf3]);
    const { jit, ref, lockstep, jitMemory, refMemory } = pair(code, {
      paging: true,
      regs: { ebx: 0x90000 - 50 * 0x400, edx: 0 },
    });
    for (const mem of [jitMemory, refMemory]) new DataView(mem.buffer).setUint32(0x4000 + 0x90 * 4, 0, true);
    const r = lockstep.run(10_000);
    expect(r.divergence?.message ?? null).toBeNull();
    expect(r.exit).toBe(Exit.Halt);
    const st = jit.getState();
    expect(st.cr2).toBe(0x90000);
    expect(st.eax).toBe(51);
    expect(st.edx).toBe((51 * 52) / 2);
    // The frame holds the faulting instruction's EIP: the MOV at CODE+3.
    const frameEip = new DataView(jitMemory.buffer).getUint32(st.esp + 4, true);
    expect(frameEip).toBe(CODE + 3);
    expect(jit.inBlocks).toBeGreaterThan(0);
    expect(ref.getState().instructions).toBe(st.instructions);
  });

  it('notices code that rewrites itself inside the running block', () => {
    const code = selfPatchingLoop();
    const { jit, lockstep } = pair(code, { regs: { ecx: 60 } });
    const r = lockstep.run(10_000);
    expect(r.divergence?.message ?? null).toBeNull();
    expect(r.exit).toBe(Exit.Halt);
    // Each round adds the ECX it stored: 60 + 59 + ... + 1.
    expect(jit.getState().eax).toBe((60 * 61) / 2);
  });

  it('drops compiled code the host rewrites through invalidatePhysical', () => {
    const { jit, ref, jitMemory, refMemory } = pair(sumProgram(100));
    expect(jit.run(500)).toBe(Exit.Budget);
    expect(ref.run(500)).toBe(Exit.Budget);
    expect(jit.compiled).toBeGreaterThan(0);
    // The host makes the loop's ADD a SUB (01 -> 29) in the middle of the run, as DMA would.
    for (const mem of [jitMemory, refMemory]) mem[CODE + 12] = 0x29;
    jit.invalidatePhysical(CODE + 12, 1);
    expect(jit.run(1_000_000)).toBe(Exit.Halt);
    expect(ref.run(1_000_000)).toBe(Exit.Halt);
    expect(jit.getState()).toEqual(ref.getState());
    expect(jit.getState().eax).not.toBe(sumModel(100).eax);
  });

  it('keeps its blocks across setState with keepTranslations and runs code the host reported rewriting', () => {
    // A host's trip: the core runs, the host takes the state, writes guest memory and
    // reports it, and hands the state back with keepTranslations (as lguest's switcher does).
    const { jit, ref, jitMemory, refMemory } = pair(sumProgram(100));
    expect(jit.run(500)).toBe(Exit.Budget);
    expect(ref.run(500)).toBe(Exit.Budget);
    expect(jit.compiled).toBeGreaterThan(0);
    // A trip with nothing written: the blocks run on.
    jit.setState(jit.getState(), { keepTranslations: true });
    ref.setState(ref.getState(), { keepTranslations: true });
    const inBlocks = jit.inBlocks;
    expect(jit.run(300)).toBe(Exit.Budget);
    expect(ref.run(300)).toBe(Exit.Budget);
    expect(jit.inBlocks - inBlocks).toBeGreaterThan(250);
    expect(jit.getState()).toEqual(ref.getState());
    // A trip in which the host turns the loop's ADD into a SUB (01 -> 29) and reports it.
    const st = jit.getState();
    for (const mem of [jitMemory, refMemory]) mem[CODE + 12] = 0x29;
    jit.invalidatePhysical(CODE + 12, 1);
    jit.setState(st, { keepTranslations: true });
    ref.setState(ref.getState(), { keepTranslations: true });
    expect(jit.run(1_000_000)).toBe(Exit.Halt);
    expect(ref.run(1_000_000)).toBe(Exit.Halt);
    expect(jit.getState()).toEqual(ref.getState());
    expect(jit.getState().eax).not.toBe(sumModel(100).eax);
  });

  it('trusts keepTranslations for code, and rechecks its blocks after a plain setState', () => {
    // The host writes code without reporting it. With keepTranslations that breaks the
    // host's promise and the old block runs on (which is why the host reports every write);
    // a plain setState makes every block recheck its bytes, so the new code runs.
    for (const keep of [true, false]) {
      const { jit, jitMemory } = pair(sumProgram(100));
      expect(jit.run(500)).toBe(Exit.Budget);
      const st = jit.getState();
      jitMemory[CODE + 12] = 0x29;
      jit.setState(st, keep ? { keepTranslations: true } : undefined);
      expect(jit.run(1_000_000)).toBe(Exit.Halt);
      const unchanged = jit.getState().eax === sumModel(100).eax;
      expect(unchanged).toBe(keep);
    }
  });

  it('leaves after a write into its own code with the flags of the instruction before it', () => {
    // loop: add eax, ebx ; mov byte [CODE+patch], cl ; adc edx, 0 ; dec ecx ; jnz loop ; hlt
    // The store writes a byte on the code's own page each round, so the block leaves after
    // it with ADD's carry still in its locals: the ADC after the exit must see it.
    const patch = CODE + 0x100;
    const code = new Uint8Array([
      0x01, 0xd8,
      0x88, 0x0d, patch & 0xff, (patch >> 8) & 0xff, (patch >> 16) & 0xff, 0,
      0x83, 0xd2, 0x00,
      0x49,
      0x75, 0xf2,
      0xf4,
    ]); // prettier-ignore
    for (const budget of [0, 13]) {
      // Hot at once: the page stops being compiled after PAGE_REWRITE_LIMIT rewrites.
      const regs = { ecx: 200, eax: 0, ebx: 0x9e3779b9, edx: 0 };
      const { jit, ref, lockstep } = pair(code, { regs, compileThreshold: 1 });
      if (budget === 0) {
        const r = lockstep.run(100_000);
        expect(r.divergence?.message ?? null).toBeNull();
        expect(r.exit).toBe(Exit.Halt);
      } else {
        let exit = Exit.Budget;
        while (exit === Exit.Budget) {
          exit = jit.run(budget);
          expect(ref.run(budget)).toBe(exit);
          expect(jit.getState()).toEqual(ref.getState());
        }
      }
      let eax = 0;
      let carries = 0;
      for (let i = 0; i < 200; i++) {
        const sum = eax + 0x9e3779b9;
        carries += sum > 0xffffffff ? 1 : 0;
        eax = sum >>> 0;
      }
      expect(jit.getState().edx).toBe(carries);
      expect(jit.inBlocks).toBeGreaterThan(0);
    }
  });

  it('notices code that rewrites itself in runs cut by the budget and setState with keepTranslations', () => {
    // The SMC loop of the test above, run 13 instructions at a time and handed through
    // setState(keepTranslations) after each, as a guest is on its trips through the
    // switcher: the guest's own writes into compiled code are still caught on the core's
    // write paths. With a budget larger than one pass, a block whose store ends a segment
    // must leave before jumping back to the instruction it just rewrote.
    const code = selfPatchingLoop();
    const { jit, ref } = pair(code, { regs: { ecx: 60 } });
    let exit = Exit.Budget;
    while (exit === Exit.Budget) {
      exit = jit.run(13);
      expect(ref.run(13)).toBe(exit);
      expect(jit.getState()).toEqual(ref.getState());
      jit.setState(jit.getState(), { keepTranslations: true });
      ref.setState(ref.getState(), { keepTranslations: true });
    }
    expect(exit).toBe(Exit.Halt);
    expect(jit.getState().eax).toBe((60 * 61) / 2);
    expect(jit.inBlocks).toBeGreaterThan(0);
  });

  it('executes what it does not compile in the interpreter, on the same state', () => {
    // pushf; cli; cpuid; popf; hlt — none of these is compiled.
    const code = new Uint8Array([0x9c, 0xfa, 0x0f, 0xa2, 0x9d, 0xf4]);
    const { jit, ref } = pair(code, { regs: { eax: 0 } });
    expect(jit.run(100)).toBe(Exit.Halt);
    expect(ref.run(100)).toBe(Exit.Halt);
    expect(jit.getState()).toEqual(ref.getState());
    expect(jit.interpreted).toBe(5);
  });

  it('leaves a trace whose last instruction is a jump it followed to code it does not compile', () => {
    // loop: inc eax; jmp +1; nop; pushf; popf; dec ecx; jnz loop; hlt — the trace from the
    // loop head follows the JMP and stops before PUSHF, so it must leave for PUSHF itself.
    const code = new Uint8Array([0x40, 0xeb, 0x01, 0x90, 0x9c, 0x9d, 0x49, 0x75, 0xf7, 0xf4]);
    const { jit, lockstep } = pair(code, { regs: { ecx: 50, eax: 0 } });
    const r = lockstep.run(10_000);
    expect(r.divergence?.message ?? null).toBeNull();
    expect(r.exit).toBe(Exit.Halt);
    expect(jit.getState().eax).toBe(50);
    expect(jit.inBlocks).toBeGreaterThan(50);
  });

  it('is an interp.Cpu, so the interpreter executes on its state', () => {
    const { jit } = pair(sumProgram(1));
    expect(jit).toBeInstanceOf(interp.Cpu);
    expect(jit.name).toBe('jit');
  });

  it('compiles at the first visit when made hot (createHot, for the conformance kit)', () => {
    for (const [hot, compiled] of [
      [true, 1],
      [false, 0],
    ] as const) {
      const m = machine();
      const mem = new Uint8Array(m.memory);
      prepareMemory(mem);
      mem.set([0xb8, 1, 0, 0, 0, 0xf4], CODE); // mov eax, 1; hlt
      const cpu = (hot ? jitFactory.createHot!(m) : jitFactory.create(m)) as JitCpu;
      cpu.setState(flatState(cpu.getState(), CODE, false));
      expect(cpu.run(10)).toBe(Exit.Halt);
      expect(cpu.getState().eax).toBe(1);
      expect(cpu.compiled).toBe(compiled);
      expect(cpu.inBlocks).toBe(compiled);
    }
  });

  it('keeps both sides of a branch in a loop inside one block: no exit per iteration', () => {
    // mov ecx,1000; xor eax,eax; l: test cl,1; jz e; add eax,ecx; jmp n; e: sub eax,ecx;
    // n: dec ecx; jnz l; hlt
    const m = machine();
    const mem = new Uint8Array(m.memory);
    prepareMemory(mem);
    mem.set(
      [
        0xb9, 0xe8, 3, 0, 0, 0x31, 0xc0, 0xf6, 0xc1, 1, 0x74, 4, 0x01, 0xc8, 0xeb, 2, 0x29, 0xc8, 0x49, 0x75, 0xf2,
        0xf4,
      ],
      CODE,
    );
    const cpu = jitFactory.createHot!(m) as JitCpu;
    cpu.setState(flatState(cpu.getState(), CODE, false));
    expect(cpu.run(1_000_000)).toBe(Exit.Halt);
    let eax = 0;
    for (let ecx = 1000; ecx > 0; ecx--) eax = ecx & 1 ? eax + ecx : eax - ecx;
    expect(cpu.getState().eax).toBe(eax >>> 0);
    expect(cpu.retired).toBe(2 + 500 * 6 + 500 * 5 + 1);
    expect(cpu.blockRuns).toBe(1);
    expect(cpu.inBlocks).toBe(cpu.retired - 1); // all but the HLT
  });
});
