// The look at a kernel file before a boot: a gzip'd vmlinux (as Linux trees ship it for
// debuggers) gets a sentence that says how to boot it.

import { gzipSync } from 'node:zlib';
import { checkKernelImage } from './kernel';
import { LauncherExit } from './errors';

describe('checkKernelImage', () => {
  it('says to unpack a gzip-compressed kernel first', () => {
    const image = new Uint8Array(gzipSync(Buffer.from('\x7fELF not really')));
    expect(() => checkKernelImage(image, "'vmlinux.gz'")).toThrow(LauncherExit);
    expect(() => checkKernelImage(image, "'vmlinux.gz'")).toThrow(
      "'vmlinux.gz' is gzip-compressed: unpack it first (gunzip -k 'vmlinux.gz') and boot the vmlinux inside",
    );
  });
});
