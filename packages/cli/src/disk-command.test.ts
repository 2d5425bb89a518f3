// `lguest disk`: create (raw and qcow2 overlays), commit and info, judged by QEMU's own tools.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lguest } from './lguest';
import { qemuImg, runTool } from '../testing/disk-tools';

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('lguest disk', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'lguest-diskcmd-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function disk(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const status = await lguest(['disk', ...args], {
      stdout: { write: (c) => (stdout += Buffer.from(c).toString()) },
      stderr: { write: (c) => (stderr += Buffer.from(c).toString()) },
      cwd: dir,
      defaultKernel: '/nonexistent',
    });
    return { status, stdout, stderr };
  }

  it('creates a sparse raw disk, and refuses to overwrite one', async () => {
    const r = await disk('create', 'd.img', '64M');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toContain('created d.img: raw, 67108864 bytes (131072 sectors), sparse');
    const st = fs.statSync(join(dir, 'd.img'));
    expect(st.size).toBe(64 * 1024 * 1024);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024); // holes, not 64 MiB of zeros
    const again = await disk('create', 'd.img', '1M');
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("'d.img' already exists");
    const bad = await disk('create', 'e.img', '1000');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('SIZE must be a whole number of 512-byte sectors');
  });

  it('makes an overlay QEMU accepts, commits what was written to it, and leaves the base alone until then', async () => {
    const base = join(dir, 'base.img');
    const bytes = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(i, i);
    fs.writeFileSync(base, bytes);
    const before = sha(base);
    fs.mkdirSync(join(dir, 'runs'));
    const made = await disk('create', '-b', 'base.img', 'runs/o.qcow2');
    expect(made).toMatchObject({ status: 0, stderr: '' });
    expect(made.stdout).toContain('qcow2 overlay of ../base.img (raw)');
    const overlay = join(dir, 'runs', 'o.qcow2');
    expect(qemuImg(['check', overlay]).status).toBe(0);

    // Another writer of the overlay (QEMU's own), then our info and commit.
    const w = runTool('qemu-io', 'qemu-utils', [
      '-c',
      'write -P 0x5a 70000 3000',
      '-c',
      'write -P 0x6b 0 512',
      overlay,
    ]);
    expect(w.status).toBe(0);
    expect(sha(base)).toBe(before);
    const info = await disk('info', 'runs/o.qcow2');
    expect(info.stdout).toMatch(/format: qcow2 version 3 \(compat=1\.1\)/);
    expect(info.stdout).toMatch(/size: 2097152 bytes/);
    expect(info.stdout).toMatch(/2 clusters allocated here/);
    expect(info.stdout).toContain(`reads through to: ${base}`);

    const c = await disk('commit', 'runs/o.qcow2');
    expect(c).toMatchObject({ status: 0, stderr: '' });
    expect(c.stdout).toMatch(/committed 2 clusters/);
    const expected = Buffer.from(bytes);
    expected.fill(0x5a, 70000, 73000);
    expected.fill(0x6b, 0, 512);
    expect(fs.readFileSync(base).equals(expected)).toBe(true);
    expect(qemuImg(['compare', overlay, base]).status).toBe(0);
    expect(qemuImg(['check', overlay]).status).toBe(0);
  });

  it('says what is wrong with a missing or malformed file', async () => {
    expect((await disk('info', 'nope.img')).stderr).toMatch(/'.*nope\.img': no such file/);
    fs.writeFileSync(
      join(dir, 'junk.qcow2'),
      Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(200)]),
    );
    const r = await disk('info', 'junk.qcow2');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/junk\.qcow2' is not a usable qcow2 image: version 0/);
    expect((await disk('commit', 'nope.qcow2')).status).toBe(2);
    expect((await disk('frob')).stderr).toContain("unknown disk command 'frob'");
  });
});
