// The look at a kernel file before a boot: a gzip'd vmlinux (as Linux trees ship it for
// debuggers) gets a sentence that says how to boot it.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readKernelImage } from './image';
import { UsageError } from './options';

describe('readKernelImage', () => {
  it('says to unpack a gzip-compressed kernel first', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lguest-image-')), 'vmlinux.gz');
    writeFileSync(file, gzipSync(Buffer.from('\x7fELF not really')));
    expect(() => readKernelImage(file, 'vmlinux.gz', '')).toThrow(UsageError);
    expect(() => readKernelImage(file, 'vmlinux.gz', '')).toThrow(
      "'vmlinux.gz' is gzip-compressed: unpack it first (gunzip -k 'vmlinux.gz') and boot the vmlinux inside",
    );
  });
});
