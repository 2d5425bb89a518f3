// The host: one emulated i386 machine and the kernel that owns it. This is where a guest's
// journey starts. The CLI builds a Host, the lg module registers /dev/lguest in it and
// writes its LGUEST_CS/DS into the host GDT and its switcher into the top 4 MiB, and each
// launcher is a Process in it. From then on lg uses this object the way a module uses the
// kernel: pages from the allocator, launcher memory through copyFromUser/getUserPages,
// timers and wait queues, and the CPU through runOnCpu + callKernel.
//
// Construction is boot: RAM (one ArrayBuffer), the CPU core chosen by name, the host's page
// directory, GDT, IDT, TSS, kernel stack and entry stubs written into RAM (head.ts), the
// page allocator over the rest, the clock, the scheduler and the file tree.

import { performance } from 'node:perf_hooks';
import { interpreter, type CoreFactory, type CpuCore, type Machine } from '@lguest/x86';
import { Clock, type ClockMode } from './clock';
import { Errno, errnoName } from './errno';
import { futexKey, type FutexKey } from './futex';
import { bootHost, kernelVa, type BootLayout } from './head';
import { HostFileNode, type HostMountOptions } from './hostfs';
import { HostIoBus } from './io-bus';
import { HostPic, IrqTable, type IrqHandler } from './irq';
import { KernelCpu, type KernelCall, type KernelCallOptions, type KernelRegs } from './kernel-call';
import {
  GDT_ENTRY_LGUEST_CS,
  GDT_ENTRY_LGUEST_DS,
  GDT_LIMIT,
  IDT_LIMIT,
  KERNEL_PGD_INDEX,
  PAGE_OFFSET,
  PAGE_SIZE,
  PTRS_PER_PGD,
  TASK_SIZE,
  _KERNPG_TABLE,
  _PAGE_KERNEL,
  _PAGE_PRESENT,
} from './layout';
import { Mm, type MmContext } from './mm';
import { Vfs } from './namei';
import { PageAllocator, type AllocFlags } from './page-alloc';
import { entryFrame, pgdIndex, pteIndex, readEntry, writeEntry } from './pgtable';
import { Process, type ProcessContext } from './process';
import { Scheduler } from './sched';
import { HrTimer, TimerBase, type TimerCallback } from './timers';
import type { TmpfsContext } from './tmpfs';
import { copyFromUserInto, copyToUser, getUser32, getUserPage, putUser32 } from './uaccess';
import type { FileOps } from './vfs';
import { WaitQueue, waitEvent, waitEventInterruptible } from './wait';

export interface HostOptions {
  /** Physical memory in MiB (1–2048; the reference core addresses at most 2 GiB). */
  memoryMiB: number;
  /** The CPU core to run (a factory from the `x86-cores` registry); default the interpreter. */
  core?: CoreFactory;
  /** 'host' (wall time, default) or 'virtual' (1 instruction = 1 ns; deterministic). */
  clock?: ClockMode;
  /** Scheduler tick period: the longest a unit of x86 work runs unpreempted. Default 4 ms (HZ=250). */
  tickNs?: number;
  /** Clock time between yields to Node's event loop. Default 8 ms (host), 2 ms (virtual). */
  yieldIntervalNs?: number;
  /** CPU units (runOnCpu calls) between yields whatever the clock says. Default 4096. */
  yieldEveryUnits?: number;
  /**
   * Passthrough mounts of real directories. Default: none — the host sees no real file until
   * it is given one (`grantFile`), so a launcher gets exactly the files it was named.
   */
  hostMounts?: readonly { path: string; realDir: string; readOnly?: boolean }[];
}

/**
 * The most RAM the emulated host can have, in MiB: every physical address must stay below
 * 2 GiB, because the CPU core keeps physical addresses in signed 32-bit slots (its TLB).
 */
export const MAX_HOST_MEMORY_MIB = 2048;

/** The pseudo-descriptor lgdt/lidt take and sgdt/sidt give. */
export interface DescriptorTable {
  readonly base: number;
  readonly limit: number;
}

export class Host {
  /** The process whose FPU state the CPU holds. */
  private fpuOwner: Process | null = null;

