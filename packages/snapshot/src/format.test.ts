import {
  decodeJson,
  decodeSnapshot,
  encodeHeader,
  encodeJson,
  encodeSection,
  encodeSnapshot,
  FILE_MAGIC,
  HEADER_SIZE,
  SectionReader,
  SECTION_HEADER_SIZE,
  SnapshotError,
  STREAM_MAGIC,
} from './format';

const sample = () =>
  encodeSnapshot([
    { name: 'config', data: encodeJson({ mem: 32 }) },
    { name: 'memory', data: new Uint8Array(10000).map((_, i) => i & 0xff) },
  ]);

/** The SnapshotError message decoding `bytes` gives. */
function refusal(bytes: Uint8Array): string {
  try {
    decodeSnapshot(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(SnapshotError);
    return (e as Error).message;
  }
  throw new Error('decoded a bad snapshot');
}

describe('snapshot files', () => {
  it('give back every section as written', () => {
    const s = decodeSnapshot(sample());
    expect([...s.keys()]).toEqual(['config', 'memory']);
    expect(decodeJson(s.get('config')!, 'config')).toEqual({ mem: 32 });
    expect(s.get('memory')![9999]).toBe(9999 & 0xff);
  });

  it('refuse a flipped bit in a section, naming it', () => {
    const bytes = sample();
    bytes[bytes.length - 200] ^= 4; // inside 'memory', before the end section
    expect(refusal(bytes)).toMatch(/corrupt: section 'memory' fails its checksum/);
  });

  it('refuse a file cut short anywhere, even between sections', () => {
    const bytes = sample();
    for (const cut of [
      10,
      HEADER_SIZE + 3,
      HEADER_SIZE + SECTION_HEADER_SIZE + 5,
      bytes.length - 1,
      bytes.length - SECTION_HEADER_SIZE,
    ]) {
      expect(refusal(bytes.subarray(0, cut))).toMatch(/truncated/);
    }
  });

  it('refuse another version and say which', () => {
    const bytes = sample();
    new DataView(bytes.buffer).setUint32(8, 7, true);
    expect(refusal(bytes)).toMatch(/format version 7; this lguest reads version 1 only/);
  });

  it('refuse what is not a snapshot, and a migration stream', () => {
    expect(refusal(new TextEncoder().encode('#!/bin/sh\necho hello, this is not a snapshot at all\n'))).toMatch(
      /not an lguest snapshot: wrong magic/,
    );
    const stream = sample();
    stream.set(new TextEncoder().encode(STREAM_MAGIC));
    expect(refusal(stream)).toMatch(/it is a migration stream/);
  });

  it('refuse a damaged section header and bytes after the end', () => {
    const bytes = sample();
    bytes[HEADER_SIZE + 16 + 3] = 0xff; // the first section's length: 4 GiB and more
    expect(refusal(bytes)).toMatch(/section header is damaged/);
    const longer = new Uint8Array(sample().length + 3);
    longer.set(sample());
    expect(refusal(longer)).toMatch(/3 bytes after its end/);
  });
});

describe('the section stream', () => {
  it('yields sections as their last byte arrives, one byte at a time', () => {
    const parts = [
      encodeHeader(STREAM_MAGIC),
      encodeSection('a', new Uint8Array([1, 2, 3])),
      encodeSection('b', new Uint8Array(0)),
    ];
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const reader = new SectionReader(STREAM_MAGIC, 'the stream');
    const got: string[] = [];
    for (let i = 0; i < all.length; i++) {
      reader.push(all.subarray(i, i + 1));
      for (let s = reader.next(); s; s = reader.next()) got.push(`${s.name}:${s.data.length}@${i}`);
    }
    expect(got).toEqual([`a:3@${HEADER_SIZE + SECTION_HEADER_SIZE + 2}`, `b:0@${all.length - 1}`]);
  });

  it('refuses a snapshot file where a stream is expected', () => {
    const reader = new SectionReader(STREAM_MAGIC, 'the stream');
    reader.push(encodeHeader(FILE_MAGIC));
    expect(() => reader.next()).toThrow(/not an lguest migration stream \(it is a snapshot file\)/);
  });
});
