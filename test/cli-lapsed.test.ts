import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { GONE_WORKER, lapsedRun } from './support/lapsed-run.ts';
import { tempDir } from './support/repos.ts';

/**
 * A worker sharing a PostgreSQL database stopped without giving its run back: `fleet status`
 * and `show` say so once its lease lapsed, instead of showing the run as simply running.
 */
describe('runs whose worker stopped, with PostgreSQL', () => {
  it('are named by `fleet status` and `show`', async () => {
    const { dir, cleanup } = await tempDir();
    const env = { NIGHTSHIFT_HOME: join(dir, 'home'), DATABASE_URL: await newPostgresDatabase() };
    try {
      const runId = await lapsedRun(env.DATABASE_URL);

      const status = await runCli(['fleet', 'status', 'lapsing'], env);
      const show = await runCli(['show', runId], env);

      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(
        'the worker running one of the runs shown running stopped (its lease lapsed): the next worker to claim runs takes it over (`nightshift serve` or `nightshift worker`)',
      );
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(
        new RegExp(
          `not executing now: its worker ${GONE_WORKER} stopped \\(its lease lapsed at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); the next worker to claim runs takes it over`,
        ),
      );
    } finally {
      await cleanup();
    }
  }, 120_000);
});
