// The console's rules on their own: the three Ctrl-C counter on a fake clock, ConsoleInput on
// a fake terminal, and `--native`'s option rules. The console from the user's side — the
// built command in a real pseudo-terminal, piped input, `--native` booted — is in
// terminal.system.test.ts.

import { parseCommand } from './options';
import { CtrlCCounter, ConsoleInput, type StdinLike } from './terminal';

describe('three Ctrl-C', () => {
  const ctrlC = Uint8Array.of(3);

  it('fire on the third Ctrl-C within a second, and start over after anything else', () => {
    let t = 0;
    const c = new CtrlCCounter(() => t);
    expect([c.see(ctrlC), c.see(ctrlC), c.see(ctrlC)]).toEqual([false, false, true]);
    expect(c.counted).toBe(0);
    c.see(ctrlC);
    c.see(Uint8Array.of(0x61));
    expect(c.counted).toBe(0);
    expect([c.see(ctrlC), c.see(ctrlC)]).toEqual([false, false]);
    t = 1000; // the window is one second, its end included
    expect(c.see(ctrlC)).toBe(true);
    // A Ctrl-C among other bytes (a paste) counts for nothing and starts over.
    c.see(ctrlC);
    expect(c.see(Uint8Array.of(3, 0x61, 3))).toBe(false);
    expect(c.counted).toBe(0);
  });

  it('count three in one read (a script types them in one write), or two and one', () => {
    const c = new CtrlCCounter(() => 0);
    expect(c.see(Uint8Array.of(3, 3, 3))).toBe(true);
    expect([c.see(Uint8Array.of(3, 3)), c.see(ctrlC)]).toEqual([false, true]);
  });

  it('time the second on the clock given, not on a guest clock: a late Ctrl-C starts a new window', () => {
    let t = 0;
    const c = new CtrlCCounter(() => t);
    c.see(ctrlC);
    c.see(ctrlC);
    t = 1001;
    expect(c.see(ctrlC)).toBe(false);
    expect(c.counted).toBe(1); // the late one is the first of a new three
    t = 1500;
    expect([c.see(ctrlC), c.see(ctrlC)]).toEqual([false, true]);
  });

  it('are timed by ConsoleInput on the clock it is given (by default the host wall clock)', () => {
    let t = 0;
    let fired = 0;
    const listeners = new Map<string, (chunk?: Buffer | string) => void>();
    const stdin = {
      isTTY: false,
      on: (e: string, l: (chunk?: Buffer | string) => void) => listeners.set(e, l),
      off: (e: string) => listeners.delete(e),
      pause: () => undefined,
      resume: () => undefined,
    } as unknown as StdinLike;
    const input = new ConsoleInput(stdin, { onTripleCtrlC: () => fired++, now: () => t });
    input.on('data', () => undefined);
    listeners.get('data')?.(Buffer.of(3));
    listeners.get('data')?.(Buffer.of(3));
    t = 5000; // five seconds of the host's clock: however little guest time passed, too late
    listeners.get('data')?.(Buffer.of(3));
    expect(fired).toBe(0);
    listeners.get('data')?.(Buffer.of(3, 3));
    expect(fired).toBe(1);
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
