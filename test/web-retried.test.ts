import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { swarmQueries } from '../src/fleets/swarm-store.ts';
import { Store } from '../src/store/index.ts';
import { type Dashboard, shoot, startDashboard } from './support/dashboard.ts';
import { newPostgresDatabase } from './support/databases.ts';

/**
 * Records, in the PostgreSQL database at `url`, two completed runs a GitHub comment started:
 * one whose answer GitHub refused twice (tried again later), one answered. Returns their ids.
 */
async function answeredRuns(url: string): Promise<{ failing: string; answered: string }> {
  const store = await Store.open({ url });
  try {
    const repo = await store.repos.upsert({ name: 'api', url: 'github:acme/api', defaultBranch: 'main' });
    const ids: string[] = [];
    for (const [number, answer] of [
      [7, { attempts: 2, error: 'GitHub answered 502: Server Error', reportedAt: null }],
      [8, { attempts: 1, error: null, reportedAt: '2026-12-07T01:00:00Z' }],
    ] as const) {
      const run = await store.createRun({
        repoId: repo.id,
        blueprint: 'script',
        blueprintSpec: { name: 'script', steps: [] },
        inputs: { script: 'true' },
        timeoutMs: 60_000,
        trigger: `github:dlv_${number}`,
      });
      await store.db.query("UPDATE runs SET status = 'completed', conclusion = 'no_changes' WHERE id = $1", [
        run.id,
      ]);
      await store.db.query(
        `INSERT INTO webhook_deliveries (id, source, delivery_id, event, outcome, run_id, payload, processed_at,
           report_attempts, report_error, reported_at, next_report_at)
         VALUES ($1, 'github', $1, 'issue_comment', 'accepted', $2, $3, now(), $4, $5, $6, now() + interval '1 hour')`,
        [
          `dlv_${number}`,
          run.id,
          { repository: { full_name: 'acme/api' }, issue: { number, title: 'Fix it' } },
          answer.attempts,
          answer.error,
          answer.reportedAt,
        ],
      );
      ids.push(run.id);
    }
    return { failing: ids[0]!, answered: ids[1]! };
  } finally {
    await store.close();
  }
}

/** Records, in the PostgreSQL database at `url`, a durable swarm whose drive failed twice. */
async function failingSwarm(url: string): Promise<void> {
  const store = await Store.open({ url });
  try {
    const repo = await store.repos.upsert({ name: 'web', url: '/srv/web', defaultBranch: 'main' });
    const spec = parseSwarmSpec(
      'name: stuck\nrepo: /srv/web\ngoal: Add files\nfacets:\n  - { id: a, script: "true" }\n',
    ).spec!;
    const swarms = swarmQueries(store.db);
    const id = await swarms.create(
      spec,
      repo.id,
      'facets',
      { driver: 'wrk_gone', ms: 0, exclusive: false },
      {
        cwd: '/srv',
        durable: true,
      },
    );
    for (let i = 0; i < 2; i++) await swarms.driveFailed(id!, 'could not merge the facets: the disk is full');
  } finally {
    await store.close();
  }
}

/** What is tried again after a backoff (answers on GitHub, a swarm's drive): the dashboard says how it went. */
describe('the dashboard on answers and swarm drives that failed, in headless Chromium', () => {
  let dash: Dashboard;
  let runs: { failing: string; answered: string };

  beforeAll(async () => {
    const url = await newPostgresDatabase();
    dash = await startDashboard({ DATABASE_URL: url }, async () => {
      runs = await answeredRuns(url);
      await failingSwarm(url);
    }, ['--no-workers']);
  }, 240_000);

  afterAll(async () => {
    await dash?.close();
  }, 60_000);

  it('shows where the answer goes and where posting it stands', async () => {
    const failing = await dash.open(`/runs/${runs.failing}`);
    const failingFact = failing
      .locator('.facts > div')
      .filter({ has: failing.locator('dt', { hasText: /^Answer$/ }) });
    await failingFact.waitFor();
    await shoot(failing, 'run-answer-failing');
    const answered = await dash.open(`/runs/${runs.answered}`);
    const answeredFact = answered
      .locator('.facts > div')
      .filter({ has: answered.locator('dt', { hasText: /^Answer$/ }) });
    await answeredFact.waitFor();

    expect(await failingFact.locator('dd').textContent()).toBe(
      'comment on acme/api#7: failed 2 times (tried again later): GitHub answered 502: Server Error',
    );
    expect(await failingFact.locator('.trouble').count()).toBe(1);
    expect(await answeredFact.locator('dd').textContent()).toBe(
      'comment on acme/api#8: posted 2026-12-07T01:00:00.000Z',
    );
    expect(await answeredFact.locator('.trouble').count()).toBe(0);
    await failing.close();
    await answered.close();
  }, 120_000);

  it('says on the swarm how its drives failed and when a server takes it up again', async () => {
    const page = await dash.open('/swarms');
    const card = page.getByRole('listitem', { name: 'Swarm stuck' });
    const note = card.getByRole('status');
    await note.waitFor();
    await shoot(page, 'swarm-drive-failed');

    expect(await note.textContent()).toMatch(
      /^Its drive failed 2 times \(last: could not merge the facets: the disk is full\); a server takes it up again in [12]m, or `nightshift swarm SPEC` continues it now$/,
    );
    expect(await note.getAttribute('class')).toContain('trouble');
    await page.close();
  }, 120_000);
});
