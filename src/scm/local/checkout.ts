import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { removeTree } from '../../core/sync-fs.ts';
import type { Git } from './git.ts';
import { linkObjects } from './objects.ts';

/** Where the base checkout of `commit` lives. */
export function basePath(basesDir: string, repoId: string, commit: string): string {
  return join(basesDir, repoId, commit);
}

/** True when the base exists (creation is atomic, so it is then complete). */
export function baseExists(dir: string): boolean {
  return existsSync(dir);
}

/**
 * Builds a full working tree of `commit` with its own `.git` at `dir`, from the objects of a
 * repository (`objects`: a mirror's, or a local source's): the objects hard-linked (no
 * alternates, so nothing points back at host paths), `HEAD` detached at the commit with
 * `branch` pointing there too, no remote, no reflogs, and the files checked out by one
 * `read-tree` (its few files and directories made with synchronous calls, each a tenth of a
 * promise's CPU). Built beside `dir` and renamed into place. Returns false when another builder won
 * the race; throws REPO_INVALID when the objects hold no such commit.
 */
export async function buildBase(
  git: Git,
  objects: string,
  dir: string,
  commit: string,
  branch: string,
): Promise<boolean> {
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  const gitDir = join(tmp, '.git');
  mkdirSync(join(dir, '..'), { recursive: true });
  try {
    await linkObjects(objects, join(gitDir, 'objects'));
    mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true });
    mkdirSync(join(gitDir, 'refs', 'tags'), { recursive: true });
    // Present, as `git init` makes it: the sandbox binds it read-only, and need not make it.
    mkdirSync(join(gitDir, 'hooks'));
    writeFileSync(join(gitDir, 'HEAD'), `${commit}\n`);
    writeFileSync(join(gitDir, 'config'), gitConfig(commit));
    const read = await git(['--git-dir', gitDir, '--work-tree', tmp, 'read-tree', '--reset', '-u', commit], {
      okExitCodes: [128],
    });
    if (read.exitCode !== 0) {
      throw new NightshiftError('REPO_INVALID', `the repository has no commit ${commit}`, {
        hint: `check the commit or ref; git said: ${read.stderr.trim()}`,
      });
    }
    if (!branch.startsWith('-') && !branch.includes('..')) {
      mkdirSync(dirname(join(gitDir, 'refs', 'heads', branch)), { recursive: true });
      writeFileSync(join(gitDir, 'refs', 'heads', branch), `${commit}\n`);
    }
    try {
      renameSync(tmp, dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
      throw error;
    }
  } finally {
    await removeTree(tmp);
  }
}

/** The config of a base's `.git`: a plain non-bare repository of the commit's hash format. */
function gitConfig(commit: string): string {
  const sha256 = commit.length === 64;
  return [
    '[core]',
    `\trepositoryformatversion = ${sha256 ? 1 : 0}`,
    '\tfilemode = true',
    '\tbare = false',
    '\tlogallrefupdates = true',
    ...(sha256 ? ['[extensions]', '\tobjectformat = sha256'] : []),
    '',
  ].join('\n');
}
