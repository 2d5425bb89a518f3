import { Errno } from './errno';
import { testHost, testProcess } from './fixture';
import { keyEquals, keyString, type FutexKey } from './futex';
import { PAGE_SIZE } from './layout';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, PROT_NONE } from './mm';
import { O_CREAT, O_RDWR } from './vfs';

const RW = PROT_READ | PROT_WRITE;

function key(k: FutexKey | number): FutexKey {
  if (typeof k === 'number') throw new Error(`futexKey failed: ${k}`);
  return k;
}

describe('futex keys', () => {
  it('are equal across two launchers mapping the same tmpfs file at different addresses', async () => {
    const host = testHost();
    const a = testProcess(host, 'a');
    const b = testProcess(host, 'b');
    const fa = await a.open('/tmp/sharenet', O_RDWR | O_CREAT);
    a.ftruncate(fa, 4 * PAGE_SIZE);
    const fb = await b.open('/tmp/sharenet', O_RDWR);
    const atA = a.mmap(0x100000, 4 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fa);
    const atB = b.mmap(0x7000000, 3 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fb, PAGE_SIZE);
    // Offset 0x1010 of the file: page 1 for a, page 0 of b's mapping (which starts at page 1).
    const ka = key(host.futexKey(a, atA + PAGE_SIZE + 0x10));
    const kb = key(host.futexKey(b, atB + 0x10));
    expect(ka.shared).toBe(true);
    expect(keyEquals(ka, kb)).toBe(true);
    expect(keyString(ka)).toBe(keyString(kb));
    expect(ka.offset & 3).toBe(1);
    // A different slot in the same page, or the same slot in another page, is another key.
    expect(keyEquals(ka, key(host.futexKey(b, atB + 0x14)))).toBe(false);
    expect(keyEquals(ka, key(host.futexKey(b, atB + PAGE_SIZE + 0x10)))).toBe(false);
    // And both sides really share the page.
    a.writeMemory(atA + PAGE_SIZE + 0x10, Uint8Array.of(0xee));
    expect(b.readMemory(atB + 0x10, 1)).toEqual(Uint8Array.of(0xee));
    host.shutdown();
  });

  it('are per address space for private memory', () => {
    const host = testHost();
    const a = testProcess(host, 'a');
    const b = testProcess(host, 'b');
    for (const p of [a, b]) p.mmap(0, 16 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    const ka = key(host.futexKey(a, 0x3008));
    const kb = key(host.futexKey(b, 0x3008));
    expect(ka.shared).toBe(false);
    expect(ka.offset & 3).toBe(2);
    expect(ka.word).toBe(0x3000);
    expect(keyEquals(ka, kb)).toBe(false);
    expect(keyEquals(ka, key(host.futexKey(a, 0x3008)))).toBe(true);
    expect(keyString(ka)).not.toBe(keyString(kb));
    host.shutdown();
  });

  it('reject unaligned, unmapped and unreadable addresses', () => {
    const host = testHost();
    const p = testProcess(host);
    p.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    p.mmap(0x10000, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    expect(host.futexKey(p, 2)).toBe(-Errno.EINVAL);
    expect(host.futexKey(p, 0x5000)).toBe(-Errno.EFAULT);
    expect(host.futexKey(p, 0x10000)).toBe(-Errno.EACCES);
    host.shutdown();
  });
});
