// The page: one panel per guest with its console (xterm.js), its trips through the switcher
// and four pictures of the memory it lives in; with several guests, a picture of the DMA
// between them (frames lg copied from one guest's buffer into another's). Everything comes over one WebSocket from the
// `lguest web` server (protocol.ts); the page only draws.

import { Terminal } from '@xterm/xterm';
import {
  FLASH_FAULTED,
  FLASH_TOUCHED,
  Kind,
  type ClientMessage,
  type GuestSample,
  type MapRow,
  type Picture,
  type ServerMessage,
} from '../protocol';

const KIND_COLOURS: Record<number, [string, string]> = {
  [Kind.Free]: ['#2a2f3a', 'free'],
  [Kind.Kernel]: ['#4c8bf5', 'guest kernel'],
  [Kind.User]: ['#3fbf7f', 'user'],
  [Kind.PageTable]: ['#b07cf0', 'page table'],
  [Kind.Device]: ['#f0a030', 'device page'],
  [Kind.Dma]: ['#f06292', 'DMA buffer'],
  [Kind.Switcher]: ['#ff4d4d', 'switcher'],
  [Kind.GuestRam]: ['#2f6fbf', 'launcher: guest RAM'],
  [Kind.Launcher]: ['#8fa3bf', 'launcher'],
  [Kind.HostKernel]: ['#5b6270', 'host kernel'],
  [Kind.Reserved]: ['#223a5c', 'mapped, not touched yet'],
};
const FAULTED_COLOUR = '#ffffff';
const TOUCHED_COLOUR = '#ffe066';

const PICTURES: [Picture, string, string, number[]][] = [
  [
    'host',
    'host virtual memory (the launcher process)',
    'Guest-physical X is launcher-virtual X; the host kernel from 0xC0000000, the switcher at 0xFFC00000.',
    [Kind.GuestRam, Kind.Reserved, Kind.Device, Kind.Launcher, Kind.HostKernel, Kind.Switcher],
  ],
  [
    'phys',
    'guest physical memory',
    'Each frame of the launcher region, by what the guest maps it as.',
    [Kind.Free, Kind.Kernel, Kind.User, Kind.PageTable, Kind.Device, Kind.Dma],
  ],
  [
    'guest',
    'guest virtual memory (its page tables)',
    'The tables the guest wrote, under its current cr3.',
    [Kind.Kernel, Kind.User, Kind.Device, Kind.Dma],
  ],
  [
    'shadow',
    "lg's shadow page tables (what the CPU walks)",
    'Filled in by lg on demand; the switcher is mapped into every shadow.',
    [Kind.Kernel, Kind.User, Kind.Device, Kind.Dma, Kind.Switcher],
  ],
];

/** Reasons for a world switch, as the timeline stacks them (hypercalls by name on top). */
const REASONS: [keyof GuestSample['delta'], string, string][] = [
  ['pageFaults', 'page fault (trap 14)', '#4dd0e1'],
  ['traps', 'other traps', '#ba68c8'],
  ['hostIrqs', 'host interrupt', '#90a4ae'],
  ['irqs', 'virtual IRQ injected', '#ffb74d'],
  ['launcherDmas', 'DMA to the launcher', '#f06292'],
];
const HCALL_COLOURS = ['#4c8bf5', '#3fbf7f', '#e57373', '#fff176', '#9575cd', '#4db6ac', '#f48fb1', '#aed581'];
const TIMELINE = 150;

const ROW_H = 7;
const GAP_H = 4;
const LABEL_W = 84;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(0);
}

/** One guest's panel. */
class Panel {
  readonly term: Terminal;
  private readonly state: HTMLElement;
  private readonly values = new Map<string, HTMLElement>();
  private readonly timeline: HTMLCanvasElement;
  private readonly history: GuestSample[] = [];
  private readonly hcallTable: HTMLTableElement;
  private readonly hcallColour = new Map<string, string>();
  private readonly canvases = new Map<Picture, HTMLCanvasElement>();
  private readonly lastMaps = new Map<Picture, readonly MapRow[]>();
  private flashTimer = 0;

