// --sharenet=FILE: guests on one network, talking through lg with no launcher in the way.
//
// Every launcher that names FILE maps the same page of it MAP_SHARED over its network
// device's page. That page is the network: 682 six-byte MAC slots, one per peer (§6.9). The
// guest's driver learns its slot from the low bits of the device's features, writes its MAC
// there and binds its receive buffers at key page + 4·slot. Because the page belongs to a
// shared file, lg turns those addresses into keys made of (inode, page index, offset), equal
// in every launcher whatever address it mapped the page at; so when a guest sends a frame to
// its peer's key, lg finds the peer's binding and copies the frame straight into the peer's
// buffer, then raises the peer's interrupt. This device does its work at set-up and then has
// nothing to do: no watch key, no handlers.
//
// Slots are handed out as the original did: the file gets one zero page if it is shorter,
// and a launcher takes the first slot whose byte of the file nobody holds a write lock on
// (fcntl F_SETLK at offset = slot), keeping the lock — and so the slot — until it exits.
// The file lives in the host's tmpfs (a file system whose pages can be shared, like
// /dev/shm): guests share a network when they run in one host, e.g. under run-many.

import {
  LGUEST_DEVICE_DESC,
  LGUEST_DEVICE_T_NET,
  LGUEST_NET_F_NOCSUM,
  LGUEST_NET_MAX_PEERS,
  PAGE_SIZE,
} from '@lguest/abi';
import { errnoName, MAP_FIXED, MAP_SHARED, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE } from '@lguest/host';
import { LauncherExit, type Device, type Launcher } from '@lguest/launcher';

/** Where in the host's file system the shared files live. */
export const SHARENET_DIR = '/run/sharenet';

export interface SharenetDevice {
  readonly device: Device;
  /** The peer slot this guest got (null until the launcher set the device up). */
  readonly slot: number | null;
  /** The host path of the shared file. */
  readonly hostPath: string;
}

/**
 * The host path for a --sharenet name: the user's FILE (as given, or made absolute by the
 * caller) under SHARENET_DIR, so the same name always means the same network.
 */
export function sharenetHostPath(file: string): string {
  const clean = file.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  if (clean.length === 0) throw new Error(`--sharenet needs a file name, not '${file}'`);
  return `${SHARENET_DIR}/${clean.join('/')}`;
}

/** Adds a --sharenet device to `launcher` (before run()); `file` names the network. */
export function addSharenet(launcher: Launcher, file: string): SharenetDevice {
  const hostPath = sharenetHostPath(file);
  let slot: number | null = null;
  const device = launcher.addDevice({
    type: LGUEST_DEVICE_T_NET,
    numPages: 1,
    setup: async (dev, l) => {
      slot = await mapNetworkPage(l, dev, hostPath, file);
      // The slot is known only now: put it in the descriptor's features.
      const features = new Uint8Array(2);
      new DataView(features.buffer).setUint16(0, slot | LGUEST_NET_F_NOCSUM, true);
      l.writeGuest(dev.desc + LGUEST_DEVICE_DESC.offsetOf.features, features);
    },
  });
  return {
    device,
    get slot() {
      return slot;
    },
    hostPath,
  };
}

/**
 * setup_net_file: open (creating) the file, make it at least a page long, take the first
 * free slot's lock and map the page over the device's. Returns the slot; the fd stays open
 * (its lock is the slot) until the launcher process exits.
 */
async function mapNetworkPage(l: Launcher, dev: Device, hostPath: string, file: string): Promise<number> {
  const proc = l.proc;
  mkdirs(l, hostPath.slice(0, hostPath.lastIndexOf('/')));
  const fd = await proc.open(hostPath, O_RDWR | O_CREAT, 0o600);
  if (fd < 0) throw new LauncherExit(1, `--sharenet=${file}: cannot open ${hostPath}: ${errnoName(fd)}`);
  const st = proc.fstat(fd);
  if (typeof st === 'number' || st.size < PAGE_SIZE) {
    const r = proc.ftruncate(fd, PAGE_SIZE);
    if (r < 0) throw new LauncherExit(1, `--sharenet=${file}: cannot size ${hostPath}: ${errnoName(r)}`);
  }
  let slot = -1;
  for (let s = 0; s < LGUEST_NET_MAX_PEERS; s++) {
    if (proc.setWriteLock(fd, s, 1) === 0) {
      slot = s;
      break;
    }
  }
  if (slot < 0) throw new LauncherExit(1, `--sharenet=${file}: all ${LGUEST_NET_MAX_PEERS} peer slots are taken`);
  const r = proc.mmap(dev.pages, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  if (r !== dev.pages) throw new LauncherExit(1, `--sharenet=${file}: cannot map ${hostPath}: ${errnoName(r)}`);
  return slot;
}

/** mkdir -p inside the host (an existing directory is fine). */
function mkdirs(l: Launcher, dir: string): void {
  let at = '';
  for (const part of dir.split('/').filter(Boolean)) {
    at += `/${part}`;
    l.proc.mkdir(at);
  }
}
