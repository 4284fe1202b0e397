/**
 * Sandbox start: create a local sandbox over a 3,000-file workspace, exec `true`, destroy —
 * median and p99 over N runs, beside the bare `bwrap ... true` floor and a `git worktree add`
 * + `bwrap` + `git worktree remove` baseline, interleaved in the same invocation.
 *
 *   node --import tsx bench/sandbox-start.ts [--iterations 100] [--baseline-iterations 10] [--files 3000] [--json]
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Repo } from '../src/core/run.ts';
import { LocalSandboxProvider } from '../src/sandbox/local/index.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { git, makeSourceRepo } from './support/source.ts';
import { percentile, round } from './support/stats.ts';

const { values: flags } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100' },
    'baseline-iterations': { type: 'string', default: '10' },
    files: { type: 'string', default: '3000' },
    json: { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(flags.iterations);
/** The worktree baseline writes every file of the repo each time: seconds a run here, so fewer samples. */
const BASELINE_ITERATIONS = Number(flags['baseline-iterations']);
const FILES = Number(flags.files);

const BWRAP_FLOOR = [
  '--unshare-all',
  '--unshare-user',
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
];

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}`)),
    );
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-sandbox-'));
  // As runs' state dirs are (see sandboxStateDir): reachable by the sandbox's uid, so bubblewrap
  // finds the state by its path and shows the curated /etc with one bind.
  await chmod(root, 0o755);
  const provider = new LocalSandboxProvider({ log: { warn: () => {} } });
  const traced = new LocalSandboxProvider({ log: { warn: () => {} }, traceExecs: true });
  try {
    await provider.check();
    await traced.check();
    const source = join(root, 'source');
    const commit = await makeSourceRepo(source, FILES);
    const scm = new LocalScmProvider({ mirrorsDir: join(root, 'mirrors'), basesDir: join(root, 'bases') });
    const repo: Repo = {
      id: 'repo_bench',
      name: 'source',
      url: source,
      defaultBranch: 'main',
      createdAt: new Date(),
    };
    await scm.fetch(repo);
    const { dir: baseDir } = await scm.checkout(repo, commit);

    const nightshift = (sandboxes: LocalSandboxProvider) => async (i: number) => {
      const stateDir = join(root, `state-${i}`);
      const sandbox = await sandboxes.create({ runId: `run_bench${i}`, baseDir, stateDir });
      const result = await sandbox.exec(['true']);
      await sandbox.destroy({ discard: true });
      if (result.exitCode !== 0) throw new Error(`sandbox exec failed: ${result.stderr}`);
    };
    const variants: Record<string, (i: number) => Promise<void>> = {
      nightshift: nightshift(provider),
      'nightshift + exec tracing': nightshift(traced),
      'floor: bwrap true': () => run(['bwrap', ...BWRAP_FLOOR, 'true']),
      'baseline: worktree + bwrap': async (i) => {
        const tree = join(root, `tree-${i}`);
        await git(source, 'worktree', 'add', '--quiet', '--detach', tree, commit);
        await run(['bwrap', ...BWRAP_FLOOR, '--bind', tree, tree, '--chdir', tree, 'true']);
        await git(source, 'worktree', 'remove', '--force', tree);
      },
    };
    const samples: Record<string, number[]> = Object.fromEntries(
      Object.keys(variants).map((name) => [name, []]),
    );
    for (const fn of Object.values(variants)) await fn(-1); // warm up
    for (let i = 0; i < ITERATIONS; i++) {
      const names = Object.keys(variants);
      const order = i % 2 ? names.reverse() : names;
      for (const name of order) {
        if (name.startsWith('baseline') && i >= BASELINE_ITERATIONS) continue;
        samples[name]!.push(await timed(() => variants[name]!(i)));
      }
    }

    const floor = percentile(samples['floor: bwrap true']!, 50);
    const rows = Object.entries(samples).map(([name, values]) => ({
      variant: name,
      median: round(percentile(values, 50)),
      p99: round(percentile(values, 99)),
      vsFloor: round(percentile(values, 50) / floor),
    }));
    const enforcement = await provider.limitsEnforcement();
    if (flags.json) {
      console.log(JSON.stringify({ files: FILES, iterations: ITERATIONS, enforcement, rows }, null, 2));
      return;
    }
    console.log(
      `sandbox start: ${FILES}-file workspace, ${ITERATIONS} runs each, interleaved (limits: ${enforcement})\n`,
    );
    console.log(
      `${'variant'.padEnd(30)}${'median ms'.padStart(11)}${'p99 ms'.padStart(10)}${'vs floor'.padStart(10)}`,
    );
    for (const row of rows) {
      console.log(
        `${row.variant.padEnd(30)}${row.median.toFixed(1).padStart(11)}${row.p99.toFixed(1).padStart(10)}${`${row.vsFloor}x`.padStart(10)}`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
