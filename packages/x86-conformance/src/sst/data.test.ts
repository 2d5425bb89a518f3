import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { list286, list386, loadMetadata, loadRevocations, opcodeOfFile, sstDir } from './data';

describe('SST data', () => {
  const dir = sstDir();

  it('holds every 286 file counts.tsv lists, byte for byte', () => {
    const rows = readFileSync(join(dir, '286/counts.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    expect(rows).toHaveLength(325);
    const files = list286(dir).map((p) => basename(p));
    expect(files).toEqual(rows.map((r) => r[0]).sort());
    for (const [file, , , , , , tests, , , , sha256] of rows) {
      expect([file, tests]).toEqual([file, '1000']);
      const digest = createHash('sha256')
        .update(readFileSync(join(dir, '286', file)))
        .digest('hex');
      expect([file, digest]).toEqual([file, sha256]);
    }
    expect(list386(dir).map((p) => basename(p))).toEqual(['00.MOO']);
  });

  it('finds flag masks by opcode and by group reg', () => {
    const info = loadMetadata(join(dir, '286/metadata.json'));
    expect(info('00.MOO.gz')).toEqual({ status: 'normal', flagsMask: 0xffff });
    expect(info('F7.6.MOO.gz')).toEqual({ status: 'normal', flagsMask: 0xf72a });
    expect(info('D3.4.MOO.gz').flagsMask).toBe(0xf7ee);
    expect(info('8F.MOO.gz')).toEqual({ status: 'normal', flagsMask: 0xffff });
    expect(info('D8.MOO.gz').status).toBe('fpu');
    expect(() => info('0F.3.MOO.gz')).toThrow(/no entry for 0F\.3/);
  });

  it('names the opcode and reg of a file', () => {
    expect(opcodeOfFile('/x/c0.6.MOO.gz')).toEqual({ opcode: 'C0', reg: 6 });
    expect(opcodeOfFile('9C.MOO')).toEqual({ opcode: '9C', reg: undefined });
    expect(() => opcodeOfFile('foo.bin')).toThrow(/not a SingleStepTests file name/);
  });

  it('reads revocation lists: comments skipped, hashes lower-cased, junk refused', () => {
    expect(loadRevocations(join(dir, '286/revocation_list.txt')).size).toBe(0);
    const tmp = mkdtempSync(join(tmpdir(), 'sst-revoke-'));
    try {
      const p = join(tmp, 'r.txt');
      writeFileSync(p, `# comment\n\n${'AB'.repeat(20)}\n`);
      expect([...loadRevocations(p)]).toEqual(['ab'.repeat(20)]);
      writeFileSync(p, 'not-a-hash\n');
      expect(() => loadRevocations(p)).toThrow(/not a 40-digit hex hash/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
