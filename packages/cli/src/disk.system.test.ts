// Whole-system tests of the block device with our own guest images: an attack guest that
// sends malformed block requests is stopped with the original's reason while its neighbour in
// the same host boots on, and the disk file is untouched; and two guests cannot both write
// one disk. Virtual clock, with --timeout in virtual seconds as the bound.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lguest } from './lguest';

const GUEST_BUILD = join(dirname(require.resolve('@lguest/guest/package.json')), 'build');
const image = (name: string) => join(GUEST_BUILD, `${name}.elf`);
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function run(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await lguest(argv, {
    stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
    cwd: tmpdir(),
    defaultKernel: image('guest'),
  });
  return { status, stdout, stderr };
}

describe('disks under attack', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(image('attack-block-requests'))) {
      throw new Error(`the guest images are not built (${GUEST_BUILD}): run 'npm run build' at the repository root`);
    }
    dir = mkdtempSync(join(tmpdir(), 'lguest-disk-attack-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops a guest sending malformed block requests; its neighbour boots on; the disk is untouched', async () => {
    const disk = join(dir, 'target.img');
    writeFileSync(disk, Buffer.alloc(1 << 20, 0x33));
    const before = sha(disk);
    const r = await run([
      'run-many',
      '--clock=virtual',
      '--timeout=60',
      '--guest',
      `--block=${disk} 32 ${image('attack-block-requests')}`,
      '--guest',
      `32 ${image('guest')} selftest`,
    ]);
    // The soft mistake got an error status, and the guest went on to the fatal one.
    expect(r.stdout).toContain(
      '[attack-block-requests] attack: a read of 0xffffffff bytes into 512 was refused (result 2)',
    );
    expect(r.stderr).toMatch(/^lguest: \[attack-block-requests\] guest died: Bad offset 2199023247360 vs 1048576$/m);
    expect(r.stdout).not.toContain('ATTACK SUCCEEDED');
    expect(r.stderr).toMatch(/^lguest: \[guest\] powered off$/m);
    expect(r.stdout).toMatch(/^\[guest\] hello from ring 3$/m);
    expect(r.status).toBe(1);
    expect(sha(disk)).toBe(before);
    expect(readFileSync(disk).length).toBe(1 << 20);
  }, 120_000);

  it('refuses a second guest that would write a disk in use, naming the file', async () => {
    const disk = join(dir, 'shared.img');
    writeFileSync(disk, Buffer.alloc(1 << 20));
    const r = await run([
      'run-many',
      '--clock=virtual',
      '--guest',
      `--block=${disk} 32 ${image('guest')} selftest`,
      '--guest',
      `--block=${disk} 32 ${image('guest')} selftest`,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--guest #2: disk '${disk}' is in use by another guest (locked)`);
    expect(r.stdout).toBe('');
    // Read-only, the two share it.
    const ro = await run([
      'run-many',
      '--clock=virtual',
      '--timeout=60',
      '--guest',
      `--block=${disk},ro 32 ${image('guest')} selftest`,
      '--guest',
      `--block=${disk},ro 32 ${image('guest')} selftest`,
    ]);
    expect(ro.stderr).toMatch(/\[guest\] powered off\n.*\[guest#2\] powered off/s);
    expect(ro.status).toBe(0);
  }, 120_000);
});