  /**
   * The FPU is each process's own (a launcher's is its guest's): before a process runs on
   * the CPU, the state of the last one to run there is saved and this one's loaded.
   */
  private switchFpu(task: Process | null): void {
    const core = this.core;
    if (task === null || task === this.fpuOwner || !core.saveFpu || !core.restoreFpu) return;
    const owner = this.fpuOwner;
    if (owner && !owner.exited) owner.fpu = core.saveFpu();
    core.restoreFpu(task.fpu);
    this.fpuOwner = task;
  }

  /**
   * The x87 state of `task` as it would be saved at a context switch (null: it never used
   * the FPU, or the core has none). For snapshots: a restored process gets it back in
   * `task.fpu` before it first runs.
   */
  fpuState(task: Process): Int32Array | null {
    if (task === this.fpuOwner && this.core.saveFpu) return this.core.saveFpu();
    return task.fpu;
  }

  /** Give `task` this x87 state (a debugger changed it), in the CPU if it holds task's. */
  setFpuState(task: Process, state: Int32Array): void {
    if (task === this.fpuOwner && this.core.restoreFpu) this.core.restoreFpu(state);
    else task.fpu = state;
  }

  /** Whether the CPU core has an x87 (saveFpu/restoreFpu). */
  get hasFpu(): boolean {
    return this.core.saveFpu !== undefined && this.core.restoreFpu !== undefined;
  }

  // --- the machine ---
  readonly memory: ArrayBuffer;
  /** Physical memory as bytes, dwords (little-endian) and a DataView (for abi accessors). */
  readonly ram: Uint8Array;
  readonly ram32: Int32Array;
  readonly view: DataView;
  readonly io = new HostIoBus();
  readonly pic = new HostPic();
  readonly machine: Machine;
  readonly core: CpuCore;

  // --- the kernel ---
  readonly layout: BootLayout;
  readonly pages: PageAllocator;
  readonly irqs = new IrqTable();
  readonly clock: Clock;
  readonly timers: TimerBase;
  readonly kernel: KernelCpu;
  readonly sched: Scheduler<Process>;
  readonly vfs: Vfs;

  private readonly processes = new Map<number, Process>();
  private nextPid = 1;
  private nextObjectId = 1;
  private nodeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Processes waiting on the outside world (holdPacing), and the paced idle's timer. */
  private paced = 0;
  private paceTimer: ReturnType<typeof setTimeout> | null = null;
  private nodeTimerAt = Infinity;
  private down = false;
  private readonly mmContext: MmContext;
  private readonly tmpfsContext: TmpfsContext;
  private readonly processContext: ProcessContext;

