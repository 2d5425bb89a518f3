// Live migration: a running guest moved to another lguest over TCP, stopped only for the
// last few pages. The stream is the snapshot package's sections after a "LGMIGR" header:
//
//   config            what the guest is (as in a snapshot)
//   pages  (×N)       pre-copy rounds: first every page in memory, then the pages written
//                     during the round before, while the guest runs on
//   pages             the last round, with the guest stopped
//   machine           lg's, the FPU's, the clock's and the console's state (as in a
//                     snapshot): the last section
//
// and the other way, after its own header, `round` as each round of pages has been taken in
// (the sender reads the next round from the guest only then), and once all of it arrived
// and checked out, `received`. Only then does this side end its guest; until then a
// failure lets it run on here.
//
// Which pages a round must send is found through the shadow page tables: at the start of
// each round (at a quiescent point) the launcher clears its pages' soft-dirty bits and lg
// write-protects every shadow entry, so the guest's first write to a page faults into lg,
// which maps it writable again through get_user_pages — and that marks it dirty.

import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PAGE_SIZE } from '@lguest/abi';
import {
  encodeHeader,
  encodeSection,
  type PageSetWriter,
  readPageSet,
  SectionReader,
  SnapshotError,
  STREAM_MAGIC,
} from '@lguest/snapshot';
import {
  decodeConfig,
  decodeMachine,
  saveConfig,
  saveMachine,
  saveMemory,
  unmigratableRun,
  type RestoreImage,
  type SavedConfig,
  type SavedMachine,
} from './machine-state';
import type { GuestMemory } from '@lguest/launcher';
import type { ClockMode } from './options';
import type { GuestRun } from './session';

/** Pre-copy stops when a round leaves no more than this many pages dirty (1 MiB)… */
export const FINAL_ROUND_PAGES = 256;
/** …or after this many rounds (a guest that writes faster than we send never converges). */
export const MAX_ROUNDS = 30;

export interface MigrationReport {
  /** Pre-copy rounds, with the guest running (the last, stopped round not counted). */
  readonly rounds: number;
  readonly pagesSent: number;
  readonly bytesSent: number;
  /** Pages sent in the last round, with the guest stopped. */
  readonly finalPages: number;
  /** From the stop to the other side's `received`, wall-clock ms. */
  readonly downtimeMs: number;
  /** Host clock time that passed between the stop and the state being read (the guest's clock carries on from there). */
  readonly downtimeVirtualNs: number;
}

export interface MigrateOptions {
  readonly clock: ClockMode;
  readonly cpu: string;
  /** A line of progress for whoever asked (the monitor's connection). */
  readonly progress: (line: string) => void;
  /** The monitor's own stop and cont, so `info status` tells the truth meanwhile. */
  readonly stop: () => Promise<string>;
  readonly cont: () => string;
  readonly pages: () => PageSetWriter;
}

/** Writes `bytes`, resolving once the socket has taken them (its buffer drained). */
function send(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('the connection closed'));
      return;
    }
    if (socket.write(bytes)) resolve();
    else {
      const onDrain = () => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        socket.off('drain', onDrain);
        reject(new Error('the connection closed'));
      };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    }
  });
}

/**
 * Moves `run`'s guest to the lguest listening at `to`. Resolves once the other side has all
 * of it, with the guest stopped here (the caller ends it); rejects with the guest running
 * here as before.
 */
