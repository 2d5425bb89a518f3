// Protection-control instructions. Being written.
import type { Cpu } from './cpu';

/** 0F 00: SLDT STR LLDT LTR VERR VERW. */
export function group6(c: Cpu, modrm: number): void {
  void modrm;
  c.fault(6);
}
/** 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG. */
export function group7(c: Cpu, modrm: number): void {
  void modrm;
  c.fault(6);
}
/** 0F 02 LAR, 0F 03 LSL. */
export function larLsl(c: Cpu, modrm: number, lsl: boolean): void {
  void modrm;
  void lsl;
  c.fault(6);
}
/** 63: ARPL (protected mode only; #UD in real and V86 mode). */
export function arpl(c: Cpu, modrm: number): void {
  void modrm;
  c.fault(6);
}
