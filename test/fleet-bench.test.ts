import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));

/** The fleet benchmark at CI size, for correctness: both sides do the work, the figures are there. */
describe('bench/fleet.ts', () => {
  it('runs a 5-repo fleet and its baseline pipeline, and reports both', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/fleet.ts', '--repos', '5', '--concurrency', '2', '--json'],
      {
        cwd: root,
        timeout: 600_000,
      },
    );

    const figures = JSON.parse(stdout);
    expect(figures.counts).toMatchObject({ succeeded: 5, failed: 0, queued: 0, running: 0 });
    expect(figures.baselineMs).toBeGreaterThan(0);
    expect(figures.isolatedBaselineMs).toBeGreaterThan(0);
    expect(figures.nightshiftMs).toBeGreaterThan(0);
    expect(figures.ratio).toBeCloseTo(figures.nightshiftMs / figures.baselineMs, 1);
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
