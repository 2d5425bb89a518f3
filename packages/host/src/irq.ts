// Host interrupts. A real lguest host keeps taking its own interrupts while a guest runs:
// the guest executes with the real IF set, so the host timer (or a network card) interrupts
// it, the switcher's deliver_to_host jumps through the host IDT, and the host's handler
// runs before control returns to run_guest_once. This file is the host's side of that: the
// interrupt controller that drives the core's INTR line, and the table of TypeScript
// handlers the interrupt stubs lead to.
//
// The controller is deliberately simple: 256 edge-triggered vectors, no masking, automatic
// end-of-interrupt when the CPU acknowledges; the highest pending vector goes first (as a
// local APIC orders them). Nothing nests: the stubs are interrupt gates (IF cleared) and
// the handlers run to completion in TypeScript while the CPU sits on the escape.

import type { CpuCore, InterruptController } from '@lguest/x86';
import { Errno } from './errno';

/** Registers of the interrupted context, read from the stub's stack frame. */
export interface InterruptFrame {
  readonly eip: number;
  readonly cs: number;
  readonly eflags: number;
  /** The exception's error code, or null for vectors without one. */
  readonly errorCode: number | null;
  /** The outer stack, present when the interrupt came from ring 1–3. */
  readonly esp: number | null;
  readonly ss: number | null;
  /** CR2 when the interrupt was taken (meaningful for #PF). */
  readonly cr2: number;
}

/** What a handler is told. One object is reused for every interrupt: do not keep it. */
export interface HostInterrupt {
  readonly vector: number;
  /**
   * True when the CPU took the interrupt through the host IDT (a stub is on the stack);
   * false when the host serviced it from TypeScript because the CPU was not executing.
   */
  readonly fromCpu: boolean;
  /** The interrupted context (allocates; for faults, traces and tests). Null if !fromCpu. */
  frame(): InterruptFrame | null;
}

export type IrqHandler = (irq: HostInterrupt) => void;

/** request_irq / free_irq: handlers per vector; a vector may be shared by several. */
export class IrqTable {
  private readonly handlers: (IrqHandler[] | undefined)[] = new Array(256);
  /** Interrupts that arrived with no handler (vectors ≥ 32). */
  spurious = 0;

  /** 0, or -EINVAL for a vector outside 0–255. */
  request(vector: number, handler: IrqHandler): number {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) return -Errno.EINVAL;
    (this.handlers[vector] ??= []).push(handler);
    return 0;
  }

  /** 0, or -ENOENT if that handler is not registered for the vector. */
  free(vector: number, handler: IrqHandler): number {
    const list = this.handlers[vector];
    const i = list ? list.indexOf(handler) : -1;
    if (!list || i < 0) return -Errno.ENOENT;
    list.splice(i, 1);
    return 0;
  }

  /** Run the handlers of `irq.vector`; returns how many ran. */
  dispatch(irq: HostInterrupt): number {
    const list = this.handlers[irq.vector];
    if (!list || list.length === 0) return 0;
    for (const h of list.length === 1 ? list : list.slice()) h(irq);
    return list.length;
  }
}

/** The host interrupt controller the core samples. */
export class HostPic implements InterruptController {
  private readonly pending = new Uint32Array(8);
  private count = 0;
  private core: CpuCore | null = null;

  attach(core: CpuCore): void {
    this.core = core;
  }

  /** Raise `vector`: it is delivered at the next instruction boundary with IF set. */
  raise(vector: number): void {
    const word = vector >>> 5;
    const bit = 1 << (vector & 31);
    if ((this.pending[word] & bit) === 0) {
      this.pending[word] |= bit;
      this.count++;
    }
    if (this.core) this.core.irqLine = true;
  }

  isPending(vector: number): boolean {
    return (this.pending[vector >>> 5] & (1 << (vector & 31))) !== 0;
  }

  intrPending(): boolean {
    return this.count > 0;
  }

  /** INTA: the highest pending vector, now no longer pending (0xFF, spurious, if none). */
  acknowledge(): number {
    for (let word = 7; word >= 0; word--) {
      const bits = this.pending[word];
      if (bits !== 0) {
        const bit = 31 - Math.clz32(bits);
        this.pending[word] = bits & ~(1 << bit);
        this.count--;
        return word * 32 + bit;
      }
    }
    return 0xff;
  }
}
