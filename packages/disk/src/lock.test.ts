import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskLockError, lockDisk } from './lock';

describe('the disk lock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-lock-'));
    file = path.join(dir, 'disk.img');
    fs.writeFileSync(file, Buffer.alloc(4096));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lets one writer in and tells the next that the file is in use', async () => {
    const held = await lockDisk(file, 'exclusive');
    await expect(lockDisk(file, 'exclusive')).rejects.toThrow(DiskLockError);
    await expect(lockDisk(file, 'exclusive')).rejects.toThrow(`disk '${file}' is in use by another guest`);
    await expect(lockDisk(file, 'shared')).rejects.toThrow('in use by a guest that writes it');
    await held.release();
    const again = await lockDisk(file, 'exclusive');
    await again.release();
  });

  it('lets readers share, but no writer among them', async () => {
    const a = await lockDisk(file, 'shared');
    const b = await lockDisk(file, 'shared');
    await expect(lockDisk(file, 'exclusive')).rejects.toThrow('is in use');
    await a.release();
    await b.release();
    await (await lockDisk(file, 'exclusive')).release();
  });

  it('waits, when asked to, until the holder lets go (a guest migrating in)', async () => {
    const held = await lockDisk(file, 'exclusive');
    let got = false;
    const waiting = lockDisk(file, 'exclusive', true).then((l) => {
      got = true;
      return l;
    });
    // Another lock, refused at once, proves the holder still holds it while the waiter waits.
    await expect(lockDisk(file, 'shared')).rejects.toThrow('in use');
    expect(got).toBe(false);
    await held.release();
    await (await waiting).release();
    expect(got).toBe(true);
  });

  it('says why when the file cannot be locked at all', async () => {
    await expect(lockDisk(path.join(dir, 'no', 'such'), 'shared')).rejects.toThrow(/cannot lock disk/);
  });
});
