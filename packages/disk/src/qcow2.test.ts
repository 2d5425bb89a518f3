import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeFile } from './file';
import type { DiskImage } from './image';
import { createQcow2, openImage, probeQcow2Chain, Qcow2Error, Qcow2Image, readQcow2Header } from './qcow2';

/** qemu-img, from QEMU (Debian qemu-utils): the ecosystem's own judge of what we write. */
function qemu(tool: 'qemu-img' | 'qemu-io', args: string[]): { status: number; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${tool} is not installed: apt-get install qemu-utils (.ci/run does it)`);
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const MiB = 1024 * 1024;

describe('qcow2 images', () => {
  let dir: string;
  /** The "memory" the images' iovecs point into (guest RAM for a launcher). */
  const memory = new Uint8Array(4 * MiB);
  const opened: DiskImage[] = [];
  const open = async (file: string, readOnly = false) => {
    const img = await openImage(async (p, writable) => NodeFile.open(p, writable, memory), file, readOnly);
    opened.push(img);
    return img;
  };
  /** Reads `len` disk bytes at `offset` through two iovecs (memory 0… and 2 MiB…). */
  const read = (img: DiskImage, offset: number, len: number): Buffer => {
    const half = Math.floor(len / 2);
    const iov = [
      { addr: 0, len: half },
      { addr: 2 * MiB, len: len - half },
    ];
    expect(img.read({ iov }, offset)).toBe(len);
    return Buffer.concat([memory.subarray(0, half), memory.subarray(2 * MiB, 2 * MiB + len - half)]);
  };
  const write = (img: DiskImage, offset: number, data: Uint8Array) => {
    memory.set(data, 0);
    expect(img.write({ iov: [{ addr: 0, len: data.length }] }, offset)).toBe(data.length);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lguest-qcow2-'));
  });
  afterEach(() => {
    for (const img of opened.splice(0)) img.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A 4 MiB raw base whose every 512-byte sector holds its number. */
  function base(): { file: string; bytes: Buffer } {
    const bytes = Buffer.alloc(4 * MiB);
    for (let s = 0; s < bytes.length / 512; s++) bytes.writeUInt32LE(s, s * 512);
    const file = path.join(dir, 'base.raw');
    fs.writeFileSync(file, bytes);
    return { file, bytes };
  }

  it.each([
    ['0.10', 'version 2', 65536],
    ['1.1', 'version 3', 65536],
    ['1.1', 'version 3, 512-byte clusters (new L2 tables and refcount blocks)', 512],
  ])(
    'an overlay made by qemu-img (compat=%s, %s) reads through to its base, keeps our writes, and checks clean',
    async (compat, _what, clusterSize) => {
      const { file: baseFile, bytes } = base();
      const baseHash = sha(baseFile);
      const overlay = path.join(dir, 'overlay.qcow2');
      const made = qemu('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-o',
        `compat=${compat},cluster_size=${clusterSize}`,
        '-b',
        'base.raw',
        '-F',
        'raw',
        overlay,
      ]);
      expect(made.out).toBe('');
      const img = await open(overlay);
      expect(img).toBeInstanceOf(Qcow2Image);
      expect(img.size).toBe(4 * MiB);
      expect(read(img, 0, 8192).equals(bytes.subarray(0, 8192))).toBe(true);

      const expected = Buffer.from(bytes);
      const put = (offset: number, len: number, fill: number) => {
        const data = Buffer.alloc(len, fill);
        write(img, offset, data);
        data.copy(expected, offset);
      };
      put(512, 512, 0xa1); // inside a cluster: the rest is copied from the base
      put(65536, 65536, 0xb2); // whole clusters
      put(3 * MiB - 700, 1400, 0xc3); // across a cluster boundary
      for (let i = 0; i < 64; i++) put(i * 40000, 512, 0x10 + i); // scattered: many L2 entries
      put(4 * MiB - 512, 512, 0xd4); // the last sector
      expect(read(img, 0, 4 * MiB).equals(expected)).toBe(true);
      // Reads that start inside clusters, across runs of them.
      for (const [at, len] of [
        [500, 600],
        [65536 - 3, 70000],
        [3 * MiB - 1000, 5000],
      ]) {
        expect(read(img, at, len).equals(expected.subarray(at, at + len))).toBe(true);
      }
      img.close();
      opened.splice(0);

      expect(sha(baseFile)).toBe(baseHash);
      const check = qemu('qemu-img', ['check', overlay]);
      expect(check.out).toMatch(/No errors were found on the image/);
      expect(check.status).toBe(0);
      // QEMU reads what we wrote, and so do we after a reopen.
      const out = path.join(dir, 'out.raw');
      expect(qemu('qemu-img', ['convert', '-O', 'raw', overlay, out]).status).toBe(0);
      expect(fs.readFileSync(out).equals(expected)).toBe(true);
      const again = await open(overlay, true);
      expect(read(again, 0, 4 * MiB).equals(expected)).toBe(true);
    },
  );

  it('reads what QEMU wrote into an image of its own (no backing file; zero clusters too)', async () => {
    const file = path.join(dir, 'q.qcow2');
    expect(qemu('qemu-img', ['create', '-q', '-f', 'qcow2', file, '2M']).status).toBe(0);
    const w = qemu('qemu-io', ['-c', 'write -P 0xab 4096 8192', '-c', 'write -z 65536 65536', file]);
    expect(w.status).toBe(0);
    const img = await open(file);
    const got = read(img, 0, 3 * 65536);
    expect(got.subarray(0, 4096).every((b) => b === 0)).toBe(true);
    expect(got.subarray(4096, 12288).every((b) => b === 0xab)).toBe(true);
    expect(got.subarray(12288).every((b) => b === 0)).toBe(true);
    // A cluster QEMU wrote and then zeroed keeps its place in the file: writing into it reuses
    // it (no leak), and the rest of it still reads as zeros.
    expect(qemu('qemu-io', ['-c', 'write -P 0xcd 131072 65536', '-c', 'write -z 131072 65536', file]).status).toBe(0);
    img.close();
    opened.splice(0);
    const again = await open(file);
    write(again, 131072 + 1024, Buffer.alloc(512, 0xee));
    const back = read(again, 131072, 65536);
    expect(back.subarray(1024, 1536).every((b) => b === 0xee)).toBe(true);
    expect(back.subarray(0, 1024).every((b) => b === 0) && back.subarray(1536).every((b) => b === 0)).toBe(true);
    again.close();
    opened.splice(0);
    const check = qemu('qemu-img', ['check', file]);
    expect(check.out).toMatch(/No errors were found on the image/);
    expect(check.out).not.toMatch(/leaked/);
  });

  it('makes overlays qemu-img accepts, with the backing file relative to the overlay', async () => {
    const { file: baseFile, bytes } = base();
    const overlay = path.join(dir, 'mine.qcow2');
    createQcow2(overlay, bytes.length, { name: 'base.raw', format: 'raw' });
    expect(probeQcow2Chain(overlay)).toEqual([overlay, baseFile]);
    const info = qemu('qemu-img', ['info', overlay]);
    expect(info.out).toMatch(/backing file: base\.raw/);
    expect(info.out).toMatch(/virtual size: 4 MiB/);
    expect(qemu('qemu-img', ['check', overlay]).status).toBe(0);
    const img = await open(overlay);
    write(img, 1000, Buffer.from('written into the overlay'));
    img.close();
    opened.splice(0);
    expect(qemu('qemu-img', ['check', overlay]).out).toMatch(/No errors were found/);
    // An overlay of an overlay reads through both.
    const top = path.join(dir, 'top.qcow2');
    createQcow2(top, bytes.length, { name: 'mine.qcow2', format: 'qcow2' });
    const img2 = await open(top, true);
    expect(read(img2, 1000, 24).toString()).toBe('written into the overlay');
    expect(read(img2, 512 * 9, 4).readUInt32LE(0)).toBe(9);
  });

  it('grows its refcount table when the file outgrows it (512-byte clusters: 8 MiB per table cluster)', async () => {
    const file = path.join(dir, 'small-clusters.qcow2');
    createQcow2(file, 16 * MiB, undefined, 9);
    const img = await open(file);
    const expected = Buffer.alloc(16 * MiB);
    for (let at = 0; at < 12 * MiB; at += 65536) {
      const data = Buffer.alloc(65536, (at >> 16) & 0xff);
      write(img, at, data);
      data.copy(expected, at);
    }
    expect(read(img, 0, 2 * MiB).equals(expected.subarray(0, 2 * MiB))).toBe(true);
    img.close();
    opened.splice(0);
    expect(fs.statSync(file).size).toBeGreaterThan(12 * MiB);
    expect(readQcow2Header(file).refcountTableClusters).toBeGreaterThan(1);
    const check = qemu('qemu-img', ['check', file]);
    expect(check.out).toMatch(/No errors were found on the image/);
    const out = path.join(dir, 'small.raw');
    expect(qemu('qemu-img', ['convert', '-O', 'raw', file, out]).status).toBe(0);
    expect(fs.readFileSync(out).equals(expected)).toBe(true);
  });

  it('refuses malformed and unsupported images with a message that names the file', async () => {
    const file = path.join(dir, 'bad.qcow2');
    const header = Buffer.alloc(4096);
    header.writeUInt32BE(0x514649fb, 0);
    header.writeUInt32BE(7, 4);
    fs.writeFileSync(file, header);
    expect(() => readQcow2Header(file)).toThrow(/'.*bad\.qcow2' is not a usable qcow2 image: version 7/);
    header.writeUInt32BE(3, 4);
    header.writeUInt32BE(16, 20);
    header.writeUInt32BE(0, 28);
    header.writeUInt32BE(1 << 20, 28); // 1 MiB
    header.writeUInt32BE(1, 36); // l1_size
    header.writeUInt32BE(0x100000, 44); // L1 table at 1 MiB: past the end of the file
    fs.writeFileSync(file, header);
    expect(() => readQcow2Header(file)).toThrow(/header is cut short|header_length|L1 table is outside the file/);
    header.writeUInt32BE(104, 100);
    fs.writeFileSync(file, header);
    expect(() => readQcow2Header(file)).toThrow(/its L1 table is outside the file/);
    await expect(open(file)).rejects.toThrow(Qcow2Error);
    // Encrypted.
    header.writeUInt32BE(1, 32);
    fs.writeFileSync(file, header);
    expect(() => readQcow2Header(file)).toThrow(/encrypted/);
    // A backing file that is not there.
    const orphan = path.join(dir, 'orphan.qcow2');
    createQcow2(orphan, MiB, { name: 'gone.raw', format: 'raw' });
    expect(() => probeQcow2Chain(orphan)).toThrow(/backing file '.*gone\.raw' of '.*orphan\.qcow2' does not exist/);
  });
});
