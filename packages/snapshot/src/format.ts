// The container every saved guest travels in: a snapshot file, or a live migration's TCP
// stream. Both are a header, then sections; each section is named, sized, and carries the
// SHA-256 of its bytes, so a flipped bit or a short file is found before anything is
// believed, and the reason names the section.
//
//   header (32 bytes): magic (8 bytes: "LGSNAP\r\n" for a file, "LGMIGR\r\n" for a stream),
//                      version u32, flags u32 (0), reserved (16 bytes, 0)
//   section:           name (16 bytes, ASCII, NUL padded), length u32, reserved u32 (0),
//                      SHA-256 of the payload (32 bytes), payload (length bytes)
//
// All numbers are little-endian. A file ends with the section named "end" (empty payload):
// a file cut short anywhere, even between sections, is refused as truncated. The magic's
// CR LF catches a file mangled by a text-mode transfer, as PNG's does.

import { createHash } from 'node:crypto';

/** The format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;
export const FILE_MAGIC = 'LGSNAP\r\n';
export const STREAM_MAGIC = 'LGMIGR\r\n';
export const HEADER_SIZE = 32;
export const SECTION_HEADER_SIZE = 56;
const NAME_SIZE = 16;
/** The last section of a file. */
export const END_SECTION = 'end';
/** No section is bigger (a corrupt length must not make us wait for, or allocate, 4 GiB). */
export const MAX_SECTION = 0x7000_0000;

/** A snapshot or stream that cannot be used, and why (said to the user as is). */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

export interface Section {
  readonly name: string;
  readonly data: Uint8Array;
}

function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}

/** The 32-byte header for `magic`. */
export function encodeHeader(magic: string): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out.set(new TextEncoder().encode(magic));
  new DataView(out.buffer).setUint32(8, SNAPSHOT_VERSION, true);
  return out;
}

/** One section: its 56-byte header, then the payload. */
export function encodeSection(name: string, data: Uint8Array): Uint8Array {
  if (!/^[a-z0-9.-]{1,16}$/.test(name)) throw new Error(`bad section name '${name}'`);
  if (data.length > MAX_SECTION) throw new Error(`section '${name}' is too big (${data.length} bytes)`);
  const out = new Uint8Array(SECTION_HEADER_SIZE + data.length);
  out.set(new TextEncoder().encode(name));
  new DataView(out.buffer).setUint32(NAME_SIZE, data.length, true);
  out.set(sha256(data), NAME_SIZE + 8);
  out.set(data, SECTION_HEADER_SIZE);
  return out;
}

