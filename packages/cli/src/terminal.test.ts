// The console's rules on their own: the three Ctrl-C counter on a fake clock, ConsoleInput on
// a fake terminal, and `--native`'s option rules. The console from the user's side — the
// built command in a real pseudo-terminal, piped input, `--native` booted — is in
// terminal.system.test.ts.

import { parseCommand } from './options';
import { CtrlCCounter, ConsoleInput, type StdinLike } from './terminal';

describe('three Ctrl-C', () => {
  it('fire on the third lone 0x03 within a second, and start over after anything else', () => {
    let t = 0;
    const c = new CtrlCCounter(() => t);
    const ctrlC = Uint8Array.of(3);
    expect([c.see(ctrlC), c.see(ctrlC), c.see(ctrlC)]).toEqual([false, false, true]);
    c.see(ctrlC);
    c.see(Uint8Array.of(0x61));
    expect([c.see(ctrlC), c.see(ctrlC)]).toEqual([false, false]);
    expect(c.see(ctrlC)).toBe(true);
    // Two in a read, or a third too late, do not count.
    expect(c.see(Uint8Array.of(3, 3))).toBe(false);
    c.see(ctrlC);
    c.see(ctrlC);
    t = 1500;
    expect(c.see(ctrlC)).toBe(false);
  });
});

describe('ConsoleInput', () => {
  function fakeTty(isTTY: boolean) {
    const modes: boolean[] = [];
    const listeners = new Map<string, (chunk?: Buffer | string) => void>();
    const stdin = {
      isTTY,
      setRawMode: (m: boolean) => modes.push(m),
      on: (e: string, l: (chunk?: Buffer | string) => void) => listeners.set(e, l),
      off: (e: string) => listeners.delete(e),
      pause: () => undefined,
      resume: () => undefined,
    } as unknown as StdinLike;
    return { stdin, modes, listeners };
  }

  it('enters raw mode only when a console listens, passes Ctrl-C on, and restores once', () => {
    const { stdin, modes, listeners } = fakeTty(true);
    let fired = 0;
    const input = new ConsoleInput(stdin, { onTripleCtrlC: () => fired++ });
    expect(modes).toEqual([]);
    const got: number[] = [];
    const onData = (chunk: Buffer | string) => got.push(...Buffer.from(chunk));
    input.on('data', onData);
    expect(modes).toEqual([true]);
    for (let i = 0; i < 3; i++) listeners.get('data')?.(Buffer.of(3));
    expect(fired).toBe(1);
    expect(got).toEqual([3, 3, 3]);
    listeners.get('data')?.(Buffer.from('ls\r'));
    expect(Buffer.from(got.slice(3)).toString()).toBe('ls\n'); // Enter, as ICRNL made it

    input.off('data', onData);
    input.restore();
    expect(modes).toEqual([true, false]);
    expect(listeners.size).toBe(0);
  });

  it('leaves a pipe alone and reports its end', () => {
    const { stdin, modes, listeners } = fakeTty(false);
    const input = new ConsoleInput(stdin, { onTripleCtrlC: () => undefined });
    let ended = false;
    input.on('end', () => (ended = true));
    input.on('data', () => undefined);
    listeners.get('end')?.();
    expect(ended).toBe(true);
    expect(modes).toEqual([]);
    expect(listeners.size).toBe(0);
  });
});

describe('lguest run --native options', () => {
  it('parses --native for run only, takes an initrd and disks with it, and refuses network devices', () => {
    expect(parseCommand(['run', '--native', '32'])).toMatchObject({ kind: 'run', native: true });
    expect(parseCommand(['run', '--native', '--initrd=x', '32'])).toMatchObject({
      kind: 'run',
      native: true,
      guest: { initrd: 'x' },
    });
    expect(parseCommand(['run', '--native', '--block=x', '32'])).toMatchObject({
      guest: { devices: [{ kind: 'block', arg: 'x' }] },
    });
    expect(() => parseCommand(['run', '--native', '--tunnet=10.0.0.1', '32'])).toThrow(/--tunnet has no place there/);
    expect(() => parseCommand(['run-many', '--native', '--guest', '32'])).toThrow(/unknown option '--native'/);
  });
});