  constructor(
    readonly index: number,
    name: string,
    send: (m: ClientMessage) => void,
  ) {
    const section = el('section', 'guest');
    section.id = `guest-${index}`;
    const h2 = el('h2', '', name);
    this.state = el('span', 'state', 'starting');
    h2.append(this.state);
    section.append(h2);

    const top = el('div', 'top');
    const consoleBox = el('div', 'console');
    top.append(consoleBox);
    const trips = el('div', 'trips');
    trips.append(el('h3', '', 'trips through the switcher'));
    const counters = el('div', 'counters');
    for (const [key, label] of [
      ['switches', 'world switches'],
      ['hypercalls', 'hypercalls'],
      ['hypercallsPerS', 'hypercalls/s'],
      ['irqs', 'virtual IRQs'],
      ['irqsPerS', 'IRQs/s'],
      ['faults', 'demand faults'],
      ['launcherDmas', 'DMA to launcher'],
      ['guestDmas', 'DMA to other guests'],
      ['instructionsPerS', 'instructions/s (host)'],
    ]) {
      const c = el('div', 'counter');
      const v = el('div', 'value', '0');
      v.dataset.stat = key;
      c.append(el('div', 'label', label), v);
      counters.append(c);
      this.values.set(key, v);
    }
    trips.append(counters);
    this.timeline = el('canvas', 'timeline');
    this.timeline.width = TIMELINE * 4;
    this.timeline.height = 130;
    trips.append(this.timeline);
    const legend = el('div', 'legend');
    legend.append(this.swatch('#4c8bf5', 'hypercalls (by name, below)'));
    for (const [, label, colour] of REASONS) legend.append(this.swatch(colour, label));
    trips.append(legend);
    this.hcallTable = el('table', 'hcalls');
    trips.append(this.hcallTable);
    top.append(trips);
    section.append(top);

    const maps = el('div', 'maps');
    for (const [picture, title, note, kinds] of PICTURES) {
      const box = el('div');
      box.append(el('h3', '', title), el('p', 'note', note));
      const lg = el('div', 'legend');
      for (const k of kinds) lg.append(this.swatch(KIND_COLOURS[k][0], KIND_COLOURS[k][1]));
      lg.append(this.swatch(FAULTED_COLOUR, 'new since last look (faulted in)'));
      if (picture === 'guest') lg.append(this.swatch(TOUCHED_COLOUR, 'touched (accessed bit)'));
      const canvas = el('canvas');
      canvas.dataset.picture = picture;
      canvas.width = LABEL_W + 1024;
      canvas.height = 20;
      box.append(lg, canvas);
      maps.append(box);
      this.canvases.set(picture, canvas);
    }
    section.append(maps);
    document.getElementById('guests')!.append(section);

    this.term = new Terminal({ cols: 80, rows: 24, convertEol: true, fontSize: 13, cursorBlink: true });
    this.term.open(consoleBox);
    this.term.onData((data) => send({ type: 'input', guest: index, data }));
  }

  private swatch(colour: string, label: string): HTMLElement {
    const s = el('span');
    const i = el('i');
    i.style.background = colour;
    s.append(i, label);
    return s;
  }

  ended(how: string): void {
    this.state.textContent = how;
  }

  update(s: GuestSample, instructionsPerS: number): void {
    this.state.textContent = s.state;
    const set = (k: string, v: string) => {
      const e = this.values.get(k);
      if (e && e.textContent !== v) e.textContent = v;
    };
    set('switches', String(s.totals.switches));
    set('hypercalls', String(s.totals.hypercalls));
    set('hypercallsPerS', rate(s.delta.hypercalls / s.seconds));
    set('irqs', String(s.totals.irqs));
    set('irqsPerS', rate(s.delta.irqs / s.seconds));
    set('faults', String(s.totals.faults));
    set('launcherDmas', String(s.totals.launcherDmas));
    set('guestDmas', String(s.dmaTo.reduce((n, f) => n + f.frames, 0)));
    set('instructionsPerS', rate(instructionsPerS));
    this.history.push(s);
    if (this.history.length > TIMELINE) this.history.shift();
    this.drawTimeline();
    this.drawHcalls(s);
    if (s.maps) {
      for (const [picture, canvas] of this.canvases) {
        const rows = s.maps[picture];
        this.lastMaps.set(picture, rows);
        drawPicture(canvas, rows, true);
      }
      // The flash lasts a moment, then the pages show their kind.
      clearTimeout(this.flashTimer);
      this.flashTimer = window.setTimeout(() => {
        for (const [picture, canvas] of this.canvases) drawPicture(canvas, this.lastMaps.get(picture) ?? [], false);
      }, 180);
    }
  }

  private colourOf(name: string): string {
    let c = this.hcallColour.get(name);
    if (!c) {
      c = HCALL_COLOURS[this.hcallColour.size % HCALL_COLOURS.length];
      this.hcallColour.set(name, c);
    }
    return c;
  }

  private drawHcalls(s: GuestSample): void {
    const rows = Object.entries(s.hcalls).sort((a, b) => b[1] - a[1]);
    this.hcallTable.replaceChildren();
    for (const [name, n] of rows) {
      const tr = el('tr');
      const sw = el('td');
      sw.append(this.swatch(this.colourOf(name), name));
      const perS = (s.hcallDelta[name] ?? 0) / s.seconds;
      tr.append(sw, el('td', 'n', String(n)), el('td', 'n', `${rate(perS)}/s`));
      this.hcallTable.append(tr);
    }
  }

