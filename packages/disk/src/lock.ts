// The lock that keeps two guests from writing one disk. A writable disk is locked
// exclusively, a read-only one (and a qcow2 overlay's backing file) shared: many guests may
// read a base while none writes it, and nobody may write a disk another guest reads or writes.
//
// Node has no flock(2), and a lock file with our pid in it outlives a `kill -9`, leaving the
// next user to guess whether it is stale. So the lock is the kernel's own: a small child,
// util-linux's flock(1), takes flock(LOCK_EX|LOCK_NB) (or LOCK_SH) on the disk file itself,
// says "locked" on its stdout and then sits reading its stdin, which is a pipe from us. The
// kernel drops an flock when the last descriptor of its open file goes, i.e. when that child
// exits — and it exits as soon as we do, however we die, because its stdin reaches end of
// file. Releasing the lock early is killing the child. The child runs in its own process
// group, so a Ctrl-C at the terminal does not unlock a disk whose guest is still running.
// flock(2) locks are per open file, so a second guest of the same `lguest` (run-many) is
// refused just like another process.

import { spawn, type ChildProcess } from 'node:child_process';

export type LockMode = 'exclusive' | 'shared';

/** Why a disk could not be locked; the message names the file and says what to do. */
export class DiskLockError extends Error {
  override readonly name = 'DiskLockError';
}

/** flock(1)'s exit status when the lock is taken (our choice, -E). */
const CONFLICT = 75;

/** A lock held on a disk file until release() (or until this process ends). */
export class DiskLock {
  private released = false;

  constructor(
    readonly path: string,
    readonly mode: LockMode,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /** Lets go of the lock; resolves once it is gone. */
  async release(): Promise<void> {
    if (!this.released) {
      this.released = true;
      // Waiting for its exit must keep Node running (we unref'd it while it held the lock).
      this.child.ref();
      this.child.stdin?.destroy();
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

/**
 * Locks the real file `path` (which must exist). Resolves to the lock, or rejects with a
 * DiskLockError saying the disk is in use (or why it could not be locked). With `wait`, a
 * disk in use is waited for instead, until its holder lets go (a guest migrating here).
 */
export function lockDisk(path: string, mode: LockMode, wait = false): Promise<DiskLock> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'flock',
      [
        mode === 'shared' ? '-s' : '-x',
        ...(wait ? [] : ['-n']),
        '-F',
        '-E',
        String(CONFLICT),
        path,
        'sh',
        '-c',
        'echo locked; exec cat',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    let said = '';
    let errors = '';
    let settled = false;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (errors += d));
    child.stdout.on('data', (d: string) => {
      said += d;
      if (!settled && said.includes('locked')) {
        settled = true;
        // Held: nothing of ours waits on the child any more, so Node may exit (and the child
        // with it, when our end of its stdin closes).
        child.unref();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        (child.stderr as unknown as { unref?: () => void }).unref?.();
        resolve(new DiskLock(path, mode, child, exited));
      }
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      reject(
        new DiskLockError(
          e.code === 'ENOENT'
            ? `cannot lock disk '${path}': the flock program (util-linux) is not installed`
            : `cannot lock disk '${path}': ${e.message}`,
        ),
      );
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      if (code === CONFLICT) {
        reject(
          new DiskLockError(
            mode === 'exclusive'
              ? `disk '${path}' is in use by another guest (locked): stop that guest first, or add ,ro to share it read-only`
              : `disk '${path}' is in use by a guest that writes it (locked): stop that guest first`,
          ),
        );
      } else {
        reject(new DiskLockError(`cannot lock disk '${path}': ${errors.trim() || `flock exited with status ${code}`}`));
      }
    });
  });
}
