// Networks, whole system: real Linux 2.6.23 guests (their own lguest_net driver, configured by
// the kernel's ip= argument) running in one host under run-many, with lgnet — the static
// network tool of packages/net — in their initramfs. Everything runs on the virtual clock, so
// each run retires the same instructions; --timeout bounds a run that goes wrong.

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lguest } from './lguest';
import { hostMemoryMiB, parseCommand, type GuestSpec } from './options';
import { runSession, type SessionOutcome } from './session';
import { freePort } from '../testing/http';
import { writeInitramfs } from '../testing/initramfs';
import { LINUX, linuxTests, unpackKlibc } from '../testing/linux';
import { defaultCoreName } from '@lguest/x86-cores';

const RUN = linuxTests('network system tests');
const maybe = RUN ? describe : describe.skip;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], onStdout?: (all: string) => void): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: {
      write: (c) => {
        stdout += Buffer.from(c).toString();
        onStdout?.(stdout);
      },
    },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd: __dirname,
    defaultKernel: LINUX.bzImage,
  });
  return { status, stdout, stderr };
}

/**
 * Runs guests given as `lguest run` argument lists in one host on the virtual clock, each
 * with a console of its own (run-many's shared stdout can interleave two guests' partial
 * lines). Returns the outcome and each guest's console text.
 */
async function runGuests(
  timeoutS: number,
  ...guests: string[][]
): Promise<{ outcome: SessionOutcome; consoles: string[] }> {
  const specs = guests.map((args) => {
    const c = parseCommand(['run', ...args]);
    if (c.kind !== 'run') throw new Error('not a run command');
    return c.guest;
  });
  const host = { verbose: false, clock: 'virtual' as const, cpu: defaultCoreName(), memoryHostMiB: null, timeoutS };
  const consoles = specs.map(() => '');
  const outcome = await runSession({
    host,
    hostMemoryMiB: hostMemoryMiB(host, specs),
    guests: specs.map((spec: GuestSpec, i) => ({
      name: `guest${i + 1}`,
      spec,
      kernelPath: spec.kernel!,
      initrdPath: spec.initrd,
      output: { write: (c: Uint8Array) => (consoles[i] += Buffer.from(c).toString()) },
    })),
  });
  return { outcome, consoles };
}

/** `lguest run` arguments for a Linux guest: devices, its initramfs, eth0 set up by ip=. */
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

maybe('--sharenet: two Linux guests on one network', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-net-'));
  const klibc = RUN ? unpackKlibc() : '';

  it('ping each other and do a TCP request/response each way, lg copying every frame between them', async () => {
    const a = join(dir, 'a.cpio');
    const b = join(dir, 'b.cpio');
    // Both ping each other once both are up; then a serves one TCP request, which b makes;
    // then b serves one, which a makes (on the virtual clock this schedule is the same every
    // run: b's server is listening well within the second a sleeps after serving).
    writeInitramfs(
      a,
      klibc,
      'sleep 1\nlgnet ping 10.1.0.2 2\nlgnet serve 7000 1\nsleep 1\n' +
        'lgnet get 10.1.0.2 7001 "hello from a"\npoweroff\n',
    );
    writeInitramfs(
      b,
      klibc,
      'sleep 1\nlgnet ping 10.1.0.1 3\nsleep 2\nlgnet get 10.1.0.1 7000 "hello from b"\n' +
        'lgnet serve 7001 1\npoweroff\n',
    );
    const { outcome, consoles } = await runGuests(
      14,
      linuxArgs(['--sharenet=testnet'], a, '10.1.0.1'),
      linuxArgs(['--sharenet=testnet'], b, '10.1.0.2'),
    );
    const [outA, outB] = consoles;
    expect(outA).toContain('device=eth0, addr=10.1.0.1');
    expect(outB).toContain('device=eth0, addr=10.1.0.2');
    expect(outA).toContain('ping 10.1.0.2: 2 sent, 2 received');
    expect(outB).toContain('ping 10.1.0.1: 3 sent, 3 received');
    // Server on a, client on b.
    expect(outA).toContain('lgnet: listening on port 7000');
    expect(outB).toMatch(/echo: hello from b\s*lgnet: connection closed/);
    // Server on b, client on a.
    expect(outB).toContain('lgnet: listening on port 7001');
    expect(outA).toMatch(/echo: hello from a\s*lgnet: connection closed/);
    expect(outA.match(/lgnet: served request 1/g)).toHaveLength(1);
    expect(outB.match(/lgnet: served request 1/g)).toHaveLength(1);
    expect(outcome.guests.map((g) => g.poweredOff)).toEqual([true, true]);
    // Every frame went guest to guest through lg: the counters say so.
    expect(outcome.guests.every((g) => (g.stats?.dmaDelivered ?? 0) > 10)).toBe(true);
  }, 180_000);
});