  /** Stacked bars, one per sample, newest on the right; height is the square root of the count. */
  private drawTimeline(): void {
    const c = this.timeline.getContext('2d')!;
    const { width, height } = this.timeline;
    c.clearRect(0, 0, width, height);
    let max = 1;
    const totals = this.history.map((s) => {
      const t = Object.values(s.delta).reduce((a, b) => a + b, 0);
      max = Math.max(max, t);
      return t;
    });
    const scale = (height - 14) / Math.sqrt(max);
    const bar = width / TIMELINE;
    this.history.forEach((s, i) => {
      const x = width - (this.history.length - i) * bar;
      const total = totals[i];
      if (total === 0) return;
      const h = Math.sqrt(total) * scale;
      let y = height;
      const part = (n: number, colour: string) => {
        if (n <= 0) return;
        const ph = (h * n) / total;
        c.fillStyle = colour;
        c.fillRect(x, y - ph, bar - 1, ph);
        y -= ph;
      };
      for (const [k, , colour] of REASONS) part(s.delta[k], colour);
      for (const [name, n] of Object.entries(s.hcallDelta)) part(n, this.colourOf(name));
    });
    c.fillStyle = '#8a93a6';
    c.font = '10px ui-monospace, monospace';
    c.fillText(
      `world switches per ${Math.round((this.history.at(-1)?.seconds ?? 0.25) * 1000)} ms (peak ${max})`,
      4,
      10,
    );
  }
}

/**
 * Draws rows of 1024 pages, one pixel each, labelled with their address; a gap marks
 * unmapped space between rows. Records where each row went (data-rows) for whoever reads
 * the picture.
 */
function drawPicture(canvas: HTMLCanvasElement, rows: readonly MapRow[], flash: boolean): void {
  const sorted = [...rows].sort((a, b) => a.base - b.base);
  let h = 0;
  const placed: { base: string; y: number }[] = [];
  sorted.forEach((r, i) => {
    if (i > 0 && r.base !== sorted[i - 1].base + 0x400000) h += GAP_H;
    placed.push({ base: hex(r.base), y: h });
    h += ROW_H + 1;
  });
  const height = Math.max(h, 12);
  if (canvas.height !== height) canvas.height = height;
  const c = canvas.getContext('2d')!;
  c.fillStyle = '#14161b';
  c.fillRect(0, 0, canvas.width, canvas.height);
  const img = c.createImageData(1024, ROW_H);
  c.font = '10px ui-monospace, monospace';
  let lastLabel = -100;
  sorted.forEach((r, i) => {
    const y = placed[i].y;
    const pages = Uint8Array.from(atob(r.pages), (ch) => ch.charCodeAt(0));
    img.data.fill(0);
    for (let j = 0; j < 1024; j++) {
      const b = pages[j];
      if (b === 0) continue;
      const colour =
        flash && b & FLASH_FAULTED
          ? FAULTED_COLOUR
          : flash && b & FLASH_TOUCHED
            ? TOUCHED_COLOUR
            : KIND_COLOURS[b & 0x1f]?.[0];
      if (!colour) continue;
      const n = parseInt(colour.slice(1), 16);
      for (let k = 0; k < ROW_H; k++) {
        const o = (k * 1024 + j) * 4;
        img.data[o] = n >> 16;
        img.data[o + 1] = (n >> 8) & 0xff;
        img.data[o + 2] = n & 0xff;
        img.data[o + 3] = 255;
      }
    }
    c.putImageData(img, LABEL_W, y);
    // Labels where a run of rows starts, and then every few rows.
    const start = i === 0 || r.base !== sorted[i - 1].base + 0x400000;
    if (start || y - lastLabel >= 4 * (ROW_H + 1)) {
      c.fillStyle = '#8a93a6';
      c.fillText(placed[i].base, 2, y + ROW_H + 1);
      lastLabel = y;
    }
  });
  canvas.dataset.rows = JSON.stringify(placed);
  canvas.dataset.x0 = String(LABEL_W);
}

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * DMA between guests: each guest a box, and for each direction frames went, an arrow from
 * sender to receiver (over the top left to right, under the bottom right to left) with its
 * count of frames and bytes. An arrow that carried frames since the last sample is lit and
 * its dashes run toward the receiver; an idle one is dim.
 */
class DmaPicture {
  private readonly box: HTMLElement;
  private readonly root: SVGSVGElement;
  private readonly arrows = new Map<string, { path: SVGPathElement; label: SVGTextElement }>();
  private readonly x: number[] = [];
  private static readonly W = 220;
  private static readonly GAP = 420;
  private static readonly MID = 90;

