import { Exit } from '@lguest/x86';
import { assemble, le32, loadCode, ok, testHost, testProcess } from './fixture';
import type { Host } from './host';
import type { HostInterrupt, InterruptFrame } from './irq';
import type { KernelCall } from './kernel-call';
import { LGUEST_CS, SWITCHER_ADDR, TIMER_VECTOR, _PAGE_KERNEL } from './layout';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from './mm';

const JMP_SELF = [0xeb, 0xfe]; // jmp .
const RET = [0xc3]; // ret

function returned(r: KernelCall): Extract<KernelCall, { status: 'returned' }> {
  if (r.status !== 'returned') throw new Error(`expected a return, got ${r.status}: ${'reason' in r ? r.reason : ''}`);
  return r;
}

describe('callKernel', () => {
  let host: Host;
  beforeEach(() => {
    host = testHost();
  });
  afterEach(() => host.shutdown());

  it('runs a routine in host kernel context and returns its registers', () => {
    const eip = loadCode(host, [
      [0x89, 0xd8], // mov %ebx, %eax
      [0x01, 0xc8], // add %ecx, %eax
      [0x8c, 0xce], // mov %cs, %esi
      [0x8c, 0xd7], // mov %ss, %edi
      RET,
    ]);
    const r = returned(host.callKernel(eip, { ebx: 40, ecx: 2 }));
    expect(r.regs.eax).toBe(42);
    expect(r.regs.esi & 0xffff).toBe(0x60);
    expect(r.regs.edi & 0xffff).toBe(0x68);
    expect(r.regs.eflags & 0x200).toBe(0x200);
  });

  it('stops at the breakpoints of a call only in that call, and takes an interrupt raised there first', () => {
    const INC_EAX = [0x40];
    const eip = loadCode(host, [INC_EAX, INC_EAX, INC_EAX, RET]);
    const hits: [number, number][] = [];
    const frames: InterruptFrame[] = [];
    host.requestIrq(0x21, (irq: HostInterrupt) => frames.push(irq.frame() as InterruptFrame));
    const breakpoints = {
      addresses: [eip + 1],
      hit: (linear: number, cpl: number) => {
        hits.push([linear, cpl]);
        host.raiseIrq(0x21);
      },
    };
    const r = returned(host.callKernel(eip, {}, { breakpoints }));
    // The instruction at the breakpoint ran (once) after the interrupt came and went.
    expect(r.regs.eax).toBe(3);
    expect(hits).toEqual([[eip + 1, 0]]);
    expect(frames).toHaveLength(1);
    expect(frames[0].eip).toBe(eip + 1);
    expect(frames[0].eflags & 0x10000).toBe(0x10000); // RF: resumed, it does not break again
    // The next call has no breakpoints: nothing stops it.
    returned(host.callKernel(eip));
    expect(hits).toHaveLength(1);
  });

  it('delivers int $0x21 through the host IDT to a TypeScript handler, then continues', () => {
    const eip = loadCode(host, [
      [0xcd, 0x21], // int $0x21
      [0xb8, ...le32(7)], // mov $7, %eax
      RET,
    ]);
    const seen: { vector: number; fromCpu: boolean; frame: InterruptFrame | null }[] = [];
    host.requestIrq(0x21, (irq: HostInterrupt) =>
      seen.push({ vector: irq.vector, fromCpu: irq.fromCpu, frame: irq.frame() }),
    );
    const r = returned(host.callKernel(eip));
    expect(r.regs.eax).toBe(7);
    expect(seen).toHaveLength(1);
    expect(seen[0].vector).toBe(0x21);
    expect(seen[0].fromCpu).toBe(true);
    expect(seen[0].frame?.eip).toBe(eip + 2);
    expect(seen[0].frame?.cs).toBe(0x60);
    expect(seen[0].frame?.errorCode).toBeNull();
  });

  it('lcalls through LGUEST_CS once lg has written GDT entries 10/11, and irets back (the run_guest_once shape)', () => {
    expect(host.setGdtEntry(10, 0x0000ffff, 0x00cf9b00)).toBe(0);
    expect(host.setGdtEntry(11, 0x0000ffff, 0x00cf9300)).toBe(0);
    expect(host.setGdtEntry(12, 0, 0)).toBeLessThan(0);
    const page = new Array<number>(0x100).fill(0x90);
    const base = loadCode(host, page);
    const farPtr = base + 0x80;
    const code = assemble([
      [0x9c], // pushf
      [0xff, 0x1d, ...le32(farPtr)], // lcall *farPtr
      [0x89, 0xd8], // mov %ebx, %eax
      RET,
    ]);
    const target = assemble([
      [0x8c, 0xcb], // mov %cs, %ebx
      [0xcf], // iret: pops the lcall + pushf frame, like the switcher's return_to_host
    ]);
    const bytes = new Uint8Array(0x100);
    bytes.set(code, 0);
    bytes.set(target, 0x40);
    bytes.set([...le32(base + 0x40), LGUEST_CS & 0xff, LGUEST_CS >> 8], 0x80);
    host.writePhys(ok(host.pa(base)), bytes);
    const r = returned(host.callKernel(base));
    expect(r.regs.eax & 0xffff).toBe(LGUEST_CS);
  });

  it('runs on the current process page directory: the CPU reads what getUserPages pins', async () => {
    const proc = testProcess(host);
    expect(proc.mmap(0x10000, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).toBe(0x10000);
    expect(proc.writeMemory(0x10000, Uint8Array.of(0x78, 0x56, 0x34, 0x12))).toBe(0);
    const phys = ok(host.getUserPages(proc, 0x10000, false));
    expect(Array.from(host.readPhys(phys, 4))).toEqual([0x78, 0x56, 0x34, 0x12]);
    const eip = loadCode(host, [
      [0xa1, ...le32(0x10000)], // mov 0x10000, %eax
      [0xc7, 0x05, ...le32(0x11004), ...le32(0xcafef00d)], // movl $0xcafef00d, 0x11004 (an untouched page)
      RET,
    ]);
    const r = await host.runOnCpu(proc, () => {
      expect(host.currentCr3()).toBe(proc.mm.pgd);
      return returned(host.callKernel(eip));
    });
    expect(r.regs.eax).toBe(0x12345678);
    const written = proc.readMemory(0x11004, 4);
    expect(written).toEqual(Uint8Array.of(0x0d, 0xf0, 0xfe, 0xca));
    host.putPage(phys);
  });

  it('oopses with a clear message on a kernel fault it cannot resolve', async () => {
    const proc = testProcess(host);
    const eip = loadCode(host, [[0xa1, ...le32(0x20000)], RET]); // mov 0x20000, %eax; ret
    const r = await host.runOnCpu(proc, () => host.callKernel(eip));
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.reason).toContain('unable to handle kernel paging request at virtual address 00020000');
      expect(r.reason).toContain(`EIP: 0060:[<${eip.toString(16)}>]`);
    }
    const nullDeref = loadCode(host, [[0xa1, ...le32(0)], RET]); // mov 0, %eax; ret
    const r2 = host.callKernel(nullDeref);
    expect(r2.status === 'failed' && r2.reason).toContain('NULL pointer dereference');
    const ud = loadCode(host, [[0x0f, 0x0b]]); // ud2
    const r3 = host.callKernel(ud);
    expect(r3.status === 'failed' && r3.reason).toContain('unhandled trap 6 (invalid opcode) in host kernel');
  });

  it('reports a triple fault', () => {
    const eip = loadCode(host, [
      [0x0f, 0x01, 0x1d, 0, 0, 0, 0], // lidt (address patched below): an empty IDT
      [0xcc], // int3: #GP, #DF, shutdown
    ]);
    const idtPtr = eip + 0x100; // six zero bytes: limit 0, base 0
    host.writePhys(ok(host.pa(eip + 3)), Uint8Array.from(le32(idtPtr)));
    const r = host.callKernel(eip);
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.exit).toBe(Exit.TripleFault);
      expect(r.reason).toContain('triple fault');
    }
    // The next call starts from a clean kernel context.
    expect(returned(host.callKernel(loadCode(host, [[0xb8, ...le32(5)], RET]))).regs.eax).toBe(5); // mov $5, %eax
  });

  it('fails a halt with interrupts disabled, and a loop past its instruction limit', () => {
    const hang = host.callKernel(loadCode(host, [[0xfa], [0xf4]])); // cli; hlt
    expect(hang.status === 'failed' && hang.reason).toContain('halted with interrupts disabled');
    const spin = host.callKernel(loadCode(host, [[0xfa], JMP_SELF]), {}, { maxInstructions: 10_000 }); // cli; jmp .
    expect(spin.status === 'failed' && spin.reason).toContain('soft lockup');
  });

  it('halts with interrupts enabled until the next clock event (virtual: skipped, not waited)', () => {
    const before = host.clock.now();
    const r = returned(host.callKernel(loadCode(host, [[0xfb], [0xf4], RET]))); // sti; hlt; ret
    expect(r.instructions).toBeLessThan(50);
    expect(host.clock.now() - before).toBeGreaterThanOrEqual(4_000_000);
    expect(host.clock.idleSkippedNs).toBeGreaterThan(0);
  });

  it('runs handlers at once for an interrupt raised while the CPU is idle', () => {
    const seen: [number, boolean, InterruptFrame | null][] = [];
    host.requestIrq(0x41, (irq) => seen.push([irq.vector, irq.fromCpu, irq.frame()]));
    host.raiseIrq(0x41);
    expect(seen).toEqual([[0x41, false, null]]);
    // Raised from a port handler while code runs: the CPU takes it at the next boundary.
    host.io.register(0x80, 1, { out: () => host.raiseIrq(0x41) });
    const eip = loadCode(host, [[0xe6, 0x80], [0x90], RET]); // out %al, $0x80; nop; ret
    returned(host.callKernel(eip));
    expect(seen[1][1]).toBe(true);
    expect(seen[1][2]?.eip).toBe(eip + 2);
    expect(host.io.in8(0x81)).toBe(0xff); // unclaimed port
  });

  it('maps kernel pages above the linear map into every address space (the switcher slot)', async () => {
    const proc = testProcess(host);
    const page = ok(host.allocPage({ zero: true }));
    host.view.setUint32(page, 0xdeadbeef, true);
    expect(host.kernelPde(1023)).toBe(0);
    expect(host.mapKernelPage(SWITCHER_ADDR, page, _PAGE_KERNEL)).toBe(0);
    expect(host.mapKernelPage(0xc0001000, page)).toBeLessThan(0); // inside the linear map
    const eip = loadCode(host, [[0xa1, ...le32(SWITCHER_ADDR)], RET]); // mov SWITCHER_ADDR, %eax; ret
    const r = await host.runOnCpu(proc, () => returned(host.callKernel(eip)));
    expect(r.regs.eax).toBe(0xdeadbeef);
    const later = testProcess(host, 'later');
    const r2 = await host.runOnCpu(later, () => returned(host.callKernel(eip)));
    expect(r2.regs.eax).toBe(0xdeadbeef);
  });
});

