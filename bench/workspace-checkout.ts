/**
 * How long a run waits for its base checkout: the local SCM's uncached checkout (clone of the
 * mirror with hard links + detached checkout) and cached checkout, beside `git worktree add`
 * and `git clone --shared` + checkout of the same commits, measured in the same run.
 *
 *   node --import tsx bench/workspace-checkout.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Repo } from '../src/core/run.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { git, makeSourceRepo } from './support/source.ts';
import { median } from './support/stats.ts';

const FILES = 3_000;
const ITERATIONS = 20;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function makeSource(dir: string): Promise<string[]> {
  await makeSourceRepo(dir, FILES);
  // One commit per iteration, so every uncached checkout really is of a new commit.
  const commits: string[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    await writeFile(join(dir, 'CHANGES.md'), `change ${i}\n`);
    await git(dir, 'add', 'CHANGES.md');
    await git(dir, 'commit', '--quiet', '-m', `change ${i}`);
    commits.push(await git(dir, 'rev-parse', 'HEAD'));
  }
  return commits;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-checkout-'));
  try {
    const source = join(root, 'source');
    const commits = await makeSource(source);
    const scm = new LocalScmProvider({ mirrorsDir: join(root, 'mirrors'), basesDir: join(root, 'bases') });
    const repo: Repo = {
      id: 'repo_bench',
      name: 'source',
      url: source,
      defaultBranch: 'main',
      createdAt: new Date(),
    };
    await scm.fetch(repo);

    const samples = {
      uncached: [] as number[],
      cached: [] as number[],
      worktree: [] as number[],
      shared: [] as number[],
    };
    for (const [i, commit] of commits.entries()) {
      // Interleaved, so drift in machine load hits every variant alike.
      samples.uncached.push(await time(() => scm.checkout(repo, commit)));
      samples.cached.push(await time(() => scm.checkout(repo, commit)));
      const tree = join(root, 'worktrees', String(i));
      samples.worktree.push(
        await time(() => git(source, 'worktree', 'add', '--quiet', '--detach', tree, commit)),
      );
      const clone = join(root, 'clones', String(i));
      samples.shared.push(
        await time(async () => {
          await git(root, 'clone', '--quiet', '--shared', '--no-checkout', source, clone);
          await git(clone, 'checkout', '--quiet', '--detach', commit);
        }),
      );
    }

    const worktree = median(samples.worktree);
    const shared = median(samples.shared);
    const rows: [string, number][] = [
      ['scm.checkout, new commit (uncached)', median(samples.uncached)],
      ['scm.checkout, cached', median(samples.cached)],
      ['baseline: git worktree add', worktree],
      ['baseline: git clone --shared + checkout', shared],
    ];
    console.log(`workspace checkout: ${FILES} files, median of ${ITERATIONS} runs each\n`);
    const ratio = (ms: number, baseline: number) => `${(ms / baseline).toPrecision(2)}x`;
    console.log(
      `${'variant'.padEnd(42)}${'median ms'.padStart(12)}${'vs worktree'.padStart(14)}${'vs clone'.padStart(12)}`,
    );
    for (const [name, ms] of rows) {
      const cells = [
        ms.toFixed(1).padStart(12),
        ratio(ms, worktree).padStart(14),
        ratio(ms, shared).padStart(12),
      ];
      console.log(`${name.padEnd(42)}${cells.join('')}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
