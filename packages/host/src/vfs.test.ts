import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Errno } from './errno';
import { testHost, testProcess } from './fixture';
import type { Host } from './host';
import { PAGE_SIZE } from './layout';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from './mm';
import type { Process } from './process';
import {
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  POLLIN,
  POLLOUT,
  SEEK_END,
  SEEK_SET,
  type File,
  type FileOps,
} from './vfs';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | number): string => (typeof b === 'number' ? `error ${b}` : new TextDecoder().decode(b));

describe('devices and /proc entries', () => {
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    host = testHost();
    proc = testProcess(host);
  });
  afterEach(() => host.shutdown());

  interface Counter {
    writes: string[];
  }

  function counterOps(log: string[]): FileOps<Counter> {
    return {
      open(file: File<Counter>, p: Process) {
        log.push(`open by ${p.pid}`);
        file.private = { writes: [] };
        return 0;
      },
      async read(file, buffer) {
        await Promise.resolve();
        const reply = text(`${file.private?.writes.length ?? -1} writes`);
        buffer.set(reply.subarray(0, buffer.length));
        return Math.min(reply.length, buffer.length);
      },
      write(file, data) {
        if (data.length === 0) return -Errno.EINVAL;
        file.private?.writes.push(str(data));
        return data.length;
      },
      poll: (file) => ((file.private?.writes.length ?? 0) > 0 ? POLLIN | POLLOUT : POLLOUT),
      release(file) {
        log.push(`release after ${file.private?.writes.join(',')}`);
      },
    };
  }

  it('registers /dev/lguest-style devices with open/read/write/poll/release', async () => {
    const log: string[] = [];
    expect(host.registerDevice('/dev/lguest', counterOps(log))).toBe(0);
    expect(host.registerDevice('/dev/lguest', counterOps(log))).toBe(-Errno.EEXIST);
    expect(host.registerDevice('/tmp/x', counterOps(log))).toBe(-Errno.EINVAL);
    const fd = await proc.open('/dev/lguest', O_RDWR);
    expect(fd).toBe(3);
    expect(log).toEqual([`open by ${proc.pid}`]);
    expect(proc.poll(fd)).toBe(POLLOUT);
    expect(await proc.write(fd, text('a'))).toBe(1);
    expect(await proc.write(fd, new Uint8Array(0))).toBe(-Errno.EINVAL);
    expect(await proc.write(fd, text('bc'))).toBe(2);
    expect(proc.poll(fd)).toBe(POLLIN | POLLOUT);
    expect(str(await proc.read(fd, 64))).toBe('2 writes');
    const small = new Uint8Array(1);
    expect(await proc.read(fd, small)).toBe(1);
    expect(proc.pread(fd, small, 0)).toBe(-Errno.ESPIPE);
    expect(proc.close(fd)).toBe(0);
    expect(proc.close(fd)).toBe(-Errno.EBADF);
    expect(log).toEqual([`open by ${proc.pid}`, 'release after a,bc']);
    expect(host.unregisterDevice('/dev/lguest')).toBe(0);
    expect(await proc.open('/dev/lguest', O_RDWR)).toBe(-Errno.ENOENT);
  });

  it('registers /proc entries, and a failing open leaves no descriptor', async () => {
    const log: string[] = [];
    expect(host.registerProcEntry('lguest', counterOps(log))).toBe(0);
    expect(host.registerProcEntry('a/b', counterOps(log))).toBe(-Errno.EINVAL);
    const fd = await proc.open('/proc/lguest', O_WRONLY);
    expect(await proc.write(fd, text('x'))).toBe(1);
    expect(await proc.read(fd, 8)).toBe(-Errno.EBADF); // opened write-only
    host.registerProcEntry('busy', { open: () => -Errno.EBUSY });
    expect(await proc.open('/proc/busy', O_RDONLY)).toBe(-Errno.EBUSY);
    expect(await proc.open('/proc/new', O_RDWR | O_CREAT)).toBe(-Errno.EACCES);
    expect(host.unregisterProcEntry('lguest')).toBe(0);
    // Already-open files keep working after the entry goes, as on Linux.
    expect(await proc.write(fd, text('y'))).toBe(1);
    proc.exit(0);
    expect(log).toEqual([`open by ${proc.pid}`, 'release after x,y']);
  });

  it('has /dev/null and /dev/zero', async () => {
    const z = await proc.open('/dev/zero', O_RDWR);
    const buf = new Uint8Array(4).fill(9);
    expect(await proc.read(z, buf)).toBe(4);
    expect(buf).toEqual(new Uint8Array(4));
    const n = await proc.open('/dev/null', O_RDWR);
    expect(await proc.read(n, buf)).toBe(0);
    expect(await proc.write(n, buf)).toBe(4);
  });
});

