import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { removeTree } from '../../core/sync-fs.ts';
import { assertBranchName } from '../branch.ts';
import { PublishDeniedError } from '../errors.ts';
import type { PublishInput, PublishResult } from '../types.ts';
import { writeCommitObject } from './commit-object.ts';
import { deliverLocal, type LocalTarget, refuseCheckedOut, refValue } from './deliver.ts';
import { stagedDiff } from './diff.ts';
import { type Git, GitCommandError, UNTRUSTED_TREE_FLAGS } from './git.ts';
import { type LocalReceive, localReceive } from './receive.ts';

export interface PublishContext {
  git: Git;
  /** An objects directory holding the base commit; the run's private git dir borrows from it. */
  objects: string;
  /** The base checkout's index, copied as the staging index (saves a `read-tree`); else read from the commit. */
  baseIndex?: string;
  /** Where the run's private git dir is made (and removed). */
  tmpDir: string;
  /**
   * A local repository to write the branch into: directly, or by a push when it has receive
   * settings or hooks (see `localReceive`); without one it is pushed to the repo's URL.
   */
  target?: LocalTarget;
  /** A mirror to push the branch to as well (a remote repo's), with its lock. */
  mirror?: { path: string; withLock<T>(fn: () => Promise<T>): Promise<T> };
}

/**
 * Commits the workspace's files on top of the base commit and writes the commit as the run's
 * branch (into a local repository directly when a push would only write the ref, else by a push).
 * Git never runs in the workspace's own `.git` (the agent may have changed its hooks or config):
 * the files are staged through `workspace.exec` into a private git dir that borrows the base's
 * objects, with a temporary index. Fixed author, committer and dates make a retry with the same
 * files produce the same commit.
 */
export async function publishChange(ctx: PublishContext, input: PublishInput): Promise<PublishResult | null> {
  const { git } = ctx;
  assertBranchName(input.branch);
  // Its few small files are made and removed with synchronous calls: a fraction of the CPU of
  // promises, each of which goes through the thread pool.
  mkdirSync(ctx.tmpDir, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(ctx.tmpDir, 'publish-'));
  try {
    const gitDir = join(work, 'git');
    const env = { GIT_INDEX_FILE: join(work, 'index') };
    makeGitDir(gitDir, ctx.objects, input.baseCommit);
    const inPub = (args: string[], options?: { maxStdoutBytes?: number }) =>
      git(['--git-dir', gitDir, ...args], { ...options, env });
    if (ctx.baseIndex) await copyFile(ctx.baseIndex, env.GIT_INDEX_FILE);
    else await inPub(['read-tree', input.baseCommit]);
    await stageWorkspace(ctx, input, gitDir, env);
    // Independent git calls run side by side: each is a process start, which a loaded host makes slow.
    const [staged, treeOut] = await together([stagedDiff(inPub, input.baseCommit), inPub(['write-tree'])]);
    refuseNested(staged.nested);
    if (staged.diffstat.files === 0) return null;
    const { diffstat, diff } = staged;
    const denied = input.review?.({ diffstat }) ?? null;
    if (denied) throw new PublishDeniedError(denied);

    // Whether a local repository needs a push (its receive settings, hooks) is read meanwhile.
    const [head, receive] = await together([
      commit(git, gitDir, treeOut.stdout.trim(), input),
      ctx.target ? localReceive(git, ctx.target) : Promise.resolve(null),
    ]);
    const { mirror } = ctx;
    await together([
      updateBranch(
        git,
        gitDir,
        input,
        head,
        ctx.target && receive ? { target: ctx.target, receive } : undefined,
      ),
      // The mirror gets the branch too, so a later run can start from it without a fetch.
      mirror
        ? mirror.withLock(() => forcePush(git, gitDir, mirror.path, head, `refs/heads/${input.branch}`))
        : Promise.resolve(),
    ]);
    return { headCommit: head, diffstat, diff, url: null };
  } finally {
    await removeTree(work);
  }
}

/** A bare git dir borrowing `objects` (what `git init --bare` and an alternates file make). */
function makeGitDir(gitDir: string, objects: string, baseCommit: string): void {
  mkdirSync(join(gitDir, 'objects', 'info'), { recursive: true });
  mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true });
  const sha256 = baseCommit.length === 64;
  writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/nightshift-publish\n');
  writeFileSync(
    join(gitDir, 'config'),
    `[core]\n\trepositoryformatversion = ${sha256 ? 1 : 0}\n\tbare = true\n${sha256 ? '[extensions]\n\tobjectformat = sha256\n' : ''}`,
  );
  writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `${objects}\n`);
}

