/**
 * Small file system work on the engine's thread with synchronous calls: each costs a fraction
 * of the CPU of its promise, which goes through the thread pool (measured in docs/benchmarks.md).
 */
import { lstatSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pacer } from './pace.ts';

/**
 * Removes `path` and everything under it (nothing when it does not exist), as `rm -rf` would,
 * with the file system's synchronous calls: a small tree (a private git dir, a run's state)
 * costs a sixth of the CPU of `fs.promises.rm`, whose every call goes through the thread
 * pool. A big one gives the event loop a turn every few hundred calls (`pacer`).
 */
export async function removeTree(path: string, pace = pacer()): Promise<void> {
  await pace();
  let directory: boolean;
  try {
    directory = lstatSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!directory) return unlinkSync(path);
  for (const name of readdirSync(path)) await removeTree(join(path, name), pace);
  rmdirSync(path);
}

/** What `read` returns, or `fallback` when it throws (a file or directory that is not there). */
export function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Whether `path` is a directory (following symbolic links); false when it is not there. */
export function isDirectory(path: string): boolean {
  return readOr(() => statSync(path).isDirectory(), false);
}