  constructor(names: readonly string[]) {
    this.box = document.getElementById('dma')!;
    this.box.replaceChildren();
    this.box.hidden = names.length < 2;
    this.box.append(
      el('h3', '', 'DMA between guests'),
      el(
        'p',
        'note',
        "Each frame a guest sends on a --sharenet is copied by lg straight into the other guest's receive buffer: no launcher on the path.",
      ),
    );
    const width = names.length * DmaPicture.W + (names.length - 1) * (DmaPicture.GAP - DmaPicture.W) + 20;
    this.root = svg('svg', { width, height: 2 * DmaPicture.MID, viewBox: `0 0 ${width} ${2 * DmaPicture.MID}` });
    const defs = svg('defs', {});
    for (const [id, colour] of [
      ['head-on', '#f06292'],
      ['head-off', '#5b6270'],
    ]) {
      const m = svg('marker', {
        id,
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 8,
        markerHeight: 8,
        orient: 'auto',
      });
      m.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: colour }));
      defs.append(m);
    }
    this.root.append(defs);
    names.forEach((name, i) => {
      const x = 10 + i * DmaPicture.GAP;
      this.x.push(x);
      const g = svg('g', { class: 'node' });
      g.append(svg('rect', { x, y: DmaPicture.MID - 18, width: DmaPicture.W, height: 36, rx: 6 }));
      const t = svg('text', { x: x + DmaPicture.W / 2, y: DmaPicture.MID + 5, 'text-anchor': 'middle' });
      t.textContent = name;
      g.append(t);
      this.root.append(g);
    });
    this.box.append(this.root);
  }

  update(guests: readonly GuestSample[]): void {
    guests.forEach((g, from) => {
      for (const f of g.dmaTo) {
        const a = this.arrow(from, f.to);
        if (!a) continue;
        const on = f.framesDelta > 0;
        a.path.classList.toggle('on', on);
        a.path.setAttribute('marker-end', `url(#head-${on ? 'on' : 'off'})`);
        const perS = f.framesDelta / g.seconds;
        a.label.textContent = `${f.frames} frames · ${bytes(f.bytes)}${on ? ` · ${rate(perS)}/s` : ''}`;
        a.label.dataset.frames = String(f.frames);
        a.label.dataset.bytes = String(f.bytes);
        a.label.classList.toggle('on', on);
      }
    });
  }

  private arrow(from: number, to: number): { path: SVGPathElement; label: SVGTextElement } | null {
    if (from === to || this.x[from] === undefined || this.x[to] === undefined) return null;
    const key = `${from}-${to}`;
    let a = this.arrows.get(key);
    if (a) return a;
    // Left to right over the top, right to left under the bottom; further apart, higher arc.
    const right = from < to;
    const x1 = this.x[from] + DmaPicture.W / 2 + (right ? 20 : -20);
    const x2 = this.x[to] + DmaPicture.W / 2 + (right ? -20 : 20);
    const y = right ? DmaPicture.MID - 18 : DmaPicture.MID + 18;
    const lift = Math.min(DmaPicture.MID - 24, 40 + 10 * Math.abs(to - from));
    const cy = right ? y - lift * 2 : y + lift * 2;
    const path = svg('path', {
      d: `M${x1},${y} Q${(x1 + x2) / 2},${cy} ${x2},${y}`,
      class: 'flow',
      'marker-end': 'url(#head-off)',
    });
    path.dataset.dma = key;
    const label = svg('text', {
      x: (x1 + x2) / 2,
      y: right ? y - lift - 4 : y + lift + 14,
      'text-anchor': 'middle',
      class: 'flow-label',
    });
    label.dataset.dma = key;
    this.root.append(path, label);
    a = { path, label };
    this.arrows.set(key, a);
    return a;
  }
}

function connect(): void {
  const status = document.getElementById('status')!;
  const instr = document.getElementById('instructions')!;
  const ws = new WebSocket(`ws://${location.host}/ws`);
  const panels: Panel[] = [];
  let dma: DmaPicture | null = null;
  const send = (m: ClientMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  };
  ws.onopen = () => (status.textContent = 'live');
  ws.onclose = () => (status.textContent = 'the guests have ended (or lguest web stopped)');
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as ServerMessage;
    switch (m.type) {
      case 'hello':
        document.getElementById('guests')!.replaceChildren();
        panels.length = 0;
        m.guests.forEach((name, i) => panels.push(new Panel(i, name, send)));
        dma = new DmaPicture(m.guests);
        panels[0]?.term.focus();
        break;
      case 'console':
        panels[m.guest]?.term.write(m.data);
        break;
      case 'sample': {
        const seconds = m.guests[0]?.seconds ?? 1;
        const perS = m.instructionsDelta / seconds;
        instr.textContent = `${m.instructions.toLocaleString('en')} instructions retired · ${rate(perS)}/s`;
        m.guests.forEach((g, i) => panels[i]?.update(g, perS));
        dma?.update(m.guests);
        break;
      }
      case 'ended':
        panels[m.guest]?.ended(m.how);
        break;
    }
  };
}

connect();
