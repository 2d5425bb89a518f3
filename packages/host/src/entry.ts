// The host's only x86 code: the doors between the CPU and TypeScript. When the switcher
// hands a real interrupt to the host (deliver_to_host jumps through the host IDT), or a
// routine the host called returns, the CPU must stop and let TypeScript take over. It does
// that by executing the host escape (0F 04 ib), which our cores define at CPL 0 only; the
// core returns Exit.HostEscape and the kernel-call loop looks at the code.
//
// Two kinds of door, both assembled here by hand (each instruction's bytes are spelled out
// beside it) into pages that are read-only in the linear map:
//
//  * one interrupt stub per vector, 16 bytes apart, which the host IDT points at:
//        movb  $vector, %ss:irq_vector_slot     36 C6 05 <slot32> <vector>
//        .byte 0x0f, 0x04, ESC_INTERRUPT        0F 04 01
//        lea   4(%esp), %esp                    8D 64 24 04   (vectors with an error code)
//        iret                                   CF
//    TypeScript runs the handlers while the CPU sits on the escape, then the CPU continues
//    with the iret — back into whatever was interrupted (for lguest: back into the code that
//    lcall'ed the switcher, exactly as the host's own handler's iret would).
//
//  * the kernel-call return stub, whose address callKernel pushes as the return address:
//        mov %eax..%ebp → save area (7 stores), pushf / pop → save area,
//        mov %cr2, %eax / mov %eax → save area, .byte 0x0f,0x04,ESC_RETURN, ud2
//    so TypeScript reads the routine's results (and CR2, which lg needs after a guest page
//    fault) from memory instead of asking the core for its whole state.

import { ESC_INTERRUPT, ESC_RETURN, IRQ_STUB_SIZE, IDT_ENTRIES, hasErrorCode } from './layout';

const SS_OVERRIDE = 0x36;

function le32(out: number[], v: number): void {
  out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** The 256 interrupt stubs as one 4 KiB block; `vectorSlot` is the slot's kernel address. */
export function assembleInterruptStubs(vectorSlot: number): Uint8Array {
  const page = new Uint8Array(IDT_ENTRIES * IRQ_STUB_SIZE).fill(0xcc); // int3 padding
  for (let v = 0; v < IDT_ENTRIES; v++) {
    const code: number[] = [SS_OVERRIDE, 0xc6, 0x05];
    le32(code, vectorSlot);
    code.push(v, 0x0f, 0x04, ESC_INTERRUPT);
    if (hasErrorCode(v)) code.push(0x8d, 0x64, 0x24, 0x04);
    code.push(0xcf);
    if (code.length > IRQ_STUB_SIZE) throw new Error(`BUG: interrupt stub ${v} is ${code.length} bytes`);
    page.set(code, v * IRQ_STUB_SIZE);
  }
  return page;
}

/** Registers the return stub saves, in order, at 4-byte steps from the save area. */
export const SAVED_REGISTERS = ['eax', 'ecx', 'edx', 'ebx', 'esi', 'edi', 'ebp', 'eflags', 'cr2'] as const;

/** The kernel-call return stub; `saveArea` is the kernel address of the 9-dword save area. */
export function assembleReturnStub(saveArea: number): Uint8Array {
  const code: number[] = [];
  code.push(SS_OVERRIDE, 0xa3); // mov %eax, %ss:save+0
  le32(code, saveArea);
  // mov %reg, %ss:save+4n: 89 /r with mod 00, rm 101 (disp32), reg = ecx 1, edx 2, ebx 3,
  // esi 6, edi 7, ebp 5.
  const regs = [1, 2, 3, 6, 7, 5];
  regs.forEach((reg, i) => {
    code.push(SS_OVERRIDE, 0x89, (reg << 3) | 0x05);
    le32(code, saveArea + 4 * (i + 1));
  });
  code.push(0x9c); // pushf
  code.push(SS_OVERRIDE, 0x8f, 0x05); // pop %ss:save+28
  le32(code, saveArea + 28);
  code.push(0x0f, 0x20, 0xd0); // mov %cr2, %eax
  code.push(SS_OVERRIDE, 0xa3); // mov %eax, %ss:save+32
  le32(code, saveArea + 32);
  code.push(0x0f, 0x04, ESC_RETURN); // host escape: return
  code.push(0x0f, 0x0b); // ud2: resuming after the return escape is a host bug
  return Uint8Array.from(code);
}
