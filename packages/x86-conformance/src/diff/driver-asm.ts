// Pieces of assembly the i386 oracle (oracle.ts) and the long-mode oracle (oracle64.ts) both
// emit. The two drivers lay out the same input and output records over the same data area
// and code page and fill and dump the region the same way; they differ only in how a pointer
// register is named and how a driver variable is addressed (absolute on i386, RIP-relative in
// long mode). Keeping these pieces in one place keeps both oracles' records in step.

import type { DiffCase } from './case';
import { formName } from './forms';
import {
  CODE_BASE,
  CODE_SIZE,
  DATA_BASE,
  GUARD_ABSENT,
  GUARD_READONLY,
  DATA_SIZE,
  EDGE_SIZE,
  IN_CODE,
  IN_CODE_OFFSET,
  IN_EFLAGS,
  IN_ES,
  IN_GS,
  IN_PATCH_COUNT,
  IN_PATCHES,
  IN_SEED,
  IN_SS,
  LDT16_SELECTOR,
  LDT_DOWN_SELECTOR,
  LDT_SELECTOR,
  NO_VECTOR,
  OUT_EIP,
  OUT_ERROR,
  OUT_REGION,
  OUT_SIGNAL,
  OUT_VECTOR,
  REGION_BASE,
  REGION_SIZE,
} from './layout';

/** Size of the alternate signal stack of both drivers. */
export const ALTSTACK_SIZE = 65536;
/** rt_sigaction flags: SA_SIGINFO | SA_RESTORER | SA_ONSTACK. */
export const SA_FLAGS = 0x4 | 0x04000000 | 0x08000000;
/** The signals a snippet's fault may raise: SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV. */
export const SIGNALS = [4, 5, 7, 8, 11];
/** The flags the driver runs with between snippets: IF and the reserved bit. */
export const QUIET_EFLAGS = 0x202;

export function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** How one driver spells its operands. */
export interface Dialect {
  /** A pointer-sized register from its 16-bit name: 'si' is %esi or %rsi. */
  ptr(name: string): string;
  /** A driver variable as a memory operand. */
  mem(symbol: string): string;
  /** The string move the code window is copied with, and its unit in bytes. */
  movs: 'movsl' | 'movsq';
  unit: 4 | 8;
}

export const I386: Dialect = {
  ptr: (name) => `%e${name}`,
  mem: (symbol) => symbol,
  movs: 'movsl',
  unit: 4,
};

export const LONG_MODE: Dialect = {
  ptr: (name) => `%r${name}`,
  mem: (symbol) => `${symbol}(%rip)`,
  movs: 'movsq',
  unit: 8,
};

/**
 * The program's start up to the mapping of the data area and the code page at their fixed
 * addresses; `mmap` gives the system call that maps one and jumps to `fail_mmap` on failure.
 */
export function programStart(mmap: (base: number, size: number, prot: number) => string): string {
  return `  .section .note.GNU-stack,"",@progbits
  .text
  .globl _start
_start:
  cld
# The data area (read/write) and the code page (read/write/execute) at fixed addresses.
${mmap(DATA_BASE, DATA_SIZE, 3)}
${mmap(CODE_BASE, CODE_SIZE, 7)}
# Below the data area a read-only page, read once so that its entry is present (a write then
# faults with P=1, error code 7), and below that a page with no access (not present).
${mmap(GUARD_READONLY, 0x1000, 1)}
  mov ${hex(GUARD_READONLY)}, %eax
${mmap(GUARD_ABSENT, 0x1000, 0)}`;
}

/**
 * The start of a case once the input record is in SI and the output record in DI: the output
 * record marked "no fault yet", the code window (of `window` bytes) copied to its place in
 * the code page, and the region filled from the seed, its edges zeroed and the patches laid
 * on. Ends at the local label `3:`, with SI still on the input record.
 */
export function caseStart(d: Dialect, window: number): string {
  const [si, di, bx, dx] = [d.ptr('si'), d.ptr('di'), d.ptr('bx'), d.ptr('dx')];
  return `  mov ${di}, ${d.mem('cur_out')}
  movl $${hex(NO_VECTOR)}, ${OUT_VECTOR}(${di})
  movl $0, ${OUT_ERROR}(${di})
  movl $0, ${OUT_EIP}(${di})
  movl $0, ${OUT_SIGNAL}(${di})
# the code window
  mov ${IN_CODE_OFFSET}(${si}), %edi
  add $${hex(CODE_BASE)}, %edi
  mov ${di}, ${d.mem('cur_target')}
  push ${si}
  add $${IN_CODE}, ${si}
  mov $${window / d.unit}, %ecx
  rep ${d.movs}
  pop ${si}
# the region: xorshift32 from the seed, the edges zeroed, then the patches
  mov ${IN_SEED}(${si}), %eax
  mov $${hex(REGION_BASE)}, %edi
  mov $${REGION_SIZE / 4}, %ecx
1:
  mov %eax, %edx
  shl $13, %edx
  xor %edx, %eax
  mov %eax, %edx
  shr $17, %edx
  xor %edx, %eax
  mov %eax, %edx
  shl $5, %edx
  xor %edx, %eax
  mov %eax, (${di})
  add $4, ${di}
  dec %ecx
  jnz 1b
  xor %eax, %eax
  mov $${hex(DATA_BASE)}, %edi
  mov $${EDGE_SIZE / 4}, %ecx
  rep stosl
  mov $${hex(DATA_BASE + DATA_SIZE - EDGE_SIZE)}, %edi
  mov $${EDGE_SIZE / 4}, %ecx
  rep stosl
  mov ${IN_PATCH_COUNT}(${si}), %ecx
  lea ${IN_PATCHES}(${si}), ${bx}
2:
  test %ecx, %ecx
  jz 3f
  mov (${bx}), %edx
  mov 4(${bx}), %eax
  mov %eax, ${hex(REGION_BASE)}(${dx})
  add $8, ${bx}
  dec %ecx
  jmp 2b
3:`;
}

