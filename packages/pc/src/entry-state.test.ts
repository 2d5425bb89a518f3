import { interpreter } from '@lguest/x86';
import { FLAT_CODE_ACCESS, FLAT_DATA_ACCESS, flatProtectedModeEntry } from './entry-state';

describe('the flat protected-mode entry state both loaders hand over', () => {
  const reset = interpreter
    .create({ memory: new ArrayBuffer(1 << 20), io: { in: () => 0xff, out: () => undefined } } as never)
    .getState();

  it('is flat ring-0 code and data, PE on, paging and interrupts off, only the named registers set', () => {
    const s = flatProtectedModeEntry(reset, {
      eip: 0xc0100000 + 0x10,
      esp: 0x7000,
      codeSelector: 0x10,
      dataSelector: 0x18,
      gdtr: { base: 0x800, limit: 31 },
      registers: { esi: 0x90000 },
    });
    expect([s.eip, s.esp, s.esi, s.eax, s.ebx, s.ecx, s.edx, s.edi, s.ebp]).toEqual([
      0xc0100010, 0x7000, 0x90000, 0, 0, 0, 0, 0, 0,
    ]);
    expect(s.cs).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, access: FLAT_CODE_ACCESS });
    for (const seg of [s.ds, s.es, s.fs, s.gs, s.ss]) {
      expect(seg).toEqual({ selector: 0x18, base: 0, limit: 0xffffffff, access: FLAT_DATA_ACCESS });
    }
    expect([s.cr0, s.cr3, s.cr4, s.eflags, s.cpl, s.halted]).toEqual([0x11, 0, 0, 0x2, 0, false]);
    expect(s.gdtr).toEqual({ base: 0x800, limit: 31 });
    expect(s.idtr).toEqual({ base: 0, limit: 0x3ff });
  });
});
