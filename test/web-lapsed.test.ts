import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import { fleetQueries } from '../src/fleets/store.ts';
import { Store } from '../src/store/index.ts';
import { type Dashboard, shoot, startDashboard } from './support/dashboard.ts';
import { newPostgresDatabase } from './support/databases.ts';

/**
 * A worker sharing the PostgreSQL database stopped without giving its run back: the fleet and
 * run pages say so once its lease lapsed (the server runs no worker that would take it over).
 */
describe('the dashboard on a run whose worker stopped, in headless Chromium', () => {
  let dash: Dashboard;
  let runId: string;

  beforeAll(async () => {
    const url = await newPostgresDatabase();
    dash = await startDashboard({ DATABASE_URL: url }, async () => {
      const store = await Store.open({ url });
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
        await store.db.query(
          `UPDATE run_queue SET lease_owner = 'wrk_gone@elsewhere:4242', lease_expires_at = now() - interval '1 second'
             WHERE run_id = $1`,
          [runId],
        );
        await store.db.query("UPDATE runs SET status = 'running' WHERE id = $1", [runId]);
      } finally {
        await store.close();
      }
    }, ['--no-workers']);
  }, 240_000);

  afterAll(async () => {
    await dash?.close();
  }, 60_000);

  it('says on the fleet page and the run page that its worker stopped', async () => {
    const fleet = await dash.open('/fleets/lapsing');
    const fleetNote = fleet.getByRole('status').filter({ hasText: 'lease lapsed' });
    await fleetNote.waitFor();
    await shoot(fleet, 'fleet-lapsed');
    const run = await dash.open(`/runs/${runId}`);
    const runNote = run.getByRole('status').filter({ hasText: 'Not executing now' });
    await runNote.waitFor();

    expect(await fleetNote.textContent()).toBe(
      'The worker running one of the runs shown running stopped (its lease lapsed): the next worker to claim runs takes it over.',
    );
    expect(await runNote.textContent()).toMatch(
      /^Not executing now: its worker wrk_gone@elsewhere:4242 stopped \(its lease lapsed \d+[smh] ago\); the next worker to claim runs takes it over\.$/,
    );
    await fleet.close();
    await run.close();
  }, 120_000);
});
