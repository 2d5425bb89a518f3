// The real Linux 2.6.23 guest and its lguest_blk driver on our block device: it mounts an
// ext2 disk made on the host by mke2fs, writes, syncs and powers off, and the host's own
// e2fsprogs read what it wrote and find the file system clean; it boots from such a disk
// with root=/dev/lgba; and a read-only disk stays byte-for-byte what it was.
// Every run is on the virtual clock, bounded by --timeout in virtual seconds.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from './lguest';
import {
  debugfs,
  debugfsWrite,
  e2fsck,
  klibcInitramfs,
  MAKE_DISK_NODES,
  mkext2,
  qemuImg,
  tool,
  treeEntries,
} from '../testing/disk-tools';
import { LINUX, linuxTests, unpackKlibc } from '../testing/linux';

const enabled = linuxTests('the Linux disk tests');
const maybe = enabled ? describe : describe.skip;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** `lguest ARGV` in-process, with no console input. */
async function run(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd: tmpdir(),
    defaultKernel: LINUX.bzImage,
  });
  return { status, stdout, stderr };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The Linux guest with `disks`, booted with an initramfs whose /init is `init`. */
function linux(dir: string, klibc: string, init: string, disks: string[], args: string[] = []): string[] {
  const initrd = join(dir, `initrd-${Math.random().toString(36).slice(2)}.cpio`);
  writeFileSync(initrd, klibcInitramfs(klibc, init));
  return [
    'run',
    '--clock=virtual',
    '--timeout=120',
    `--initrd=${initrd}`,
    ...disks.map((d) => `--block=${d}`),
    '64',
    LINUX.bzImage,
    'console=hvc0',
    ...args,
  ];
}

