import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { PublishDeniedError } from '../errors.ts';
import type { PublishInput, PublishResult } from '../types.ts';
import { diffStat, fullDiff } from './diff.ts';
import { type Git, GitCommandError, UNTRUSTED_TREE_FLAGS } from './git.ts';

export interface PublishContext {
  git: Git;
  /** The repo's mirror: holds the base commit; the run's git dir borrows its objects. */
  mirror: string;
  /** Where the run's private git dir is made (and removed). */
  tmpDir: string;
  /** Runs `fn` holding the repo's mirror lock. */
  withMirrorLock<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Commits the workspace's files on top of the base commit and pushes them as the run's branch.
 * Git never runs in the workspace's own `.git` (the agent may have changed its hooks or config):
 * the files are staged through `workspace.exec` into a private git dir that borrows the
 * mirror's objects, with a temporary index. Fixed author, committer and dates make a retry
 * with the same files produce the same commit.
 */
export async function publishChange(ctx: PublishContext, input: PublishInput): Promise<PublishResult | null> {
  const { git, mirror } = ctx;
  await mkdir(ctx.tmpDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(ctx.tmpDir, 'publish-'));
  try {
    const gitDir = join(work, 'git');
    const env = { GIT_INDEX_FILE: join(work, 'index') };
    // Independent git calls run side by side: each is a process start, which a loaded host makes slow.
    await together([
      checkBranch(git, input.branch),
      git(['init', '--quiet', '--bare', '--template=', gitDir]).then(async () => {
        await mkdir(join(gitDir, 'objects', 'info'), { recursive: true });
        await writeFile(join(gitDir, 'objects', 'info', 'alternates'), `${join(mirror, 'objects')}\n`);
      }),
    ]);
    const inPub = (args: string[]) => git(['--git-dir', gitDir, ...args], { env });

    const [, baseTreeOut] = await together([
      inPub(['read-tree', input.baseCommit]),
      git(['--git-dir', gitDir, 'rev-parse', `${input.baseCommit}^{tree}`]),
    ]);
    const baseTree = baseTreeOut.stdout.trim();
    await stageWorkspace(ctx, input, gitDir, env);
    const [, treeOut] = await together([refuseNestedRepos(inPub, input.baseCommit), inPub(['write-tree'])]);
    const tree = treeOut.stdout.trim();
    if (tree === baseTree) return null;

    const head = await commit(git, gitDir, tree, input);
    const [diffstat, diff] = await together([
      diffStat(git, gitDir, input.baseCommit, head),
      fullDiff(git, gitDir, input.baseCommit, head),
    ]);
    const denied = input.review?.({ diffstat }) ?? null;
    if (denied) throw new PublishDeniedError(denied);
    const refspec = `+${head}:refs/heads/${input.branch}`;
    await together([
      pushToSource(git, gitDir, input, head),
      // The mirror gets the branch too, so a later run can start from it without a fetch.
      ctx.withMirrorLock(() =>
        git(['--git-dir', gitDir, 'push', '--quiet', '--no-verify', '--', mirror, refspec]),
      ),
    ]);
    return { headCommit: head, diffstat, diff, url: null };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Pushes `head` as the branch. With `expectedHead` (a sha, or null for "must not exist") the
 * push is `--force-with-lease` on that value, so a commit someone else pushed to the branch
 * since Nightshift last did is never overwritten; a refused lease is a CONFLICT naming both.
 */
async function pushToSource(git: Git, gitDir: string, input: PublishInput, head: string): Promise<void> {
  const ref = `refs/heads/${input.branch}`;
  if (input.expectedHead === undefined) {
    await git([
      '--git-dir',
      gitDir,
      'push',
      '--quiet',
      '--no-verify',
      '--',
      input.repo.url,
      `+${head}:${ref}`,
    ]);
    return;
  }
  const push = (expected: string) =>
    git([
      '--git-dir',
      gitDir,
      'push',
      '--quiet',
      '--no-verify',
      `--force-with-lease=${ref}:${expected}`,
      '--',
      input.repo.url,
      `${head}:${ref}`,
    ]);
  try {
    await push(input.expectedHead ?? '').catch(async (error: unknown) => {
      // A branch someone deleted holds nothing to overwrite: push it anew (still leased, on its absence).
      if (!isStale(error) || input.expectedHead === null) throw error;
      const { stdout } = await git(['ls-remote', '--', input.repo.url, ref]);
      if (stdout.trim() !== '') throw error;
      await push('');
    });
  } catch (error) {
    if (!isStale(error)) throw error;
    const expected = input.expectedHead ? `at ${input.expectedHead.slice(0, 12)}` : 'not to exist';
    throw new NightshiftError(
      'CONFLICT',
      `branch ${input.branch} of ${input.repo.name} was changed by someone else: Nightshift expected it ${expected}, so it did not overwrite it`,
      {
        hint: "look at the new commits on the branch; to replace them with the run's change, delete the branch and run again",
      },
    );
  }
}

/**
 * `Promise.all` that lets every call end before failing, so none still writes in the work
 * directory while it is removed.
 */
async function together<T extends readonly unknown[]>(calls: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(calls);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function isStale(error: unknown): boolean {
  return error instanceof GitCommandError && /\(stale info\)/.test(error.stderr);
}

async function checkBranch(git: Git, branch: string): Promise<void> {
  const result = await git(['check-ref-format', `refs/heads/${branch}`], { okExitCodes: [1] });
  if (result.exitCode !== 0 || branch.startsWith('-')) {
    throw new NightshiftError('INVALID_INPUT', `${JSON.stringify(branch)} is not a valid branch name`, {
      hint: 'use letters, digits, `/`, `-`, `_` and `.` (see `git help check-ref-format`)',
    });
  }
}

/** `git add -A` of the workspace, run where the workspace is visible; honours `.gitignore`, skips `.git`. */
async function stageWorkspace(
  ctx: PublishContext,
  input: PublishInput,
  gitDir: string,
  env: Record<string, string>,
): Promise<void> {
  const { workspace } = input;
  const argv = [
    'git',
    '--git-dir',
    gitDir,
    '--work-tree',
    workspace.path,
    ...UNTRUSTED_TREE_FLAGS,
    'add',
    '-A',
  ];
  const result = await workspace.exec(argv, { env: { ...ctx.git.env, ...env } });
  if (result.exitCode !== 0) {
    throw new NightshiftError(
      'SCM_FAILED',
      `could not stage the workspace's files: git add exited with ${result.exitCode}: ${result.stderr.trim()}`,
      { hint: 'if git names a nested repository, delete its .git directory or list it in .gitignore' },
    );
  }
}

/** Nested repositories would be committed as dangling gitlinks; refuse them with a clear message. */
async function refuseNestedRepos(inPub: (args: string[]) => Promise<{ stdout: string }>, base: string) {
  const { stdout } = await inPub(['diff-index', '--cached', '--no-renames', '-z', base]);
  const fields = stdout.split('\0');
  const nested: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode] = fields[i]!.slice(1).split(' ');
    if (newMode === '160000' && oldMode !== '160000') nested.push(`${fields[i + 1]}/`);
  }
  if (nested.length) {
    throw new NightshiftError(
      'SCM_FAILED',
      `the workspace has nested git repositories: ${nested.join(', ')}`,
      {
        hint: 'Nightshift commits plain files only: delete their .git directories or list them in .gitignore',
      },
    );
  }
}

async function commit(git: Git, gitDir: string, tree: string, input: PublishInput): Promise<string> {
  const date = `@${Math.floor(input.date.getTime() / 1000)} +0000`;
  const body = input.body.trim();
  const message = `${input.title.trim()}\n\n${body ? `${body}\n\n` : ''}Nightshift-Run: ${input.runId}\n`;
  const { stdout } = await git(['--git-dir', gitDir, 'commit-tree', tree, '-p', input.baseCommit], {
    input: message,
    env: {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: input.author.name,
      GIT_COMMITTER_EMAIL: input.author.email,
      GIT_COMMITTER_DATE: date,
    },
  });
  return stdout.trim();
}
