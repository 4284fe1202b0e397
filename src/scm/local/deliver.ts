import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { pacer } from '../../core/pace.ts';
import { readOr } from '../../core/sync-fs.ts';
import type { Git } from './git.ts';
import { placeObject } from './objects.ts';

/** Where a branch goes: a local repository's git dir, and whether it has a work tree. */
export interface LocalTarget {
  gitDir: string;
  bare: boolean;
}

/**
 * Writes `head` as `ref` of a local repository, as a push would, without the push's four
 * processes (push, receive-pack, pack-objects, unpack-objects): the objects the run made (the
 * private git dir's own, loose or packed) are copied into the repository's object store, then
 * one `git update-ref` moves the ref, checked against `expected` when given (a sha, or null
 * for "must not exist"). Like a push, it refuses the branch a work tree has checked out, and
 * a ref already at `head` is left as it is. Returns false when the ref was not at `expected`.
 * Only for a repository where a push would do no more (no receive settings or hooks, see
 * `localReceive`): nothing here applies those.
 */
export async function deliverLocal(
  git: Git,
  fromGitDir: string,
  target: LocalTarget,
  head: string,
  ref: string,
  expected: string | null | undefined,
): Promise<boolean> {
  refuseCheckedOut(target, ref);
  await copyObjects(join(fromGitDir, 'objects'), join(target.gitDir, 'objects'));
  const args = ['--git-dir', target.gitDir, 'update-ref', '-m', 'nightshift: publish', ref, head];
  if (expected === undefined) {
    await git(args);
    return true;
  }
  const result = await git([...args, expected ?? '0'.repeat(head.length)], { okExitCodes: [128] });
  if (result.exitCode === 0) return true;
  const current = await refValue(git, target.gitDir, ref);
  // Already there (a retry after a crash): nothing is overwritten, as a push finds it up to date.
  if (current === head) return true;
  // Refused for another reason than the lease (a lock file, permissions): say what git said.
  if (current === expected) {
    throw new NightshiftError('SCM_FAILED', `could not update ${ref}: ${result.stderr.trim()}`);
  }
  return false;
}

/** The sha `ref` holds in the repository, or null when it does not exist. */
export async function refValue(git: Git, gitDir: string, ref: string): Promise<string | null> {
  const { stdout, exitCode } = await git(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', ref], {
    okExitCodes: [1],
  });
  return exitCode === 0 ? stdout.trim() : null;
}

/** The CONFLICT a push refused by git's `receive.denyCurrentBranch` would be. */
export function refuseCheckedOut({ gitDir, bare }: LocalTarget, ref: string): void {
  const heads = bare ? [] : [join(gitDir, 'HEAD')];
  for (const name of readOr(() => readdirSync(join(gitDir, 'worktrees')), []))
    heads.push(join(gitDir, 'worktrees', name, 'HEAD'));
  for (const file of heads) {
    const text = readOr(() => readFileSync(file, 'utf8'), '');
    if (text.trim() === `ref: ${ref}`) {
      throw new NightshiftError(
        'CONFLICT',
        `${ref.replace(/^refs\/heads\//, '')} is checked out in the repository`,
        {
          hint: 'publish to another branch (the change template’s branch), or check another branch out there',
        },
      );
    }
  }
}

/**
 * Copies every object file under `from` (loose objects and packs, not `info/`) into `to`,
 * each through a temporary name and a rename, so git never sees half an object; a pack's
 * index last, as git writes them. `from` holds only objects `to` lacked when they were made
 * (git writes none it finds through the alternates), and an object is immutable: replacing
 * one written meanwhile changes nothing. Loose objects (a run's few, each small) are copied
 * with synchronous calls, a fraction of the CPU of promises; a pack, which may be big, without
 * holding the event loop.
 */
async function copyObjects(from: string, to: string): Promise<void> {
  const dirs = readdirSync(from, { withFileTypes: true }).filter(
    (entry) => entry.isDirectory() && entry.name !== 'info',
  );
  const pace = pacer();
  for (const dir of dirs) {
    const names = readdirSync(join(from, dir.name));
    if (names.length === 0) continue;
    mkdirSync(join(to, dir.name), { recursive: true });
    const ordered = [...names.filter((n) => !n.endsWith('.idx')), ...names.filter((n) => n.endsWith('.idx'))];
    const copy = dir.name === 'pack' ? copyFile : copyFileSync;
    for (const name of ordered) {
      await pace();
      await placeObject(join(to, dir.name, name), (temp) => copy(join(from, dir.name, name), temp));
    }
  }
}