  constructor(options: HostOptions) {
    const mib = options.memoryMiB;
    if (!Number.isInteger(mib) || mib < 1 || mib > MAX_HOST_MEMORY_MIB) {
      throw new Error(`memory must be a whole number of MiB from 1 to ${MAX_HOST_MEMORY_MIB}, got ${mib}`);
    }
    const tickNs = options.tickNs ?? 4_000_000;
    if (!(tickNs >= 1000)) throw new Error(`the tick must be at least 1000 ns, got ${tickNs}`);
    this.memory = new ArrayBuffer(mib * 0x100000);
    this.ram = new Uint8Array(this.memory);
    this.ram32 = new Int32Array(this.memory);
    this.view = new DataView(this.memory);
    this.clock = new Clock(options.clock ?? 'host');
    const clock = this.clock;
    this.machine = {
      memory: this.memory,
      io: this.io,
      pic: this.pic,
      // The TSC runs at 1 GHz: ns since boot. In virtual mode the core's own instruction
      // count is that already (callKernel keeps it in step), which is exact mid-run.
      readTsc: clock.mode === 'host' ? () => BigInt(clock.now()) : undefined,
    };
    this.core = (options.core ?? interpreter).create(this.machine);
    this.pic.attach(this.core);

    this.layout = bootHost(this.ram, this.ram32);
    this.pages = new PageAllocator(this.ram, this.layout.reservedFrames, (p, n) => this.invalidate(p, n));
    this.timers = new TimerBase(
      () => this.clock.now(),
      () => this.clockEventChanged(),
    );
    this.kernel = new KernelCpu({
      core: this.core,
      ram8: this.ram,
      ram32: this.ram32,
      layout: this.layout,
      pic: this.pic,
      irqs: this.irqs,
      clock: this.clock,
      timers: this.timers,
      tickNs,
      currentCr3: () => this.currentCr3(),
      userPageFault: (address, write) => {
        const cur = this.current;
        return cur !== null && !cur.exited && cur.mm.handleFault(address, write) >= 0;
      },
    });
    const virtual = this.clock.mode === 'virtual';
    this.sched = new Scheduler<Process>(
      this.clock,
      {
        yieldIntervalNs: options.yieldIntervalNs ?? (virtual ? 2_000_000 : 8_000_000),
        yieldEveryUnits: options.yieldEveryUnits ?? 4096,
      },
      () => this.idle(),
    );

    this.mmContext = {
      ram8: this.ram,
      ram32: this.ram32,
      pages: this.pages,
      swapperPgdir: this.layout.swapperPgdir,
      flushTlb: () => this.core.flushTlb(),
      invalidate: (p, n) => this.invalidate(p, n),
      nextId: () => this.nextObjectId++,
    };
    this.tmpfsContext = {
      pages: this.pages,
      ram8: this.ram,
      invalidate: (p, n) => this.invalidate(p, n),
      nextId: () => this.nextObjectId++,
    };
    this.vfs = new Vfs(this.tmpfsContext);
    for (const m of options.hostMounts ?? []) {
      const r = this.vfs.mountHost(m.path, m.realDir, { readOnly: m.readOnly });
      if (r < 0) throw new Error(`cannot mount ${m.realDir} at ${m.path}: error ${r}`);
    }
    this.processContext = {
      vfs: this.vfs,
      tmpfs: this.tmpfsContext,
      ram8: this.ram,
      invalidate: (p, n) => this.invalidate(p, n),
      reap: (proc) => this.processes.delete(proc.pid),
      holdPacing: () => this.holdPacing(),
      now: () => this.clock.now(),
      sleepUntil: (deadlineNs, task, abort) => this.sleepUntil(deadlineNs, task, abort),
    };
  }

  // ------------------------------------------------------------------ physical memory

  /** __va: the kernel virtual address of a lowmem physical address. */
  va(phys: number): number {
    return kernelVa(phys);
  }

  /** __pa: the physical address of a linear-map kernel address, or -EFAULT. */
  pa(vaddr: number): number {
    const off = (vaddr >>> 0) - PAGE_OFFSET;
    return off >= 0 && off < this.layout.lowmemEnd ? off : -Errno.EFAULT;
  }

  /** alloc_page: a frame's physical address (one reference) or -ENOMEM. */
  allocPage(flags: AllocFlags = {}): number {
    return this.pages.alloc(flags);
  }

  /** get_page: another reference on a frame. */
  getPage(phys: number): void {
    this.pages.get(phys);
  }

  /** put_page: drop a reference (from allocPage, getPage or getUserPages). */
  putPage(phys: number): void {
    this.pages.put(phys);
  }

  /** Physical memory changed behind the core's back (DMA, copies): drop cached code. */
  invalidate(phys: number, length: number): void {
    this.core.invalidatePhysical(phys, length);
  }

  /**
   * set_pte for tables the CPU walks (a shadow page table, say): store directory or table
   * entry `entry` at physical `phys` (4-byte aligned) and tell the core if it may have cached
   * a translation from the old one (only a present entry can be cached).
   */
  setPageTableEntry(phys: number, entry: number): void {
    const i = phys >>> 2;
    const old = this.ram32[i];
    if (old === (entry | 0)) return;
    this.ram32[i] = entry | 0;
    if (old & _PAGE_PRESENT) this.core.invalidatePhysical(phys, 4);
  }

  /** Copy `bytes` into physical memory at `phys`. */
  writePhys(phys: number, bytes: Uint8Array): void {
    this.ram.set(bytes, phys);
    this.invalidate(phys, bytes.length);
  }

  /** A copy of `length` bytes of physical memory at `phys`. */
  readPhys(phys: number, length: number): Uint8Array {
    return this.ram.slice(phys, phys + length);
  }

