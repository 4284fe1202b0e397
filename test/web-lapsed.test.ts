import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, shoot, startDashboard } from './support/dashboard.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { GONE_WORKER, lapsedRun } from './support/lapsed-run.ts';

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
      runId = await lapsedRun(url);
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
      new RegExp(
        `^Not executing now: its worker ${GONE_WORKER} stopped \\(its lease lapsed \\d+[smh] ago\\); the next worker to claim runs takes it over\\.$`,
      ),
    );
    await fleet.close();
    await run.close();
  }, 120_000);
});
