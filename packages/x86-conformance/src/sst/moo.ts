// The MOO reader. SingleStepTests ship their hardware captures as MOO files: a flat run of
// tagged chunks (`MOO `, `META`, then one `TEST` per captured instruction), each test holding
// the instruction bytes, the state the chip started in and the registers and bytes it changed.
// This reader turns one file (gzip or plain) into plain objects the runner can replay. It is
// strict about what it understands — counts, lengths, register masks — and steps over chunk
// tags it does not know by their length, as the format asks.

import { gunzipSync } from 'node:zlib';

/**
 * Registers in one canonical order for both register-file variants. The 16-bit `REGS` file
 * and the 32-bit `RG32` file number their registers differently; both are mapped onto this.
 */
export const enum Reg {
  EAX = 0,
  EBX,
  ECX,
  EDX,
  ESI,
  EDI,
  EBP,
  ESP,
  CS,
  DS,
  ES,
  FS,
  GS,
  SS,
  EIP,
  EFLAGS,
  CR0,
  CR3,
  DR6,
  DR7,
}

export const REG_COUNT = 20;

/** Display names in `Reg` order; 16-bit files show the 16-bit names. */
export const REG_NAMES_32 = [
  'EAX',
  'EBX',
  'ECX',
  'EDX',
  'ESI',
  'EDI',
  'EBP',
  'ESP',
  'CS',
  'DS',
  'ES',
  'FS',
  'GS',
  'SS',
  'EIP',
  'EFLAGS',
  'CR0',
  'CR3',
  'DR6',
  'DR7',
] as const;
export const REG_NAMES_16 = [
  'AX',
  'BX',
  'CX',
  'DX',
  'SI',
  'DI',
  'BP',
  'SP',
  'CS',
  'DS',
  'ES',
  'FS',
  'GS',
  'SS',
  'IP',
  'FLAGS',
  'CR0',
  'CR3',
  'DR6',
  'DR7',
] as const;

/** `REGS` bit n holds this register: AX BX CX DX CS SS DS ES SP BP SI DI IP FLAGS. */
const REGS_ORDER: readonly Reg[] = [
  Reg.EAX,
  Reg.EBX,
  Reg.ECX,
  Reg.EDX,
  Reg.CS,
  Reg.SS,
  Reg.DS,
  Reg.ES,
  Reg.ESP,
  Reg.EBP,
  Reg.ESI,
  Reg.EDI,
  Reg.EIP,
  Reg.EFLAGS,
];

/** `RG32` bit n holds this register: CR0 CR3 EAX EBX ECX EDX ESI EDI EBP ESP CS DS ES FS GS SS EIP EFLAGS DR6 DR7. */
const RG32_ORDER: readonly Reg[] = [
  Reg.CR0,
  Reg.CR3,
  Reg.EAX,
  Reg.EBX,
  Reg.ECX,
  Reg.EDX,
  Reg.ESI,
  Reg.EDI,
  Reg.EBP,
  Reg.ESP,
  Reg.CS,
  Reg.DS,
  Reg.ES,
  Reg.FS,
  Reg.GS,
  Reg.SS,
  Reg.EIP,
  Reg.EFLAGS,
  Reg.DR6,
  Reg.DR7,
];

/** A register file: which registers are present (bit `1 << Reg`) and their values. */
export interface RegisterFile {
  /** Set of present registers, bit n = `Reg` n (canonical order, not the file's own). */
  present: number;
  /** Values indexed by `Reg`; absent registers read 0. Unsigned. */
  values: Uint32Array;
}

/** Physical-address/byte pairs, as two parallel arrays of equal length. */
export interface RamList {
  addresses: Uint32Array;
  values: Uint8Array;
}

/** The informational effective-address record of 386 tests (`EA32`). */
export interface EffectiveAddress {
  segment: number;
  selector: number;
  base: number;
  limit: number;
  offset: number;
  linear: number;
  physical: number;
}

export interface MooState {
  regs: RegisterFile;
  /** Undefined-bit masks (`RMSK`/`RM32`) for this state, if the file has them. */
  masks?: RegisterFile;
  ram: RamList;
  ea?: EffectiveAddress;
  queue?: Uint8Array;
}

export interface MooException {
  vector: number;
  /** Physical address of the pushed FLAGS word as recorded (bit 0 cleared in 286 data). */
  flagAddress: number;
}