  /**
   * Put up to one page of x86 code (or data) in a fresh lowmem page and return its kernel
   * virtual address, for callKernel. -E2BIG for more than a page, -ENOMEM.
   */
  loadKernelCode(bytes: Uint8Array): number {
    if (bytes.length > PAGE_SIZE) return -Errno.E2BIG;
    const phys = this.pages.alloc({ zero: true });
    if (phys < 0) return phys;
    this.writePhys(phys, bytes);
    return this.va(phys);
  }

  // ------------------------------------------------------------------ descriptor tables

  /** sgdt: the host GDT (what lg stores in lguest_ro_state.host_gdt_desc). */
  gdtDescriptor(): DescriptorTable {
    return { base: this.layout.gdtVa, limit: GDT_LIMIT };
  }

  /** sidt: the host IDT (lguest_ro_state.host_idt_desc). */
  idtDescriptor(): DescriptorTable {
    return { base: this.layout.idtVa, limit: IDT_LIMIT };
  }

  /** A host GDT descriptor as [low dword, high dword]. */
  gdtEntry(index: number): [number, number] {
    const w = (this.layout.gdtPhys >>> 2) + index * 2;
    return [this.ram32[w] >>> 0, this.ram32[w + 1] >>> 0];
  }

  /**
   * Write a host GDT entry. Only lg's own entries, 10 (LGUEST_CS) and 11 (LGUEST_DS), may
   * be written: 0, or -EINVAL for any other index.
   */
  setGdtEntry(index: number, lo: number, hi: number): number {
    if (index !== GDT_ENTRY_LGUEST_CS && index !== GDT_ENTRY_LGUEST_DS) return -Errno.EINVAL;
    const w = (this.layout.gdtPhys >>> 2) + index * 2;
    this.ram32[w] = lo | 0;
    this.ram32[w + 1] = hi | 0;
    return 0;
  }

  // ------------------------------------------------------------------ kernel page tables

  /**
   * map_vm_area for one page: map `phys` at kernel address `vaddr` (above the linear map,
   * e.g. the switcher at 0xFFC00000) in swapper_pg_dir — and so in every process. `flags`
   * are the PTE's low bits (default _PAGE_KERNEL). 0, -EINVAL, or -ENOMEM.
   */
  mapKernelPage(vaddr: number, phys: number, flags: number = _PAGE_KERNEL): number {
    const va = vaddr >>> 0;
    if (va % PAGE_SIZE !== 0 || va < PAGE_OFFSET + this.layout.lowmemEnd) return -Errno.EINVAL;
    if (phys % PAGE_SIZE !== 0 || phys < 0 || phys >= this.memory.byteLength) return -Errno.EINVAL;
    if ((flags & _PAGE_PRESENT) === 0 || flags & ~0xfff) return -Errno.EINVAL;
    const table = this.kernelPageTable(va, true);
    if (table < 0) return table;
    writeEntry(this.ram32, table, pteIndex(va), phys | flags);
    this.core.flushTlb();
    return 0;
  }

  /** Remove a mapping made with mapKernelPage: 0, or -EINVAL outside that range. */
  unmapKernelPage(vaddr: number): number {
    const va = vaddr >>> 0;
    if (va % PAGE_SIZE !== 0 || va < PAGE_OFFSET + this.layout.lowmemEnd) return -Errno.EINVAL;
    const table = this.kernelPageTable(va, false);
    if (table > 0) writeEntry(this.ram32, table, pteIndex(va), 0);
    this.core.flushTlb();
    return 0;
  }

  /** The kernel PTE for `vaddr` (0 if none). */
  kernelPte(vaddr: number): number {
    const table = this.kernelPageTable(vaddr >>> 0, false);
    return table > 0 ? readEntry(this.ram32, table, pteIndex(vaddr >>> 0)) : 0;
  }

  /** The page table of swapper_pg_dir covering `va`, created (and synced) if asked. */
  private kernelPageTable(va: number, create: boolean): number {
    const index = pgdIndex(va);
    const pde = readEntry(this.ram32, this.layout.swapperPgdir, index);
    if (pde & _PAGE_PRESENT) return entryFrame(pde);
    if (!create) return 0;
    const table = this.pages.alloc({ zero: true });
    if (table < 0) return table;
    const entry = table | _KERNPG_TABLE;
    writeEntry(this.ram32, this.layout.swapperPgdir, index, entry);
    // The kernel half is shared: every address space sees the new table.
    for (const p of this.processes.values()) p.mm.syncKernelPde(index, entry);
    return table;
  }

