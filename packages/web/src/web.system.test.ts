// `lguest web` end to end, as a user sees it: the built command boots the bundled guest and
// serves the page; headless Chromium (Debian's chromium, driven by puppeteer-core) opens it,
// types `echo hi` into the xterm.js console and reads the answer off the screen, finds the
// switcher drawn at 0xFFC00000 in the host's and the shadow's pictures (the pixel there is the
// switcher's colour), watches the hypercall count rise, and saves a screenshot (the path is
// printed; LGUEST_WEB_SCREENSHOT overrides it). Closing the page leaves the guest running:
// `poweroff` typed afterwards into a second page still ends it with status 0. With two
// guests (`--guest` twice) there are two panels, and what is typed in one reaches only its
// guest. Two real Linux guests on one --sharenet, one sending frames to the other: the page
// draws the DMA between them (lg's per-receiver counters), the count rising as frames go.
//
// Needs `npm run build` (the command, the guest, the page) and /usr/bin/chromium
// (or LGUEST_CHROMIUM); .ci/run installs it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const root = join(__dirname, '..', '..', '..');
const LGUEST = join(root, 'packages', 'cli', 'bin', 'lguest.mjs');
const CHROMIUM = process.env.LGUEST_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.LGUEST_WEB_SCREENSHOT ?? join(__dirname, '..', 'build', 'web-view.png');
const DMA_SCREENSHOT = join(dirname(SCREENSHOT), 'web-view-dma.png');
const LINUX_DIR = process.env.LGUEST_LINUX_DIR ?? join(root, '..', 'shared', 'testdata', 'linux-2.6.23');
const BZIMAGE = join(LINUX_DIR, 'bzImage-2.6.23.17-lguest');
const LGNET = join(root, 'packages', 'net', 'build', 'lgnet.elf');
const SWITCHER_RGB = [0xff, 0x4d, 0x4d];
/** Generous: the machine may be shared and slow; nothing here measures time. */
const BOUND_MS = 180_000;

jest.setTimeout(6 * BOUND_MS);

let child: ChildProcess | null = null;
let browser: Browser | null = null;
let profile = '';
let stderr = '';

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) child.kill('SIGTERM');
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Polls `check` until it gives a value, or fails saying what was awaited. */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < BOUND_MS) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gave up waiting for ${what}${last ? ` (${String(last)})` : ''}; lguest said: ${stderr}`);
}

/**
 * A console's screen as text, one line per row, as xterm.js shows it. It is scrolled into
 * view first: xterm.js does not draw a terminal that is off the screen.
 */
async function screen(page: Page, guest = 0): Promise<string[]> {
  await page.$eval(`#guest-${guest} .console`, (e) => e.scrollIntoView({ block: 'nearest' }));
  return page.$$eval(`#guest-${guest} .xterm-rows > div`, (rows) => rows.map((r) => (r.textContent ?? '').trimEnd()));
}

