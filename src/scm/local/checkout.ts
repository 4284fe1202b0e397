import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Git } from './git.ts';

/** Where the base checkout of `commit` lives. */
export function basePath(basesDir: string, repoId: string, commit: string): string {
  return join(basesDir, repoId, commit);
}

/** True when the base exists (creation is atomic, so it is then complete). */
export async function baseExists(dir: string): Promise<boolean> {
  try {
    await access(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds a full working tree of `commit` with its own `.git` at `dir`: cloned from the mirror
 * with hard links (no alternates, so nothing points back at host paths), checked out detached,
 * with the `origin` remote and reflogs removed so no host path leaks into a sandbox.
 * Built beside `dir` and renamed into place. Returns false when another builder won the race.
 */
export async function buildBase(git: Git, mirror: string, dir: string, commit: string): Promise<boolean> {
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(join(dir, '..'), { recursive: true });
  try {
    await git(['clone', '--quiet', '--local', '--no-checkout', '--template=', '--', mirror, tmp]);
    await git(['checkout', '--quiet', '--detach', commit, '--'], { cwd: tmp });
    await git(['remote', 'remove', 'origin'], { cwd: tmp });
    await rm(join(tmp, '.git', 'logs'), { recursive: true, force: true });
    try {
      await rename(tmp, dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
      throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
