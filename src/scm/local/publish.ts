import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { PublishDeniedError } from '../errors.ts';
import type { PublishInput, PublishResult } from '../types.ts';
import { diffStat, fullDiff } from './diff.ts';
import { type Git, UNTRUSTED_TREE_FLAGS } from './git.ts';

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
  await checkBranch(git, input.branch);
  await mkdir(ctx.tmpDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(ctx.tmpDir, 'publish-'));
  try {
    const gitDir = join(work, 'git');
    const env = { GIT_INDEX_FILE: join(work, 'index') };
    await git(['init', '--quiet', '--bare', '--template=', gitDir]);
    await mkdir(join(gitDir, 'objects', 'info'), { recursive: true });
    await writeFile(join(gitDir, 'objects', 'info', 'alternates'), `${join(mirror, 'objects')}\n`);
    const inPub = (args: string[]) => git(['--git-dir', gitDir, ...args], { env });

    await inPub(['read-tree', input.baseCommit]);
    await stageWorkspace(ctx, input, gitDir, env);
    await refuseNestedRepos(inPub, input.baseCommit);
    const tree = (await inPub(['write-tree'])).stdout.trim();
    const baseTree = (await inPub(['rev-parse', `${input.baseCommit}^{tree}`])).stdout.trim();
    if (tree === baseTree) return null;

    const head = await commit(git, gitDir, tree, input);
    const diffstat = await diffStat(git, gitDir, input.baseCommit, head);
    const diff = await fullDiff(git, gitDir, input.baseCommit, head);
    const denied = input.review?.({ diffstat }) ?? null;
    if (denied) throw new PublishDeniedError(denied);
    const refspec = `+${head}:refs/heads/${input.branch}`;
    await git(['--git-dir', gitDir, 'push', '--quiet', '--no-verify', '--', input.repo.url, refspec]);
    // The mirror gets the branch too, so a later run can start from it without a fetch.
    await ctx.withMirrorLock(() =>
      git(['--git-dir', gitDir, 'push', '--quiet', '--no-verify', '--', mirror, refspec]),
    );
    return { headCommit: head, diffstat, diff, url: null };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
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
