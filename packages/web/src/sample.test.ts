// The sampler on a real machine: a host with lg loaded, a launcher with its console booting
// the bundled guest's self-test (virtual clock, so every run is the same) and samples taken
// from lg's exit hook while the guest runs. The pictures must show what lguest is: guest RAM
// at the bottom of the launcher's address space, the switcher at 0xFFC00000 there and in
// the shadow, the guest kernel at 0xC0000000 in the guest's tables, its page directory and
// the device page in guest-physical memory, pages appearing as lg faults them in; and the
// counters must agree with lg's own.

import { addConsole } from '@lguest/console';
import { Host } from '@lguest/host';
import { Launcher } from '@lguest/launcher';
import { lguestInit } from '@lguest/lg';
import { dirname, join } from 'node:path';
import { FLASH_FAULTED, Kind, type GuestSample, type MapRow } from './protocol';
import { Sampler } from './sample';
import { defaultCore } from '@lguest/x86-cores';

const GUEST_ELF = join(dirname(require.resolve('@lguest/guest/package.json')), 'build', 'guest.elf');
const MEM_MIB = 32;

function pages(rows: readonly MapRow[], base: number): Uint8Array | undefined {
  const row = rows.find((r) => r.base === base);
  return row ? new Uint8Array(Buffer.from(row.pages, 'base64')) : undefined;
}

test('samples of a booting guest show its address spaces and count its trips', async () => {
  const host = new Host({ memoryMiB: 64, clock: 'virtual', tickNs: 50_000, core: defaultCore() });
  const lg = lguestInit(host);
  if (typeof lg === 'number') throw new Error(`lguestInit: ${lg}`);
  const proc = host.createProcess('launcher');
  if (typeof proc === 'number') throw new Error('createProcess failed');
  host.grantFile(`/host${GUEST_ELF}`, GUEST_ELF, 'ro');
  const launcher = new Launcher(proc, { memoryMiB: MEM_MIB, kernel: `/host${GUEST_ELF}`, args: ['selftest'] });
  let output = '';
  addConsole(launcher, { output: { write: (b) => (output += Buffer.from(b).toString()) } });

  const sampler = new Sampler(host, lg, [{ name: 'guest', memMiB: MEM_MIB, proc }]);
  const samples: GuestSample[] = [];
  let exits = 0;
  lg.onExit = () => {
    if (++exits % 100 === 0) samples.push(sampler.sample(1, true).guests[0]);
  };
  const result = await launcher.run();
  expect(output).toContain('hello from ring 3');
  expect(result.exitStatus).toBe(0);
  expect(samples.length).toBeGreaterThan(2);

  const s = samples[samples.length - 1];
  const maps = s.maps!;
  expect(s.state).toBe('running');
  // The launcher's address space: guest RAM from 0, the switcher's first page at 0xFFC00000.
  expect((pages(maps.host, 0xffc00000)?.[0] ?? 0) & 0x1f).toBe(Kind.Switcher);
  expect([...(pages(maps.host, 0) ?? [])].some((b) => (b & 0x1f) === Kind.GuestRam)).toBe(true);
  // lg's shadow maps the switcher too; the guest's own tables never do.
  expect((pages(maps.shadow, 0xffc00000)?.[0] ?? 0) & 0x1f).toBe(Kind.Switcher);
  expect(pages(maps.guest, 0xffc00000)).toBeUndefined();
  // The guest kernel at PAGE_OFFSET, and in the shadow what lg has filled in of it.
  expect([...(pages(maps.guest, 0xc0000000) ?? [])].filter((b) => (b & 0x1f) === Kind.Kernel).length).toBeGreaterThan(
    100,
  );
  expect([...(pages(maps.shadow, 0xc0000000) ?? [])].some((b) => (b & 0x1f) === Kind.Kernel)).toBe(true);
  // Guest-physical: the device page right above RAM, page tables, kernel frames.
  const devRow = pages(maps.phys, MEM_MIB * 0x100000);
  expect(devRow?.[0]).toBe(Kind.Device);
  const phys = maps.phys.flatMap((r) => [...Buffer.from(r.pages, 'base64')].map((b) => b & 0x1f));
  expect(phys.filter((k) => k === Kind.PageTable).length).toBeGreaterThan(1);
  expect(phys.filter((k) => k === Kind.Kernel).length).toBeGreaterThan(100);
  // Pages lg faulted in between two samples flash.
  const flashed = samples.some((x) =>
    x.maps!.shadow.some((r) => [...Buffer.from(r.pages, 'base64')].some((b) => b & FLASH_FAULTED)),
  );
  expect(flashed).toBe(true);

  // The counters are lg's.
  const guest = lg.guests.find((g) => g?.proc === proc);
  const final = guest ? guest.stats : null;
  expect(s.hcalls.LGUEST_INIT).toBe(1);
  expect(s.totals.hypercalls).toBeGreaterThan(s.hcalls.LGUEST_INIT);
  expect(s.traps[0x1f]).toBeGreaterThan(0);
  if (final) expect(s.totals.switches).toBeLessThanOrEqual(final.switches);
  const deltas = samples.reduce((n, x) => n + x.delta.hypercalls, 0);
  expect(deltas).toBe(s.totals.hypercalls);
  // A single guest: no DMA to other guests to show.
  expect(s.dmaTo).toEqual([]);
  host.shutdown();
  // A bound for a guest booting on a busy machine; the test waits on its own boot, never on time.
}, 60_000);
