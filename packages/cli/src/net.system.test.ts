// Networks, whole system: real Linux 2.6.23 guests (their own lguest_net driver, configured by
// the kernel's ip= argument) running in one host under run-many, with lgnet — the static
// network tool of packages/net — in their initramfs. Everything runs on the virtual clock, so
// each run retires the same instructions; --timeout bounds a run that goes wrong.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from './lguest';
import { writeInitramfs } from './testing/initramfs';
import { LINUX, linuxTests, unpackKlibc } from './testing/linux';

const RUN = linuxTests('network system tests');
const maybe = RUN ? describe : describe.skip;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd: __dirname,
    defaultKernel: LINUX.bzImage,
  });
  return { status, stdout, stderr };
}

/** A Linux guest spec for run-many: MEM 64, the bzImage, its console and eth0 set up by ip=. */
function linuxGuest(devices: string, initrd: string, ip: string): string {
  return `${devices} --initrd=${initrd} 64 ${LINUX.bzImage} console=hvc0 ip=${ip}::10.1.0.254:255.255.255.0::eth0:off`;
}

/** The console lines of run-many guest `name`, without their prefix. */
function consoleOf(out: string, name: string): string {
  const prefix = `[${name}] `;
  return out
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length))
    .join('\n');
}

maybe('--sharenet: two Linux guests on one network', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-net-'));
  const klibc = RUN ? unpackKlibc() : '';
  const A = 'bzImage-2.6.23.17-lguest';
  const B = 'bzImage-2.6.23.17-lguest#2';

  it('ping each other and do a TCP request/response, lg copying every frame between them', async () => {
    const server = join(dir, 'server.cpio');
    const client = join(dir, 'client.cpio');
    // a serves one TCP request, then pings b; b pings a, then asks a over TCP.
    writeInitramfs(server, klibc, 'lgnet serve 7000 1\nlgnet ping 10.1.0.2 2\npoweroff\n');
    writeInitramfs(
      client,
      klibc,
      'sleep 1\nlgnet ping 10.1.0.1 3\nlgnet get 10.1.0.1 7000 "hello over sharenet"\npoweroff\n',
    );
    const r = await run([
      'run-many',
      '--clock=virtual',
      '--timeout=8',
      '--guest',
      linuxGuest('--sharenet=testnet', server, '10.1.0.1'),
      '--guest',
      linuxGuest('--sharenet=testnet', client, '10.1.0.2'),
    ]);
    const a = consoleOf(r.stdout, A);
    const b = consoleOf(r.stdout, B);
    expect(b).toContain('ping 10.1.0.1: 3 sent, 3 received');
    expect(b).toMatch(/echo: hello over sharenet/);
    expect(a).toContain('lgnet: served request 1');
    expect(a).toContain('ping 10.1.0.2: 2 sent, 2 received');
    expect(a).toContain('device=eth0, addr=10.1.0.1');
    expect(r.stderr).toContain(`[${A}] powered off`);
    expect(r.stderr).toContain(`[${B}] powered off`);
    expect(r.status).toBe(0);
  }, 180_000);
});
