import { Exit, HOST_ESCAPE_OPCODE } from './index';

describe('core contract', () => {
  it('keeps the exit codes stable (hosts switch on them)', () => {
    expect([Exit.Budget, Exit.Halt, Exit.HostEscape, Exit.TripleFault, Exit.Breakpoint, Exit.Stopped]).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
  });
  it('reserves 0F 04 as the host escape', () => {
    expect(HOST_ESCAPE_OPCODE).toEqual([0x0f, 0x04]);
  });
});