/** Starts the built `lguest ARGS…` and waits for the page's address on its stdout. */
async function startLguest(args: string[]): Promise<{ url: string; exited: Promise<number | null> }> {
  for (const [file, fix] of [
    [LGUEST.replace('bin/lguest.mjs', 'dist/main.js'), 'npm run build'],
    [join(root, 'packages', 'web', 'dist', 'page', 'app.js'), 'npm run build'],
    [CHROMIUM, 'apt-get install chromium (or set LGUEST_CHROMIUM)'],
  ]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: ${fix}`);
  }
  stderr = '';
  const proc = spawn(process.execPath, [LGUEST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  proc.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await until('the page address on stdout', async () => /^http:\/\/127\.0\.0\.1:\d+\/$/m.exec(stdout)?.[0]);
  return { url, exited };
}

async function launchBrowser(): Promise<Browser> {
  if (browser) return browser;
  profile = mkdtempSync(join(tmpdir(), 'lguest-web-chromium-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

/** Types a line into guest `guest`'s console. */
async function typeLine(page: Page, guest: number, text: string): Promise<void> {
  await page.click(`#guest-${guest} .console .xterm`);
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

async function counter(page: Page, stat: string): Promise<number> {
  return Number(await page.$eval(`#guest-0 [data-stat="${stat}"]`, (e) => e.textContent));
}

/** The colour drawn at the first page of the row starting at `base` in a picture, or null. */
function pixelAt(page: Page, picture: string, base: string): Promise<number[] | null> {
  return page.$eval(
    `#guest-0 canvas[data-picture="${picture}"]`,
    (canvas, base) => {
      const c = canvas as HTMLCanvasElement;
      const rows = JSON.parse(c.dataset.rows ?? '[]') as { base: string; y: number }[];
      const row = rows.find((r) => r.base === base);
      if (!row) return null;
      const d = c.getContext('2d')!.getImageData(Number(c.dataset.x0), row.y + 1, 1, 1).data;
      return [d[0], d[1], d[2]];
    },
    base,
  );
}

async function openPage(url: string): Promise<Page> {
  const page = await browser!.newPage();
  await page.setViewport({ width: 1500, height: 1250 });
  await page.goto(url);
  return page;
}

test('lguest web: the console, the switcher at 0xFFC00000 and the trips, in Chromium', async () => {
  const { url, exited } = await startLguest(['web', '--port=0']);
  await launchBrowser();
  const page = await openPage(url);

  // The shell's prompt on the screen, then our command and its answer.
  await until('the shell prompt in the console', async () => (await screen(page)).some((l) => l === '#'));
  const before = await until('hypercalls counted', async () => (await counter(page, 'hypercalls')) || null);
  await typeLine(page, 0, 'echo hi');
  const lines = await until('the answer to echo hi', async () => {
    const l = await screen(page);
    const at = l.findIndex((s) => s === '# echo hi');
    return at >= 0 && l[at + 1] === 'hi' ? l : null;
  });
  expect(lines).toContain('hi');

  // The switcher at the top of the launcher's address space and of lg's shadow.
  for (const picture of ['host', 'shadow']) {
    const rgb = await until(`the switcher drawn at 0xffc00000 in the ${picture} picture`, () =>
      pixelAt(page, picture, '0xffc00000'),
    );
    expect(rgb).toEqual(SWITCHER_RGB);
  }
  // Guest RAM is the launcher's region from 0: drawn at 0x00000000 in its colour, not the switcher's.
  expect(await pixelAt(page, 'host', '0x00000000')).not.toEqual(SWITCHER_RGB);

  // The trips: typing made the guest take more hypercalls.
  const after = await until('the hypercall count to rise', async () => {
    const n = await counter(page, 'hypercalls');
    return n > before ? n : null;
  });
  expect(after).toBeGreaterThan(before);
  expect(await counter(page, 'switches')).toBeGreaterThan(0);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`lguest web: screenshot saved at ${SCREENSHOT}`);

  // A view: closing the page stops nothing. A new page starts from the scrollback and
  // drives the same guest to its end.
  await page.close();
  const again = await openPage(url);
  await until('the scrollback in a new page', async () => (await screen(again)).some((l) => l === 'hi'));
  await typeLine(again, 0, 'poweroff');
  expect(await exited).toBe(0);
  child = null;
  await again.close();
});

test('lguest web with two guests: a panel each, each console its own guest', async () => {
  const { url, exited } = await startLguest(['web', '--port=0', '--guest', '32', '--guest', '32']);
  await launchBrowser();
  const page = await openPage(url);
  for (const g of [0, 1]) {
    await until(`guest ${g}'s prompt`, async () => (await screen(page, g)).some((l) => l === '#'));
  }
  expect(await page.$eval('#guest-1 h2', (e) => e.textContent)).toContain('guest#2');
  await typeLine(page, 1, 'echo second');
  await until('the second guest to answer', async () => (await screen(page, 1)).includes('second'));
  expect(await screen(page, 0)).not.toContain('second');
  // Each panel draws its own launcher's address space, the switcher at the top of both.
  for (const g of [0, 1]) {
    const rgb = await until(`the switcher in guest ${g}'s host picture`, () =>
      page.$eval(`#guest-${g} canvas[data-picture="host"]`, (canvas) => {
        const c = canvas as HTMLCanvasElement;
        const row = (JSON.parse(c.dataset.rows ?? '[]') as { base: string; y: number }[]).find(
          (r) => r.base === '0xffc00000',
        );
        if (!row) return null;
        const d = c.getContext('2d')!.getImageData(Number(c.dataset.x0), row.y + 1, 1, 1).data;
        return [d[0], d[1], d[2]];
      }),
    );
    expect(rgb).toEqual(SWITCHER_RGB);
  }
  await typeLine(page, 0, 'poweroff');
  await typeLine(page, 1, 'poweroff');
  expect(await exited).toBe(0);
  child = null;
});

/**
 * A "newc" initramfs whose /init is lgnet itself: the kernel hands init the words of its
 * command line it does not know (`rawsend 1000000`), and lgnet reads its mode from them.
 */
function lgnetInitramfs(file: string): void {
  const parts: Buffer[] = [];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(-b.length & 3)]);
  const entries: [string, number, Buffer][] = [
    ['dev', 0o40755, Buffer.alloc(0)],
    ['init', 0o100755, readFileSync(LGNET)],
    ['TRAILER!!!', 0, Buffer.alloc(0)],
  ];
  entries.forEach(([name, mode, data], i) => {
    const fields = [i + 1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    parts.push(pad(Buffer.from(`${header}${name}\0`, 'latin1')), pad(data));
  });
  writeFileSync(file, Buffer.concat(parts));
}

