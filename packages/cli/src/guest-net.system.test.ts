// Networks, whole system, with our own guest kernel: its lguest_net driver and IPv4 stack,
// and its programs ping, ifconfig, httpd and nc. Two of our guests on one --sharenet, ours
// next to the real Linux 2.6.23 guest, ours behind --net=user with a forwarded port, and our
// static binaries inside the Linux guest. Every guest runs in one host on the virtual clock;
// the shell sessions are typed when the console shows what the step waits for, never on a
// timer.

import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { hostMemoryMiB, parseCommand, type GuestSpec } from './options';
import { runSession, type SessionOutcome } from './session';
import { freePort, getPage } from '../testing/http';
import { writeInitramfs } from '../testing/initramfs';
import { LINUX, linuxTests, unpackKlibc } from '../testing/linux';

const GUEST_BUILD = join(dirname(require.resolve('@lguest/guest/package.json')), 'build');
const GUEST = join(GUEST_BUILD, 'guest.elf');
const userProgram = (name: string) => join(GUEST_BUILD, `user-${name}.elf`);

/** One step of a session: when guest `guest`'s console shows `when` (after the previous
 * match on that console), type `type` into guest `into` (default: the same guest), or run `act`,
 * whose promise, if any, must settle before the next step. */
interface Step {
  readonly guest: number;
  readonly when: string | RegExp;
  readonly type?: string;
  readonly into?: number;
  readonly act?: () => Promise<unknown> | void;
}

/** Our guest on a network: `lguest run` arguments, the address given by the kernel's ip=. */
function oursArgs(devices: string[], ip: string, gw = '10.1.0.254'): string[] {
  return [...devices, '32', GUEST, `ip=${ip}::${gw}:255.255.255.0`];
}

function linuxArgs(devices: string[], initrd: string, ip: string): string[] {
  return [
    ...devices,
    `--initrd=${initrd}`,
    '64',
    LINUX.bzImage,
    'console=hvc0',
    `ip=${ip}::10.1.0.254:255.255.255.0::eth0:off`,
  ];
}

/**
 * Runs the guests in one host on the virtual clock, each with its own console and input,
 * and plays the steps in order. Resolves with the outcome, each console, and how many steps ran.
 */
async function play(
  timeoutS: number,
  guests: string[][],
  steps: Step[],
): Promise<{ outcome: SessionOutcome; consoles: string[]; done: number }> {
  const specs = guests.map((args) => {
    const c = parseCommand(['run', ...args]);
    if (c.kind !== 'run') throw new Error('not a run command');
    return c.guest;
  });
  const host = { verbose: false, clock: 'virtual' as const, cpu: 'interpreter', memoryHostMiB: null, timeoutS };
  const consoles = specs.map(() => '');
  const cursors = specs.map(() => 0);
  const inputs = specs.map(() => new PassThrough());
  let next = 0;
  let busy = false;
  const advance = (): void => {
    while (!busy && next < steps.length) {
      const s = steps[next];
      const text = consoles[s.guest].slice(cursors[s.guest]);
      let at: number;
      let len: number;
      if (typeof s.when === 'string') {
        at = text.indexOf(s.when);
        len = s.when.length;
      } else {
        const m = s.when.exec(text);
        at = m ? m.index : -1;
        len = m ? m[0].length : 0;
      }
      if (at < 0) return;
      cursors[s.guest] += at + len;
      next++;
      if (s.type !== undefined) inputs[s.into ?? s.guest].write(s.type);
      const p = s.act?.();
      if (p) {
        busy = true;
        void p.then(
          () => {
            busy = false;
            advance();
          },
          (e: unknown) => {
            consoles[s.guest] += `\n[test: step failed: ${String(e)}]\n`;
          },
        );
      }
    }
  };
  const outcome = await runSession({
    host,
    hostMemoryMiB: hostMemoryMiB(host, specs),
    guests: specs.map((spec: GuestSpec, i) => ({
      name: `guest${i + 1}`,
      spec,
      kernelPath: spec.kernel!,
      initrdPath: spec.initrd,
      input: inputs[i],
      output: {
        write: (c: Uint8Array) => {
          // Linux's console writes CR LF; the steps match lines by LF alone.
          consoles[i] += Buffer.from(c).toString().replace(/\r/g, '');
          advance();
        },
      },
    })),
  });
  // On a failure, the consoles say where it stopped.
  if (next < steps.length || process.env.LGUEST_TEST_CONSOLES)
    console.log(`stopped before step ${next}:\n${consoles.join('\n=====\n')}`);
  return { outcome, consoles, done: next };
}

