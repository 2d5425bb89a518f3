import { EventEmitter } from 'node:events';
import { MonitorMux } from './monitor-mux';

/** A mux over a fake input, with what the guest got, what the terminal showed, the commands run. */
function mux() {
  const source = new EventEmitter();
  const guest: number[] = [];
  let screen = '';
  const commands: string[] = [];
  const m = new MonitorMux(source, (t) => (screen += t), {
    execute: async (line) => {
      commands.push(line);
      return `did ${line}`;
    },
  });
  m.on('data', (c) => guest.push(...Buffer.from(c)));
  const type = (s: string) => source.emit('data', Buffer.from(s, 'latin1'));
  const settle = () => new Promise((r) => setImmediate(r));
  return { m, source, guest, commands, type, settle, screen: () => screen };
}

describe('the console and the monitor on one terminal', () => {
  it('passes everything but Ctrl-A to the guest; Ctrl-A Ctrl-A is one Ctrl-A; other keys after it are dropped', () => {
    const t = mux();
    t.type('ls\n');
    t.type('a\x01\x01b\x01zc');
    expect(Buffer.from(t.guest).toString('latin1')).toBe('ls\na\x01bc');
    expect(t.m.monitorInFront).toBe(false);
  });

  it('Ctrl-A c brings the monitor (even split across reads); its lines run as commands; Ctrl-A c goes back', async () => {
    const t = mux();
    t.type('x\x01');
    t.type('cinfo st');
    expect(t.m.monitorInFront).toBe(true);
    t.type('atuz\x7fs\n');
    await t.settle();
    expect(t.commands).toEqual(['info status']);
    expect(t.screen()).toContain(
      "lguest monitor: type 'help' for the commands\n(lguest) info statuz\b \bs\ndid info status\n(lguest) ",
    );
    t.type('\x01cy');
    expect(Buffer.from(t.guest).toString('latin1')).toBe('xy');
    expect(t.m.monitorInFront).toBe(false);
  });

  it('Ctrl-A x quits through the monitor; Ctrl-A h lists the keys', async () => {
    const t = mux();
    t.type('\x01h');
    expect(t.screen()).toContain('C-a x    end the guest');
    t.type('\x01x');
    await t.settle();
    expect(t.commands).toEqual(['quit']);
    expect(t.guest).toEqual([]);
  });
});
