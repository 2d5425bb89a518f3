// --tunnet=IP and --tunnet=bridge:BR: the guest on a real TAP device of the machine we run
// on. The launcher is peer 0 of the guest's network (peer.ts) and the TAP device is its
// other end: frames the guest sends are written to the device, frames the device gives us go
// into the guest. The host's side of the device gets IP (as the 2.6.23 launcher did: the
// address, then up), or joins bridge BR.
//
// Node cannot ioctl(), and TUNSETIFF is an ioctl. So a small C program of this package,
// lguest-tap (tap/lguest-tap.c, built by the workspace build), creates and configures the
// device and relays its frames over a pipe, each preceded by its length. We chose a relay
// over handing the descriptor back (SCM_RIGHTS): Node can neither receive a descriptor over a
// Unix socket nor poll a character device without blocking one of libuv's few pool threads
// in read() for good; pipes it handles natively, and the helper's death ends the network
// cleanly. The cost is one copy through the pipe per frame. The records we write to the pipe
// are buffers lent by a pool and given back when the write is done, so a frame allocates
// nothing of ours; frames from the pipe are cut out of one gathering buffer by offset.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { LGUEST_DEVICE_F_RANDOMNESS, LGUEST_NET_MAX_PACKET } from '@lguest/abi';
import { LauncherExit, type Launcher } from '@lguest/launcher';
import { addLauncherPeer, type LauncherPeer } from './peer';
import { BufferPool } from './pool';
import { copyBytes } from './tcpip/wire';

export interface TunnetOptions {
  /** "IP" (the host side's address) or "bridge:BR". */
  readonly arg: string;
  /** The built lguest-tap program. */
  readonly helper: string;
}

export interface TunnetDevice {
  readonly peer: LauncherPeer;
  /** The TAP device's name and MAC, once the launcher set it up. */
  readonly ifname: string | null;
  /** The buffers frames go to the helper in (its counters show reuse). */
  readonly pool: BufferPool;
  close(): void;
}

/** Checks a --tunnet value: an IPv4 address or bridge:NAME; returns an error message or null. */
export function checkTunnet(arg: string): string | null {
  if (/^bridge:[^\s/]{1,15}$/.test(arg)) return null;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(arg);
  if (m && m.slice(1).every((p) => Number(p) <= 255)) return null;
  return `--tunnet=${arg}: give the host side's IPv4 address (e.g. --tunnet=192.168.19.1) or bridge:NAME`;
}

/** Exit status of lguest-tap when TUNSETIFF is refused for lack of CAP_NET_ADMIN. */
const NO_PERMISSION = 3;

/** Adds a --tunnet device to `launcher` (before run()). */
export function addTunnet(launcher: Launcher, options: TunnetOptions): TunnetDevice {
  let child: ChildProcessWithoutNullStreams | null = null;
  let ifname: string | null = null;
  let releasePacing = () => {};
  // Frames from the pipe are gathered here: [length u16 BE][frame]…
  const pending = new Uint8Array(4 * (2 + LGUEST_NET_MAX_PACKET) + 65536);
  let have = 0;
  const pool = new BufferPool();

  const peer: LauncherPeer = addLauncherPeer(launcher, {
    mac: new Uint8Array(6), // replaced by the device's own address in setup
    features: LGUEST_DEVICE_F_RANDOMNESS,
    receive: (frame, length) => {
      if (!child) return;
      const rec = pool.take(2 + length);
      rec.buffer[0] = length >> 8;
      rec.buffer[1] = length & 0xff;
      copyBytes(rec.buffer, 2, frame, 0, length);
      child.stdin.write(rec.buffer, rec.release);
    },
    setup: async (l) => {
      // From now on the guest waits on the outside world (the helper first of all).
      releasePacing = l.proc.holdPacing();
      const { proc, mac, name } = await start(options);
      child = proc;
      ifname = name;
      // Peer 0's slot holds the device's address, with the promiscuous bit.
      mac[0] |= 1;
      l.writeGuest(peer.device.pages, mac);
      proc.stdout.on('data', (chunk: Buffer) => frames(chunk));
      proc.on('exit', () => {
        child = null;
      });
    },
  });

  /** Cuts the pipe's bytes into frames and queues each for the guest. */
  function frames(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, pending.length - have);
      copyBytes(pending, have, chunk, at, n);
      have += n;
      at += n;
      let off = 0;
      while (have - off >= 2) {
        const len = (pending[off] << 8) | pending[off + 1];
        if (have - off < 2 + len) break;
        peer.send(pending, off + 2, len);
        off += 2 + len;
      }
      pending.copyWithin(0, off, have);
      have -= off;
    }
  }

  return {
    peer,
    get ifname() {
      return ifname;
    },
    pool,
    close() {
      releasePacing();
      peer.close();
      child?.stdin.end();
      child?.kill();
      child = null;
    },
  };
}

/** Starts lguest-tap and waits for its "NAME MAC" line (or its failure). */
function start(
  options: TunnetOptions,
): Promise<{ proc: ChildProcessWithoutNullStreams; mac: Uint8Array; name: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(options.helper, [options.arg], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let head = Buffer.alloc(0);
    const fail = (why: string) => reject(new LauncherExit(1, `--tunnet=${options.arg}: ${why}`));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', (e) => fail(`cannot run ${options.helper}: ${e.message} (run 'npm run build' first)`));
    proc.on('exit', (code) => {
      if (code === NO_PERMISSION) {
        fail(
          'creating a TAP device needs CAP_NET_ADMIN (run as root), ' +
            'or use --net=user, which needs no privileges (hostfwd=tcp::HOSTPORT-:GUESTPORT reaches guest servers)',
        );
      } else fail(stderr.trim() || `lguest-tap exited with status ${code}`);
    });
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      proc.stdout.off('data', onHead);
      proc.removeAllListeners('exit');
      const [name, macText] = head.subarray(0, nl).toString().split(' ');
      const mac = Uint8Array.from(macText.split(':').map((x) => parseInt(x, 16)));
      resolve({ proc, mac, name });
      const rest = head.subarray(nl + 1);
      if (rest.length) queueMicrotask(() => proc.stdout.emit('data', rest));
    };
    proc.stdout.on('data', onHead);
  });
}
