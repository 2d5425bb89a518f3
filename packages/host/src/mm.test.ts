import { Errno } from './errno';
import { ok, testHost, testProcess } from './fixture';
import type { Host } from './host';
import { MMAP_BASE, PAGE_SIZE, TASK_SIZE, _PAGE_DIRTY, _PAGE_RW, _PAGE_USER } from './layout';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE } from './mm';
import { ptePhys } from './pgtable';
import type { Process } from './process';
import { O_CREAT, O_RDONLY, O_RDWR } from './vfs';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe('process address spaces', () => {
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    host = testHost();
    proc = testProcess(host);
  });
  afterEach(() => host.shutdown());

  it('maps guest memory at 0 with MAP_FIXED and fills pages in on first touch only', () => {
    const free = host.pages.freeFrames;
    expect(proc.mmap(0, 64 * PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(0);
    expect(host.pages.freeFrames).toBe(free); // a promise, not memory yet
    expect(proc.readMemory(5 * PAGE_SIZE, 4)).toEqual(new Uint8Array(4)); // zero-filled
    expect(proc.writeMemory(6 * PAGE_SIZE - 2, Uint8Array.of(1, 2, 3, 4))).toBe(0); // across a page
    expect(proc.readMemory(6 * PAGE_SIZE - 2, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
    // Two data pages (5 and 6) and one page table.
    expect(free - host.pages.freeFrames).toBe(3);
    const pte = host.ram32[ok(ptePhys(host.ram32, proc.mm.pgd, 5 * PAGE_SIZE)) >>> 2];
    expect(pte & (_PAGE_USER | _PAGE_RW)).toBe(_PAGE_USER | _PAGE_RW);
  });

  it('places mappings without MAP_FIXED top-down below MMAP_BASE, never at 0', () => {
    const a = proc.mmap(0, 3 * PAGE_SIZE, RW, ANON);
    const b = proc.mmap(0, PAGE_SIZE, RW, ANON);
    expect(a).toBe(MMAP_BASE - 3 * PAGE_SIZE);
    expect(b).toBe(a - PAGE_SIZE);
    // A free hint is honoured; a taken one is not.
    expect(proc.mmap(0x40000000, PAGE_SIZE, RW, ANON)).toBe(0x40000000);
    expect(proc.mmap(a, PAGE_SIZE, RW, ANON)).toBe(b - PAGE_SIZE);
  });

  it('rejects bad arguments with errno values', () => {
    expect(proc.mmap(0, 0, RW, ANON)).toBe(-Errno.EINVAL);
    expect(proc.mmap(0x1001, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-Errno.EINVAL);
    expect(proc.mmap(0, PAGE_SIZE, RW, MAP_ANONYMOUS)).toBe(-Errno.EINVAL); // neither shared nor private
    expect(proc.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE, 99)).toBe(-Errno.EBADF);
    expect(proc.mmap(TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-Errno.ENOMEM);
    expect(proc.munmap(0x1001, PAGE_SIZE)).toBe(-Errno.EINVAL);
    expect(proc.readMemory(0, -1)).toBe(-Errno.EINVAL);
    expect(host.copyFromUser(proc, 0, -1)).toBe(-Errno.EFAULT);
  });

  it('munmap splits mappings and gives the pages back', () => {
    const free = host.pages.freeFrames;
    proc.mmap(0x100000, 4 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    for (let i = 0; i < 4; i++) proc.writeMemory(0x100000 + i * PAGE_SIZE, Uint8Array.of(i + 1));
    expect(proc.munmap(0x101000, 2 * PAGE_SIZE)).toBe(0);
    expect(proc.mm.mappings.map((v) => [v.start, v.end])).toEqual([
      [0x100000, 0x101000],
      [0x103000, 0x104000],
    ]);
    expect(proc.readMemory(0x101000, 1)).toBe(-Errno.EFAULT);
    expect(proc.readMemory(0x103000, 1)).toEqual(Uint8Array.of(4));
    proc.munmap(0, TASK_SIZE);
    expect(host.pages.freeFrames).toBe(free - 1); // the page table stays until exit
    proc.exit(0);
    expect(host.pages.freeFrames).toBe(free + 1); // and the page directory goes with the process
  });

  it('honours protections: no writes to read-only memory, nothing through PROT_NONE', () => {
    proc.mmap(0x200000, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED);
    proc.mmap(0x300000, PAGE_SIZE, PROT_NONE, ANON | MAP_FIXED);
    expect(proc.readMemory(0x200000, 4)).toEqual(new Uint8Array(4));
    expect(proc.writeMemory(0x200000, Uint8Array.of(1))).toBe(-Errno.EFAULT);
    expect(proc.readMemory(0x300000, 1)).toBe(-Errno.EFAULT);
  });

  it('shares anonymous MAP_SHARED memory (shmem) and /dev/zero shared mappings', async () => {
    const a = proc.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
    proc.writeMemory(a, Uint8Array.of(9));
    const fd = await proc.open('/dev/zero', O_RDWR);
    const z = proc.mmap(0x500000, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED, fd);
    expect(z).toBe(0x500000);
    expect(proc.readMemory(z, 8)).toEqual(new Uint8Array(8));
    expect(proc.mmap(0, PAGE_SIZE, RW, MAP_SHARED, fd)).toBeGreaterThan(0);
    const null_ = await proc.open('/dev/null', O_RDONLY);
    expect(proc.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, null_)).toBe(-Errno.ENODEV);
  });

  it('maps tmpfs files: shared writes reach the file, private writes are copied', async () => {
    const fd = await proc.open('/tmp/f', O_RDWR | O_CREAT);
    await proc.write(fd, new TextEncoder().encode('hello'));
    proc.ftruncate(fd, 2 * PAGE_SIZE);
    const shared = proc.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
    const priv = proc.mmap(0, 2 * PAGE_SIZE, RW, MAP_PRIVATE, fd);
    expect(new TextDecoder().decode(proc.readMemory(priv, 5) as Uint8Array)).toBe('hello');
    proc.writeMemory(shared, Uint8Array.of(0x4a)); // 'J'
    expect(new TextDecoder().decode(proc.readMemory(priv, 5) as Uint8Array)).toBe('Jello'); // not yet copied
    proc.writeMemory(priv + 1, Uint8Array.of(0x41)); // copy-on-write
    const back = new Uint8Array(5);
    proc.pread(fd, back, 0);
    expect(new TextDecoder().decode(back)).toBe('Jello');
    expect(new TextDecoder().decode(proc.readMemory(priv, 5) as Uint8Array)).toBe('JAllo');
    // Truncation takes the pages away from the mapping (SIGBUS territory: EFAULT).
    proc.ftruncate(fd, PAGE_SIZE);
    expect(proc.readMemory(shared + PAGE_SIZE, 1)).toBe(-Errno.EFAULT);
    expect(proc.readMemory(shared, 1)).toEqual(Uint8Array.of(0x4a));
  });

  it('keeps a pinned page alive after munmap until lg puts it', () => {
    proc.mmap(0x100000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    proc.writeMemory(0x100000, Uint8Array.of(0x5a));
    const phys = ok(host.getUserPages(proc, 0x100000, true));
    expect(host.pages.refCount(phys)).toBe(2);
    proc.munmap(0x100000, PAGE_SIZE);
    expect(host.pages.refCount(phys)).toBe(1);
    expect(host.ram[phys]).toBe(0x5a);
    host.putPage(phys);
    expect(host.pages.refCount(phys)).toBe(0);
  });
});

describe('copy_to_user and friends', () => {
  let host: Host;
  let proc: Process;
  beforeEach(() => {
    host = testHost();
    proc = testProcess(host);
    proc.mmap(0x10000, 2 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    proc.mmap(0x20000, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED);
  });
  afterEach(() => host.shutdown());

  it('copies both ways through the process page tables, faulting pages in', () => {
    const data = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
    expect(host.copyToUser(proc, 0x10010, data)).toBe(0);
    expect(host.copyFromUser(proc, 0x10010, 6000)).toEqual(data);
    expect(proc.readMemory(0x10010 + 5000, 3)).toEqual(data.subarray(5000, 5003));
    expect(host.putUser32(proc, 0x10ffe, 0xfedcba98)).toBe(0); // straddles the page boundary
    expect(host.getUser32(proc, 0x10ffe)).toBe(0xfedcba98);
    const pte = host.ram32[ok(ptePhys(host.ram32, proc.mm.pgd, 0x10000)) >>> 2];
    expect(pte & _PAGE_DIRTY).toBe(_PAGE_DIRTY);
  });

  it('reports every bad access as -EFAULT, never a throw', () => {
    expect(host.copyFromUser(proc, 0x30000, 4)).toBe(-Errno.EFAULT); // unmapped
    expect(host.copyFromUser(proc, 0x11ffe, 4)).toBe(-Errno.EFAULT); // runs off the end
    expect(host.copyToUser(proc, 0x20000, Uint8Array.of(1))).toBe(-Errno.EFAULT); // read-only
    expect(host.putUser32(proc, 0x20000, 1)).toBe(-Errno.EFAULT);
    expect(host.getUser32(proc, 0x20000)).toBe(0);
    expect(host.getUser32(proc, 0xc0000000)).toBe(-Errno.EFAULT); // kernel address
    expect(host.getUser32(proc, -4)).toBe(-Errno.EFAULT);
    expect(host.getUserPages(proc, 0x20000, true)).toBe(-Errno.EFAULT);
    expect(host.getUserPages(proc, 0x40000, false)).toBe(-Errno.EFAULT);
    proc.exit(0);
    expect(host.getUser32(proc, 0x10000)).toBe(-Errno.EFAULT); // its memory is gone
  });

  it('getUserPages for writing breaks copy-on-write first, so lg pins the page the launcher sees', async () => {
    const fd = await proc.open('/tmp/k', O_RDWR | O_CREAT);
    proc.ftruncate(fd, PAGE_SIZE);
    const addr = proc.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE, fd);
    const shared = ok(host.getUserPages(proc, addr, false));
    const own = ok(host.getUserPages(proc, addr, true));
    expect(own).not.toBe(shared);
    proc.writeMemory(addr, Uint8Array.of(7));
    expect(host.ram[own]).toBe(7);
    host.putPage(shared);
    host.putPage(own);
  });
});