describe('tmpfs', () => {
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    host = testHost();
    proc = testProcess(host);
  });
  afterEach(() => host.shutdown());

  it('creates, writes, reads, seeks, appends and truncates files', async () => {
    expect(await proc.open('/tmp/a', O_RDWR)).toBe(-Errno.ENOENT);
    const fd = await proc.open('/tmp/a', O_RDWR | O_CREAT);
    expect(await proc.open('/tmp/a', O_RDWR | O_CREAT | O_EXCL)).toBe(-Errno.EEXIST);
    expect(await proc.write(fd, text('hello world'))).toBe(11);
    expect(proc.lseek(fd, 6, SEEK_SET)).toBe(6);
    expect(str(await proc.read(fd, 100))).toBe('world');
    expect(await proc.read(fd, 100)).toEqual(new Uint8Array(0)); // EOF
    expect(proc.pwrite(fd, text('W'), 6)).toBe(1);
    const app = await proc.open('/tmp/a', O_WRONLY | O_APPEND);
    expect(await proc.write(app, text('!'))).toBe(1);
    const back = new Uint8Array(12);
    expect(proc.pread(fd, back, 0)).toBe(12);
    expect(str(back)).toBe('hello World!');
    // A hole reads as zeros; a file spans pages.
    expect(proc.pwrite(fd, text('end'), 3 * PAGE_SIZE)).toBe(3);
    expect(proc.lseek(fd, 0, SEEK_END)).toBe(3 * PAGE_SIZE + 3);
    const hole = new Uint8Array(4);
    proc.pread(fd, hole, 2 * PAGE_SIZE);
    expect(hole).toEqual(new Uint8Array(4));
    expect(proc.ftruncate(fd, 5)).toBe(0);
    const st = proc.fstat(fd);
    expect(typeof st !== 'number' && st.size).toBe(5);
    expect(str(await proc.read(await proc.open('/tmp/a', O_RDONLY), 100))).toBe('hello');
    const trunc = await proc.open('/tmp/a', O_RDWR | O_TRUNC);
    expect(await proc.read(trunc, 10)).toEqual(new Uint8Array(0));
  });

  it("frees a file's pages when it is unlinked and nothing holds it", async () => {
    const free = host.pages.freeFrames;
    const fd = await proc.open('/tmp/big', O_RDWR | O_CREAT);
    proc.pwrite(fd, new Uint8Array(3 * PAGE_SIZE).fill(1), 0);
    expect(host.pages.freeFrames).toBe(free - 3);
    const addr = proc.mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);
    expect(proc.unlink('/tmp/big')).toBe(0);
    expect(await proc.open('/tmp/big', O_RDONLY)).toBe(-Errno.ENOENT);
    proc.close(fd);
    expect(proc.readMemory(addr + 2 * PAGE_SIZE, 1)).toEqual(Uint8Array.of(1)); // still mapped
    proc.munmap(addr, 3 * PAGE_SIZE);
    expect(host.pages.freeFrames).toBe(free - 1); // only the page table is left
  });

  it('has directories', async () => {
    expect(proc.mkdir('/tmp/d')).toBe(0);
    expect(proc.mkdir('/tmp/d')).toBe(-Errno.EEXIST);
    expect(await proc.open('/tmp/d/../d/./f', O_RDWR | O_CREAT)).toBeGreaterThan(0);
    expect(await proc.open('/tmp/d', O_RDWR)).toBe(-Errno.EISDIR);
    expect(await proc.open('/tmp/d/f/g', O_RDONLY)).toBe(-Errno.ENOTDIR);
    expect(proc.unlink('/tmp/d')).toBe(-Errno.ENOTEMPTY);
    expect(await proc.open(`/tmp/${'x'.repeat(256)}`, O_RDONLY)).toBe(-Errno.ENAMETOOLONG);
  });
});