const haveLinux = existsSync(BZIMAGE);
if (!haveLinux) {
  if (process.env.CI === 'true')
    throw new Error(`${BZIMAGE} is missing: the Linux guest test data must be there under CI`);
  process.stderr.write(`\n*** lguest web, DMA between guests: NOT RUN — no Linux guest at ${BZIMAGE} ***\n\n`);
}

(haveLinux ? test : test.skip)(
  'lguest web with two Linux guests on one --sharenet: the DMA between them drawn as it happens',
  async () => {
    if (!existsSync(LGNET)) throw new Error(`${LGNET} is missing: npm run build`);
    const dir = mkdtempSync(join(tmpdir(), 'lguest-web-dma-'));
    const initrd = join(dir, 'lgnet.cpio');
    lgnetInitramfs(initrd);
    const ip = (a: string) => `ip=${a}::10.1.0.254:255.255.255.0::eth0:off`;
    // The first guest counts frames; the second sends a long stream of broadcast frames to it.
    const guest = (addr: string, mode: string) =>
      `--sharenet=webdma --initrd=${initrd} 64 ${BZIMAGE} console=hvc0 ${ip(addr)} ${mode}`;
    const { url } = await startLguest([
      'web',
      '--port=0',
      '--guest',
      guest('10.1.0.1', 'rawcount'),
      '--guest',
      guest('10.1.0.2', 'rawsend 1000000'),
    ]);
    await launchBrowser();
    const page = await openPage(url);
    // The picture of DMA between guests is there for two guests, before any frame moved.
    expect(await page.$eval('#dma', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$$eval('#dma .node', (n) => n.length)).toBe(2);
    const frames = () =>
      page.$eval('#dma text.flow-label[data-dma="1-0"]', (e) => Number((e as SVGTextElement).dataset.frames ?? 0));
    // Frames from the second guest into the first: the arrow appears, and its count rises.
    const first = await until('frames drawn from guest 2 to guest 1', async () => (await frames()) || null);
    const later = await until('the count of frames to rise', async () => {
      const n = await frames();
      return n > first ? n : null;
    });
    expect(later).toBeGreaterThan(first);
    expect(await page.$eval('#dma text.flow-label[data-dma="1-0"]', (e) => e.textContent)).toMatch(
      /^\d+ frames · [\d.]+ [KMG]?i?B/,
    );
    // Frames and bytes of one sample agree: each frame an Ethernet header at least, 1514 bytes at most.
    const [f, b] = await page.$eval('#dma text.flow-label[data-dma="1-0"]', (e) => [
      Number((e as SVGTextElement).dataset.frames),
      Number((e as SVGTextElement).dataset.bytes),
    ]);
    expect(b).toBeGreaterThanOrEqual(f * 14);
    expect(b).toBeLessThanOrEqual(f * 1514);
    // The sending guest's panel counts them too. The other way there is at most the odd
    // frame of the receiver's own kernel (ARP and the like), nothing like the stream.
    expect(Number(await page.$eval('#guest-1 [data-stat="guestDmas"]', (e) => e.textContent))).toBeGreaterThan(0);
    // Compared once the stream has run a while (a few frames either way come first: ARP),
    // and against the forward count read after it (counts only rise).
    await until('the stream to pass 200 frames', async () => ((await frames()) > 200 ? true : null));
    const back = await page.$$eval('#dma text.flow-label[data-dma="0-1"]', (e) =>
      e.length ? Number((e[0] as SVGTextElement).dataset.frames) : 0,
    );
    expect(back * 10).toBeLessThan(await frames());
    // While frames flow, the arrow is lit.
    await until('the arrow lit while frames flow', () =>
      page.$eval('#dma path.flow[data-dma="1-0"]', (e) => e.classList.contains('on')),
    );
    mkdirSync(dirname(DMA_SCREENSHOT), { recursive: true });
    await page.screenshot({ path: DMA_SCREENSHOT, fullPage: true });
    console.log(`lguest web: screenshot of DMA between guests saved at ${DMA_SCREENSHOT}`);
    await page.close();
    child?.kill('SIGTERM');
    child = null;
    rmSync(dir, { recursive: true, force: true });
  },
);
