import type { Change } from '../../src/core/run.ts';
import type { Store } from '../../src/store/index.ts';

/**
 * A GitHub repo (`github.com/OWNER/NAME`), a script run on it and the change it recorded, for
 * tests of what the store does with changes (their state, checks, opening).
 */
export async function recordedChange(
  store: Store,
  options: { repo: string; branch: string; head: string; state: string; url: string | null },
): Promise<Change> {
  const repo = await store.repos.upsert({
    name: options.repo,
    url: `https://github.com/${options.repo}`,
    defaultBranch: 'main',
  });
  const run = await store.createRun({
    repoId: repo.id,
    blueprint: 'script',
    blueprintSpec: {},
    inputs: { script: 'true' },
    timeoutMs: 1000,
    branch: options.branch,
  });
  return store.recordChange({
    runId: run.id,
    repoId: repo.id,
    branch: options.branch,
    baseCommit: 'b'.repeat(40),
    headCommit: options.head,
    title: 't',
    body: '',
    diffstat: { files: 1, insertions: 1, deletions: 0, perFile: [] },
    diff: '',
    state: options.state,
    url: options.url,
  });
}
