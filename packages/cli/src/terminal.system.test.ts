// The console from the user's side, end to end: the built `lguest` run as a user runs it,
// in a real pseudo-terminal (util-linux `script` gives it one) or with a pipe on stdin.
//
//  * In a terminal: raw mode is entered (the -v log says so, and Ctrl-C arrives as a byte
//    instead of SIGINT), typed bytes reach the guest's bound console buffer, three Ctrl-C
//    end the guest with status 2, and `stty -g` is the same before and after.
//  * Piped: no raw mode, the bytes are delivered, EOF ends the watching and the guest powers
//    off as usual.
//  * --native: the same image on the emulated PC, to power-off with status 0, and piped
//    bytes on its UART's receive line.
// The Ctrl-C counter itself is tested on a fake clock (terminal.test.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { lguest } from './lguest';
import { Conversation } from '../testing/conversation';
import { GUEST, HANG_GUARD_MS, inPty, MAIN, SPINNER, WAIT_FOR_RAW } from '../testing/pty';

/** A line of `stty -g` output in a transcript. */
const STTY_LINE = /^[0-9a-f]+(?::[0-9a-f]+)+$/m;

describe('lguest in a terminal (a pseudo-terminal from script)', () => {
  it('puts the terminal in raw mode, passes Ctrl-C to the guest, ends at three Ctrl-C with status 2, and restores the terminal', async () => {
    // The spinner on the virtual clock: the three Ctrl-C's second is still the host's wall
    // clock (a human's keys), and the three are typed in one write, so they arrive together
    // however busy the machine is. --timeout (the guest's clock) ends a run that went wrong.
    const c = Conversation.inPty(
      `stty -g; node ${MAIN} run -v --clock=virtual --timeout=2 32 ${SPINNER}; echo status=$?; stty -g`,
    );
    try {
      const [before] = await c.expect(STTY_LINE, 'stty -g before lguest');
      await c.seen(
        'lguest: console: the terminal is in raw mode; type Ctrl-C three times to end the guest',
        'raw mode',
      );
      c.type('\x03\x03\x03');
      await c.expect('lguest: console: Ctrl-C 3 of 3', 'the three Ctrl-C counted');
      const [, status] = await c.expect(/^status=(\d+)\n/m, "lguest's exit status");
      const [after] = await c.expect(STTY_LINE, 'stty -g after lguest');
      expect(await c.end()).toEqual({ status: 0, signal: null });
      expect(status).toBe('2');
      expect(after).toBe(before);
      expect(c.transcript).toMatch(
        /lguest: guest: killed: three Ctrl-C from the console \(exit status 2\).*; [0-3] bytes of console input delivered/,
      );
      expect(c.transcript).toContain('lguest: console: the terminal is back in its own mode');
    } finally {
      c.kill();
    }
  });

  it('restores the terminal when the guest powers off by itself, and --native ends the same way', () => {
    const out = inPty(
      `stty -g; node ${MAIN} run 32 ${GUEST} selftest; echo status=\\$?; stty -g; ` +
        `node ${MAIN} run --native 32 ${GUEST} selftest; echo native=\\$?; stty -g`,
      [],
    );
    const lines = out.split('\n');
    expect(lines).toContain('status=0');
    expect(lines).toContain('native=0');
    expect(lines[lines.indexOf('status=0') + 1]).toBe(lines[0]);
    expect(lines[lines.indexOf('native=0') + 1]).toBe(lines[0]);
    expect(out).toContain('hello from ring 3');
  });

  it('restores the terminal when a signal (SIGTERM) stops it, with status 143', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-term-'));
    const script = join(dir, 'term.sh');
    writeFileSync(
      script,
      [
        'stty -g',
        // $$ is the inner shell, which exec turns into lguest: the killer knows its pid.
        `sh -c '(${WAIT_FOR_RAW}kill -TERM $$) & exec node ${MAIN} run -v 32 ${SPINNER}'`,
        'echo status=$?',
        'stty -g',
      ].join('\n'),
    );
    const out = inPty(`sh ${script}`, []);
    rmSync(dir, { recursive: true, force: true });
    const lines = out.split('\n');
    expect(out).toContain('lguest: console: the terminal is in raw mode');
    expect(out).toContain('lguest: killed: SIGTERM');
    expect(lines).toContain('status=143');
    expect(lines[lines.indexOf('status=143') + 1]).toBe(lines[0]);
  });
});