maybe('the Linux guest on lguest disks', () => {
  let dir: string;
  let klibc: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lguest-linux-disk-'));
    klibc = unpackKlibc();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(klibc, '..'), { recursive: true, force: true });
  });

  it('mounts an ext2 disk from /dev/lgba, writes a file, syncs, and the host reads it back clean', async () => {
    const content = join(dir, 'content');
    mkdirSync(join(content, 'docs'), { recursive: true });
    writeFileSync(join(content, 'docs', 'hello.txt'), 'made on the host by mke2fs -d\n');
    const image = join(dir, 'data.ext2');
    mkext2(image, '8M', content);
    const second = join(dir, 'second.img');
    writeFileSync(second, Buffer.alloc(1 << 20, 0x5a));

    const init = [
      '#!/bin/sh',
      ...MAKE_DISK_NODES,
      'mount -t ext2 /dev/lgba /mnt',
      'cat /mnt/docs/hello.txt',
      'mkdir /mnt/out',
      'i=0; while [ $i -lt 200 ]; do echo "line $i written by Linux on lgba"; i=$((i+1)); done > /mnt/out/linux.txt',
      'umount /mnt',
      'sync',
      'dd if=/dev/lgbb bs=512 count=1 2>/dev/null | dd bs=8 count=1 2>/dev/null; echo',
      'poweroff -f',
      '',
    ].join('\n');
    const r = await run(linux(dir, klibc, init, [image, second]));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('lgba: unknown partition table'); // lguest_blk found the disk
    expect(r.stdout).toContain('made on the host by mke2fs -d');
    expect(r.stdout).toContain('ZZZZZZZZ'); // the second disk is lgbb
    const written = debugfs(image, 'cat /out/linux.txt');
    const lines = written.trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines[199]).toBe('line 199 written by Linux on lgba');
    const fsck = e2fsck(image);
    expect({ status: fsck.status, out: fsck.out }).toEqual({ status: 0, out: expect.any(String) as string });
  }, 180_000);

  it('boots from an ext2 disk with root=/dev/lgba (klibc on it, /init a shell script)', async () => {
    const root = join(dir, 'rootfs');
    mkdirSync(root, { recursive: true });
    for (const sub of ['bin', 'lib', 'dev', 'proc', 'etc']) mkdirSync(join(root, sub), { recursive: true });
    for (const e of treeEntries(join(klibc, 'bin'), 'bin')) writeFileSync(join(root, e.name), e.data!, { mode: 0o755 });
    for (const e of treeEntries(join(klibc, 'lib'), 'lib')) writeFileSync(join(root, e.name), e.data!, { mode: 0o755 });
    writeFileSync(
      join(root, 'init'),
      [
        '#!/bin/sh',
        'echo "init from the disk: $(cat /etc/motd)"',
        'echo booted > /etc/booted',
        'sync',
        'poweroff -f',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(join(root, 'etc', 'motd'), 'root on lgba\n');
    const image = join(dir, 'root.ext2');
    mkext2(image, '8M', root);
    // The console node the kernel opens for init (mke2fs -d copies only what we could make).
    debugfsWrite(image, ['cd /dev', 'mknod console c 5 1']);

    let stdout = '';
    let stderr = '';
    const status = await lguest(
      [
        'run',
        '--clock=virtual',
        '--timeout=120',
        `--block=${image}`,
        '64',
        LINUX.bzImage,
        'console=hvc0',
        'root=/dev/lgba',
        'rw',
        'init=/init',
      ],
      {
        stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
        stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
        cwd: tmpdir(),
        defaultKernel: LINUX.bzImage,
      },
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toMatch(/VFS: Mounted root \(ext2 filesystem\)/);
    expect(stdout).toContain('init from the disk: root on lgba');
    expect(debugfs(image, 'cat /etc/booted')).toBe('booted\n');
    expect(e2fsck(image).status).toBe(0);
  }, 180_000);

  it('leaves a read-only disk byte-identical after the guest tried to write it', async () => {
    const image = join(dir, 'ro.ext2');
    mkext2(image, '4M');
    const before = sha256(image);
    const init = [
      '#!/bin/sh',
      ...MAKE_DISK_NODES,
      'echo "overwrite" > /junk',
      'dd if=/junk of=/dev/lgba bs=512 seek=2 conv=sync',
      'sync',
      'echo "writes tried"',
      'poweroff -f',
      '',
    ].join('\n');
    const r = await run(linux(dir, klibc, init, [`${image},ro`]));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('writes tried');
    expect(r.stdout).toMatch(/I\/O error/); // the kernel saw its write fail
    expect(sha256(image)).toBe(before);
  }, 180_000);

  it('keeps its base untouched through a qcow2 overlay, which qemu-img checks clean and commit merges', async () => {
    const content = join(dir, 'base-content');
    mkdirSync(content, { recursive: true });
    writeFileSync(join(content, 'base.txt'), 'in the base image\n');
    const baseImage = join(dir, 'base.ext2');
    mkext2(baseImage, '8M', content);
    const baseHash = sha256(baseImage);
    const overlay = join(dir, 'run.qcow2');
    expect((await run(['disk', 'create', '-b', baseImage, overlay])).status).toBe(0);

    const init = [
      '#!/bin/sh',
      ...MAKE_DISK_NODES,
      'mount -t ext2 /dev/lgba /mnt',
      'cat /mnt/base.txt',
      'i=0; while [ $i -lt 300 ]; do echo "overlay line $i"; i=$((i+1)); done > /mnt/overlay.txt',
      'mv /mnt/base.txt /mnt/renamed.txt',
      'umount /mnt',
      'sync',
      'poweroff -f',
      '',
    ].join('\n');
    const r = await run(linux(dir, klibc, init, [overlay]));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('in the base image');

    // The base is what it was; the overlay checks clean and holds the guest's file system.
    expect(sha256(baseImage)).toBe(baseHash);
    const check = qemuImg(['check', overlay]);
    expect(check.out).toMatch(/No errors were found on the image/);
    const flat = join(dir, 'flat.ext2');
    expect(qemuImg(['convert', '-O', 'raw', overlay, flat]).status).toBe(0);
    expect(debugfs(flat, 'cat /overlay.txt').split('\n')[299]).toBe('overlay line 299');
    expect(e2fsck(flat).status).toBe(0);

    const c = await run(['disk', 'commit', overlay]);
    expect(c.status).toBe(0);
    expect(sha256(baseImage)).toBe(sha256(flat));
    expect(debugfs(baseImage, 'cat /renamed.txt')).toBe('in the base image\n');
    expect(debugfs(baseImage, 'ls /')).not.toContain('base.txt');
    expect(e2fsck(baseImage).status).toBe(0);
  }, 180_000);

  it.each([['a raw disk'], ['a qcow2 overlay']])(
    'loses no completed write to %s when the lguest process is killed (kill -9) in the middle of a write loop',
    async (kind) => {
      const main = join(__dirname, '..', 'dist', 'main.js');
      expect({ built: existsSync(main), hint: 'npx nx build cli' }).toEqual({ built: true, hint: 'npx nx build cli' });
      const overlay = kind === 'a qcow2 overlay';
      const raw = join(dir, overlay ? 'crash-base.img' : 'crash.img');
      writeFileSync(raw, Buffer.alloc(2 << 20));
      const baseHash = sha256(raw);
      const disk = overlay ? join(dir, 'crash.qcow2') : raw;
      if (overlay) expect((await run(['disk', 'create', '-b', raw, disk])).status).toBe(0);
      const init = [
        '#!/bin/sh',
        ...MAKE_DISK_NODES,
        'i=1',
        'while [ $i -le 2000 ]; do',
        '  echo "record $i" > /rec',
        '  dd if=/rec of=/dev/lgba bs=512 seek=$i conv=sync 2>/dev/null',
        '  sync',
        '  echo "completed $i"',
        '  i=$((i+1))',
        'done',
        'poweroff -f',
        '',
      ].join('\n');
      const child = spawn(process.execPath, [main, ...linux(dir, klibc, init, [disk])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let killedAt = 0;
      const exited = new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, signal) => done(signal)));
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
        const m = [...out.matchAll(/^completed (\d+)$/gm)];
        if (!killedAt && m.length >= 12) {
          killedAt = m.length;
          child.kill('SIGKILL');
        }
      });
      expect(await exited).toBe('SIGKILL');
      const completed = [...out.matchAll(/^completed (\d+)$/gm)].map((m) => Number(m[1]));
      expect(completed.length).toBeGreaterThanOrEqual(12);
      expect(completed.length).toBeLessThan(2000); // it really was killed mid-loop
      let bytes = readFileSync(disk);
      if (overlay) {
        // The base is untouched; the overlay may have leaked a cluster the kill interrupted, but
        // nothing in it may be corrupt (qemu-img check: 0 clean, 3 leaks only).
        expect(sha256(raw)).toBe(baseHash);
        const check = qemuImg(['check', disk]);
        expect({ status: [0, 3].includes(check.status), out: check.out }).toEqual({
          status: true,
          out: expect.not.stringMatching(/ERROR/) as string,
        });
        const flat = join(dir, 'crash-flat.img');
        expect(qemuImg(['convert', '-O', 'raw', disk, flat]).status).toBe(0);
        bytes = readFileSync(flat);
      }
      for (const n of completed) {
        const sector = bytes.subarray(n * 512, n * 512 + 512).toString('latin1');
        expect({ n, sector: sector.replace(/\0+$/, '') }).toEqual({ n, sector: `record ${n}\n` });
      }
      // The disk's lock died with the process: another writer gets it (flock waits for it).
      const lock = spawnSync(tool('flock', 'util-linux'), ['-x', '-w', '60', disk, 'true']);
      expect(lock.status).toBe(0);
    },
    180_000,
  );
});
