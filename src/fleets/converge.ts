import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NightshiftError } from '../core/errors.ts';
import { runProcess } from '../process/index.ts';
import type { CommitAuthor, GitAccess } from '../scm/types.ts';

/** Git in a scratch clone: `(args, author?)` → its output. */
type CloneGit = (args: string[], author?: CommitAuthor) => Promise<string>;

/**
 * Git on the host, outside any sandbox, without the user's config or hooks, with `access`'s
 * environment (what authenticates it at the repo's source).
 */
async function git(cwd: string, args: string[], access: GitAccess, author?: CommitAuthor): Promise<string> {
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    ...access.env,
    ...(author && {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    }),
  };
  const { exitCode, stdout, stderr } = await runProcess('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
    cwd,
    env,
  });
  if (exitCode !== 0) throw new Error(`git ${args.join(' ')} exited with ${exitCode}: ${stderr.trim()}`);
  return stdout.trim();
}

/** Runs `fn` with git in a scratch clone of the repo `access` reaches, removed afterwards. */
async function inClone<T>(access: GitAccess, fn: (git: CloneGit) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-converge-'));
  try {
    await git(dir, ['clone', '--quiet', '--no-checkout', '--', access.url, 'work'], access);
    const work = join(dir, 'work');
    return await fn((args, author) => git(work, args, access, author));
  } catch (error) {
    if (error instanceof NightshiftError) throw error;
    throw new NightshiftError('SCM_FAILED', `converging the swarm failed: ${(error as Error).message}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Merges the facet branches, in order, into a new integration branch from `base` and pushes
 * it. A conflicting merge is committed with its conflict markers, for the converge run's
 * agent step to resolve; the files that conflicted are returned.
 */
export async function mergeFacets(options: {
  access: GitAccess;
  base: string;
  branches: { facet: string; branch: string }[];
  integration: string;
  author: CommitAuthor;
}): Promise<{ conflicts: string[] }> {
  return inClone(options.access, async (git) => {
    await git(['checkout', '--quiet', '-B', 'integration', options.base]);
    const conflicts = new Set<string>();
    for (const { facet, branch } of options.branches) {
      const message = `Merge facet ${facet}`;
      const merged = await git(
        ['merge', '--no-ff', '--quiet', '-m', message, `origin/${branch}`],
        options.author,
      ).then(
        () => true,
        () => false,
      );
      if (merged) continue;
      const unmerged = await git(['diff', '--name-only', '--diff-filter=U']);
      for (const file of unmerged.split('\n').filter(Boolean)) conflicts.add(file);
      await git(['add', '-A']);
      await git(
        ['commit', '--quiet', '--no-verify', '-m', `${message} (conflicts left for the converge step)`],
        options.author,
      );
    }
    await git(['push', '--quiet', '--force', 'origin', `integration:refs/heads/${options.integration}`]);
    return { conflicts: [...conflicts].sort() };
  });
}
