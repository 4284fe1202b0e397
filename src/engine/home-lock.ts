import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { NightshiftError } from '../core/errors.ts';
import { startTimeOf } from '../process/index.ts';

export interface LockOwner {
  pid: number;
  /** Kernel start time of the process (field 22 of /proc/PID/stat), so a reused pid is not mistaken for the owner. */
  startTime: string;
  command: string;
}

/** The live process holding the lock at `path`, or null when it is free or stale. */
export function lockOwner(path: string): LockOwner | null {
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
  return startTimeOf(owner.pid) === owner.startTime ? owner : null;
}

/**
 * Takes the home's lock: only one process may own the embedded database. A lock left by a
 * dead process (even one killed with SIGKILL) is taken over. Returns the release function.
 *
 * The lock appears whole or not at all (its content is written to a file of this process's
 * own, then hard-linked into place), so no other process ever reads a half-written lock and
 * takes it for stale.
 */
export function acquireHomeLock(path: string, command: string): () => void {
  const mine = `${path}.${process.pid}`;
  const owner: LockOwner = { pid: process.pid, startTime: startTimeOf(process.pid) ?? '', command };
  writeFileSync(mine, JSON.stringify(owner), { mode: 0o600 });
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        linkSync(mine, path);
        return () => {
          if (lockOwner(path)?.pid === process.pid) rmSync(path, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = lockOwner(path);
        if (holder) {
          throw new NightshiftError(
            'HOME_LOCKED',
            `the Nightshift home is in use by process ${holder.pid} (${holder.command})`,
            {
              hint: 'wait for it to finish, or run `nightshift serve` so every command can share it',
            },
          );
        }
        removeStale(path);
      }
    }
  } finally {
    rmSync(mine, { force: true });
  }
  throw new NightshiftError('HOME_LOCKED', `cannot take the lock ${path}`, {
    hint: 'remove it if no Nightshift runs',
  });
}

/**
 * Removes a lock found stale. Another process may have replaced it with its own (live) lock
 * since it was read: the lock is moved aside first, and a live one moved back.
 */
export function removeStale(path: string): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (lockOwner(aside)) {
    try {
      linkSync(aside, path);
    } catch {}
  }
  rmSync(aside, { force: true });
}
