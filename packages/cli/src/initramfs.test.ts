// `lguest initramfs`: the newc writer read back by our own parser and by GNU cpio, and the
// command's answers to bad input.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { lguest } from './lguest';
import { readNewc, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, writeNewc } from './initramfs';

async function run(argv: string[], cwd: string) {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd,
    defaultKernel: '/nonexistent',
  });
  return { status, stdout, stderr };
}

/** A small root: /init (a script), bin/ with a program and a symlink to it, an empty dir. */
function makeTree(): string {
  const top = mkdtempSync(join(tmpdir(), 'lguest-initramfs-'));
  const root = join(top, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'proc'));
  writeFileSync(join(root, 'init'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'init'), 0o755);
  const program = Buffer.alloc(1001);
  for (let i = 0; i < program.length; i++) program[i] = (i * 7) & 0xff;
  writeFileSync(join(root, 'bin', 'prog'), program);
  chmodSync(join(root, 'bin', 'prog'), 0o750);
  symlinkSync('prog', join(root, 'bin', 'alias'));
  utimesSync(join(root, 'init'), 1_000_000, 1_234_567);
  return root;
}

describe('the newc writer', () => {
  it('pads names and data to 4 bytes, ends with TRAILER!!! and a 512-byte block', () => {
    const archive = writeNewc([
      { name: 'a', mode: S_IFREG | 0o644, mtime: 5, data: Buffer.from('xyz') },
      { name: 'dir', mode: S_IFDIR | 0o755, mtime: 0, data: new Uint8Array(0) },
    ]);
    expect(archive.length % 512).toBe(0);
    const text = Buffer.from(archive).toString('latin1');
    // header (110) + "a\0" = 112, already aligned; "xyz" + 1 byte of padding.
    expect(text.slice(0, 6)).toBe('070701');
    expect(text.slice(110, 112)).toBe('a\0');
    expect(text.slice(112, 116)).toBe('xyz\0');
    expect(text.slice(116, 122)).toBe('070701');
    expect(text).toContain('TRAILER!!!\0');
    // The mode field of the first member, in hex.
    expect(text.slice(14, 22)).toBe((S_IFREG | 0o644).toString(16).padStart(8, '0'));
    const back = readNewc(archive);
    expect(back.map((m) => [m.name, m.mode, m.nlink, Buffer.from(m.data).toString()])).toEqual([
      ['a', S_IFREG | 0o644, 1, 'xyz'],
      ['dir', S_IFDIR | 0o755, 2, ''],
    ]);
  });

  it('refuses absolute member names', () => {
    expect(() => writeNewc([{ name: '/init', mode: S_IFREG, mtime: 0, data: new Uint8Array(0) }])).toThrow(
      /bad member name/,
    );
  });

  it('is checked by its reader: not newc, truncated', () => {
    expect(() => readNewc(Buffer.from('0707070000'))).toThrow(/truncated header/);
    expect(() => readNewc(Buffer.alloc(200, 0x41))).toThrow(/bad magic/);
  });
});

describe('lguest initramfs DIR OUT', () => {
  it('packs a tree as a gzip newc cpio: parents first, modes, symlinks, root-owned', async () => {
    const root = makeTree();
    const r = await run(['initramfs', 'root', 'out.cpio.gz'], join(root, '..'));
    expect(r).toEqual({ status: 0, stdout: expect.stringMatching(/out.cpio.gz: 5 files and directories/), stderr: '' });
    const bytes = readFileSync(join(root, '..', 'out.cpio.gz'));
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const members = readNewc(gunzipSync(bytes));
    expect(members.map((m) => m.name)).toEqual(['bin', 'bin/alias', 'bin/prog', 'init', 'proc']);
    const byName = new Map(members.map((m) => [m.name, m]));
    expect(byName.get('init')?.mode).toBe(S_IFREG | 0o755);
    expect(byName.get('init')?.mtime).toBe(1_234_567);
    expect(Buffer.from(byName.get('init')!.data).toString()).toBe('#!/bin/sh\necho hi\n');
    expect(byName.get('bin/prog')?.mode).toBe(S_IFREG | 0o750);
    expect(byName.get('bin/prog')?.data).toEqual(new Uint8Array(readFileSync(join(root, 'bin', 'prog'))));
    expect((byName.get('bin/alias')!.mode & S_IFMT) === S_IFLNK).toBe(true);
    expect(Buffer.from(byName.get('bin/alias')!.data).toString()).toBe('prog');
    expect(members.every((m) => m.uid === 0 && m.gid === 0)).toBe(true);
    expect(byName.get('proc')?.mode).toBe(S_IFDIR | 0o755);
  });

  it('writes what GNU cpio lists and extracts byte for byte (OUT ending in .cpio: uncompressed)', async () => {
    const which = spawnSync('cpio', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error('GNU cpio is needed for this test: apt-get install cpio');
    const root = makeTree();
    const top = join(root, '..');
    expect((await run(['initramfs', 'root', 'plain.cpio'], top)).status).toBe(0);
    const archive = readFileSync(join(top, 'plain.cpio'));
    expect(archive.subarray(0, 6).toString()).toBe('070701');
    const list = spawnSync('cpio', ['-t', '--quiet', '-F', join(top, 'plain.cpio')], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split('\n')).toEqual(['bin', 'bin/alias', 'bin/prog', 'init', 'proc']);
    const into = join(top, 'x');
    mkdirSync(into);
    const extract = spawnSync('cpio', ['-i', '-d', '--quiet', '-F', join(top, 'plain.cpio')], {
      cwd: into,
      encoding: 'utf8',
    });
    expect(extract.stderr).toBe('');
    expect(readFileSync(join(into, 'bin', 'prog'))).toEqual(readFileSync(join(root, 'bin', 'prog')));
    expect(readFileSync(join(into, 'init'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
  });

  it('leaves its own output out when OUT is inside DIR, and says when there is no init', async () => {
    const root = makeTree();
    writeFileSync(join(root, 'init'), '');
    const r = await run(['initramfs', '.', 'self.cpio.gz'], join(root, 'bin'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/note: \. has no 'init' at its top/);
    const names = readNewc(gunzipSync(readFileSync(join(root, 'bin', 'self.cpio.gz')))).map((m) => m.name);
    expect(names).toEqual(['alias', 'prog']);
  });

  it('says what is wrong with bad arguments, exit status 2', async () => {
    const root = makeTree();
    const top = join(root, '..');
    const cases: [string[], RegExp][] = [
      [['initramfs'], /initramfs takes a directory and the archive to write/],
      [['initramfs', 'root'], /initramfs takes a directory and the archive to write/],
      [['initramfs', 'a', 'b', 'c'], /got 3 arguments/],
      [['initramfs', 'missing', 'o.cpio.gz'], /no such directory 'missing'/],
      [['initramfs', 'root/init', 'o.cpio.gz'], /'root\/init' is not a directory/],
      [
        ['initramfs', 'root', 'nodir/o.cpio.gz'],
        /cannot write 'nodir\/o.cpio.gz': its directory 'nodir' does not exist/,
      ],
      [['initramfs', 'root', 'root/bin'], /cannot write 'root\/bin': it is a directory/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv, top);
      expect({ argv, status: r.status }).toEqual({ argv, status: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("Try 'lguest help'");
    }
  });
});
