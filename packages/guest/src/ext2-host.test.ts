// The guest kernel's ext2 and buffer cache, compiled for this machine and run over image
// files (tools/ext2-host): the cases a whole-system run cannot afford — triple indirect
// blocks, multi-megabyte files, a full disk, directories of many blocks — each followed by
// e2fsck -fn (which must find nothing) and debugfs (which must read back what we wrote).
// The whole-system tests with the real disk device are in packages/cli (ext2.system.test.ts).

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PKG = join(__dirname, '..');
const TOOL = join(PKG, 'tools', 'ext2-host');
const SBIN = ['/sbin', '/usr/sbin', ...(process.env.PATH ?? '').split(':')];

function tool(name: string): string {
  for (const dir of SBIN) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} not found: this test needs e2fsprogs (apt-get install -y e2fsprogs)`);
}

let work: string;
let binary: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ext2-host-'));
  binary = join(work, 'ext2-host');
  const sources = [
    join(TOOL, 'host_disk.c'),
    join(TOOL, 'ext2_cmds.c'),
    join(PKG, 'kernel', 'ext2.c'),
    join(PKG, 'kernel', 'buffer.c'),
  ];
  const includes = ['-I', join(PKG, 'include'), '-I', join(PKG, '..', 'abi', 'build', 'include')];
  // The kernel's files see only kernel headers; the host side only the C library's.
  const compile = (extra: string[]) =>
    spawnSync(
      'gcc',
      [
        '-O1',
        '-g',
        '-Wall',
        '-Wno-unused-parameter',
        '-fno-strict-aliasing',
        ...extra,
        ...includes,
        ...sources,
        '-o',
        binary,
      ],
      {
        encoding: 'utf8',
      },
    );
  let r = compile(['-fsanitize=address,undefined', '-fno-sanitize-recover=all']);
  if (r.status !== 0) r = compile([]); // no sanitizer runtime on this machine
  if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
});

function mkfs(name: string, size: string, options: string[]): string {
  const img = join(work, name);
  const r = spawnSync(tool('mke2fs'), ['-q', '-F', '-t', 'ext2', ...options, img, size], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mke2fs: ${r.stderr}`);
  return img;
}

