import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NightshiftError } from '../../core/errors.ts';
import { KeyedQueue } from '../../core/keyed-queue.ts';

/** A lock older than this is taken over even if its owner looks alive (a hung process). */
const STALE_AFTER_MS = 30 * 60_000;

/**
 * Serializes work on one key: within this process by chaining promises, across processes by
 * an exclusive lock file. A lock left by a dead process on this host is taken over.
 */
export class KeyedLock {
  private readonly queue = new KeyedQueue();

  /** Runs `fn` once every earlier call for `key` has finished and `lockFile` is ours. */
  run<T>(key: string, lockFile: string, fn: () => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
    return this.queue.run(key, () => withLockFile(lockFile, fn, timeoutMs));
  }
}

/** Holds `path` (created exclusively) while `fn` runs. */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  await acquire(path, timeoutMs);
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function acquire(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}@${hostname()}\n`);
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(path)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new NightshiftError('SCM_FAILED', `timed out waiting for the lock ${path}`, {
        hint: 'another Nightshift process is using this mirror; if none is running, delete the lock file',
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}

async function isStale(path: string): Promise<boolean> {
  try {
    const [content, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    if (Date.now() - info.mtimeMs > STALE_AFTER_MS) return true;
    const [pid, host] = content.trim().split('@');
    if (host !== hostname() || !pid) return false;
    return !isAlive(Number(pid));
  } catch {
    // Gone already, or being written right now: not stale, try again.
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
