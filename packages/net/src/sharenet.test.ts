// --sharenet set-up, in a real host model with two launcher processes: each maps the same
// page of the shared file over its device page (so what one writes there, the other reads),
// gets its own peer slot from the fcntl locks, and says which in its descriptor's features.
// Without /dev/lguest the launchers stop right after setting their devices up, which is all
// this needs; the data path (lg copying frames between guests) is the CLI's system test.

import { LGUEST_DEVICE_DESC, LGUEST_DEVICE_T_NET, LGUEST_NET_F_NOCSUM } from '@lguest/abi';
import { Host, O_CREAT, O_RDWR, type Process } from '@lguest/host';
import { Launcher } from '@lguest/launcher';
import { addSharenet, sharenetHostPath } from './sharenet';

/** A minimal GenuineLguest ELF kernel: one PT_LOAD with the signature in it. */
function kernel(): Uint8Array {
  const text = new Uint8Array(0x200).fill(0x90);
  text.set(new TextEncoder().encode('GenuineLguest'), 0x40);
  const elf = new Uint8Array(84 + text.length);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 3, true);
  v.setUint32(28, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  v.setUint32(52, 1, true);
  v.setUint32(56, 84, true);
  v.setUint32(60, 0xc0100000, true);
  v.setUint32(64, 0x100000, true);
  v.setUint32(68, text.length, true);
  v.setUint32(72, text.length, true);
  elf.set(text, 84);
  return elf;
}

async function launcherWithSharenet(host: Host, name: string, file: string) {
  const proc = host.createProcess(name) as Process;
  const launcher = new Launcher(proc, { memoryMiB: 4, kernel: '/vmlinux', warn: () => {} });
  const net = addSharenet(launcher, file);
  const result = await launcher.run(); // stops at opening /dev/lguest, after the set-up
  return { proc, launcher, net, result };
}

function u16(bytes: Uint8Array): number {
  return bytes[0] | (bytes[1] << 8);
}

describe('--sharenet', () => {
  let host: Host;
  beforeEach(async () => {
    host = new Host({ memoryMiB: 64 });
    const proc = host.createProcess('setup') as Process;
    const fd = await proc.open('/vmlinux', O_RDWR | O_CREAT);
    await proc.write(fd, kernel());
    proc.close(fd);
  });
  afterEach(() => host.shutdown());

  it('gives each launcher its own slot, in the features, and one shared page', async () => {
    const a = await launcherWithSharenet(host, 'a', 'net0');
    const b = await launcherWithSharenet(host, 'b', 'net0');
    expect(a.result.reason).toMatch(/Opening \/dev\/lguest/);
    expect([a.net.slot, b.net.slot]).toEqual([0, 1]);
    for (const [x, slot] of [
      [a, 0],
      [b, 1],
    ] as const) {
      const desc = x.launcher.readGuest(x.net.device.desc, LGUEST_DEVICE_DESC.size);
      expect(u16(desc.subarray(0, 2))).toBe(LGUEST_DEVICE_T_NET);
      expect(u16(desc.subarray(2, 4))).toBe(slot | LGUEST_NET_F_NOCSUM);
      expect(u16(desc.subarray(6, 8))).toBe(1);
    }
    // Guest a publishes its MAC in slot 0; guest b sees it in its own mapping of the page.
    const mac = Uint8Array.of(2, 0, 1, 0, 0, 0);
    a.launcher.writeGuest(a.net.device.pages, mac);
    expect(b.launcher.readGuest(b.net.device.pages, 6)).toEqual(mac);
  });

  it('hands a slot back when its launcher exits, and keeps other names apart', async () => {
    const a = await launcherWithSharenet(host, 'a', 'net0');
    const other = await launcherWithSharenet(host, 'c', 'net1');
    expect(other.net.slot).toBe(0);
    a.proc.exit(0);
    const b = await launcherWithSharenet(host, 'b', 'net0');
    expect(b.net.slot).toBe(0);
    // Different networks: a write on net1's page is not seen on net0's.
    other.launcher.writeGuest(other.net.device.pages, Uint8Array.of(9));
    expect(b.launcher.readGuest(b.net.device.pages, 1)[0]).not.toBe(9);
  });

  it('maps a FILE to a path in the host, refusing an empty name', () => {
    expect(sharenetHostPath('/tmp/net0')).toBe('/run/sharenet/tmp/net0');
    expect(sharenetHostPath('../x/./y')).toBe('/run/sharenet/x/y');
    expect(() => sharenetHostPath('/')).toThrow(/needs a file name/);
  });
});
