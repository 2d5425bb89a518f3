// Hardware task switches (JMP/CALL to a TSS or task gate, interrupts through task gates,
// IRET with NT set). Being written; see far.ts for the contract.
import type { Cpu } from './cpu';

export const enum TaskReason {
  Jump = 0,
  Call = 1,
  Interrupt = 2,
  Iret = 3,
}

/** Switch to the task named by `sel` (a TSS descriptor or a task gate). */
export function taskSwitch(c: Cpu, sel: number, reason: TaskReason, hasCode: boolean, code: number, ext: number): void {
  void sel;
  void reason;
  void hasCode;
  void code;
  c.faultCode(13, ext);
}
