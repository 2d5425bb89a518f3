// The build step of this package: writes the C headers the guest kernel, its drivers and
// the switcher compile against, generated from the TypeScript descriptions so there is one
// source of truth. Usage: run-ts.mjs src/gen-headers.ts OUTDIR (the package's `build` script
// passes build/include; compile with -I OUTDIR and #include <lguest/abi.h>).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateHeaders } from './headers';

/** Writes every header below `outDir`; returns the paths written. */
export function writeHeaders(outDir: string): string[] {
  return generateHeaders().map(({ path, text }) => {
    const file = join(outDir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  });
}

const outDir = process.argv[2];
if (process.argv[1]?.endsWith('gen-headers.ts')) {
  if (!outDir) {
    console.error('usage: gen-headers.ts OUTDIR   (writes OUTDIR/lguest/*.h)');
    process.exit(2);
  }
  const written = writeHeaders(outDir);
  console.log(`gen-headers: wrote ${written.length} headers to ${join(outDir, 'lguest')}`);
}
