/**
 * How long a run waits for its base checkout: the local SCM's uncached checkout (clone of the
 * mirror with hard links + detached checkout) and cached checkout, beside `git worktree add`
 * and `git clone --shared` + checkout of the same commits, measured in the same run.
 *
 *   node --import tsx bench/workspace-checkout.ts
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { Repo } from '../src/core/run.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';

const FILES = 3_000;
const ITERATIONS = 20;
const execFileAsync = promisify(execFile);
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

function git(cwd: string, ...args: string[]): Promise<string> {
  return execFileAsync('git', args, { cwd, env, maxBuffer: 64 << 20 }).then((r) => r.stdout.trim());
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function makeSource(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  for (let i = 0; i < FILES; i++) {
    const folder = join(dir, `pkg${i % 60}`, `mod${i % 7}`);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file${i}.ts`), `export const value${i} = ${i};\n`.repeat(20));
  }
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', 'initial');
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
