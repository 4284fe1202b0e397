/**
 * The wall time of a `script` run doing `true` (and one changing one file) on a repository of
 * 3,000 files, against a shell script doing the same git work (run-overhead.baseline.sh: clone
 * at the commit, run the command, commit, push a branch), interleaved in one invocation.
 * Beside them, the same script reusing one clone (the floor of the git work: no files written
 * out), the workspace provisioning time, and where a Nightshift run's time goes.
 *
 *   node --import tsx bench/run-overhead.ts [--iterations 15] [--files 3000] [--json]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { homePaths } from '../src/core/home.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { LocalSandboxProvider } from '../src/sandbox/local/index.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { breakdownOf } from './run-overhead/breakdown.ts';
import { figuresOf, formatFigures, type Samples } from './run-overhead/report.ts';
import { runBaseline, runNightshift } from './run-overhead/runs.ts';
import { Spans, timedSandboxes, timedScm } from './run-overhead/timing.ts';
import { makeSourceRepo } from './support/source.ts';

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '15' },
      files: { type: 'string', default: '3000' },
      json: { type: 'boolean', default: false },
    },
  });
  const iterations = positive('iterations', values.iterations);
  const files = positive('files', values.files);

  const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-overhead-'));
  let engine: Engine | undefined;
  try {
    progress(`making a repository of ${files} files`);
    const source = join(root, 'source');
    const commit = await makeSourceRepo(source, files);
    const reused = join(root, 'reused-clone');

    const spans = new Spans();
    const config = engineConfig(join(root, 'home'), {});
    const paths = homePaths(config.home);
    const scm = new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases });
    engine = await Engine.open(config, {
      scm: timedScm(scm, spans),
      sandboxes: timedSandboxes(new LocalSandboxProvider(), spans),
    });
    await engine.startWorker();
    const ns = engine;

    const variants = {
      nightshiftTrue: () => runNightshift(ns, spans, source, 'true', 'no_changes'),
      nightshiftChange: (n: string) => runNightshift(ns, spans, source, `echo ${n} > bench.txt`, 'success'),
      baselineTrue: (n: string) => runBaseline(source, commit, 'true', `bench/true-${n}`),
      baselineChange: (n: string) =>
        runBaseline(source, commit, `echo ${n} > bench.txt`, `bench/change-${n}`),
      floorTrue: (n: string) => runBaseline(source, commit, 'true', `bench/floor-true-${n}`, reused),
      floorChange: (n: string) =>
        runBaseline(source, commit, `echo ${n} > bench.txt`, `bench/floor-change-${n}`, reused),
    };

    // Warm-up: the first run clones the mirror and builds the base; every later run reuses them.
    progress('warming up');
    const first = await variants.nightshiftTrue();
    await variants.nightshiftChange('warmup');
    await variants.baselineTrue('warmup');
    await variants.baselineChange('warmup');
    await variants.floorTrue('warmup');
    await variants.floorChange('warmup');

    const samples: Samples = {
      files,
      iterations,
      nightshift: { true: [], change: [] },
      baseline: { true: [], change: [] },
      floor: { true: [], change: [] },
      breakdowns: { true: [], change: [] },
      provisioning: { uncached: first.workspace.ms, cached: [] },
    };
    for (let i = 0; i < iterations; i++) {
      progress(`iteration ${i + 1}/${iterations}`);
      const n = String(i);
      const nightshiftTrue = async () => {
        const sample = await variants.nightshiftTrue();
        samples.nightshift.true.push(sample.ms);
        samples.breakdowns.true.push(breakdownOf(sample.trace));
        samples.provisioning.cached.push(sample.workspace.ms);
      };
      const nightshiftChange = async () => {
        const sample = await variants.nightshiftChange(n);
        samples.nightshift.change.push(sample.ms);
        samples.breakdowns.change.push(breakdownOf(sample.trace));
        samples.provisioning.cached.push(sample.workspace.ms);
      };
      const baselineTrue = async () => void samples.baseline.true.push(await variants.baselineTrue(n));
      const baselineChange = async () => void samples.baseline.change.push(await variants.baselineChange(n));
      const floorTrue = async () => void samples.floor.true.push(await variants.floorTrue(n));
      const floorChange = async () => void samples.floor.change.push(await variants.floorChange(n));
      // Alternate which goes first, so neither always runs right after the other's pushes.
      const order =
        i % 2 === 0
          ? [nightshiftTrue, baselineTrue, floorTrue, nightshiftChange, baselineChange, floorChange]
          : [floorTrue, baselineTrue, nightshiftTrue, floorChange, baselineChange, nightshiftChange];
      for (const variant of order) await variant();
    }
    progress('');
    if (process.stderr.isTTY) process.stderr.write('\r');

    const figures = figuresOf(samples);
    console.log(values.json ? JSON.stringify(figures, null, 2) : formatFigures(figures));
  } finally {
    await engine?.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