const PROMPT = /(^|\n)# $/;
/** Waits for guest g's prompt and types a line. */
const at = (g: number, line: string): Step => ({ guest: g, when: PROMPT, type: `${line}\n` });

describe('our guests on one --sharenet', () => {
  it('one configured by ifconfig, they ping each other and run nc both ways: a TCP request and its answer typed at each end', async () => {
    const net = `--sharenet=ours-${process.pid}`;
    const { outcome, consoles, done } = await play(
      120,
      // a gets its address from the kernel's ip=, b from ifconfig once it is up.
      [oursArgs([net], '10.1.0.1'), [net, '32', GUEST]],
      [
        at(0, 'ifconfig'),
        at(1, 'ifconfig eth0 10.1.0.2 netmask 255.255.255.0'),
        at(1, 'ifconfig eth0'),
        at(1, 'ping -c 3 10.1.0.1'),
        { guest: 1, when: '3 packets transmitted, 3 received' },
        at(0, 'ping -c 2 10.1.0.2'),
        { guest: 0, when: '2 packets transmitted, 2 received' },
        // a serves, b calls: b's line reaches a, a's answer reaches b, b's end of input closes.
        at(0, 'nc -l 7000'),
        { guest: 0, when: 'nc: listening on port 7000', into: 1, type: 'nc 10.1.0.1 7000\n' },
        { guest: 1, when: 'nc: connected to 10.1.0.1 port 7000', type: 'request from b\n' },
        { guest: 0, when: 'request from b\n', type: 'answer from a\n' },
        { guest: 1, when: 'answer from a\n', type: '\x04' },
        { guest: 0, when: 'nc: connection closed' },
        { guest: 1, when: 'nc: connection closed' },
        // and the reverse: b serves, a calls.
        at(1, 'nc -l 7001'),
        { guest: 1, when: 'nc: listening on port 7001', into: 0, type: 'nc 10.1.0.2 7001\n' },
        { guest: 0, when: 'nc: connected to 10.1.0.2 port 7001', type: 'request from a\n' },
        { guest: 1, when: 'request from a\n', type: 'answer from b\n' },
        { guest: 0, when: 'answer from b\n', type: '\x04' },
        { guest: 1, when: 'nc: connection closed' },
        { guest: 0, when: 'nc: connection closed' },
        // A port nobody listens on is refused (a RST), not left hanging.
        at(0, 'nc 10.1.0.2 7999'),
        { guest: 0, when: 'nc: 10.1.0.2 port 7999: connection refused' },
        at(0, 'poweroff'),
        at(1, 'poweroff'),
      ],
    );
    const [a, b] = consoles;
    expect(done).toBe(25);
    expect(a).toContain('lgnet: eth0: 02:00:');
    expect(a).toContain('inet addr:10.1.0.1  Bcast:10.1.0.255  Mask:255.255.255.0');
    expect(b).toContain('net: eth0: no address (ip=ADDR on the command line, or ifconfig)');
    expect(b).toContain(
      '# ifconfig eth0\neth0      Link encap:Ethernet  HWaddr 02:00:01:00:00:00\n          inet addr:10.1.0.2  Bcast:10.1.0.255  Mask:255.255.255.0\n          UP BROADCAST RUNNING\n',
    );
    expect(b).toMatch(/64 bytes from 10\.1\.0\.1: icmp_seq=1 ttl=64 time=\d+\.\d{3} ms/);
    expect(b).toMatch(/icmp_seq=3 ttl=64/);
    expect(a).toContain('nc: connection from 10.1.0.2:');
    expect(b).toContain('nc: connection from 10.1.0.1:');
    expect(outcome.guests.map((g) => g.poweredOff)).toEqual([true, true]);
    expect(outcome.guests.every((g) => (g.stats?.dmaDelivered ?? 0) > 10)).toBe(true);
  }, 300_000);
});

