// `lguest run --monitor=stdio`: the monitor on the terminal with the guest's console, as a
// QEMU user knows it from `-serial mon:stdio`. The built command runs our guest in a real
// pseudo-terminal (util-linux `script`), and in a pipe: at its shell prompt, Ctrl-A c brings
// the `(lguest) ` prompt, whose commands answer (the guest stopped and let go again); Ctrl-A h
// lists the keys; Ctrl-A c goes back to the guest's shell, which answers as before; Ctrl-A x
// ends the guest and lguest exits 0. Every step waits for the output it answers.

import { Conversation } from '../testing/conversation';
import { GUEST, MAIN } from '../testing/pty';

const PATIENCE_MS = 600_000;

describe('the monitor on the terminal (--monitor=stdio)', () => {
  let c: Conversation | undefined;
  afterEach(() => c?.kill());

  it.each([
    ['in a terminal', true],
    ['down a pipe', false],
  ])(
    '%s: Ctrl-A c switches between the console and the monitor, Ctrl-A x ends the guest',
    async (_how, terminal) => {
      const args = [MAIN, 'run', '--clock=virtual', '--monitor=stdio', '32', GUEST];
      c = terminal ? Conversation.inPty(`node ${args.join(' ')}; echo status=$?`) : Conversation.piped(args);
      await c.prompt('the guest shell', PATIENCE_MS);

      c.type('\x01c');
      await c.expect("lguest monitor: type 'help' for the commands", 'the monitor');
      await c.expect('(lguest) ', 'the monitor prompt');
      // Edited here, not by the guest: a backspace takes back the typo.
      c.type(`info statuss\x7f${c.enter}`);
      await c.expect('info statuss\b \b\n', 'the echo of the command, the typo rubbed out');
      await c.expect(/VM status: running; host clock [\d.]+ s \(virtual\)\n\(lguest\) /, 'info status');
      c.type(`stop${c.enter}`);
      await c.expect('(lguest) ', 'the prompt after stop');
      c.type(`info status${c.enter}`);
      await c.expect(/VM status: paused/, 'the guest stopped');
      c.type(`cont${c.enter}`);
      await c.expect('(lguest) ', 'the prompt after cont');
      c.type(`frobnicate${c.enter}`);
      await c.expect("unknown command 'frobnicate': type 'help' for the commands", 'an unknown command');

      c.type('\x01h');
      await c.expect('C-a c    switch between the console and the monitor', 'the keys');
      await c.expect('C-a C-a  send C-a to the guest', 'the keys');

      // Back to the guest: its shell answers as before.
      c.type('\x01c');
      c.type(`uname${c.enter}`);
      await c.expect(/uname\n[^\n]*\n# /, "the guest's answer to uname");

      c.type('\x01x');
      await c.expect('lguest: ending the guest (C-a x)', 'Ctrl-A x');
      if (terminal) await c.expect(/status=0\n/, 'exit status 0');
      else expect(await c.end()).toEqual({ status: 0, signal: null });
    },
    PATIENCE_MS,
  );
});
