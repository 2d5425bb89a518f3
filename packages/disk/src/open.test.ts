import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskError, parseBlockArg, prepareDisk } from './open';
import { createQcow2 } from './qcow2';

describe('--block=FILE[,ro]: checking and locking a disk before the guest starts', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-open-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses ,ro', () => {
    expect(parseBlockArg('a.img')).toEqual({ file: 'a.img', readOnly: false });
    expect(parseBlockArg('a.img,ro')).toEqual({ file: 'a.img', readOnly: true });
  });

  it('says what is wrong with the file, and what to do', async () => {
    const missing = path.join(dir, 'missing.img');
    await expect(prepareDisk({ path: missing, readOnly: false })).rejects.toThrow(
      `disk '${missing}': no such file (make one with: lguest disk create ${missing} 64M)`,
    );
    await expect(prepareDisk({ path: dir, readOnly: true })).rejects.toThrow('is not a regular file');
    const tiny = path.join(dir, 'tiny.img');
    fs.writeFileSync(tiny, 'x');
    await expect(prepareDisk({ path: tiny, readOnly: false })).rejects.toThrow('smaller than one 512-byte sector');
    const bad = path.join(dir, 'bad.qcow2');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9]), Buffer.alloc(1024)]));
    await expect(prepareDisk({ path: bad, readOnly: false })).rejects.toThrow(DiskError);
    await expect(prepareDisk({ path: bad, readOnly: false })).rejects.toThrow(
      /bad\.qcow2' is not a usable qcow2 image: version 9/,
    );
    const orphan = path.join(dir, 'orphan.qcow2');
    createQcow2(orphan, 1 << 20, { name: 'gone.img', format: 'raw' });
    await expect(prepareDisk({ path: orphan, readOnly: false })).rejects.toThrow(
      /backing file '.*gone\.img'.*does not exist/,
    );
  });

  it('locks a writable disk for one user and shares its base and read-only users', async () => {
    const base = path.join(dir, 'base.img');
    fs.writeFileSync(base, Buffer.alloc(1 << 20));
    const overlay = path.join(dir, 'o.qcow2');
    createQcow2(overlay, 1 << 20, { name: 'base.img', format: 'raw' });
    const a = await prepareDisk({ path: overlay, readOnly: false });
    expect(a.format).toBe('qcow2');
    expect(a.chain).toEqual([overlay, base]);
    await expect(prepareDisk({ path: overlay, readOnly: false })).rejects.toThrow(/is in use by another guest/);
    // The base is shared: read-only users may come, a writer may not.
    const b = await prepareDisk({ path: base, readOnly: true });
    await expect(prepareDisk({ path: base, readOnly: false })).rejects.toThrow(/is in use/);
    await a.release();
    await b.release();
    const c = await prepareDisk({ path: base, readOnly: false });
    expect(c.format).toBe('raw');
    await c.release();
  });

  it('refuses to write a qcow2 image marked dirty, but reads it', async () => {
    const img = path.join(dir, 'dirty.qcow2');
    createQcow2(img, 1 << 20);
    const fd = fs.openSync(img, 'r+');
    fs.writeSync(fd, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), 0, 8, 72); // incompatible: dirty
    fs.closeSync(fd);
    await expect(prepareDisk({ path: img, readOnly: false })).rejects.toThrow(/cannot write .*give ,ro/);
    await (await prepareDisk({ path: img, readOnly: true })).release();
  });
});