describe('lguest with piped input', () => {
  it('delivers the bytes to the guest, needs no terminal, and the guest powers off', () => {
    const r = spawnSync(process.execPath, [MAIN, 'run', '-v', '32', GUEST, 'selftest'], {
      input: 'hello',
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('5 bytes of console input delivered');
    expect(r.stderr).not.toContain('raw mode');
  });

  it('--native: boots the same image on the emulated PC to power-off', () => {
    const r = spawnSync(process.execPath, [MAIN, 'run', '--native', '-v', '32', GUEST, 'selftest'], {
      input: '',
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('on native hardware (paravirt_ops "native"), ring 0');
    expect(r.stdout).toContain('command line: selftest');
    expect(r.stdout).toContain('hello from ring 3');
    expect(r.stderr).toContain('pc: power-off (exit status 0)');
  });

  it('--native: puts the bytes on the UART receive line of a guest that keeps running', () => {
    // The spinner runs until --timeout (0.5 virtual seconds: 25 slices, each followed by a
    // turn of the event loop, where the pipe's bytes come in).
    const r = spawnSync(process.execPath, [MAIN, 'run', '--native', '-v', '--timeout=0.5', '32', SPINNER], {
      input: 'abc',
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    expect(r.status).toBe(124);
    expect(r.stderr).toContain('3 bytes of console input delivered');
  });
});

describe('lguest run --native, in-process', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        stdout: { write: (c: Uint8Array | string) => out.push(Buffer.from(c).toString()) },
        stderr: { write: (c: Uint8Array | string) => err.push(Buffer.from(c).toString()) },
        cwd: process.cwd(),
        defaultKernel: GUEST,
      },
    };
  };

  // The guest's story (and its power-off) runs when its command line says `selftest`.
  it('powers off with status 0', async () => {
    const t = io();
    expect(await lguest(['run', '--native', '16', GUEST, 'selftest'], t.io)).toBe(0);
    expect(t.out.join('')).toContain('memory: 16 MiB (multiboot mem_upper 15360 KiB)');
  });

  it('stops a spinning guest at --timeout with 124 and a reason', async () => {
    const t = io();
    expect(await lguest(['run', '--native', '--timeout=0.05', '16', SPINNER], t.io)).toBe(124);
    expect(t.err.join('')).toContain('killed: still running after 0.05 s of host clock time (--timeout)');
  });

  it('stops a guest idle at its prompt at --timeout too: the PC clock keeps the wall clock', async () => {
    const t = io();
    const started = performance.now();
    expect(await lguest(['run', '--native', '--timeout=0.5', '16'], t.io)).toBe(124);
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect(t.out.join('')).toContain('# ');
    expect(t.err.join('')).toContain('killed: still running after 0.5 s of host clock time (--timeout)');
  });

  it('counts --timeout on the guest clock with --clock=virtual: the same instant on every run', async () => {
    const runs = [io(), io()];
    for (const t of runs) {
      expect(await lguest(['run', '--native', '-v', '--clock=virtual', '--timeout=0.02', '16', SPINNER], t.io)).toBe(
        124,
      );
      expect(t.err.join('')).toContain('after 0.02 s of virtual clock time (--timeout)');
    }
    expect(runs[0].out.join('')).toBe(runs[1].out.join(''));
    const retired = runs.map((t) => /^lguest: instructions: (\d+)$/m.exec(t.err.join(''))?.[1]);
    expect(retired[0]).toMatch(/^\d+$/);
    expect(retired[1]).toBe(retired[0]);
  });
});