  // ------------------------------------------------------------------ the CPU

  /** The process holding the CPU (inside runOnCpu), or null. */
  get current(): Process | null {
    return this.sched.current;
  }

  /** The page directory a kernel call runs on: current's, or swapper_pg_dir. */
  currentCr3(): number {
    const cur = this.sched.current;
    return cur && !cur.exited ? cur.mm.pgd : this.layout.swapperPgdir;
  }

  /**
   * Run the x86 routine at kernel address `eip` in host kernel context (see kernel-call.ts).
   * Use inside runOnCpu so the routine runs on the right process's page tables.
   */
  callKernel(eip: number, regs?: Partial<KernelRegs>, options?: KernelCallOptions): KernelCall {
    return this.kernel.call(eip, regs, options);
  }

  /** From an interrupt handler: end the running kernel call with status 'stopped'. */
  stopKernelCall(reason: string): boolean {
    return this.kernel.stop(reason);
  }

  /** request_irq: 0 or -EINVAL. Vector 0x20 is the host timer (handlers share it). */
  requestIrq(vector: number, handler: IrqHandler): number {
    return this.irqs.request(vector, handler);
  }

  freeIrq(vector: number, handler: IrqHandler): number {
    return this.irqs.free(vector, handler);
  }

  /** Raise a host interrupt (taken by the CPU if it is executing, else handled at once). */
  raiseIrq(vector: number): void {
    this.kernel.raise(vector & 0xff);
  }

  /** Run `fn` holding the CPU as `task` (FIFO among tasks; see sched.ts). */
  runOnCpu<R>(task: Process | null, fn: () => R): Promise<R> {
    return this.sched.runOnCpu(task, () => {
      this.switchFpu(task);
      return fn();
    });
  }

  /**
   * cond_resched: give Node's event loop the thread if a scheduler tick has passed since
   * the last time (lg calls this after a guest exit for a host interrupt, as run_guest
   * does) or the yield interval is up. Otherwise returns at once.
   */
  condResched(): Promise<void> {
    if (this.kernel.needResched) {
      this.kernel.needResched = false;
      return this.sched.yieldToEventLoop();
    }
    return this.sched.condResched();
  }

  yieldToEventLoop(): Promise<void> {
    return this.sched.yieldToEventLoop();
  }

  // ------------------------------------------------------------------ time

  /** An hrtimer, not yet started. */
  createTimer(callback: TimerCallback): HrTimer {
    return this.timers.create(callback);
  }

  /** hrtimer_start(ABS): a timer firing at `expiresNs` on host.clock. */
  startTimer(expiresNs: number, callback: TimerCallback): HrTimer {
    const t = this.timers.create(callback);
    t.start(expiresNs);
    return t;
  }

  /**
   * Sleep for `ns` of clock time. With a task the sleep is interruptible: -ERESTARTSYS if
   * a signal comes first, else 0.
   */
  async sleep(ns: number, task?: Process): Promise<number> {
    const wq = new WaitQueue();
    let done = false;
    const timer = this.timers.create(() => {
      done = true;
      wq.wakeUpAll();
    });
    timer.startIn(ns);
    try {
      if (task) return await waitEventInterruptible(wq, task, () => done);
      await waitEvent(wq, () => done);
      return 0;
    } finally {
      timer.cancel();
    }
  }

  /**
   * Sleep until `deadlineNs` on host.clock, interruptibly for `task` (an hrtimer sleep, as
   * clock_nanosleep with TIMER_ABSTIME does it): 0 at the deadline, -ERESTARTSYS if a signal
   * comes first, -EINTR if `abort` fires first. The timer is cancelled however it ends, so an
   * abandoned sleep leaves no deadline for a virtual clock to skip to.
   */
  async sleepUntil(deadlineNs: number, task: Process, abort?: AbortSignal): Promise<number> {
    if (abort?.aborted) return -Errno.EINTR;
    const wq = new WaitQueue();
    let done = false;
    const timer = this.timers.create(() => {
      done = true;
      wq.wakeUpAll();
    });
    const onAbort = (): void => {
      timer.cancel();
      wq.wakeUpAll();
    };
    abort?.addEventListener('abort', onAbort, { once: true });
    timer.start(deadlineNs);
    try {
      const r = await waitEventInterruptible(wq, task, () => done || abort?.aborted === true);
      if (r < 0) return r;
      return done ? 0 : -Errno.EINTR;
    } finally {
      abort?.removeEventListener('abort', onAbort);
      timer.cancel();
    }
  }