describe('the passthrough mount', () => {
  let dir: string;
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-host-'));
    host = testHost({ hostMounts: [{ path: '/host', realDir: dir }] });
    proc = testProcess(host);
  });
  afterEach(() => {
    host.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes straight through to the real file (a disk never loses a byte)', async () => {
    const fd = await proc.open('/host/disk.img', O_RDWR | O_CREAT);
    expect(fd).toBeGreaterThan(0);
    expect(proc.pwrite(fd, text('sector0'), 0)).toBe(7);
    expect(proc.pwrite(fd, text('sector9'), 9 * 512)).toBe(7);
    // Visible on the real disk before any close or fsync.
    const real = fs.readFileSync(path.join(dir, 'disk.img'));
    expect(real.length).toBe(9 * 512 + 7);
    expect(real.subarray(9 * 512).toString()).toBe('sector9');
    expect(proc.fsync(fd)).toBe(0);
    const back = new Uint8Array(7);
    expect(proc.pread(fd, back, 0)).toBe(7);
    expect(str(back)).toBe('sector0');
    expect(proc.close(fd)).toBe(0);
    expect(await proc.open('/host/missing', O_RDONLY)).toBe(-Errno.ENOENT);
  });

  it('reads and writes between a real file and process memory (preadv, pwritev, fdatasync)', async () => {
    const fd = await proc.open('/host/disk.img', O_RDWR | O_CREAT);
    const mem = proc.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1);
    expect(mem).toBe(0);
    proc.writeMemory(PAGE_SIZE - 3, text('abcdef'));
    proc.writeMemory(2 * PAGE_SIZE, text('XY'));
    // Two sections, the first crossing a page boundary.
    const iov = [
      { addr: PAGE_SIZE - 3, len: 6 },
      { addr: 2 * PAGE_SIZE, len: 2 },
    ];
    expect(proc.pwritev(fd, iov, 512)).toBe(8);
    expect(fs.readFileSync(path.join(dir, 'disk.img')).subarray(512).toString()).toBe('abcdefXY');
    expect(proc.fdatasync(fd)).toBe(0);
    proc.writeMemory(PAGE_SIZE - 3, text('------'));
    expect(proc.preadv(fd, [{ addr: PAGE_SIZE - 1, len: 4 }], 514)).toBe(4);
    expect(str(proc.readMemory(PAGE_SIZE - 3, 6))).toBe('--cdef');
    // Short at the end of the file; -EFAULT outside the mapping; -EBADF for a read-only fd.
    expect(proc.preadv(fd, [{ addr: 0, len: 100 }], 516)).toBe(4);
    expect(proc.preadv(fd, [{ addr: 3 * PAGE_SIZE, len: 4 }], 0)).toBe(-Errno.EFAULT);
    expect(proc.pwritev(fd, [{ addr: 5 * PAGE_SIZE, len: 4 }], 0)).toBe(-Errno.EFAULT);
    const ro = await proc.open('/host/disk.img', O_RDONLY);
    expect(proc.pwritev(ro, iov, 0)).toBe(-Errno.EBADF);
  });

  it('maps a real file privately (a kernel image), but not shared', async () => {
    fs.writeFileSync(path.join(dir, 'vmlinux'), Buffer.concat([Buffer.alloc(PAGE_SIZE, 0x11), Buffer.from('tail')]));
    const fd = await proc.open('/host/vmlinux', O_RDONLY);
    expect(proc.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd)).toBe(-Errno.ENODEV);
    const at = proc.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
    proc.close(fd); // the mapping keeps the file open
    expect(proc.readMemory(at + PAGE_SIZE - 1, 6)).toEqual(Uint8Array.of(0x11, ...text('tail'), 0));
    proc.writeMemory(at, Uint8Array.of(0x22));
    expect(fs.readFileSync(path.join(dir, 'vmlinux'))[0]).toBe(0x11); // private
  });

  it('honours a read-only mount', async () => {
    fs.writeFileSync(path.join(dir, 'ro'), 'x');
    host.mountHost('/ro', dir, { readOnly: true });
    expect(await proc.open('/ro/ro', O_RDWR)).toBe(-Errno.EROFS);
    expect(await proc.open('/ro/new', O_RDWR | O_CREAT)).toBe(-Errno.EROFS);
    expect(str(await proc.read(await proc.open('/ro/ro', O_RDONLY), 10))).toBe('x');
  });
});

describe('real files granted one by one (least privilege)', () => {
  let dir: string;
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-grant-'));
    fs.writeFileSync(path.join(dir, 'kernel'), 'kernel');
    fs.writeFileSync(path.join(dir, 'disk.img'), 'disk');
    fs.writeFileSync(path.join(dir, 'secret'), 'secret');
    host = testHost();
    proc = testProcess(host);
  });
  afterEach(() => {
    host.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows no real file at all by default', async () => {
    expect(await proc.open(`/host${path.join(dir, 'kernel')}`, O_RDONLY)).toBe(-Errno.ENOENT);
    expect(await proc.open('/host/etc/passwd', O_RDONLY)).toBe(-Errno.ENOENT);
  });

  it('gives exactly the files granted, read-only unless granted read-write', async () => {
    const at = (name: string) => `/host${path.join(dir, name)}`;
    host.grantFile(at('kernel'), path.join(dir, 'kernel'), 'ro');
    host.grantFile(at('disk.img'), path.join(dir, 'disk.img'), 'rw');
    expect(str(await proc.read(await proc.open(at('kernel'), O_RDONLY), 10))).toBe('kernel');
    expect(await proc.open(at('kernel'), O_RDWR)).toBe(-Errno.EROFS);
    const disk = await proc.open(at('disk.img'), O_RDWR);
    expect(proc.pwrite(disk, text('DISK'), 0)).toBe(4);
    expect(fs.readFileSync(path.join(dir, 'disk.img'), 'utf8')).toBe('DISK');
    // Its neighbours in the same real directory stay out of reach; a file made beside it is
    // the host's own (tmpfs), never a real one.
    expect(await proc.open(at('secret'), O_RDONLY)).toBe(-Errno.ENOENT);
    expect(await proc.open(at('new'), O_RDWR | O_CREAT)).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
    // Granting the same file again is fine; a missing one says which and why.
    host.grantFile(at('kernel'), path.join(dir, 'kernel'), 'ro');
    expect(() => host.grantFile(at('gone'), path.join(dir, 'gone'), 'ro')).toThrow(/gone.*ENOENT/);
  });
});
