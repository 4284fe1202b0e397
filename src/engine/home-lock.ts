import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
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
 */
export function acquireHomeLock(path: string, command: string): () => void {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      const owner: LockOwner = { pid: process.pid, startTime: startTimeOf(process.pid) ?? '', command };
      writeSync(fd, JSON.stringify(owner));
      closeSync(fd);
      return () => {
        if (lockOwner(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = lockOwner(path);
      if (owner) {
        throw new NightshiftError(
          'HOME_LOCKED',
          `the Nightshift home is in use by process ${owner.pid} (${owner.command})`,
          {
            hint: 'wait for it to finish, or run `nightshift serve` so every command can share it',
          },
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new NightshiftError('HOME_LOCKED', `cannot take the lock ${path}`, {
    hint: 'remove it if no Nightshift runs',
  });
}
