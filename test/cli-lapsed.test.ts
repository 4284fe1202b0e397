import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import { fleetQueries } from '../src/fleets/store.ts';
import { Store } from '../src/store/index.ts';
import { runCli } from './support/cli.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { tempDir } from './support/repos.ts';

/**
 * A worker sharing a PostgreSQL database stopped without giving its run back: `fleet status`
 * and `show` say so once its lease lapsed, instead of showing the run as simply running.
 */
describe('runs whose worker stopped, with PostgreSQL', () => {
  it('are named by `fleet status` and `show`', async () => {
    const { dir, cleanup } = await tempDir();
    const env = { NIGHTSHIFT_HOME: join(dir, 'home'), DATABASE_URL: await newPostgresDatabase() };
    const store = await Store.open({ url: env.DATABASE_URL });
    let runId: string;
    try {
      const repo = await store.repos.upsert({ name: 'api', url: '/srv/api', defaultBranch: 'main' });
      const run = await store.createRun({
        repoId: repo.id,
        blueprint: 'script',
        blueprintSpec: { name: 'script', steps: [] },
        inputs: { script: 'sleep 600' },
        timeoutMs: 600_000,
      });
      runId = run.id;
      const fleets = fleetQueries(store.db);
      await fleets.upsert(
        parseFleetSpec('name: lapsing\ntargets:\n  - repos: [/srv/api]\nscript: "sleep 600"\n').spec!,
      );
      await fleets.setRepoRuns('lapsing', [{ repoId: repo.id, inputHash: 'h', branch: 'b', runId }]);
      // Claimed and started by a worker that is gone: its lease ran out a second ago.
      await store.db.query(
        `UPDATE run_queue SET lease_owner = 'wrk_gone@elsewhere:4242', lease_expires_at = now() - interval '1 second'
         WHERE run_id = $1`,
        [runId],
      );
      await store.db.query("UPDATE runs SET status = 'running' WHERE id = $1", [runId]);
    } finally {
      await store.close();
    }

    try {
      const status = await runCli(['fleet', 'status', 'lapsing'], env);
      const show = await runCli(['show', runId], env);

      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(
        'the worker running one of the runs shown running stopped (its lease lapsed): the next worker to claim runs takes it over (`nightshift serve` or `nightshift worker`)',
      );
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(
        /not executing now: its worker wrk_gone@elsewhere:4242 stopped \(its lease lapsed at \d{4}-\d\d-\d\dT[\d:.]+Z\); the next worker to claim runs takes it over/,
      );
    } finally {
      await cleanup();
    }
  }, 120_000);
});