/** Sends `request` to 127.0.0.1:port and resolves with everything that comes back. */
function fetchFrom(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => (got += d.toString()));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

maybe('--net=user: a Linux guest and the host, through the launcher’s own TCP/IP stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-usernet-'));
  const klibc = RUN ? unpackKlibc() : '';

  it('DHCP, ping to the gateway, TCP and UDP out to host servers, and a guest web server through hostfwd', async () => {
    // The servers the guest reaches, on the host's loopback (10.0.2.2 from inside).
    const tcp = createServer((s) => s.on('data', (d) => s.end(`host says: ${d.toString().toUpperCase()}`)));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const tcpPort = (tcp.address() as AddressInfo).port;
    const udp = createSocket('udp4');
    udp.on('message', (m, r) => udp.send(`udp says: ${m.toString()}`, r.port, r.address));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const udpPort = udp.address().port;
    const fwd = await freePort();

    const initrd = join(dir, 'user.cpio');
    writeInitramfs(
      initrd,
      klibc,
      `lgnet ping 10.0.2.2 2\nlgnet get 10.0.2.2 ${tcpPort} "hello host"\n` +
        `lgnet udp 10.0.2.2 ${udpPort} "hi"\nlgnet serve 80 1\npoweroff\n`,
    );
    let page: Promise<string> | null = null;
    try {
      const r = await run(
        [
          'run',
          '--clock=virtual',
          '--timeout=60',
          `--net=user,hostfwd=tcp:127.0.0.1:${fwd}-:80`,
          `--initrd=${initrd}`,
          '64',
          LINUX.bzImage,
          'console=hvc0',
          'ip=dhcp',
        ],
        (out) => {
          // The guest's server is up: fetch its page from the host, through the forwarded port.
          if (!page && out.includes('lgnet: listening on port 80')) page = fetchFrom(fwd, 'GET / HTTP/1.0\r\n\r\n');
        },
      );
      expect(r.stdout).toContain('IP-Config: Got DHCP answer from 10.0.2.2, my address is 10.0.2.15');
      expect(r.stdout).toContain('ping 10.0.2.2: 2 sent, 2 received');
      expect(r.stdout).toContain('host says: HELLO HOST');
      expect(r.stdout).toContain('lgnet: udp reply: udp says: hi');
      expect(r.stdout).toContain('lgnet: served request 1');
      expect(page).not.toBeNull();
      const body = await page!;
      expect(body).toMatch(/^HTTP\/1.0 200 OK/);
      expect(body).toContain('<h1>hello from the lguest guest</h1>');
      expect(r.status).toBe(0);
    } finally {
      tcp.close();
      udp.close();
    }
  }, 180_000);
});

/**
 * Runs inside the private network namespace: starts the built lguest with ARGV, and when the
 * guest's server says it listens, fetches its page from the host's side of the TAP device.
 */
const NETNS_DRIVER = `
const { spawn } = require('node:child_process');
const net = require('node:net');
const [lguest, ...args] = process.argv.slice(1);
const p = spawn(process.execPath, [lguest, ...args]);
let out = '';
let asked = false;
p.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
  if (asked || !out.includes('lgnet: listening on port 80')) return;
  asked = true;
  const c = net.connect(80, '10.9.0.2', () => c.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  let got = '';
  c.on('data', (x) => (got += x));
  c.on('end', () => console.log('host fetched: ' + JSON.stringify(got)));
  c.on('error', (e) => console.log('host could not fetch: ' + e.message));
});
p.stderr.pipe(process.stderr);
p.on('exit', (code) => console.log('lguest exited with ' + code));
`;