/** A whole snapshot file: header, the sections in order, the end section. */
export function encodeSnapshot(sections: readonly Section[]): Uint8Array {
  const parts = [encodeHeader(FILE_MAGIC), ...sections.map((s) => encodeSection(s.name, s.data))];
  parts.push(encodeSection(END_SECTION, new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Checks a header; throws SnapshotError saying what is wrong. `what` names the source. */
export function checkHeader(bytes: Uint8Array, magic: string, what: string): void {
  if (bytes.length < HEADER_SIZE) {
    throw new SnapshotError(`${what} is truncated: ${bytes.length} bytes, less than its ${HEADER_SIZE}-byte header`);
  }
  const found = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (found !== magic) {
    const other =
      found === FILE_MAGIC ? ' (it is a snapshot file)' : found === STREAM_MAGIC ? ' (it is a migration stream)' : '';
    throw new SnapshotError(
      `${what} is not ${magic === FILE_MAGIC ? 'an lguest snapshot' : 'an lguest migration stream'}${other}: wrong magic`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      `${what} has format version ${version}; this lguest reads version ${SNAPSHOT_VERSION} only`,
    );
  }
  if (view.getUint32(12, true) !== 0) throw new SnapshotError(`${what} has unknown flags in its header`);
}

/**
 * Reads sections from bytes that arrive in pieces (a socket) or all at once (a file): push()
 * what came, take complete, checked sections with next(). Throws SnapshotError for a section
 * whose checksum or header is wrong.
 */
export class SectionReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private headerSeen = false;

  constructor(
    private readonly magic: string,
    private readonly what: string,
  ) {}

  /** Bytes received and not yet taken. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete section, or null until more bytes come. */
  next(): Section | null {
    if (!this.headerSeen) {
      if (this.buffered < HEADER_SIZE) return null;
      checkHeader(this.take(HEADER_SIZE), this.magic, this.what);
      this.headerSeen = true;
    }
    if (this.buffered < SECTION_HEADER_SIZE) return null;
    const head = this.peek(SECTION_HEADER_SIZE);
    const view = new DataView(head.buffer, head.byteOffset, SECTION_HEADER_SIZE);
    const nameBytes = head.subarray(0, NAME_SIZE);
    const end = nameBytes.indexOf(0);
    const name = new TextDecoder('latin1').decode(end < 0 ? nameBytes : nameBytes.subarray(0, end));
    const length = view.getUint32(NAME_SIZE, true);
    if (!/^[a-z0-9.-]{1,16}$/.test(name) || length > MAX_SECTION || view.getUint32(NAME_SIZE + 4, true) !== 0) {
      throw new SnapshotError(`${this.what} is corrupt: a section header is damaged (after ${this.offset} bytes)`);
    }
    if (this.buffered < SECTION_HEADER_SIZE + length) return null;
    this.take(SECTION_HEADER_SIZE);
    const data = this.take(length);
    const digest = sha256(data);
    const want = head.subarray(NAME_SIZE + 8, NAME_SIZE + 40);
    for (let i = 0; i < 32; i++) {
      if (digest[i] !== want[i])
        throw new SnapshotError(`${this.what} is corrupt: section '${name}' fails its checksum`);
    }
    this.consumed += SECTION_HEADER_SIZE + length;
    return { name, data };
  }

  private consumed = HEADER_SIZE;

  /** Bytes of the input taken so far (for messages). */
  get offset(): number {
    return this.consumed;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length < n) this.coalesce();
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    if (this.chunks[0].length < n) this.coalesce();
    const head = this.chunks[0];
    const out = head.subarray(0, n);
    if (n === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return out;
  }

  private coalesce(): void {
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.chunks = [all];
  }
}

/**
 * A whole snapshot file's sections, by name (the end section not included). Throws
 * SnapshotError: wrong magic or version, a damaged section, a file cut short, a duplicate
 * section, bytes after the end.
 */
export function decodeSnapshot(bytes: Uint8Array, what = 'the snapshot'): Map<string, Uint8Array> {
  const reader = new SectionReader(FILE_MAGIC, what);
  reader.push(bytes);
  const sections = new Map<string, Uint8Array>();
  for (;;) {
    const s = reader.next();
    if (!s) {
      throw new SnapshotError(
        `${what} is truncated: it ends after ${bytes.length} bytes, before its last section` +
          (sections.size ? ` (the last whole one is '${[...sections.keys()].pop()}')` : ''),
      );
    }
    if (s.name === END_SECTION) break;
    if (sections.has(s.name)) throw new SnapshotError(`${what} is corrupt: section '${s.name}' appears twice`);
    sections.set(s.name, s.data);
  }
  if (reader.pending > 0) throw new SnapshotError(`${what} is corrupt: ${reader.pending} bytes after its end`);
  return sections;
}

/** A section's bytes, or SnapshotError saying it is missing. */
export function requireSection(sections: Map<string, Uint8Array>, name: string, what = 'the snapshot'): Uint8Array {
  const data = sections.get(name);
  if (!data) throw new SnapshotError(`${what} has no '${name}' section`);
  return data;
}

/** A JSON value as a section payload. */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A section payload as JSON; SnapshotError if it is not. */
export function decodeJson<T>(data: Uint8Array, name: string, what = 'the snapshot'): T {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) as T;
  } catch {
    throw new SnapshotError(`${what} is corrupt: section '${name}' is not the JSON it should be`);
  }
}
