import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NightshiftError } from '../../core/errors.ts';
import { readOr } from '../../core/sync-fs.ts';
import type { ResolvedRepo } from '../types.ts';
import type { Git } from './git.ts';
import { readBranchCommit } from './refs.ts';

/**
 * Turns a local path (relative to the current directory) or a `file://` URL into a repo.
 * The location must itself be a git repository (with a work tree or bare) with a commit.
 */
export async function resolveLocation(git: Git, location: string): Promise<ResolvedRepo> {
  const path = toPath(location);
  const found = await existingDirectory(path, location);
  // The `.git` directory of a clone stands for the clone.
  const dir = basename(found) === '.git' ? dirname(found) : found;
  // Look at `dir` only: a plain directory inside some other repository is not a repository.
  const env = { GIT_CEILING_DIRECTORIES: dirname(dir) };
  const quick = (await readLook(dir)) ?? (await quickLook(git, dir, env));
  if (quick) return { name: repoName(dir), url: dir, defaultBranch: quick.branch };

  const inside = await git(['rev-parse', '--is-bare-repository', '--absolute-git-dir'], {
    cwd: dir,
    env,
    okExitCodes: [128],
  });
  if (inside.exitCode !== 0) {
    throw repoInvalid(`${dir} is not a git repository`, 'run `git init` there, or pass the path of a clone');
  }
  const [bare, gitDir] = inside.stdout.trim().split('\n');
  const root = bare === 'true' ? gitDir! : await topLevel(git, dir, env);
  if (root !== dir && !(bare === 'true' && realpathSync.native(root) === dir)) {
    throw repoInvalid(`${dir} is not a git repository: it is inside ${root}`, `pass ${root} instead`);
  }

  const branch = await headBranch(git, dir, env);
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], {
    cwd: dir,
    env,
    okExitCodes: [1, 128],
  });
  if (head.exitCode !== 0) {
    throw repoInvalid(
      `${dir} has no commits yet${branch ? ` on ${branch}` : ''}`,
      'commit something first (e.g. `git commit --allow-empty -m "initial commit"`)',
    );
  }
  const defaultBranch = branch ?? (await fallbackBranch(git, dir, env));
  return { name: repoName(dir), url: dir, defaultBranch };
}

/**
 * The commonest case read from the files, without starting git: `dir/.git` is a directory
 * whose HEAD names a branch whose commit is a loose object (see `readBranchCommit`), with a
 * `refs` directory, and a config that neither makes it bare, nor moves its work tree, nor
 * includes another file. Null for anything else, which git is asked about.
 */
async function readLook(dir: string): Promise<{ branch: string } | null> {
  const gitDir = join(dir, '.git');
  // Small reads with synchronous calls, a fraction of the CPU of promises.
  const head = readOr(() => readFileSync(join(gitDir, 'HEAD'), 'utf8'), '');
  const config = readOr<string | null>(() => readFileSync(join(gitDir, 'config'), 'utf8'), null);
  const refs = readOr(() => statSync(join(gitDir, 'refs')).isDirectory(), false);
  const ref = /^ref: (refs\/heads\/\S+)\n?$/.exec(head)?.[1];
  if (!ref || !refs || config === null || !plainConfig(config)) return null;
  return (await readBranchCommit(gitDir, ref)) ? { branch: ref.slice('refs/heads/'.length) } : null;
}

/**
 * A repository config that leaves the layout as `git init` made it: no `bare` other than
 * false, no `worktree`, no `include` (which could set either).
 */
function plainConfig(config: string): boolean {
  return !/^\s*bare\b(?!\s*=\s*false\s*$)|worktree|include/im.test(config);
}

/**
 * One git process answering the common case: `dir` is the top of a repository (or a bare one)
 * whose HEAD is a branch with a commit. Anything else (null) takes the step-by-step path, which
 * says precisely what is wrong.
 */
async function quickLook(
  git: Git,
  dir: string,
  env: Record<string, string>,
): Promise<{ branch: string } | null> {
  const result = await git(
    [
      'rev-parse',
      '--is-bare-repository',
      '--is-inside-git-dir',
      '--absolute-git-dir',
      '--show-cdup',
      'HEAD^{commit}',
      '--symbolic-full-name',
      'HEAD',
    ],
    { cwd: dir, env, okExitCodes: [128] },
  );
  if (result.exitCode !== 0) return null;
  const [bare, insideGitDir, gitDir, ...rest] = result.stdout.split('\n');
  // `--show-cdup` prints a line (empty at the top) only outside the git dir.
  const [cdup, commit, ref] = insideGitDir === 'false' ? rest : ['', ...rest];
  const atTop =
    bare === 'true'
      ? gitDir !== undefined && realpathSync.native(gitDir) === dir
      : insideGitDir === 'false' && cdup === '';
  if (!atTop || !/^[0-9a-f]{40,64}$/.test(commit ?? '') || !ref?.startsWith('refs/heads/')) return null;
  return { branch: ref.slice('refs/heads/'.length) };
}

function toPath(location: string): string {
  if (location.startsWith('file:')) {
    try {
      return fileURLToPath(location);
    } catch (error) {
      throw repoInvalid(`${location} is not a valid file URL`, 'use file:///absolute/path/to/repo', error);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw repoInvalid(
      `${location} is not a local repository`,
      'the local SCM takes a path or a file:// URL; use a GitHub or GitLab repo for remote URLs',
    );
  }
  return resolve(location);
}

async function existingDirectory(path: string, location: string): Promise<string> {
  try {
    const info = statSync(path);
    if (!info.isDirectory())
      throw repoInvalid(`${path} is not a directory`, 'pass the path of a git repository');
    return realpathSync.native(path);
  } catch (error) {
    if (error instanceof NightshiftError) throw error;
    const relative = !isAbsolute(location) && !location.startsWith('file:');
    throw repoInvalid(
      `${path} does not exist${path === location ? '' : ` (from ${location})`}`,
      relative
        ? 'check the path; relative paths are resolved against the current directory'
        : 'check the path',
      error,
    );
  }
}

async function topLevel(git: Git, dir: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await git(['rev-parse', '--show-toplevel'], { cwd: dir, env });
  return stdout.trim();
}

/** The branch HEAD points to, or null when HEAD is detached. */
async function headBranch(git: Git, dir: string, env: Record<string, string>): Promise<string | null> {
  const result = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], {
    cwd: dir,
    env,
    okExitCodes: [1],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** With a detached HEAD: `main` or `master` if present, else the most recently committed branch. */
async function fallbackBranch(git: Git, dir: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await git(
    ['for-each-ref', '--sort=-committerdate', '--format=%(refname:short)', 'refs/heads'],
    { cwd: dir, env },
  );
  const branches = stdout.split('\n').filter(Boolean);
  const branch = branches.find((b) => b === 'main') ?? branches.find((b) => b === 'master') ?? branches[0];
  if (!branch) {
    throw repoInvalid(`${dir} has a detached HEAD and no branches`, 'check out or create a branch first');
  }
  return branch;
}

function repoName(dir: string): string {
  const name = basename(dir).replace(/\.git$/, '');
  return name || basename(dirname(dir));
}

function repoInvalid(message: string, hint: string, cause?: unknown): NightshiftError {
  return new NightshiftError('REPO_INVALID', message, { hint, cause });
}