export interface MooTest {
  index: number;
  /** Disassembly for display. */
  name: string;
  /** Instruction bytes, prefixes included, followed by the terminating `F4`. */
  bytes: Uint8Array;
  initial: MooState;
  /** Only what changed; absent registers and bytes keep their initial values. */
  final: MooState;
  exception?: MooException;
  /** SHA-1 of the test, lower-case hex; '' when the test has no `HASH` chunk. */
  hash: string;
  /** Bus-cycle records present (only counted; functional cores do not need them). */
  cycles: number;
}

export interface MooMeta {
  setMajor: number;
  setMinor: number;
  /** 6 Harris 80C286, 7 Intel 386EX, 8 Intel 80286, lower values for earlier chips. */
  cpuType: number;
  /** First opcode byte(s); 0xFFFFFFFF for mixed files. */
  opcode: number;
  mnemonic: string;
  /** As written; upstream 286 files hold a running total here, so trust `MooFile.count`. */
  testCount: number;
  seed: bigint;
  /** 0 real, 1 protected, 2 virtual-8086, 3 unreal. */
  mode: number;
  /** ModRM reg of a group file, 0xFF for none (older writers leave 0). */
  groupExtension: number;
}

export interface MooFile {
  major: number;
  minor: number;
  /** Four-character CPU id from the header, e.g. `C286`, `386E`. */
  cpuId: string;
  /** Number of tests the header announces; equals `tests.length`. */
  count: number;
  /** Whether registers come as `RG32` (32-bit) rather than `REGS`. */
  wide: boolean;
  meta: MooMeta;
  /** File-wide undefined-bit masks (`RMSK`/`RM32`), if present. */
  masks?: RegisterFile;
  tests: MooTest[];
}

/** A MOO file that breaks the format; says where and what. */
export class MooFormatError extends Error {
  constructor(what: string, offset: number, source = '') {
    super(`${source ? source + ': ' : ''}bad MOO file at byte ${offset}: ${what}`);
    this.name = 'MooFormatError';
  }
}

