import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { meterGroup } from '../bench/support/cpu.ts';
import { waitFor } from './support/harness-engine.ts';
import { processesWith } from './support/repos.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));

/** The fleet benchmark at CI size, for correctness: both sides do the work, the figures are there. */
describe('bench/fleet.ts', () => {
  it('runs a 4-repo fleet and its baseline pipeline in two rounds, and reports each and their medians', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/fleet.ts', '--repos', '4', '--concurrency', '2', '--rounds', '2', '--json'],
      {
        cwd: root,
        timeout: 600_000,
      },
    );

    const figures = JSON.parse(stdout);
    expect(figures.rounds).toHaveLength(2);
    for (const round of figures.rounds) {
      expect(round.counts).toMatchObject({ succeeded: 4, failed: 0, queued: 0, running: 0 });
      expect(round.ratio).toBeCloseTo(round.nightshiftMs / round.baselineMs, 1);
      // The spawner helpers started the runs' programs, in every round.
      expect(round.helpersCpuMsPerRepo).toBeGreaterThan(0);
    }
    const [first, second] = figures.rounds;
    // Each ratio is the median of the rounds' ratios, not the ratio of the median times.
    expect(figures.ratio).toBe(Math.round(((first.ratio + second.ratio) / 2) * 100) / 100);
    expect(figures.nightshiftMs).toBe(Math.round((first.nightshiftMs + second.nightshiftMs) / 2));
    expect(figures.baselineMs).toBeGreaterThan(0);
    expect(figures.isolatedBaselineMs).toBeGreaterThan(0);
    expect(figures.nightshiftMs).toBeGreaterThan(0);
    expect(figures.engineRssMiB.peak).toBeGreaterThanOrEqual(figures.engineRssMiB.before);
    expect(figures.engineCpuMsPerRepo.user).toBeGreaterThan(0);
    expect(figures.database).toBe('embedded database');
  }, 900_000);

  it('runs the fleet on a private PostgreSQL server with --postgres, and stops it', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/fleet.ts', '--repos', '3', '--concurrency', '2', '--postgres', '--json'],
      { cwd: root, timeout: 600_000 },
    );

    const figures = JSON.parse(stdout);
    expect(figures.database).toBe('PostgreSQL');
    expect(figures.counts).toMatchObject({ succeeded: 3, failed: 0 });
  }, 900_000);

  it('stopped by SIGTERM while its baseline runs, leaves no process, temporary dir or cgroup behind', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nightshift-bench-stop-'));
    const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/fleet.ts', '--repos', '40'], {
      cwd: root,
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    });
    const exited = once(bench, 'exit');
    try {
      const group = meterGroup(process.pid);
      // A baseline script of this benchmark (its repo is under tmp) is running.
      await waitFor(() => {
        const ours = processesWith(tmp);
        return processesWith('fleet.baseline.sh').some((pid) => ours.includes(pid));
      }, 300_000);

      bench.kill('SIGTERM');
      const [code] = await exited;
      // Killed processes may take a moment to be gone from /proc.
      await waitFor(() => processesWith(tmp).length === 0, 10_000).catch(() => {});

      expect(code).toBe(143);
      expect(processesWith(tmp)).toEqual([]);
      // (tsx keeps its cache there too.)
      expect(readdirSync(tmp).filter((name) => name.startsWith('nightshift-'))).toEqual([]);
      if (group) expect(existsSync(join(group.parent, `nightshift-bench-${bench.pid}`))).toBe(false);
    } finally {
      if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 600_000);
});
