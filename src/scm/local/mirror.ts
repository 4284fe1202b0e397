import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import type { Repo } from '../../core/run.ts';
import type { Git } from './git.ts';

/** Where the bare mirror of a repo lives. */
export function mirrorPath(mirrorsDir: string, repoId: string): string {
  return join(mirrorsDir, `${safeSegment(repoId, 'repo id')}.git`);
}

/** True when the mirror has been created (creation is atomic, so it is then complete). */
export async function mirrorExists(mirror: string): Promise<boolean> {
  try {
    await access(join(mirror, 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Brings the mirror of `repo` up to date with its source: a `clone --mirror` the first time
 * (built beside the mirror and renamed into place, so a crash never leaves half a mirror),
 * `fetch --prune` after. Callers hold the repo's mirror lock.
 */
export async function updateMirror(git: Git, mirror: string, repo: Repo): Promise<void> {
  if (await mirrorExists(mirror)) {
    await git([
      '--git-dir',
      mirror,
      'fetch',
      '--quiet',
      '--prune',
      '--no-write-fetch-head',
      '--',
      repo.url,
      '+refs/*:refs/*',
    ]);
    return;
  }
  const tmp = `${mirror}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(join(mirror, '..'), { recursive: true });
  try {
    await git(['clone', '--quiet', '--mirror', '--template=', '--', repo.url, tmp]);
    await rename(tmp, mirror);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The commit `ref` (branch, tag or sha) names in the mirror.
 * Throws REPO_INVALID listing a few branches when there is no such ref.
 */
export async function resolveRef(git: Git, mirror: string, repo: Repo, ref: string): Promise<string> {
  if (ref.startsWith('-') || ref.includes('\0')) {
    throw new NightshiftError('REPO_INVALID', `${JSON.stringify(ref)} is not a valid git ref`, {
      hint: 'pass a branch, tag or commit sha',
    });
  }
  const result = await git(['--git-dir', mirror, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    okExitCodes: [1, 128],
  });
  if (result.exitCode === 0) return result.stdout.trim();
  const { stdout } = await git([
    '--git-dir',
    mirror,
    'for-each-ref',
    '--sort=-committerdate',
    '--format=%(refname:short)',
    'refs/heads',
  ]);
  const branches = stdout.split('\n').filter(Boolean);
  const shown = branches.slice(0, 5).join(', ');
  const more = branches.length > 5 ? ` and ${branches.length - 5} more` : '';
  throw new NightshiftError('REPO_INVALID', `${repo.name} has no branch, tag or commit ${ref}`, {
    hint: branches.length ? `known branches: ${shown}${more}` : 'the repository has no branches',
  });
}

/** A repo id or commit used as a directory name: letters, digits, `.`, `_`, `-`, not starting with `.`. */
export function safeSegment(value: string, what: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(value)) {
    throw new NightshiftError(
      'INVALID_INPUT',
      `${what} ${JSON.stringify(value)} cannot be used as a directory name`,
      {
        hint: `use the ${what} Nightshift generated`,
      },
    );
  }
  return value;
}