/** Decompresses when the bytes start with the gzip magic; otherwise returns them as they are. */
export function unwrapGzip(bytes: Uint8Array): Uint8Array {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/**
 * Parses a MOO file (gzip or plain). Throws `MooFormatError` for anything malformed:
 * a chunk running past its parent, a bad register mask, a count that does not add up, a
 * missing required chunk. `source` names the file in error messages.
 */
export function readMoo(input: Uint8Array, source = ''): MooFile {
  const raw = unwrapGzip(input);
  // A plain Uint8Array view: Buffer's slice() would share memory instead of copying.
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const r: ChunkReader = new ChunkReader(bytes, source);
  let header: { major: number; minor: number; count: number; cpuId: string } | undefined;
  let meta: MooMeta | undefined;
  let masks: RegisterFile | undefined;
  let wide: boolean | undefined;
  const tests: MooTest[] = [];

  let first = true;
  for (let at = 0; at < bytes.length;) {
    const c = r.chunk(at, bytes.length);
    if (first && c.tag !== 'MOO ') r.fail(`file must start with a "MOO " chunk, found "${c.tag}"`, at);
    first = false;
    switch (c.tag) {
      case 'MOO ':
        if (header) r.fail('second "MOO " header', at);
        if (c.length < 12) r.fail(`"MOO " payload is ${c.length} bytes, need 12`, at);
        header = {
          major: bytes[c.start],
          minor: bytes[c.start + 1],
          count: r.u32(c.start + 4),
          cpuId: r.ascii(c.start + 8, 4),
        };
        if (header.major !== 1) r.fail(`format version ${header.major}.${header.minor} is not supported (1.x is)`, at);
        break;
      case 'META':
        if (meta) r.fail('second META chunk', at);
        if (c.length < 31) r.fail(`META payload is ${c.length} bytes, need 31`, at);
        meta = {
          setMajor: bytes[c.start],
          setMinor: bytes[c.start + 1],
          cpuType: bytes[c.start + 2],
          opcode: r.u32(c.start + 3),
          mnemonic: r.ascii(c.start + 7, 8).trimEnd(),
          testCount: r.u32(c.start + 15),
          seed: r.u64(c.start + 19),
          mode: bytes[c.start + 27],
          groupExtension: bytes[c.start + 28],
        };
        break;
      case 'RMSK':
      case 'RM32':
        if (masks) r.fail('second file-wide register mask', at);
        wide = checkWidth(r, wide, c.tag === 'RM32', at);
        masks = r.registers(c.start, c.end, c.tag === 'RM32');
        break;
      case 'TEST': {
        if (!header || !meta) r.fail('TEST before the "MOO " and META chunks', at);
        const t = readTest(r, c.start, c.end);
        wide = checkWidth(r, wide, t.wide, at);
        tests.push(t.test);
        break;
      }
      default:
        break; // unknown top-level chunk: skipped by its length
    }
    at = c.end;
  }
  if (!header) r.fail('no "MOO " header', 0);
  if (!meta) r.fail('no META chunk', 0);
  if (tests.length !== header.count) {
    r.fail(`header announces ${header.count} tests, file holds ${tests.length}`, 0);
  }
  return { ...header, wide: wide ?? false, meta, masks, tests };
}

function checkWidth(r: ChunkReader, known: boolean | undefined, wide: boolean, at: number): boolean {
  if (known !== undefined && known !== wide) r.fail('file mixes REGS and RG32 register files', at);
  return wide;
}

/** Reads one TEST payload [start, end). */
function readTest(r: ChunkReader, start: number, end: number): { test: MooTest; wide: boolean } {
  if (end - start < 4) r.fail('TEST payload too short for its index', start);
  const index = r.u32(start);
  let name = '';
  let bytes: Uint8Array | undefined;
  let initial: ReturnType<typeof readState> | undefined;
  let final: ReturnType<typeof readState> | undefined;
  let exception: MooException | undefined;
  let hash = '';
  let cycles = 0;
  for (let at = start + 4; at < end;) {
    const c = r.chunk(at, end);
    switch (c.tag) {
      case 'NAME':
        name = r.ascii(c.start + 4, r.sized(c, at));
        break;
      case 'BYTS':
        bytes = r.bytes.slice(c.start + 4, c.start + 4 + r.sized(c, at));
        break;
      case 'INIT':
        if (initial) r.fail('second INIT', at);
        initial = readState(r, c.start, c.end);
        break;
      case 'FINA':
        if (final) r.fail('second FINA', at);
        final = readState(r, c.start, c.end);
        break;
      case 'EXCP':
        if (c.length !== 5) r.fail(`EXCP payload is ${c.length} bytes, need 5`, at);
        exception = { vector: r.bytes[c.start], flagAddress: r.u32(c.start + 1) };
        break;
      case 'HASH':
        if (c.length !== 20) r.fail(`HASH payload is ${c.length} bytes, need 20`, at);
        hash = Buffer.from(r.bytes.subarray(c.start, c.end)).toString('hex');
        break;
      case 'CYCL':
        if (c.length < 4) r.fail('CYCL payload too short for its count', at);
        cycles = r.u32(c.start);
        if (4 + cycles * 15 !== c.length) r.fail(`CYCL holds ${c.length - 4} bytes for ${cycles} records of 15`, at);
        break;
      default:
        break; // GMET and anything newer: skipped by length
    }
    at = c.end;
  }
  if (!bytes) r.fail(`test ${index} has no BYTS`, start);
  if (!initial) r.fail(`test ${index} has no INIT`, start);
  if (!final) r.fail(`test ${index} has no FINA`, start);
  const full = initial.wide ? 0xfffff : 0x3fff;
  if (initial.rawMask !== full) {
    r.fail(`test ${index}: INIT register mask 0x${initial.rawMask.toString(16)} is not complete`, start);
  }
  if (final.wide !== initial.wide && final.rawMask !== 0)
    r.fail(`test ${index}: INIT and FINA register widths differ`, start);
  return {
    test: { index, name, bytes, initial: initial.state, final: final.state, exception, hash, cycles },
    wide: initial.wide,
  };
}

/** Reads an INIT or FINA payload [start, end) of state sub-chunks. */
function readState(r: ChunkReader, start: number, end: number): { state: MooState; wide: boolean; rawMask: number } {
  let regs: RegisterFile | undefined;
  let rawMask = 0;
  let wide = false;
  let masks: RegisterFile | undefined;
  let ram: RamList | undefined;
  let ea: EffectiveAddress | undefined;
  let queue: Uint8Array | undefined;
  for (let at = start; at < end;) {
    const c = r.chunk(at, end);
    switch (c.tag) {
      case 'REGS':
      case 'RG32':
        if (regs) r.fail('second register file in one state', at);
        wide = c.tag === 'RG32';
        rawMask = wide ? r.u32(c.start) : r.u16(c.start);
        regs = r.registers(c.start, c.end, wide);
        break;
      case 'RMSK':
      case 'RM32':
        masks = r.registers(c.start, c.end, c.tag === 'RM32');
        break;
      case 'RAM ': {
        if (c.length < 4) r.fail('RAM payload too short for its count', at);
        const n = r.u32(c.start);
        if (4 + n * 5 !== c.length) r.fail(`RAM holds ${c.length - 4} bytes for ${n} entries of 5`, at);
        ram = { addresses: new Uint32Array(n), values: new Uint8Array(n) };
        for (let i = 0; i < n; i++) {
          ram.addresses[i] = r.u32(c.start + 4 + i * 5);
          ram.values[i] = r.bytes[c.start + 8 + i * 5];
        }
        break;
      }
      case 'EA32':
        if (c.length !== 23) r.fail(`EA32 payload is ${c.length} bytes, need 23`, at);
        ea = {
          segment: r.bytes[c.start],
          selector: r.u16(c.start + 1),
          base: r.u32(c.start + 3),
          limit: r.u32(c.start + 7),
          offset: r.u32(c.start + 11),
          linear: r.u32(c.start + 15),
          physical: r.u32(c.start + 19),
        };
        break;
      case 'QUEU':
        queue = r.bytes.slice(c.start + 4, c.start + 4 + r.sized(c, at));
        break;
      default:
        break;
    }
    at = c.end;
  }
  return {
    state: {
      regs: regs ?? { present: 0, values: new Uint32Array(REG_COUNT) },
      masks,
      ram: ram ?? { addresses: new Uint32Array(0), values: new Uint8Array(0) },
      ea,
      queue,
    },
    wide,
    rawMask,
  };
}

interface Chunk {
  tag: string;
  length: number;
  /** Payload [start, end). */
  start: number;
  end: number;
}

/** Bounds-checked little-endian access to the file bytes. */
class ChunkReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: string, offset: number): never {
    throw new MooFormatError(what, offset, this.source);
  }

  /** The chunk framed at `at`, which must end by `limit`. */
  chunk(at: number, limit: number): Chunk {
    if (at + 8 > limit) this.fail(`${limit - at} stray bytes where a chunk header should be`, at);
    const length = this.view.getUint32(at + 4, true);
    const end = at + 8 + length;
    const tag = this.ascii(at, 4);
    if (end > limit) this.fail(`chunk "${tag}" of ${length} bytes runs ${end - limit} bytes past its container`, at);
    return { tag, length, start: at + 8, end };
  }

  /** The u32 length prefix of a NAME/BYTS/QUEU payload, checked against the chunk. */
  sized(c: Chunk, at: number): number {
    if (c.length < 4) this.fail(`"${c.tag}" payload too short for its length`, at);
    const n = this.u32(c.start);
    if (4 + n !== c.length) this.fail(`"${c.tag}" says ${n} bytes but holds ${c.length - 4}`, at);
    return n;
  }

  /** A REGS/RMSK (16-bit) or RG32/RM32 (32-bit) payload [start, end), mapped to `Reg` order. */
  registers(start: number, end: number, wide: boolean): RegisterFile {
    const size = wide ? 4 : 2;
    const order = wide ? RG32_ORDER : REGS_ORDER;
    if (end - start < size) this.fail('register file too short for its mask', start);
    const mask = wide ? this.u32(start) : this.u16(start);
    if (mask >>> order.length !== 0) {
      this.fail(`register mask 0x${mask.toString(16)} has bits above ${order.length - 1}`, start);
    }
    const values = new Uint32Array(REG_COUNT);
    let present = 0;
    let at = start + size;
    for (let bit = 0; bit < order.length; bit++) {
      if (!(mask & (1 << bit))) continue;
      if (at + size > end)
        this.fail(`register mask 0x${mask.toString(16)} needs more values than the chunk holds`, start);
      values[order[bit]] = wide ? this.u32(at) : this.u16(at);
      present |= 1 << order[bit];
      at += size;
    }
    if (at !== end) this.fail(`register file has ${end - at} bytes beyond the values its mask names`, start);
    return { present, values };
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }
  ascii(at: number, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[at + i]);
    return s;
  }
}
