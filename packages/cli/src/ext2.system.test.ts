// Our guest kernel on a disk: `lguest run --block=IMG` with an ext2 image made on the host by
// mke2fs (1 KiB and 4 KiB blocks, revision 1 and 0, files put there with `mke2fs -d`). The
// guest mounts it, reads what the host wrote, writes, appends, makes and removes
// directories, renames, copies, removes and syncs, then powers off (which unmounts). The
// host then reads the result with debugfs, and e2fsck -fn must find nothing to fix.
// Read-only disks stay byte-identical; damaged images are refused or give errors, and the
// guest carries on. Every run is on the virtual clock with a time (instruction) budget.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { lguest } from './lguest';

const GUEST = join(dirname(require.resolve('@lguest/guest/package.json')), 'build', 'guest.elf');
const CLI_DIR = join(__dirname, '..');
const E2FS = ['/sbin', '/usr/sbin', ...(process.env.PATH ?? '').split(':')];

/** The e2fsprogs tool `name`, or a loud failure saying what to install. */
function tool(name: string): string {
  for (const dir of E2FS) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found: these tests need e2fsprogs (apt-get install -y e2fsprogs)`);
}

function sh(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

// A guest session is a few hundred million instructions: seconds of wall time.
jest.setTimeout(120_000);

let work: string;
beforeAll(() => {
  if (!existsSync(GUEST)) throw new Error(`the guest is not built (${GUEST}): run 'npm run build'`);
  work = mkdtempSync(join(tmpdir(), 'lguest-ext2-'));
});

/** A filesystem image of sizeKiB holding the files of `files` (path -> contents). */
function mkfs(name: string, sizeKiB: number, options: string[], files: Record<string, string | Buffer> = {}): string {
  const img = join(work, name);
  const src = join(work, `${name}.d`);
  mkdirSync(src, { recursive: true });
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), data);
  }
  const r = sh(tool('mke2fs'), ['-q', '-F', '-t', 'ext2', ...options, '-d', src, img, `${sizeKiB}k`]);
  if (r.status !== 0) throw new Error(`mke2fs failed: ${r.out}`);
  return img;
}

/**
 * Boots our guest with the disks and types the lines at its shell. Under lguest each line is
 * typed once the prompt for it has appeared (the console holds one 256-byte buffer of input
 * at a time, so a long session is typed as a user would); on the PC they all go at once, and
 * the UART's flow control holds them until the shell reads. Resolves to the status and the
 * console.
 */
async function boot(disks: string[], lines: string[], native = false): Promise<{ status: number; console: string }> {
  const stdin = new PassThrough();
  if (native) stdin.write(lines.map((l) => `${l}\n`).join(''));
  let out = '';
  let err = '';
  let typed = 0;
  let prompts = 0;
  const status = await lguest(
    [
      'run',
      ...(native ? ['--native'] : []),
      '--clock=virtual',
      '--timeout=60',
      ...disks.map((d) => `--block=${d}`),
      '32',
      GUEST,
    ],
    {
      stdout: {
        write: (c) => {
          const text = Buffer.from(c).toString();
          out += text;
          prompts += text.split('# ').length - 1;
          while (!native && typed < lines.length && typed < prompts) stdin.write(`${lines[typed++]}\n`);
        },
      },
      stderr: { write: (c) => (err += Buffer.from(c).toString()) },
      cwd: CLI_DIR,
      defaultKernel: GUEST,
      stdin,
    },
  );
  return { status, console: out + err };
}

/** What debugfs prints on stdout for one request (its banner goes to stderr). */
function debugfs(img: string, request: string): string {
  return spawnSync(tool('debugfs'), ['-R', request, img], { encoding: 'utf8' }).stdout;
}

function expectClean(img: string): void {
  const r = sh(tool('e2fsck'), ['-fn', img]);
  if (r.status !== 0) throw new Error(`e2fsck -fn ${img} exited ${r.status}:\n${r.out}`);
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** 300 KiB the host writes: past the direct and single indirect blocks of 1 KiB blocks. */
const BIG = Buffer.alloc(300 * 1024, 0);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >> 10)) & 0xff;

const SESSION = [
  'mount /dev/lgba /mnt',
  'ls /mnt',
  'cat /mnt/docs/from-host.txt',
  'echo first line > /mnt/notes.txt',
  'echo second line >> /mnt/notes.txt',
  'mkdir /mnt/stash',
  'mkdir /mnt/stash/sub',
  'mv /mnt/notes.txt /mnt/stash/notes.txt',
  'cp /mnt/big.bin /mnt/stash/big-copy.bin',
  'echo temporary > /mnt/scratch',
  'rm /mnt/scratch',
  'rmdir /mnt/stash/sub',
  'greet > /mnt/stash/greet.txt',
  'truncate 1000 /mnt/docs/from-host.txt',
  'df',
  'sync',
  'cat /mnt/stash/notes.txt',
  'poweroff',
];

describe.each([
  ['1 KiB blocks', ['-b', '1024']],
  ['4 KiB blocks', ['-b', '4096']],
  ['revision 0', ['-b', '1024', '-r', '0']],
])('our guest on an ext2 disk (%s)', (label, options) => {
  it('mounts, reads the host files, writes, renames, removes and syncs; debugfs and e2fsck agree', async () => {
    const img = mkfs(`disk-${label.replace(/\W/g, '')}.img`, 4096, options, {
      'docs/from-host.txt': 'written by the host\n',
      'big.bin': BIG,
    });
    const r = await boot([img], SESSION);
    expect(r.console).toContain('lgblk: lgba: 8192 sectors (4 MiB)');
    expect(r.console).toMatch(/ext2: lgba mounted on \/mnt \(read-write, \d+-byte blocks\)/);
    expect(r.console).toContain('written by the host');
    expect(r.console).toMatch(/\/dev\/lgba +\d+ +\d+ +\d+ +\d+% \/mnt/);
    expect(r.console).toContain('first line\nsecond line\n');
    expect(r.console).toContain('ext2: lgba unmounted from /mnt');
    expect(r.console).not.toMatch(/: (input\/output error|no such file|invalid argument)/);
    expect(r.status).toBe(0);

    expect(debugfs(img, 'cat /stash/notes.txt')).toBe('first line\nsecond line\n');
    // A program's standard output redirected by the shell (dup2) lands in the file.
    expect(debugfs(img, 'cat /stash/greet.txt')).toMatch(/heap: \d+ bytes from brk/);
    const copy = join(work, `copy-${label.replace(/\W/g, '')}.bin`);
    debugfs(img, `dump /stash/big-copy.bin ${copy}`);
    expect(readFileSync(copy).equals(BIG)).toBe(true);
    const root = debugfs(img, 'ls -l /');
    expect(root).not.toContain('scratch');
    expect(root).not.toContain('notes.txt');
    expect(debugfs(img, 'ls -l /stash')).not.toContain('sub');
    expect(debugfs(img, 'stat /docs/from-host.txt')).toMatch(/Size: 1000\b/);
    expectClean(img);
  });
});

describe('the same kernel on the PC (--native), with its ATA disk', () => {
  it('mounts hda, writes, renames and removes; debugfs and e2fsck agree', async () => {
    const img = mkfs('native.img', 4096, ['-b', '4096'], { 'docs/from-host.txt': 'written by the host\n' });
    const r = await boot(
      [img],
      [
        'mount /dev/hda /mnt',
        'cat /mnt/docs/from-host.txt',
        'echo on the PC > /mnt/pc.txt',
        'echo appended >> /mnt/pc.txt',
        'mkdir /mnt/dir',
        'mv /mnt/pc.txt /mnt/dir/pc.txt',
        'rm /mnt/docs/from-host.txt',
        'rmdir /mnt/docs',
        'poweroff',
      ],
      true,
    );
    expect(r.console).toContain('ata: hda: 8192 sectors (4 MiB), master');
    expect(r.console).toContain('written by the host');
    expect(r.console).toContain('ext2: hda unmounted from /mnt');
    expect(r.status).toBe(0);
    expect(debugfs(img, 'cat /dir/pc.txt')).toBe('on the PC\nappended\n');
    expect(debugfs(img, 'ls -l /')).not.toContain('docs');
    expectClean(img);
  });
});

describe('our guest and damaged or protected disks', () => {
  it('a read-only disk is mounted read-only, writes are refused, and the file is unchanged', async () => {
    const img = mkfs('ro.img', 2048, ['-b', '1024'], { 'keep.txt': 'keep me\n' });
    const before = sha(img);
    const r = await boot(
      [`${img},ro`],
      ['mount /dev/lgba /mnt', 'cat /mnt/keep.txt', 'echo no > /mnt/new.txt', 'rm /mnt/keep.txt', 'poweroff'],
    );
    expect(r.console).toContain('lgba: 4096 sectors (2 MiB), read-only');
    expect(r.console).toContain('mount: /dev/lgba is write-protected, mounting read-only');
    expect(r.console).toContain('keep me');
    expect(r.console).toContain('sh: /mnt/new.txt: read-only file system');
    expect(r.console).toContain('rm: /mnt/keep.txt: read-only file system');
    expect(r.status).toBe(0);
    expect(sha(img)).toBe(before);
  });

  it('refuses a disk that is not ext2 and an incompatible feature, by name', async () => {
    const blank = join(work, 'blank.img');
    writeFileSync(blank, Buffer.alloc(1 << 20));
    const extents = mkfs('extents.img', 2048, ['-b', '1024']);
    // Set the incompatible "extent" flag (0x40) in the superblock (byte 1024 + 96).
    const raw = readFileSync(extents);
    raw.writeUInt32LE(raw.readUInt32LE(1024 + 96) | 0x40, 1024 + 96);
    writeFileSync(extents, raw);
    const r = await boot(
      [blank, extents],
      ['mount /dev/lgba /a', 'mount /dev/lgbb /b', 'cat /proc/mounts', 'poweroff'],
    );
    expect(r.console).toContain('ext2: lgba: no ext2 filesystem (bad magic 0)');
    expect(r.console).toContain('mount: /dev/lgba: invalid argument');
    expect(r.console).toContain('ext2: lgbb: unsupported incompatible feature "extent"; refusing to mount');
    expect(r.status).toBe(0);
  });

  it('a damaged directory and a wild block number give I/O errors, and the guest carries on', async () => {
    const img = mkfs('damaged.img', 2048, ['-b', '1024'], { 'dir/a.txt': 'aaa\n', 'file.txt': 'hello\n' });
    const block = (request: string) => Number(/(\d+)\s*$/.exec(debugfs(img, request).trim())?.[1]);
    const dirBlock = block('bmap /dir 0');
    const fileInode = Number(/Inode: (\d+)/.exec(debugfs(img, 'stat /file.txt'))?.[1]);
    const raw = readFileSync(img);
    // The directory's first record gets a record length that runs off its block.
    raw.writeUInt16LE(0xfffc, dirBlock * 1024 + 4);
    // The file's first block pointer (i_block[0], byte 40 of its inode) points far past the end.
    const loc = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(debugfs(img, `imap <${fileInode}>`));
    if (!loc) throw new Error('debugfs imap gave no location');
    raw.writeUInt32LE(0x7fffffff, Number(loc[1]) * 1024 + parseInt(loc[2], 16) + 40);
    writeFileSync(img, raw);
    const r = await boot(
      [img],
      ['mount /dev/lgba /mnt', 'ls /mnt/dir', 'cat /mnt/file.txt', 'echo still here', 'poweroff'],
    );
    expect(r.console).toContain('ls: /mnt/dir: input/output error');
    expect(r.console).toContain('cat: /mnt/file.txt: input/output error');
    expect(r.console).toContain('still here');
    expect(r.status).toBe(0);
  });
});