const LGUEST_BIN = join(__dirname, '..', 'bin', 'lguest.mjs');

maybe('--tunnet: a Linux guest on a TAP device, inside a network namespace of the test’s own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-tunnet-'));
  const klibc = RUN ? unpackKlibc() : '';

  it('the guest pings the host side, and the host fetches the guest’s web page through the TAP', () => {
    const initrd = join(dir, 'tap.cpio');
    writeInitramfs(initrd, klibc, 'lgnet ping 10.9.0.1 2\nlgnet serve 80 1\npoweroff\n');
    // unshare -n: a namespace with nothing but its own loopback; the TAP device is made there.
    const r = spawnSync(
      'unshare',
      [
        '-n',
        process.execPath,
        '-e',
        NETNS_DRIVER,
        LGUEST_BIN,
        'run',
        '--clock=virtual',
        '--timeout=60',
        '--tunnet=10.9.0.1',
        `--initrd=${initrd}`,
        '64',
        LINUX.bzImage,
        'console=hvc0',
        'ip=10.9.0.2::10.9.0.1:255.255.255.0::eth0:off',
      ],
      { encoding: 'utf8', timeout: 170_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ping 10.9.0.1: 2 sent, 2 received');
    expect(r.stdout).toMatch(/host fetched: "HTTP\/1.0 200 OK.*hello from the lguest guest/);
    expect(r.stdout).toContain('lguest exited with 0');
  }, 180_000);

  it('without CAP_NET_ADMIN says so and points at --net=user', () => {
    const r = spawnSync(
      'unshare',
      [
        '-n',
        'setpriv',
        '--bounding-set=-net_admin',
        '--inh-caps=-net_admin',
        process.execPath,
        LGUEST_BIN,
        'run',
        '--tunnet=10.9.0.1',
        '32',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toMatch(/--tunnet=10\.9\.0\.1: creating a TAP device needs CAP_NET_ADMIN.*use --net=user/);
    expect(r.status).toBe(1);
  });
});

maybe('a guest sending malformed traffic: stopped, its frames dropped with a reason, the neighbour unharmed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-net-attack-'));
  const klibc = RUN ? unpackKlibc() : '';
  const ATTACK = join(dirname(require.resolve('@lguest/guest/package.json')), 'build', 'attack-net-frames.elf');

  it('--net=user: zero-length and oversized frames are dropped and counted, a bad buffer ends only that guest', async () => {
    const r = await run(['run', '-v', '--clock=virtual', '--timeout=30', '--net=user', '32', ATTACK]);
    expect(r.stdout).toContain('attack: flood sent; now a frame outside guest memory');
    expect(r.stderr).toMatch(
      /network: 5000 frames \(300000 bytes\) from the guest.*dropped: runt frame from the guest ×1, oversized frame from the guest ×1/,
    );
    expect(r.stderr).toContain('guest died: Bad DMA buffer: 64@0xf0000000');
    expect(r.stdout).not.toContain('ATTACK SUCCEEDED');
    expect(r.status).toBe(1);
  }, 120_000);

  it('--sharenet: lg kills the attacker for its bad DMA entry while the Linux guest next to it runs on', async () => {
    const initrd = join(dir, 'neighbour.cpio');
    writeInitramfs(initrd, klibc, 'sleep 2\necho neighbour still here\npoweroff\n');
    const { outcome, consoles } = await runGuests(20, linuxArgs(['--sharenet=attacked'], initrd, '10.1.0.1'), [
      '--sharenet=attacked',
      '32',
      ATTACK,
    ]);
    const [linux, attacker] = outcome.guests;
    expect(consoles[1]).toContain('attack: a flood of 5000 frames');
    expect(attacker.reason).toBe('bad DMA entry: 64@0xf0000000');
    expect(consoles[1]).not.toContain('ATTACK SUCCEEDED');
    expect(consoles[0]).toContain('neighbour still here');
    expect(linux.poweredOff).toBe(true);
  }, 180_000);
});