/**
 * Moves the branch to `head`: into a local repository (`local`) directly when a push would only
 * write the ref, else by a push (to the repository's git dir, whose receive settings and hooks
 * then apply as for any push; to the repo's URL without `local`).
 * With `expectedHead` (a sha, or null for "must not exist") only from that value, so a
 * commit someone else pushed to the branch since Nightshift last did is never overwritten;
 * a branch someone deleted holds nothing to overwrite and is written anew (still only if
 * absent). A refused lease is a CONFLICT naming both.
 */
async function updateBranch(
  git: Git,
  gitDir: string,
  input: PublishInput,
  head: string,
  local: { target: LocalTarget; receive: LocalReceive } | undefined,
): Promise<void> {
  const ref = `refs/heads/${input.branch}`;
  const target = local?.target;
  const url = target?.gitDir ?? input.repo.url;
  // Refused before the push, with the CONFLICT the direct write gives (which checks it itself).
  if (target && local.receive.push && local.receive.refusesCheckedOut) refuseCheckedOut(target, ref);
  const write =
    target && !local.receive.push
      ? (expected: string | null | undefined) => deliverLocal(git, gitDir, target, head, ref, expected)
      : async (expected: string | null | undefined) => {
          const lease = expected === undefined ? [] : [`--force-with-lease=${ref}:${expected ?? ''}`];
          const refspec = `${expected === undefined ? '+' : ''}${head}:${ref}`;
          // A local repository runs its own hooks, as for anyone's push (if Nightshift's user owns it).
          const options = { receiveHooks: local?.receive.hooks === true };
          const push = ['push', '--quiet', '--no-verify', ...lease, '--', url, refspec];
          const pushed = git(['--git-dir', gitDir, ...push], options);
          return pushed.then(
            () => true,
            (error: unknown) => {
              if (isStale(error)) return false;
              throw refusedPush(error, input);
            },
          );
        };
  const absent = async () =>
    target
      ? (await refValue(git, target.gitDir, ref)) === null
      : (await git(['ls-remote', '--', url, ref])).stdout.trim() === '';
  const expected = input.expectedHead;
  if ((await write(expected)) || expected === undefined) return;
  if (expected !== null && (await absent()) && (await write(null))) return;
  const was = expected ? `at ${expected.slice(0, 12)}` : 'not to exist';
  throw new NightshiftError(
    'CONFLICT',
    `branch ${input.branch} of ${input.repo.name} was changed by someone else: Nightshift expected it ${was}, so it did not overwrite it`,
    {
      hint: "look at the new commits on the branch; to replace them with the run's change, delete the branch and run again",
    },
  );
}

/**
 * The error for a push the receiving repository refused (`! [remote rejected]`: its receive
 * settings or hooks, or a host's branch protection), naming the branch, git's reason and what
 * the repository said; any other error as it is.
 */
function refusedPush(error: unknown, input: PublishInput): unknown {
  if (!(error instanceof GitCommandError)) return error;
  const rejected = /^ ! \[(?:remote )?rejected\] .* \((.+)\)$/m.exec(error.stderr);
  if (!rejected) return error;
  const said = error.stderr
    .split('\n')
    .filter((line) => line.startsWith('remote: '))
    .map((line) => line.slice('remote: '.length).trim())
    .filter((line) => line !== '');
  return new NightshiftError(
    'SCM_FAILED',
    `${input.repo.name} refused branch ${input.branch} (${rejected[1]})${said.length ? `: ${said.join('; ')}` : ''}`,
    {
      hint: 'the repository’s own rules refused the push (a local repository’s receive.* settings or hooks, a host’s branch protection): change them, or publish to a branch they accept',
      cause: error,
    },
  );
}

/** Pushes `head` as `ref` of the repository at `url`, whatever `ref` held. */
async function forcePush(git: Git, gitDir: string, url: string, head: string, ref: string): Promise<void> {
  await git(['--git-dir', gitDir, 'push', '--quiet', '--no-verify', '--', url, `+${head}:${ref}`]);
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

/** Nested repositories would be committed as dangling gitlinks: refused with a clear message. */
function refuseNested(nested: readonly string[]): void {
  if (nested.length === 0) return;
  throw new NightshiftError('SCM_FAILED', `the workspace has nested git repositories: ${nested.join(', ')}`, {
    hint: 'Nightshift commits plain files only: delete their .git directories or list them in .gitignore',
  });
}

/**
 * The commit of `tree` on the base: written directly (see `writeCommitObject`), else by
 * `git commit-tree`; the same commit either way.
 */
async function commit(git: Git, gitDir: string, tree: string, input: PublishInput): Promise<string> {
  const seconds = Math.floor(input.date.getTime() / 1000);
  const body = input.body.trim();
  const message = `${input.title.trim()}\n\n${body ? `${body}\n\n` : ''}Nightshift-Run: ${input.runId}\n`;
  const fields = { tree, parent: input.baseCommit, author: input.author, seconds, message };
  const written = await writeCommitObject(join(gitDir, 'objects'), fields);
  if (written) return written;
  const date = `@${seconds} +0000`;
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