describe('our guest behind --net=user', () => {
  it('serves its httpd page to the host through hostfwd (the counter counts), and its nc reaches host servers over TCP and UDP', async () => {
    const fwd = await freePort();
    // The host's server: it greets, and records what the guest says.
    let heard = '';
    let conn: Socket | null = null;
    const server = createServer((s) => {
      conn = s;
      s.setEncoding('utf8');
      s.on('data', (d: string) => (heard += d));
      s.write('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // And a UDP server that answers each datagram.
    const udp = createSocket('udp4');
    udp.on('message', (m, r) => udp.send(`udp says: ${m.toString()}`, r.port, r.address));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const udpPort = udp.address().port;
    const pages: { status: number; body: string }[] = [];
    try {
      const { outcome, consoles, done } = await play(
        120,
        [oursArgs([`--net=user,hostfwd=tcp:127.0.0.1:${fwd}-:80`], '10.0.2.15', '10.0.2.2')],
        [
          at(0, 'httpd 80 2'),
          { guest: 0, when: 'httpd: serving port 80', act: async () => pages.push(await getPage(fwd)) },
          { guest: 0, when: 'httpd: visit 1', act: async () => pages.push(await getPage(fwd)) },
          { guest: 0, when: 'httpd: visit 2' },
          at(0, `nc 10.0.2.2 ${port}`),
          { guest: 0, when: 'hello from the host\n', type: 'hello from the guest\n' },
          {
            guest: 0,
            when: 'hello from the guest\n', // the echo of the typed line; wait for the host to have it
            act: () =>
              new Promise<void>((resolve) => {
                const check = () => (heard.includes('hello from the guest\n') ? resolve() : setImmediate(check));
                check();
              }).then(() => conn?.end()),
          },
          { guest: 0, when: 'nc: connection closed' },
          at(0, 'ping -c 2 10.0.2.2'),
          { guest: 0, when: '2 packets transmitted, 2 received' },
          at(0, `nc -u 10.0.2.2 ${udpPort}`),
          { guest: 0, when: `nc -u 10.0.2.2 ${udpPort}\n`, type: 'hi over udp\n' },
          { guest: 0, when: 'udp says: hi over udp\n', type: '\x04' },
          at(0, 'poweroff'),
        ],
      );
      expect(done).toBe(14);
      expect(pages.map((p) => p.status)).toEqual([200, 200]);
      expect(pages[0].body).toContain('<h1>hello from the lguest.ts guest</h1>');
      expect(pages[0].body).toContain('<p>visit 1</p>');
      expect(pages[1].body).toContain('<p>visit 2</p>');
      expect(heard).toBe('hello from the guest\n');
      expect(consoles[0]).toContain('httpd: visit 2 from 10.0.2.2');
      expect(outcome.guests[0].poweredOff).toBe(true);
    } finally {
      server.close();
      udp.close();
    }
  }, 300_000);
});

const RUN = linuxTests('network system tests with our guest and Linux');
const maybe = RUN ? describe : describe.skip;

maybe('our guest and the real Linux guest on one --sharenet, and our programs inside Linux', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-gnet-'));
  const klibc = RUN ? unpackKlibc() : '';

  it('ping and TCP both ways; Linux runs our static ping, nc, httpd and ifconfig', async () => {
    const net = `--sharenet=mixed-${process.pid}`;
    const initrd = join(dir, 'linux.cpio');
    // Linux (10.1.0.2): our ifconfig and ping, then our nc as a client of our guest's server,
    // then our httpd for one visit from our guest; lgnet serves one request last.
    writeInitramfs(
      initrd,
      klibc,
      [
        '/bin/ifconfig eth0',
        '/bin/ping -c 2 10.1.0.1',
        'sleep 3',
        'echo "request from linux" | /bin/nc 10.1.0.1 7000',
        '/bin/httpd 8080 1',
        'poweroff',
      ].join('\n') + '\n',
      undefined,
      ['ping', 'nc', 'httpd', 'ifconfig'].map((n) => ({ name: `bin/${n}`, path: userProgram(n) })),
    );
    const { outcome, consoles, done } = await play(
      150,
      [oursArgs([net], '10.1.0.1'), linuxArgs([net], initrd, '10.1.0.2')],
      [
        { guest: 1, when: '2 packets transmitted, 2 received' },
        at(0, 'ping -c 2 10.1.0.2'),
        { guest: 0, when: '2 packets transmitted, 2 received' },
        at(0, 'nc -l 7000'),
        { guest: 0, when: 'request from linux\n', type: 'answer from ours\n' },
        { guest: 1, when: 'answer from ours\n' },
        { guest: 1, when: 'httpd: serving port 8080' },
        at(0, 'nc 10.1.0.2 8080'),
        { guest: 0, when: 'nc: connected to 10.1.0.2 port 8080', type: 'GET / HTTP/1.0\n\n' },
        { guest: 0, when: 'nc: connection closed' },
        at(0, 'poweroff'),
      ],
    );
    const [ours, linux] = consoles;
    expect(done).toBe(11);
    expect(linux).toContain('inet addr:10.1.0.2  Bcast:10.1.0.255  Mask:255.255.255.0');
    expect(linux).toMatch(/64 bytes from 10\.1\.0\.1: icmp_seq=2 ttl=64 time=/);
    expect(ours).toMatch(/64 bytes from 10\.1\.0\.2: icmp_seq=2 ttl=64 time=/);
    expect(ours).toContain('nc: connection from 10.1.0.2:');
    expect(ours).toContain('HTTP/1.0 200 OK');
    expect(ours).toContain('<p>visit 1</p>');
    expect(linux).toContain('httpd: visit 1 from 10.1.0.1');
    expect(outcome.guests.map((g) => g.poweredOff)).toEqual([true, true]);
  }, 300_000);
});

describe('our guest attacked with malformed frames on its --sharenet', () => {
  const ATTACK = join(GUEST_BUILD, 'attack-net-frames.elf');

  it('drops zero-length, oversized and junk frames, counts them, and still talks to its neighbour', async () => {
    const net = `--sharenet=attacked-ours-${process.pid}`;
    const { outcome, consoles, done } = await play(
      60,
      [oursArgs([net], '10.1.0.1'), oursArgs([net], '10.1.0.2'), [net, '32', ATTACK]],
      [
        { guest: 2, when: 'attack: flood sent' },
        at(0, 'cat /proc/net'),
        at(0, 'ping -c 2 10.1.0.2'),
        { guest: 0, when: '2 packets transmitted, 2 received' },
        at(0, 'poweroff'),
        at(1, 'poweroff'),
      ],
    );
    const [a, , attacker] = consoles;
    expect(done).toBe(6);
    expect(attacker).toContain('attack: a 3000-byte frame');
    expect(outcome.guests[2].reason).toBe('bad DMA entry: 64@0xf0000000');
    // The junk (broadcast frames of 0xff: no protocol we speak) was counted and dropped.
    const received = /frames: (\d+) received/.exec(a);
    const dropped = /dropped: (\d+) bad ethernet\/arp/.exec(a);
    expect(received && dropped).toBeTruthy();
    expect(Number(dropped![1])).toBeGreaterThan(0);
    expect(dropped![1]).toBe(received![1]);
    expect(a).not.toContain('Kernel panic');
    expect(outcome.guests.slice(0, 2).map((g) => g.poweredOff)).toEqual([true, true]);
  }, 180_000);
});