  /** The earliest deadline moved: reprogram the Node timeout (host) or consider idling. */
  private clockEventChanged(): void {
    if (this.down) return;
    if (this.clock.mode === 'virtual') {
      this.sched.maybeIdle();
      return;
    }
    const next = this.timers.nextExpiry();
    if (next === Infinity) {
      if (this.nodeTimer) clearTimeout(this.nodeTimer);
      this.nodeTimer = null;
      this.nodeTimerAt = Infinity;
      return;
    }
    if (this.nodeTimer && this.nodeTimerAt <= next) return;
    if (this.nodeTimer) clearTimeout(this.nodeTimer);
    this.nodeTimerAt = next;
    this.nodeTimer = setTimeout(
      () => {
        this.nodeTimer = null;
        this.nodeTimerAt = Infinity;
        this.kernel.serviceInterrupts();
        this.clockEventChanged();
      },
      Math.max(0, (next - this.clock.now()) / 1e6),
    );
  }

  /**
   * While a process waits on the world outside the host (a socket, a TAP device), a virtual
   * clock must not run ahead of the wall clock when the CPU is idle: skipping straight to
   * the next deadline would expire a guest's timeout before a reply could come. Held, idle
   * time passes at wall-clock speed, as with the host clock; released, skipping resumes.
   * Returns the release (calling it twice is harmless).
   */
  holdPacing(): () => void {
    this.paced++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.paced--;
      this.sched.maybeIdle();
    };
  }

  /** Virtual mode with nothing runnable: skip to the next deadline and fire it. */
  private idle(): boolean {
    if (this.down || this.timers.pending === 0) return false;
    if (this.paced > 0) {
      this.paceIdle();
      return false;
    }
    this.clock.skipTo(this.timers.nextExpiry());
    this.kernel.serviceInterrupts();
    return true;
  }

  /** Paced idle: let wall time pass (at most 50 ms at a time), then move the clock by as much. */
  private paceIdle(): void {
    if (this.paceTimer) return;
    const startWall = performance.now();
    const startNs = this.clock.now();
    const waitMs = Math.min(50, Math.max(0, (this.timers.nextExpiry() - startNs) / 1e6));
    this.paceTimer = setTimeout(() => {
      this.paceTimer = null;
      if (this.down) return;
      // Only if nothing ran meanwhile: then the CPU really was idle all that time.
      if (this.clock.now() === startNs && this.timers.pending > 0) {
        const elapsedNs = Math.round((performance.now() - startWall) * 1e6);
        this.clock.skipTo(Math.min(this.timers.nextExpiry(), startNs + elapsedNs));
        this.kernel.serviceInterrupts();
      }
      this.sched.maybeIdle();
    }, waitMs);
  }

  // ------------------------------------------------------------------ processes

  /** A new process with an empty address space, or -ENOMEM. */
  createProcess(name = 'launcher'): Process | number {
    const mm = Mm.create(this.mmContext);
    if (typeof mm === 'number') return mm;
    const proc = new Process(this.processContext, this.nextPid++, name, mm);
    this.processes.set(proc.pid, proc);
    return proc;
  }

  findProcess(pid: number): Process | undefined {
    return this.processes.get(pid);
  }

  /** Live processes, by pid. */
  listProcesses(): Process[] {
    return [...this.processes.values()];
  }

  /** kill(pid, sig): 0, -ESRCH, -EINVAL. */
  kill(pid: number, sig: number): number {
    const p = this.processes.get(pid);
    return p ? p.kill(sig) : -Errno.ESRCH;
  }

  // ------------------------------------------------------------------ user memory (for lg)

  /** copy_from_user: `length` bytes at `vaddr` in `proc`, or -EFAULT (-ENOMEM). */
  copyFromUser(proc: Process, vaddr: number, length: number): Uint8Array | number {
    if (!Number.isInteger(length) || length < 0 || length > TASK_SIZE) return -Errno.EFAULT;
    const out = new Uint8Array(length);
    const r = copyFromUserInto(this.ram, proc, vaddr, out);
    return r < 0 ? r : out;
  }

  /** copy_from_user into `dest`: 0 or -EFAULT (-ENOMEM). */
  copyFromUserInto(proc: Process, vaddr: number, dest: Uint8Array): number {
    return copyFromUserInto(this.ram, proc, vaddr, dest);
  }

  /** copy_to_user: 0 or -EFAULT (-ENOMEM). */
  copyToUser(proc: Process, vaddr: number, bytes: Uint8Array): number {
    return copyToUser(this.ram, (p, n) => this.invalidate(p, n), proc, vaddr, bytes);
  }

  /** get_user (u32): the value, 0 … 2^32-1, or a negative errno. */
  getUser32(proc: Process, vaddr: number): number {
    return getUser32(this.ram, proc, vaddr);
  }

  /** put_user (u32): 0 or a negative errno. */
  putUser32(proc: Process, vaddr: number, value: number): number {
    return putUser32(this.ram, (p, n) => this.invalidate(p, n), proc, vaddr, value);
  }

  /**
   * get_user_pages for the page holding `vaddr`: its frame's physical address, with a
   * reference the caller drops with putPage; or -EFAULT (no mapping, or a write to a
   * read-only one) / -ENOMEM.
   */
  getUserPages(proc: Process, vaddr: number, write: boolean): number {
    return getUserPage(this.pages, proc, vaddr, write);
  }

  /** get_futex_key: see futex.ts. */
  futexKey(proc: Process, vaddr: number): FutexKey | number {
    return futexKey(proc, vaddr);
  }

  // ------------------------------------------------------------------ files

  /** misc_register: make `ops` the character device at `path` (under /dev). */
  registerDevice<P>(path: string, ops: FileOps<P>): number {
    return this.vfs.registerDevice(path, ops as unknown as FileOps);
  }

  unregisterDevice(path: string): number {
    return this.vfs.unregisterDevice(path);
  }

  /** create_proc_entry: /proc/<name> with these operations. */
  registerProcEntry<P>(name: string, ops: FileOps<P>): number {
    return this.vfs.registerProcEntry(name, ops as unknown as FileOps);
  }

  unregisterProcEntry(name: string): number {
    return this.vfs.unregisterProcEntry(name);
  }

  /** Mount real directory `realDir` at `path` (e.g. a test's scratch directory). */
  mountHost(path: string, realDir: string, options?: HostMountOptions): number {
    return this.vfs.mountHost(path, realDir, options);
  }

  // ------------------------------------------------------------------ the end

  /** Stop: every process exits (closing its files), timers are cancelled, idling stops. */
  /**
   * Gives the host one real file at `path` (e.g. "/host/<its real path>"): read-only with
   * 'ro', read-write with 'rw'. The CLI grants each launcher exactly the files named on its
   * command line — the kernel and initrd read-only, a --block disk read-write unless ",ro",
   * the --sharenet file read-write — and nothing else of the real machine. Throws with the
   * file, the reason and what to do if it cannot.
   */
  grantFile(path: string, realFile: string, mode: 'ro' | 'rw'): void {
    const r = this.vfs.grantHostFile(path, realFile, { readOnly: mode === 'ro' });
    if (r === -Errno.EEXIST) {
      const there = this.vfs.lookup(path);
      if (there instanceof HostFileNode && there.realPath === realFile && (mode === 'ro' || !there.readOnly)) return;
      throw new Error(`cannot give the host ${realFile} at ${path}: something else is already there`);
    }
    if (r < 0) throw new Error(`cannot give the host ${realFile} at ${path}: ${errnoName(r)}`);
  }

  shutdown(): void {
    for (const p of [...this.processes.values()]) p.exit(0);
    this.down = true;
    this.sched.shutdown();
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = null;
    this.timers.clear();
    if (this.nodeTimer) clearTimeout(this.nodeTimer);
    this.nodeTimer = null;
  }

  /** Kernel-half directory entries (for tests and traces): index → entry. */
  kernelPde(index: number): number {
    if (index < KERNEL_PGD_INDEX || index >= PTRS_PER_PGD) return 0;
    return readEntry(this.ram32, this.layout.swapperPgdir, index);
  }
}