/** `case_done`: the region and the data area's edges dumped into the output record, then the next case. */
export function caseDone(d: Dialect): string {
  const di = d.ptr('di');
  return `case_done:
  mov ${d.mem('cur_out')}, ${di}
  add $${OUT_REGION}, ${di}
  mov $${hex(REGION_BASE)}, %esi
  mov $${REGION_SIZE / 4}, %ecx
  rep movsl
  mov $${hex(DATA_BASE)}, %esi
  mov $${EDGE_SIZE / 4}, %ecx
  rep movsl
  mov $${hex(DATA_BASE + DATA_SIZE - EDGE_SIZE)}, %esi
  mov $${EDGE_SIZE / 4}, %ecx
  rep movsl
  incl ${d.mem('case_index')}
  jmp next_case`;
}

/** `driver_fault`: the header's count replaced by the driver-fault marker, falling into `finished`. */
export function driverFault(d: Dialect): string {
  return `# A fault outside any snippet: mark the header and stop.
driver_fault:
  mov ${d.mem('case_index')}, %eax
  or $0x80000000, %eax
  mov %eax, ${d.mem('out_header+12')}
finished:`;
}

/** The failure exits: each label puts its status in `statusReg` and jumps to `exit`. */
export function failExits(statusReg: string, exits: readonly (readonly [string, number])[]): string {
  return exits.map(([label, status]) => `${label}:\n  mov $${status}, ${statusReg}\n  jmp exit`).join('\n');
}

/**
 * The input table: per case its input record, then a code window of `window` bytes holding
 * the case's code, the absolute indirect jump `jmp` (opcode bytes, then the address) to
 * `epilogue_ptr`, and INT3 padding. `label` names the oracle when a case does not fit.
 */
export function inputTable(
  cases: readonly DiffCase[],
  window: number,
  code: (c: DiffCase) => Uint8Array,
  jmp: readonly number[],
  label: string,
): string {
  const out = ['  .balign 16', 'in_table:'];
  for (const c of cases) {
    const snippet = code(c);
    out.push(`# ${c.index}: ${formName(c.form)}`);
    out.push(`  .long ${inputRecord(c).map(hex).join(',')}`);
    out.push(`  .byte ${Array.from(snippet, hex).join(',')}`);
    out.push(`  .byte ${jmp.map(hex).join(',')}`, '  .long epilogue_ptr');
    const pad = window - snippet.length - jmp.length - 4;
    if (pad < 0) throw new Error(`${label}: case ${c.index}'s code does not fit its window`);
    if (pad > 0) out.push(`  .fill ${pad},1,0xcc`);
  }
  return out.join('\n');
}

/** The input record of a case up to its code window, as dwords. */
export function inputRecord(c: DiffCase): number[] {
  const dv = new DataView(new ArrayBuffer(IN_CODE));
  c.regs.forEach((v, i) => dv.setUint32(i * 4, v, true));
  dv.setUint32(IN_EFLAGS, c.eflags, true);
  dv.setUint32(IN_SEED, c.seed, true);
  dv.setUint32(IN_ES, c.esLdt ? LDT_SELECTOR : 0, true);
  dv.setUint32(IN_CODE_OFFSET, c.codeOffset, true);
  const ss = { flat: 0, ldt32: LDT_SELECTOR, ldt16: LDT16_SELECTOR, down16: LDT_DOWN_SELECTOR }[c.stack];
  dv.setUint32(IN_SS, ss, true);
  dv.setUint32(IN_GS, c.gsDown ? LDT_DOWN_SELECTOR : LDT_SELECTOR, true);
  dv.setUint32(IN_PATCH_COUNT, c.patches.length, true);
  c.patches.forEach(([at, v], i) => {
    dv.setUint32(IN_PATCHES + i * 8, at, true);
    dv.setUint32(IN_PATCHES + i * 8 + 4, v, true);
  });
  const out: number[] = [];
  for (let i = 0; i < IN_CODE; i += 4) out.push(dv.getUint32(i, true));
  return out;
}