export async function migrateTo(
  run: GuestRun,
  to: { host: string; port: number },
  options: MigrateOptions,
): Promise<MigrationReport> {
  const why = unmigratableRun(run);
  if (why) throw new Error(`cannot migrate: ${why}`);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(to.port, to.host, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot connect to tcp:${to.host}:${to.port}: ${e.code ?? e.message}`)),
    );
  });
  socket.setNoDelay(true);
  const reader = new SectionReader(STREAM_MAGIC, 'the answer of the other lguest');
  let gotAnswer = false;
  let answer: () => void = () => {};
  const received = new Promise<void>((resolve) => (answer = resolve));
  let failure: Error | null = null;
  // Each round is taken in before the next is read from the guest: the dirty pages of a round
  // are those written while the one before crossed, and the stop starts with the pipe empty.
  let acked = 0;
  let onAck: () => void = () => {};
  socket.on('data', (chunk: Buffer) => {
    reader.push(new Uint8Array(chunk));
    try {
      for (let s = reader.next(); s; s = reader.next()) {
        if (s.name === 'round') {
          acked++;
          onAck();
        } else if (s.name === 'received') {
          gotAnswer = true;
          answer();
        }
      }
    } catch (e) {
      failure = e as Error;
      socket.destroy();
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const takenIn = (round: number): Promise<void> => {
    if (acked >= round) return Promise.resolve();
    const ack = new Promise<void>((resolve) => (onAck = () => acked >= round && resolve()));
    return Promise.race([closed, ack]).then(() => {
      if (acked < round) throw failure ?? new Error('the other lguest hung up');
    });
  };
  socket.on('error', (e) => (failure ??= e));

  let held = false;
  let pagesSent = 0;
  let bytesSent = 0;
  try {
    bytesSent += 32;
    await send(socket, encodeHeader(STREAM_MAGIC));
    const config = encodeSection('config', json(saveConfig(run, options.clock, options.cpu)));
    await send(socket, config);
    bytesSent += config.length;

    // Pre-copy: every page, then what was written meanwhile, with the guest running.
    let rounds = 0;
    let dirty = Infinity;
    while (rounds < MAX_ROUNDS && dirty > FINAL_ROUND_PAGES) {
      const first = rounds === 0;
      const round = await run.launcher.atQuiescentPoint(() => {
        const w = options.pages();
        const n = saveMemory(run, w, !first, true);
        return { n, data: w.finish() };
      });
      const section = encodeSection('pages', round.data);
      await send(socket, section);
      rounds++;
      await takenIn(rounds);
      pagesSent += round.n;
      bytesSent += section.length;
      dirty = first ? Infinity : round.n;
      options.progress(`round ${rounds}: ${round.n} pages${first ? ' (all of memory in use)' : ' written meanwhile'}`);
      if (failure) throw failure;
    }

    // The stop: what was written in the last round, and the rest of the state.
    const stopAt = performance.now();
    const stopNs = run.host.clock.now();
    await options.stop();
    held = true;
    const w = options.pages();
    const finalPages = saveMemory(run, w, true, false);
    const machine = saveMachine(run);
    const downtimeVirtualNs = machine.clockNs - stopNs;
    const tail = [encodeSection('pages', w.finish()), encodeSection('machine', json(machine))];
    for (const s of tail) {
      await send(socket, s);
      bytesSent += s.length;
    }
    pagesSent += finalPages;
    await Promise.race([received, closed]);
    if (!gotAnswer) throw failure ?? new Error('the other lguest hung up before it had the guest');
    socket.end();
    return {
      rounds,
      pagesSent,
      bytesSent,
      finalPages,
      downtimeMs: performance.now() - stopAt,
      downtimeVirtualNs,
    };
  } catch (e) {
    socket.destroy();
    if (held) options.cont();
    throw new Error(`migration failed, the guest runs on here: ${(e as Error).message}`, { cause: e });
  }
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A migration being received: the guest's config now, its memory and state as they come. */
export interface IncomingGuest {
  /** `fill` writes the pages received so far into guest memory, then each round as it comes. */
  readonly image: RestoreImage;
  /** How it went, once the whole guest has come: rounds, bytes, and when its last byte came (performance.now()). */
  readonly complete: Promise<{ rounds: number; bytes: number; at: number }>;
}

/**
 * `--incoming`: listens at `at`, takes one connection, and resolves once the guest's config
 * has come, so the host can be built and the launcher set up while the rounds of pages are
 * still crossing; they go straight into guest memory once it exists. Answers `round` for
 * each round and `received` at the end. Rejects (or `fill` rejects, later) with
 * SnapshotError for a stream that is not one, and Error if the sender went away first.
 */
export async function receiveMigration(
  at: { host: string; port: number },
  say: (line: string) => void,
): Promise<IncomingGuest> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new SnapshotError(`--incoming: cannot listen on tcp:${at.host}:${at.port}: ${e.code ?? e.message}`)),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  say(`incoming: waiting for a migration on tcp:${at.host}:${port}`);
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  server.close();
  socket.setNoDelay(true);
  socket.write(encodeHeader(STREAM_MAGIC));
  const what = 'the migration stream';
  const reader = new SectionReader(STREAM_MAGIC, what);
  let config: SavedConfig | null = null;
  // Pages wait here until guest memory exists; after that they go straight in.
  const pages = new Map<number, Uint8Array>();
  let memory: GuestMemory | null = null;
  let rounds = 0;
  let bytes = 0;
  let done = false;

  let configured!: (c: SavedConfig) => void;
  let failedEarly!: (e: Error) => void;
  const configPromise = new Promise<SavedConfig>((resolve, reject) => {
    configured = resolve;
    failedEarly = reject;
  });
  let completed!: (m: { machine: SavedMachine; at: number }) => void;
  let failedLate!: (e: Error) => void;
  const machinePromise = new Promise<{ machine: SavedMachine; at: number }>((resolve, reject) => {
    completed = resolve;
    failedLate = reject;
  });
  machinePromise.catch(() => undefined); // observed by fill(); an early failure rejects configPromise too
  const fail = (e: Error) => {
    if (done) return;
    done = true;
    socket.destroy();
    failedEarly(e);
    failedLate(e);
  };
  const writePage = (pfn: number, data: Uint8Array | null) => {
    if (memory) memory.write(pfn * PAGE_SIZE, data ?? new Uint8Array(PAGE_SIZE));
    else if (data) pages.set(pfn, data.slice());
    else pages.delete(pfn);
  };
  socket.on('error', (e) => fail(new Error(`the migration connection failed: ${e.message}`)));
  socket.on('close', () =>
    fail(new Error('the sending lguest hung up before the whole guest came (it runs on there)')),
  );
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    reader.push(new Uint8Array(chunk));
    try {
      for (let s = reader.next(); s; s = reader.next()) {
        if (s.name === 'config') {
          config = decodeConfig(s.data, what);
          configured(config);
        } else if (!config) throw new SnapshotError(`${what} is corrupt: it does not start with the guest's config`);
        else if (s.name === 'pages') {
          readPageSet(s.data, config.top / PAGE_SIZE, writePage, what);
          rounds++;
          socket.write(encodeSection('round', new Uint8Array(0)));
        } else if (s.name === 'machine') {
          const machine = decodeMachine(s.data, what);
          const at = performance.now();
          done = true;
          socket.end(encodeSection('received', json({ rounds })));
          completed({ machine, at });
          return;
        } else throw new SnapshotError(`${what} is corrupt: unknown section '${s.name}'`);
      }
    } catch (e) {
      fail(e as Error);
    }
  });

  const first = await configPromise;
  return {
    image: {
      config: first,
      async fill(into) {
        memory = into;
        for (const [pfn, data] of pages) into.write(pfn * PAGE_SIZE, data);
        pages.clear();
        return (await machinePromise).machine;
      },
    },
    complete: machinePromise.then(({ at }) => ({ rounds, bytes, at })),
  };
}
