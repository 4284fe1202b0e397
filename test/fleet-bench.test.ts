import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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
});