describe('the host timer preempts the CPU', () => {
  it('interrupts an endless loop at CPL 0 with IF set; the handler sees it and stops it (virtual clock)', () => {
    const host = testHost({ tickNs: 100_000 });
    const loop = loadCode(host, [JMP_SELF]);
    const frames: (InterruptFrame | null)[] = [];
    host.requestIrq(TIMER_VECTOR, (irq) => {
      frames.push(irq.frame());
      host.stopKernelCall('preempted');
    });
    const start = host.clock.now();
    const r = host.callKernel(loop, { eflags: 0x202 });
    expect(r.status).toBe('stopped');
    expect(r.status === 'stopped' && r.reason).toBe('preempted');
    expect(frames).toHaveLength(1);
    expect(frames[0]?.eip).toBe(loop);
    expect(frames[0]?.cs).toBe(0x60);
    // The tick arrived one tick in (plus the stub's two instructions).
    expect(host.clock.now() - start).toBe(100_000 + 2);
    expect(host.kernel.ticks).toBe(1);
    host.shutdown();
  });

  it('interrupts ring-3 code running with IF set, through the TSS ring-0 stack', async () => {
    const host = testHost({ tickNs: 50_000 });
    const proc = testProcess(host);
    const RWX = PROT_READ | PROT_WRITE | PROT_EXEC;
    proc.mmap(0x400000, 0x2000, RWX, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    // push %eax; pop %eax; jmp . — the stack page is untouched, so the push faults it in
    // (a #PF from ring 3 through the host IDT, resolved by the host's do_page_fault).
    proc.writeMemory(0x400000, Uint8Array.of(0x50, 0x58, ...JMP_SELF));
    const enterUser = loadCode(host, [
      [0x6a, 0x7b], // push $__USER_DS (ss)
      [0x68, ...le32(0x402000)], // push $0x402000 (esp)
      [0x68, ...le32(0x202)], // push $0x202 (eflags: IF)
      [0x6a, 0x73], // push $__USER_CS
      [0x68, ...le32(0x400000)], // push $0x400000 (eip)
      [0xcf], // iret to ring 3
    ]);
    let frame: InterruptFrame | null = null;
    host.requestIrq(TIMER_VECTOR, (irq) => {
      frame = irq.frame();
      host.stopKernelCall('preempted');
    });
    const r = await host.runOnCpu(proc, () => host.callKernel(enterUser));
    expect(r.status).toBe('stopped');
    // CR2 still holds the address of the push's page fault, resolved on the way.
    expect(frame).toEqual({
      eip: 0x400002,
      cs: 0x73,
      eflags: 0x202,
      errorCode: null,
      esp: 0x402000,
      ss: 0x7b,
      cr2: 0x401ffc,
    });
    host.shutdown();
  });

  it('keeps the clock event working after a call dies while taking it', () => {
    const host = testHost({ tickNs: 20_000 });
    // A kernel that loads an empty IDT and spins: the tick's delivery triple-faults.
    const eip = loadCode(host, [
      [0x0f, 0x01, 0x1d, 0, 0, 0, 0], // lidt (address patched below)
      JMP_SELF,
    ]);
    host.writePhys(ok(host.pa(eip + 3)), Uint8Array.from(le32(eip + 0x100)));
    const dead = host.callKernel(eip);
    expect(dead.status === 'failed' && dead.exit).toBe(Exit.TripleFault);
    let ticks = 0;
    host.requestIrq(TIMER_VECTOR, () => {
      if (++ticks === 2) host.stopKernelCall('two ticks');
    });
    const r = host.callKernel(loadCode(host, [JMP_SELF]), {}, { maxInstructions: 1_000_000 });
    expect(r.status === 'stopped' && r.reason).toBe('two ticks');
    host.shutdown();
  });

  it('does so on the wall clock too', () => {
    const host = testHost({ clock: 'host', tickNs: 2_000_000 });
    const loop = loadCode(host, [JMP_SELF]);
    let eip = -1;
    host.requestIrq(TIMER_VECTOR, (irq) => {
      eip = irq.frame()?.eip ?? -2;
      host.stopKernelCall('preempted');
    });
    const t0 = performance.now();
    const r = host.callKernel(loop);
    expect(r.status).toBe('stopped');
    expect(eip).toBe(loop);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1.5);
    host.shutdown();
  });

  it('sleeps through a halt on the wall clock until the tick', () => {
    const host = testHost({ clock: 'host', tickNs: 3_000_000 });
    const t0 = performance.now();
    returned(host.callKernel(loadCode(host, [[0xfb], [0xf4], RET]))); // sti; hlt; ret
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2);
    host.shutdown();
  });

  it('keeps time while interrupts are off and delivers the tick when they come back on', () => {
    const host = testHost({ tickNs: 10_000 });
    const eip = loadCode(host, [
      [0xfa], // cli
      [0xb9, ...le32(30_000)], // mov $30000, %ecx
      [0xe2, 0xfe], // 1: loop 1b
      [0xfb], // sti
      [0x90], // nop (the interrupt shadow of sti)
      RET,
    ]);
    let at = 0;
    host.requestIrq(TIMER_VECTOR, (irq) => {
      at = irq.frame()?.eip ?? 0;
    });
    returned(host.callKernel(eip));
    expect(at).toBe(eip + 10); // after the instruction following sti
    host.shutdown();
  });
});
