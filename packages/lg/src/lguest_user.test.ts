import { LHREQ_BREAK, LHREQ_GETDMA, LHREQ_INITIALIZE, LHREQ_IRQ, MAX_LGUEST_GUESTS } from '@lguest/abi';
import { Errno, O_RDWR, type Host } from '@lguest/host';
import type { Lguest } from './core';
import { testGuest, testLguest, words } from './fixture';
import { killGuest } from './lg';

describe('the control file', () => {
  let host: Host;
  let lg: Lguest;
  beforeEach(() => ({ host, lg } = testLguest({ memoryMiB: 64 })));
  afterEach(() => host.shutdown());

  it('is at /dev/lguest and /proc/lguest, and insists on LHREQ_INITIALIZE first', async () => {
    const proc = host.createProcess();
    if (typeof proc === 'number') throw new Error('no process');
    for (const path of ['/dev/lguest', '/proc/lguest']) {
      const fd = await proc.open(path, O_RDWR);
      expect(fd).toBeGreaterThan(0);
      expect(await proc.write(fd, words(LHREQ_IRQ, 1))).toBe(-Errno.EINVAL);
      expect(await proc.read(fd, new Uint8Array(8))).toBe(-Errno.EINVAL);
      expect(await proc.write(fd, words(LHREQ_INITIALIZE, 1))).toBe(-Errno.EINVAL); // too short
      expect(await proc.write(fd, words(LHREQ_INITIALIZE, 256, 0, 0, 0xffc00000))).toBe(-Errno.EINVAL);
      proc.close(fd);
    }
  });

  it('takes one INITIALIZE per file, and up to 16 guests', async () => {
    const t = await testGuest(lg);
    expect(await t.proc.write(t.fd, words(LHREQ_INITIALIZE, 1024, 0, 0, 0xc0000000))).toBe(-Errno.EBUSY);
    const more = [];
    for (let i = 1; i < MAX_LGUEST_GUESTS; i++) more.push(await testGuest(lg, { mem: 1 << 20 }));
    expect(lg.liveGuests()).toHaveLength(16);
    await expect(testGuest(lg, { mem: 1 << 20 })).rejects.toThrow(`LHREQ_INITIALIZE failed: ${-Errno.ENOSPC}`);
    // Closing frees the slot (and everything the guest held).
    more[3].proc.close(more[3].fd);
    expect(lg.guests[4]).toBeNull();
    expect((await testGuest(lg, { mem: 1 << 20 })).guest.id).toBe(4);
  });

  it('lets only the launcher run or feed its guest; anyone may break it out', async () => {
    const t = await testGuest(lg);
    const other = host.createProcess('other');
    if (typeof other === 'number') throw new Error('no process');
    // Share the open file the way a forked Waker shares its parent's.
    const file = t.proc.file(t.fd);
    expect(file).toBeDefined();
    const ops = file?.ops;
    if (!file || !ops?.write || !ops.read) throw new Error('no ops');
    expect(await ops.read(file, new Uint8Array(8), other)).toBe(-Errno.EPERM);
    expect(await ops.write(file, words(LHREQ_IRQ, 1), other)).toBe(-Errno.EPERM);
    expect(await ops.write(file, words(LHREQ_GETDMA, 0), other)).toBe(-Errno.EPERM);
    const breaking = ops.write(file, words(LHREQ_BREAK, 1), other);
    expect(t.guest.breakOut).toBe(true);
    // The launcher's read() returns -EAGAIN at once; it writes BREAK(0) and the Waker goes.
    expect(await t.proc.read(t.fd, new Uint8Array(8))).toBe(-Errno.EAGAIN);
    expect(await t.proc.write(t.fd, words(LHREQ_BREAK, 0))).toBe(0);
    expect(await breaking).toBe(0);
    expect(await t.proc.write(t.fd, words(LHREQ_IRQ, 32))).toBe(-Errno.EINVAL);
    expect(await t.proc.write(t.fd, words(LHREQ_IRQ, 31))).toBe(0);
    expect(t.guest.irqsPending).toBe(1 << 31);
  });

  it('gives the death reason from read() once the guest died, and -ENOENT to writes', async () => {
    const t = await testGuest(lg);
    const blocked = t.proc.write(t.fd, words(LHREQ_BREAK, 1));
    killGuest(t.guest, 'bad page table entry');
    expect(await blocked).toBe(0); // a dead guest lets its Waker go
    const buf = new Uint8Array(64);
    const n = await t.proc.read(t.fd, buf);
    expect(new TextDecoder().decode(buf.subarray(0, n))).toBe('bad page table entry\0');
    expect(await t.proc.read(t.fd, new Uint8Array(4))).toBe(4); // truncated to the buffer
    expect(await t.proc.write(t.fd, words(LHREQ_IRQ, 1))).toBe(-Errno.ENOENT);
  });
});
