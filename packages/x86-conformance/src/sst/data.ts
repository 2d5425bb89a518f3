// Where the SingleStepTests data lives and the side files that go with it: the per-opcode
// undefined-flags masks (metadata.json) and the revocation list. The data is committed in
// this package (testdata/sst); `LGUEST_SST_DIR` points the kit at another copy, for example
// the full upstream files with all their tests.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const SST_DIR_ENV = 'LGUEST_SST_DIR';

/**
 * The SST data directory (the one holding `286/` and `386/`): `$LGUEST_SST_DIR` if set, else
 * this package's `testdata/sst`, else `<repo>/../shared/testdata/sst`. The package is found by
 * walking up from `from` (default: the working directory). Throws, naming every place it
 * looked, when none exists.
 */
export function sstDir(from = process.cwd()): string {
  const env = process.env[SST_DIR_ENV];
  if (env) {
    if (!existsSync(join(env, '286')) && !existsSync(join(env, '386'))) {
      throw new Error(`${SST_DIR_ENV}=${env} has neither a 286/ nor a 386/ folder of MOO files`);
    }
    return resolve(env);
  }
  const tried: string[] = [];
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    for (const candidate of [
      join(dir, 'testdata/sst'),
      join(dir, 'packages/x86-conformance/testdata/sst'),
      join(dir, '../shared/testdata/sst'),
    ]) {
      if (existsSync(join(candidate, '286')) || existsSync(join(candidate, '386'))) return candidate;
      tried.push(candidate);
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `SingleStepTests data not found. It is committed in packages/x86-conformance/testdata/sst; ` +
      `restore it there or set ${SST_DIR_ENV}. Looked in:\n  ${tried.slice(0, 6).join('\n  ')}`,
  );
}

/** The 286 test files (`XX.MOO.gz`, `XX.R.MOO.gz`), sorted, as paths. */
export function list286(dir: string): string[] {
  const d = join(dir, '286');
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => /^[0-9A-F]{2}(\.[0-7])?\.MOO(\.gz)?$/i.test(f))
    .sort()
    .map((f) => join(d, f));
}

/** The 386 test files, sorted, as paths. */
export function list386(dir: string): string[] {
  const d = join(dir, '386');
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => /\.MOO(\.gz)?$/i.test(f))
    .sort()
    .map((f) => join(d, f));
}

/** Opcode key and ModRM reg of a test file, from its name: `F6.6.MOO.gz` → F6, 6. */
export function opcodeOfFile(path: string): { opcode: string; reg?: number } {
  const m = /^([0-9A-F]{2})(?:\.([0-7]))?\.MOO/i.exec(path.slice(path.lastIndexOf('/') + 1));
  if (!m) throw new Error(`${path}: not a SingleStepTests file name (XX.MOO or XX.R.MOO)`);
  return { opcode: m[1].toUpperCase(), reg: m[2] === undefined ? undefined : Number(m[2]) };
}

/** Per-opcode facts from upstream metadata.json. */
export interface OpcodeInfo {
  status: string;
  /** FLAGS bits that are defined (compare them); 0xFFFF when every flag is. */
  flagsMask: number;
}

interface MetadataEntry {
  status?: string;
  'flags-mask'?: number;
  reg?: Record<string, MetadataEntry>;
}

/**
 * Reads `metadata.json` and returns a lookup by file. A group file `XX.R` takes the entry
 * `opcodes.XX.reg.R`; a single file for a group opcode takes reg 0's status and the flags
 * that are defined under every reg. A file with no entry is an error: the kit will not guess
 * its flags.
 */
export function loadMetadata(path: string): (file: string) => OpcodeInfo {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { opcodes?: Record<string, MetadataEntry> };
  const opcodes = json.opcodes;
  if (!opcodes) throw new Error(`${path}: no "opcodes" object`);
  return (file) => {
    const { opcode, reg } = opcodeOfFile(file);
    const top = opcodes[opcode];
    const missing = (): Error =>
      new Error(`${path}: no entry for ${opcode}${reg === undefined ? '' : '.' + reg} (needed by ${file})`);
    if (!top) throw missing();
    if (reg !== undefined || !top.reg) {
      const entry = reg === undefined ? top : top.reg?.[String(reg)];
      if (!entry || entry.status === undefined) throw missing();
      return { status: entry.status, flagsMask: entry['flags-mask'] ?? 0xffff };
    }
    // One file for a whole group (8F, C6, C7: reg 0 plus #UD probes): reg 0 gives the
    // status, and a flag undefined under any reg is undefined for the file.
    const entries = Object.values(top.reg);
    if (!top.reg['0']?.status) throw missing();
    const flagsMask = entries.reduce((m, e) => m & (e['flags-mask'] ?? 0xffff), 0xffff);
    return { status: top.reg['0'].status, flagsMask };
  };
}

/** Reads a revocation list: one hex hash per line, `#` comments. Lower-cased. */
export function loadRevocations(path: string): Set<string> {
  const set = new Set<string>();
  if (!existsSync(path)) return set;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const s = line.trim();
    if (!s || s.startsWith('#')) continue;
    if (!/^[0-9a-f]{40}$/i.test(s)) throw new Error(`${path}: "${s}" is not a 40-digit hex hash`);
    set.add(s.toLowerCase());
  }
  return set;
}