/** Runs the commands against img; returns the output lines. */
function ext2(img: string, commands: string[]): string {
  const r = spawnSync(binary, [img], { input: ['mount', ...commands, 'umount'].join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ext2-host exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function expectClean(img: string): void {
  const r = spawnSync(tool('e2fsck'), ['-fn', img], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`e2fsck -fn exited ${r.status}:\n${r.stdout}${r.stderr}`);
}

function dump(img: string, path: string): Buffer {
  const out = join(work, 'dump.bin');
  spawnSync(tool('debugfs'), ['-R', `dump ${path} ${out}`, img]);
  return readFileSync(out);
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 12)) & 0xff;
  return b;
}

describe('ext2 (the guest kernel code on the host)', () => {
  it('writes a multi-megabyte file through double indirect blocks, truncates it, and e2fsck agrees', () => {
    const img = mkfs('big.img', '24M', ['-b', '4096']);
    const out = ext2(img, ['fill /big 6000000', 'trunc /big 5000001', 'fill /small 5000', 'sync']);
    expect(out).toContain('fill -> 6000000');
    expect(out).toContain('trunc -> 0');
    expect(dump(img, '/big').equals(pattern(6000000).subarray(0, 5000001))).toBe(true);
    expect(dump(img, '/small').equals(pattern(5000))).toBe(true);
    expectClean(img);
  });

  it('reaches triple indirect blocks with 1 KiB blocks (a sparse file), and frees them all', () => {
    const img = mkfs('sparse.img', '8M', ['-b', '1024']);
    const out = ext2(img, ['poke /sparse 70000000', 'poke /sparse 300000', 'cat /sparse']);
    expect(out).toContain('poke -> 1');
    const data = dump(img, '/sparse');
    expect(data.length).toBe(70000001);
    expect([data[300000], data[70000000], data[299999], data[5000000]]).toEqual([0x58, 0x58, 0, 0]);
    expectClean(img);
    expect(ext2(img, ['trunc /sparse 100', 'rm /sparse'])).toContain('rm -> 0');
    expectClean(img);
  });

  it('says ENOSPC when the disk is full, and stays consistent', () => {
    const img = mkfs('full.img', '2M', ['-b', '1024']);
    const out = ext2(img, ['fill /a 4000000', 'write /b still room?', 'rm /a', 'write /c yes']);
    expect(out).toContain('fill -> -28');
    expectClean(img);
  });

  it('changes an indexed (dir_index) directory linearly, dropping its index flag, and e2fsck agrees', () => {
    const img = mkfs('htree.img', '8M', ['-b', '1024']);
    ext2(img, ['mkdir /big', ...Array.from({ length: 300 }, (_, i) => `write /big/file-with-a-long-name-${i} ${i}`)]);
    spawnSync(tool('e2fsck'), ['-fyD', img]); // builds the hashed index
    expect(spawnSync(tool('debugfs'), ['-R', 'stat /big', img], { encoding: 'utf8' }).stdout).toMatch(/Flags: 0x1000/);
    const out = ext2(img, [
      'write /big/new hello',
      'rm /big/file-with-a-long-name-7',
      'mv /big/file-with-a-long-name-8 /big/renamed',
      'cat /big/file-with-a-long-name-299',
    ]);
    expect(out).toContain('cat -> 3');
    expect(spawnSync(tool('debugfs'), ['-R', 'stat /big', img], { encoding: 'utf8' }).stdout).toMatch(/Flags: 0x0\b/);
    expect(dump(img, '/big/renamed').toString()).toBe('8');
    expectClean(img);
  });

  it('gives -EIO at once for a directory whose size claims blocks it does not have', () => {
    const img = mkfs('bigdir.img', '4M', ['-b', '1024']);
    ext2(img, ['mkdir /d', 'write /d/x hello']);
    spawnSync(tool('debugfs'), ['-w', '-R', 'sif /d size 0x7ffff000', img]);
    const out = ext2(img, ['ls /d', 'write /d/y more', 'cat /d/x']);
    expect(out).toContain('directory 12 claims 2147479552 bytes in 1 blocks');
    expect(out).toMatch(/ls -> -5\n[^]*write -> -5\n[^]*cat -> -5\n/);
  });

  it('survives damaged metadata: random bytes in the superblock, descriptors, bitmaps, inodes and directories', () => {
    const base = mkfs('fuzz-base.img', '2M', ['-b', '1024']);
    ext2(base, ['mkdir /dir', 'write /dir/a.txt aaa', 'write /file.txt hello', 'fill /big 300000', 'mkdir /dir/sub']);
    const commands = [
      'ls /',
      'ls /dir',
      'cat /dir/a.txt',
      'cat /big',
      'write /new x',
      'mkdir /m',
      'mv /dir/a.txt /m/a',
      'mv /dir/sub /m/sub',
      'rm /file.txt',
      'trunc /big 10',
      'rm /big',
      'rmdir /dir/sub',
    ];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let round = 0; round < 25; round++) {
      const img = join(work, 'fuzz.img');
      copyFileSync(base, img);
      const raw = readFileSync(img);
      // The metadata of a small 1 KiB-block filesystem sits in its first 300 blocks.
      for (let i = 0; i < 60; i++) raw[1024 + random(300 * 1024)] = random(256);
      writeFileSync(img, raw);
      const r = spawnSync(binary, [img], {
        input: ['mount', ...commands, 'umount'].join('\n') + '\n',
        encoding: 'utf8',
        timeout: 60_000,
      });
      // No crash (the sanitizers abort on a wild access), no panic, no hang: errors are answers.
      if (r.status !== 0) throw new Error(`round ${round}: exited ${r.status} (${r.signal}):\n${r.stdout}${r.stderr}`);
    }
  });

  it('grows a directory over several blocks, removes and renames across directories', () => {
    const img = mkfs('dirs.img', '4M', ['-b', '1024']);
    const names = Array.from({ length: 120 }, (_, i) => `/d/a-rather-long-file-name-number-${i}`);
    const out = ext2(img, [
      'mkdir /d',
      'mkdir /e',
      ...names.map((n) => `write ${n} ${n}`),
      ...names.filter((_, i) => i % 3 === 0).map((n) => `rm ${n}`),
      'mkdir /d/sub',
      'write /d/sub/x inside',
      'mv /d/sub /e/moved',
      'mv /d/a-rather-long-file-name-number-1 /e/moved/renamed',
      'rmdir /e',
      'ls /e/moved',
    ]);
    expect(out).toContain('rmdir -> -39'); // ENOTEMPTY
    expect(out).toMatch(/ {2}renamed \d+ 1/);
    expect(dump(img, '/e/moved/renamed').toString()).toBe('/d/a-rather-long-file-name-number-1');
    expect(dump(img, '/e/moved/x').toString()).toBe('inside');
    expectClean(img);
  });
});
