// The SST suite as a list of files to run, each with what the runner must know about it:
// the 286 captures with their metadata flag masks, the revocation list and the 286-vs-386
// difference classes; the 386 sample as it is. Both the Jest test and the CLI start here.

import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DIFFERENCES_286_ON_386 } from './differences';
import { list286, list386, loadMetadata, loadRevocations, sstDir } from './data';
import { readMoo } from './moo';
import type { FileInfo, FileResult, SstRunner } from './runner';

export interface SstFile extends FileInfo {
  path: string;
  /** `286` or `386`: which capture set the file belongs to. */
  set: '286' | '386';
}

/** Every file of the suite in `dir` (default: `sstDir()`), 286 set first. */
export function sstFiles(dir = sstDir()): SstFile[] {
  const out: SstFile[] = [];
  const files286 = list286(dir);
  if (files286.length) {
    const info = loadMetadata(join(dir, '286/metadata.json'));
    const revoked = loadRevocations(join(dir, '286/revocation_list.txt'));
    for (const path of files286) {
      out.push({
        path,
        set: '286',
        name: basename(path),
        flagsMask: info(path).flagsMask,
        revoked,
        differences: DIFFERENCES_286_ON_386,
      });
    }
  }
  // No 80386 metadata or revocation list was available; the ADD sample has no undefined flags.
  for (const path of list386(dir)) {
    out.push({
      path,
      set: '386',
      name: `386/${basename(path)}`,
      flagsMask: 0xffff,
      revoked: new Set(),
      differences: [],
    });
  }
  return out;
}

/** Reads `file` and runs it (or `only` some of its tests) on `runner`. */
export function runSstFile(runner: SstRunner, file: SstFile, only?: ReadonlySet<number>): FileResult {
  const moo = readMoo(readFileSync(file.path), file.name);
  return runner.runFile(moo, file, only);
}
